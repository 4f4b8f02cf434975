using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;

namespace Juice.Hlc.Security;

/// <summary>The certificates of the ISO 15118-2 PKI (Figure 11 and Annex F).</summary>
public enum CertificateRole
{
    V2gRoot,
    CpoSubCa1,
    CpoSubCa2,
    Secc,
    OemRoot,
    OemSubCa1,
    OemSubCa2,
    OemProvisioning,
    MoRoot,
    MoSubCa1,
    MoSubCa2,
    Contract,
    CpsSubCa1,
    CpsSubCa2,
    CpsLeaf,

    /// <summary>ISO 15118-20: the vehicle certificate (OEM Sub-CA 2 → vehicle) the EV shows in TLS 1.3 mutual authentication.</summary>
    Vehicle,
}

/// <summary>
/// A certificate profile of ISO 15118-2 Annex F: X.509 v3, ecdsa-with-SHA256 over secp256r1 keys, the subject as
/// CN, O, C and the domain component that names the part of the PKI (V2G, CPO, OEM, MO, CPS); critical basic
/// constraints (a CA with its path length, or no CA), critical key usage, subject and authority key identifiers.
/// </summary>
public sealed record CertificateProfile(string DomainComponent, bool IsCa, int? PathLength, int KeyUsage, TimeSpan Validity)
{
    private static TimeSpan Years(int n) => TimeSpan.FromDays(365 * n + n / 4);

    private const int CaUsage = Org.BouncyCastle.Asn1.X509.KeyUsage.KeyCertSign | Org.BouncyCastle.Asn1.X509.KeyUsage.CrlSign;

    /// <summary>The profile of a role. Validity: roots 40 years; Sub-CA 1 four years; Sub-CA 2 one to two years; SECC two months; contract up to two years.</summary>
    public static CertificateProfile For(CertificateRole role) => role switch
    {
        CertificateRole.V2gRoot => new("V2G", true, null, CaUsage, Years(40)),
        CertificateRole.CpoSubCa1 => new("V2G", true, 1, CaUsage, Years(4)),
        CertificateRole.CpoSubCa2 => new("V2G", true, 0, CaUsage, Years(1)),
        CertificateRole.Secc => new("CPO", false, null, Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature | Org.BouncyCastle.Asn1.X509.KeyUsage.KeyAgreement, TimeSpan.FromDays(60)),
        CertificateRole.OemRoot => new("OEM", true, null, CaUsage, Years(40)),
        CertificateRole.OemSubCa1 => new("OEM", true, 1, CaUsage, Years(4)),
        CertificateRole.OemSubCa2 => new("OEM", true, 0, CaUsage, Years(4)),
        CertificateRole.OemProvisioning => new("OEM", false, null, Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature | Org.BouncyCastle.Asn1.X509.KeyUsage.KeyAgreement, Years(4)),
        CertificateRole.MoRoot => new("MO", true, null, CaUsage, Years(40)),
        CertificateRole.MoSubCa1 => new("MO", true, 1, CaUsage, Years(4)),
        // the MO Sub-CA 2 also signs sales tariffs
        CertificateRole.MoSubCa2 => new("MO", true, 0, CaUsage | Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature | Org.BouncyCastle.Asn1.X509.KeyUsage.NonRepudiation, Years(2)),
        CertificateRole.Contract => new("MO", false, null, Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature | Org.BouncyCastle.Asn1.X509.KeyUsage.NonRepudiation
            | Org.BouncyCastle.Asn1.X509.KeyUsage.KeyEncipherment | Org.BouncyCastle.Asn1.X509.KeyUsage.KeyAgreement, Years(2)),
        CertificateRole.CpsSubCa1 => new("V2G", true, 1, CaUsage, Years(4)),
        CertificateRole.CpsSubCa2 => new("V2G", true, 0, CaUsage, Years(2)),
        CertificateRole.CpsLeaf => new("CPS", false, null, Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature, TimeSpan.FromDays(90)),
        CertificateRole.Vehicle => new("OEM", false, null, Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature | Org.BouncyCastle.Asn1.X509.KeyUsage.KeyAgreement, Years(4)),
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };
}

/// <summary>A certificate with its private key.</summary>
/// <remarks>ISO 15118-2 keys are EC (secp256r1); a -20 PKI's are secp521r1 or Ed448: <see cref="Key"/> holds any of them.</remarks>
public sealed record CertifiedKey(X509Certificate Certificate, AsymmetricKeyParameter Key)
{
    /// <summary>The EC private key (the only kind ISO 15118-2 has); <see cref="InvalidOperationException"/> for an Ed448 key.</summary>
    public ECPrivateKeyParameters PrivateKey => Key as ECPrivateKeyParameters ?? throw new InvalidOperationException($"{Certificate.SubjectDN} has an {PkiKeys.Of(Key).Name()} key, not an EC one");

    public ECPublicKeyParameters PublicKey => (ECPublicKeyParameters)Certificate.GetPublicKey();

    public PkiAlgorithm Algorithm => PkiKeys.Of(Key);
}

/// <summary>Issues and reads the certificates of the V2G PKI.</summary>
public static class V2gCertificates
{
    /// <summary>
    /// Issues a certificate for <paramref name="subjectKey"/> with the role's profile, signed by <paramref name="issuer"/>
    /// (null: self-signed with <paramref name="selfKey"/>). Signatures are deterministic (RFC 6979), so a seeded PKI
    /// gives the same bytes every time.
    /// </summary>
    public static X509Certificate Issue(CertificateRole role, string commonName, string organization, string country, AsymmetricKeyParameter subjectKey,
        CertifiedKey? issuer, AsymmetricKeyParameter? selfKey, DateTimeOffset notBefore, TimeSpan? validity = null, BigInteger? serial = null)
    {
        var profile = CertificateProfile.For(role);
        var subject = Name(commonName, organization, country, profile.DomainComponent);
        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(serial ?? SerialFor(subject.ToString(), notBefore));
        generator.SetSubjectDN(subject);
        generator.SetIssuerDN(issuer?.Certificate.SubjectDN ?? subject);
        generator.SetNotBefore(notBefore.UtcDateTime);
        generator.SetNotAfter((notBefore + (validity ?? profile.Validity)).UtcDateTime);
        generator.SetPublicKey(subjectKey);
        generator.AddExtension(X509Extensions.BasicConstraints, true, profile.IsCa
            ? (profile.PathLength is { } n ? new BasicConstraints(n) : new BasicConstraints(true))
            : new BasicConstraints(false));
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(profile.KeyUsage));
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false, X509ExtensionUtilities.CreateSubjectKeyIdentifier(subjectKey));
        if (issuer is not null)
        {
            generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, X509ExtensionUtilities.CreateAuthorityKeyIdentifier(issuer.Certificate));
        }
        var signingKey = issuer?.Key ?? selfKey ?? throw new ArgumentException("a self-signed certificate needs its key");
        return generator.Generate(PkiKeys.SignatureFactory(signingKey));
    }

    /// <summary>The distinguished name CN, O, C, DC (the order ISO 15118 PKIs use).</summary>
    public static X509Name Name(string commonName, string organization, string country, string domainComponent) =>
        new([X509Name.CN, X509Name.O, X509Name.C, X509Name.DC], new List<string> { commonName, organization, country, domainComponent });

    private static BigInteger SerialFor(string subject, DateTimeOffset notBefore)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(subject + "|" + notBefore.ToUnixTimeSeconds()));
        return new BigInteger(1, hash.AsSpan(0, 8).ToArray());
    }

    public static X509Certificate Parse(ReadOnlySpan<byte> der) => new(der.ToArray());

    /// <summary>Every certificate of a PEM text (a chain file: leaf first).</summary>
    public static IReadOnlyList<X509Certificate> ParsePem(string pem) => [.. Pem.Decode(pem, "CERTIFICATE").Select(d => Parse(d))];

    public static string ToPem(IEnumerable<X509Certificate> certificates) => string.Concat(certificates.Select(c => Pem.Encode("CERTIFICATE", c.GetEncoded())));

    /// <summary>The CN of a certificate's subject (the eMAID of a contract certificate, the PCID of an OEM provisioning certificate).</summary>
    public static string? CommonName(X509Certificate certificate) => certificate.SubjectDN.GetValueList(X509Name.CN).FirstOrDefault();

    /// <summary>The DC of a certificate's subject (V2G, CPO, OEM, MO, CPS).</summary>
    public static string? DomainComponent(X509Certificate certificate) => certificate.SubjectDN.GetValueList(X509Name.DC).FirstOrDefault();

    /// <summary>The issuer name as xmldsig's X509IssuerName carries it (RFC 4514 form) and the serial number: ListOfRootCertificateIDs.</summary>
    public static (string IssuerName, System.Numerics.BigInteger Serial) IssuerSerial(X509Certificate certificate) =>
        (certificate.IssuerDN.ToString(true, X509Name.RFC2253Symbols), new System.Numerics.BigInteger(certificate.SerialNumber.ToByteArrayUnsigned(), isUnsigned: true, isBigEndian: true));

    /// <summary>The SHA-256 fingerprint in upper-case hex.</summary>
    public static string Fingerprint(X509Certificate certificate) => Convert.ToHexString(SHA256.HashData(certificate.GetEncoded()));
}
