using Juice.Hlc.Session;
using Juice.Hlc.Security;
using Juice.Hlc.Transport;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace Juice.Cli.Ev;

/// <summary>
/// The EV's TLS from its options: TLS 1.2 with the ISO 15118-2 V2G roots where it offers DIN or -2, TLS 1.3 with the
/// -20 V2G roots and its vehicle certificate where it offers -20 ([V2G20-2458]); both in one ClientHello when it
/// offers both families, so the SECC answers with the version (and certificate) of its choice.
/// </summary>
internal static class EvTls
{
    /// <summary>
    /// The -20 PKI folders of a <c>juice certs generate</c> folder: the folder itself if it is a -20 PKI (its pki.json
    /// says so), else its iso20-secp521r1 and iso20-ed448 subfolders; <paramref name="algorithm"/> picks one.
    /// </summary>
    public static IReadOnlyList<string> Iso20Folders(DirectoryInfo? pki, PkiAlgorithm? algorithm)
    {
        if (pki is null)
        {
            return [];
        }
        if (File.Exists(Path.Combine(pki.FullName, "pki.json")) && TestPki.Load(pki.FullName).Options.Algorithm != PkiAlgorithm.Secp256r1)
        {
            return [pki.FullName];
        }
        return [.. new[] { PkiAlgorithm.Secp521r1, PkiAlgorithm.Ed448 }.Where(a => algorithm is null || a == algorithm)
            .Select(a => Path.Combine(pki.FullName, TestPki.Iso20Folder(a))).Where(Directory.Exists)];
    }

    /// <summary>
    /// The client setup, or null without TLS. <paramref name="iso2Roots"/>: the roots for TLS 1.2 (from --v2g-root or the
    /// PKI folder); the -20 roots and the vehicle certificate come from the -20 folders, or from <paramref name="vehicleChain"/>
    /// / <paramref name="vehicleKey"/>; <see cref="FormatException"/> for what does not fit.
    /// </summary>
    public static V2gTlsClientSetup? Setup(bool tls, IReadOnlyList<AppProtocolVersion> protocols, IReadOnlyCollection<BcCertificate> iso2Roots, DirectoryInfo? pki,
        PkiAlgorithm? algorithm, string? vehicleChain, string? vehicleKey, bool noVehicleCertificate)
    {
        if (!tls)
        {
            return null;
        }
        bool offers20 = protocols.Any(p => p.IsIso20);
        bool offers12 = protocols.Any(p => !p.IsIso20);
        var roots = new List<BcCertificate>(iso2Roots);
        V2gTlsCredentials? vehicle = null;
        IReadOnlyList<PkiAlgorithm> schemes = algorithm is { } a ? [a] : [PkiAlgorithm.Secp521r1, PkiAlgorithm.Ed448];
        if (offers20)
        {
            var folders = Iso20Folders(pki, algorithm);
            foreach (var dir in folders)
            {
                roots.AddRange(V2gCertificates.ParsePem(File.ReadAllText(Path.Combine(dir, "v2g-root.pem"))));
            }
            if ((vehicleChain is null) != (vehicleKey is null))
            {
                throw new FormatException("--vehicle-chain and --vehicle-key go together");
            }
            if (!noVehicleCertificate)
            {
                string? chain = vehicleChain ?? folders.Select(d => Path.Combine(d, "vehicle-chain.pem")).FirstOrDefault(File.Exists);
                string? key = vehicleKey ?? folders.Select(d => Path.Combine(d, "vehicle.key.pem")).FirstOrDefault(File.Exists);
                if (chain is not null && key is not null)
                {
                    vehicle = new V2gTlsCredentials(V2gCertificates.ParsePem(File.ReadAllText(chain)), PkiKeys.ReadPrivateKeyPem(File.ReadAllText(key)));
                    if (vehicle.Algorithm == PkiAlgorithm.Secp256r1)
                    {
                        throw new FormatException("the vehicle certificate is secp256r1; ISO 15118-20 TLS takes secp521r1 or Ed448");
                    }
                }
            }
            if (roots.Count == iso2Roots.Count && !offers12)
            {
                throw new FormatException("TLS for ISO 15118-20 needs its V2G root: --pki DIR (with iso20-secp521r1 / iso20-ed448) or --v2g-root FILE");
            }
        }
        if (roots.Count == 0)
        {
            throw new FormatException("--tls needs the V2G root: --v2g-root FILE or --pki DIR");
        }
        return new V2gTlsClientSetup
        {
            V2gRoots = roots,
            Now = DateTimeOffset.UtcNow,
            Versions = [.. (offers20 ? [V2gTlsVersion.Tls13] : Array.Empty<V2gTlsVersion>()), .. (offers12 ? [V2gTlsVersion.Tls12] : Array.Empty<V2gTlsVersion>())],
            VehicleCertificate = vehicle,
            Iso20Algorithms = schemes,
        };
    }
}
