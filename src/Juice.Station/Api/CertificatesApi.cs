using Juice.Hlc.Security;
using Juice.Station.Pnc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.X509;

namespace Juice.Station.Api;

/// <summary>A certificate upload of the AUTHORIZATION page: PEM text (with the key for an SECC chain) or PKCS#12 in Base64.</summary>
public sealed record CertificateUpload(string Kind, string? Pem, string? Key, string? Pkcs12, string? Password);

/// <summary>
/// Plug &amp; Charge certificates from the operator: roots (V2G, MO, OEM) and the SECC's chain with its key — PEM or
/// PKCS#12 — checked before they are kept (readable, a root is self-signed and valid, the key is the leaf's, the chain
/// is in order and valid now and, where V2G roots are installed, leads to one); and deleted. An SECC chain with a
/// secp256r1 key is the ISO 15118-2 one, secp521r1 or Ed448 an ISO 15118-20 one (one per algorithm).
/// </summary>
public static class CertificatesApi
{
    private static readonly string[] Kinds = ["V2GRootCertificate", "MORootCertificate", "ManufacturerRootCertificate", "SeccChain"];

    public static void MapCertificates(this RouteGroupBuilder api)
    {
        api.MapPost("/pnc/certificates", (CertificateUpload upload, CertificateStore store, TimeProvider time) =>
        {
            if (!Kinds.Contains(upload.Kind))
            {
                return ApiProblem.Invalid("kind", "one of " + string.Join(", ", Kinds));
            }
            List<X509Certificate> certificates;
            Org.BouncyCastle.Crypto.AsymmetricKeyParameter? key = null;
            try
            {
                if (upload.Pkcs12 is { Length: > 0 } p12)
                {
                    var pkcs = new Pkcs12StoreBuilder().Build();
                    using var stream = new MemoryStream(Convert.FromBase64String(p12));
                    pkcs.Load(stream, (upload.Password ?? "").ToCharArray());
                    string? alias = pkcs.Aliases.FirstOrDefault(pkcs.IsKeyEntry) ?? pkcs.Aliases.FirstOrDefault();
                    if (alias is null)
                    {
                        return ApiProblem.Invalid("pkcs12", "the PKCS#12 file holds nothing");
                    }
                    key = pkcs.IsKeyEntry(alias) ? pkcs.GetKey(alias).Key : null;
                    certificates = pkcs.IsKeyEntry(alias) ? [.. pkcs.GetCertificateChain(alias).Select(c => c.Certificate)] : [pkcs.GetCertificate(alias).Certificate];
                }
                else
                {
                    certificates = [.. V2gCertificates.ParsePem(upload.Pem ?? "")];
                    key = upload.Key is { Length: > 0 } k ? PkiKeys.ReadPrivateKeyPem(k) : null;
                }
            }
            catch (Exception e) when (e is FormatException or IOException or ArgumentException or InvalidOperationException or Org.BouncyCastle.Security.SecurityUtilityException
                or Org.BouncyCastle.Crypto.CryptoException or Org.BouncyCastle.Security.Certificates.CertificateException or NotSupportedException)
            {
                return ApiProblem.Invalid(upload.Pkcs12 is { Length: > 0 } ? "pkcs12" : "pem", "not readable: " + e.Message + (upload.Pkcs12 is { Length: > 0 } ? " (the password?)" : ""));
            }
            if (certificates.Count == 0)
            {
                return ApiProblem.Invalid("pem", "no certificate (-----BEGIN CERTIFICATE-----) in it");
            }
            var now = time.GetUtcNow();
            if (upload.Kind != "SeccChain")
            {
                var kind = Enum.Parse<CertificateKind>(upload.Kind);
                foreach (var root in certificates)
                {
                    if (!root.IssuerDN.Equivalent(root.SubjectDN) || !Verifies(root, root))
                    {
                        return ApiProblem.Invalid("pem", $"{root.SubjectDN} is not a self-signed root");
                    }
                    if (root.NotAfter < now.UtcDateTime || root.NotBefore > now.UtcDateTime)
                    {
                        return ApiProblem.Invalid("pem", $"{root.SubjectDN} is not valid now ({root.NotBefore:u} to {root.NotAfter:u})");
                    }
                }
                int installed = certificates.Count(c => store.Install(kind, c));
                return Results.Ok(new { installed, kind = upload.Kind });
            }
            if (key is null)
            {
                return ApiProblem.Invalid("key", "an SECC chain needs its private key (PEM, or in the PKCS#12 file)");
            }
            if (!PkiKeys.Belongs(key, certificates[0].GetPublicKey()))
            {
                return ApiProblem.Invalid("key", "the key is not the first certificate's (the SECC leaf comes first)");
            }
            var roots = store.Roots(CertificateKind.V2GRootCertificate);
            var chain = CertificateChains.Validate(certificates, roots.Count > 0 ? roots : [certificates[^1]], now, null);
            if (!chain.Valid && !(roots.Count == 0 && chain.Status == ChainStatus.UntrustedRoot))
            {
                return ApiProblem.Invalid("pem", $"the chain is refused: {chain.Status}: {chain.Detail}");
            }
            var algorithm = PkiKeys.Of(key);
            if (algorithm == PkiAlgorithm.Secp256r1)
            {
                store.SetSeccChain([.. certificates.Where(c => !c.IssuerDN.Equivalent(c.SubjectDN))], (Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters)key);
            }
            else
            {
                store.SetIso20SeccChain([.. certificates.Where(c => !c.IssuerDN.Equivalent(c.SubjectDN))], key);
            }
            return Results.Ok(new { installed = 1, kind = "SeccChain", algorithm = algorithm.Name(), subject = certificates[0].SubjectDN.ToString(), notAfter = certificates[0].NotAfter });
        });
        api.MapDelete("/pnc/certificates/{sha256}", (string sha256, CertificateStore store) =>
        {
            var match = store.Installed().FirstOrDefault(c => string.Equals(V2gCertificates.Fingerprint(c.Chain[0]), sha256, StringComparison.OrdinalIgnoreCase));
            return match is null ? ApiProblem.Of(StatusCodes.Status404NotFound, $"no installed certificate with SHA-256 {sha256}")
                : store.Delete(match.HashData) switch
                {
                    "Accepted" => Results.NoContent(),
                    var status => ApiProblem.Of(StatusCodes.Status409Conflict, $"{match.Chain[0].SubjectDN}: {status} (the SECC's own chain is replaced by a new one, not deleted)"),
                };
        });
    }

    private static bool Verifies(X509Certificate certificate, X509Certificate issuer)
    {
        try
        {
            certificate.Verify(issuer.GetPublicKey());
            return true;
        }
        catch (Exception e) when (e is Org.BouncyCastle.Security.InvalidKeyException or Org.BouncyCastle.Security.Certificates.CertificateException or Org.BouncyCastle.Security.SignatureException or ArgumentException)
        {
            return false;
        }
    }
}
