using System.Text;
using System.Text.Json;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Juice.Hlc.Security;

/// <summary>What a generated test PKI looks like.</summary>
public sealed record TestPkiOptions
{
    /// <summary>A seed makes every key, serial number and signature reproducible; null: fresh random keys.</summary>
    public string? Seed { get; init; }

    /// <summary>Start of every validity period (default: today 00:00 UTC, so the same seed gives the same files all day).</summary>
    public DateTimeOffset? ValidFrom { get; init; }

    public string Organization { get; init; } = "Juice Test PKI";

    public string Country { get; init; } = "DE";

    /// <summary>The contract certificate's eMAID (its CN).</summary>
    public string Emaid { get; init; } = "DEJUIC000000001";

    /// <summary>The OEM provisioning certificate's PCID (its CN).</summary>
    public string Pcid { get; init; } = "JUICEPCID00000001";

    /// <summary>The SECC certificate's CN (the EVSE ID).</summary>
    public string SeccName { get; init; } = "DE*JUI*E0001";

    /// <summary>The vehicle certificate's CN (ISO 15118-20 PKIs only).</summary>
    public string VehicleName { get; init; } = "JUICEVEHICLE00001";

    /// <summary>secp256r1 for ISO 15118-2; secp521r1 or Ed448 for an ISO 15118-20 PKI (which also has a vehicle certificate).</summary>
    public PkiAlgorithm Algorithm { get; init; } = PkiAlgorithm.Secp256r1;
}

/// <summary>
/// A complete ISO 15118-2 test PKI (Figure 11, Annex F): V2G root → CPO Sub-CA 1 → CPO Sub-CA 2 → SECC; V2G root →
/// CPS Sub-CA 1 → CPS Sub-CA 2 → CPS leaf (signs certificate installation responses); OEM root → OEM Sub-CA 1 →
/// OEM Sub-CA 2 → OEM provisioning certificate; MO root → MO Sub-CA 1 → MO Sub-CA 2 → contract (eMAID in the CN).
/// Written as PEM, DER, PKCS#8 and PKCS#12 files with a manifest; read back from the same folder. An ISO 15118-20 PKI
/// (<see cref="TestPkiOptions.Algorithm"/> secp521r1 or Ed448) has the same chains in its algorithm and an OEM
/// Sub-CA 2 → vehicle certificate for TLS 1.3 client authentication.
/// </summary>
public sealed class TestPki
{
    /// <summary>The password of the PKCS#12 files (a test PKI: in the README and in pki.json).</summary>
    public const string Pkcs12Password = "123456";

    private static readonly (CertificateRole Role, string File, CertificateRole? Issuer)[] Layout =
    [
        (CertificateRole.V2gRoot, "v2g-root", null),
        (CertificateRole.CpoSubCa1, "cpo-sub-ca1", CertificateRole.V2gRoot),
        (CertificateRole.CpoSubCa2, "cpo-sub-ca2", CertificateRole.CpoSubCa1),
        (CertificateRole.Secc, "secc", CertificateRole.CpoSubCa2),
        (CertificateRole.CpsSubCa1, "cps-sub-ca1", CertificateRole.V2gRoot),
        (CertificateRole.CpsSubCa2, "cps-sub-ca2", CertificateRole.CpsSubCa1),
        (CertificateRole.CpsLeaf, "cps-leaf", CertificateRole.CpsSubCa2),
        (CertificateRole.OemRoot, "oem-root", null),
        (CertificateRole.OemSubCa1, "oem-sub-ca1", CertificateRole.OemRoot),
        (CertificateRole.OemSubCa2, "oem-sub-ca2", CertificateRole.OemSubCa1),
        (CertificateRole.OemProvisioning, "oem-prov", CertificateRole.OemSubCa2),
        (CertificateRole.MoRoot, "mo-root", null),
        (CertificateRole.MoSubCa1, "mo-sub-ca1", CertificateRole.MoRoot),
        (CertificateRole.MoSubCa2, "mo-sub-ca2", CertificateRole.MoSubCa1),
        (CertificateRole.Contract, "contract", CertificateRole.MoSubCa2),
    ];

    private static readonly (CertificateRole Role, string File, CertificateRole? Issuer)[] Iso20Layout =
        [.. Layout, (CertificateRole.Vehicle, "vehicle", CertificateRole.OemSubCa2)];

    /// <summary>The folder of an ISO 15118-20 PKI beside the ISO 15118-2 one that <c>juice certs generate</c> writes: iso20-secp521r1, iso20-ed448.</summary>
    public static string Iso20Folder(PkiAlgorithm algorithm) => "iso20-" + algorithm.Name();

    private (CertificateRole Role, string File, CertificateRole? Issuer)[] Roles => LayoutOf(Options.Algorithm);

    private static (CertificateRole Role, string File, CertificateRole? Issuer)[] LayoutOf(PkiAlgorithm algorithm) =>
        algorithm == PkiAlgorithm.Secp256r1 ? Layout : Iso20Layout;

    private readonly Dictionary<CertificateRole, CertifiedKey> _entries;

    private TestPki(Dictionary<CertificateRole, CertifiedKey> entries, TestPkiOptions options)
    {
        _entries = entries;
        Options = options;
    }

    public TestPkiOptions Options { get; }

    public CertifiedKey this[CertificateRole role] => _entries[role];

    /// <summary>The certificates of this PKI (an ISO 15118-20 PKI also has <see cref="CertificateRole.Vehicle"/>).</summary>
    public IReadOnlyList<CertificateRole> Certificates => [.. Roles.Select(r => r.Role)];

    public static string FileName(CertificateRole role) => Iso20Layout.First(l => l.Role == role).File;

    /// <summary>The chain of a leaf or sub-CA up to (without) its root, leaf first.</summary>
    public IReadOnlyList<X509Certificate> Chain(CertificateRole role)
    {
        var chain = new List<X509Certificate>();
        for (CertificateRole? r = role; r is { } x && Iso20Layout.First(l => l.Role == x).Issuer is not null; r = Iso20Layout.First(l => l.Role == x).Issuer)
        {
            chain.Add(_entries[x].Certificate);
        }
        return chain;
    }

    public X509Certificate V2gRoot => _entries[CertificateRole.V2gRoot].Certificate;
    public X509Certificate MoRoot => _entries[CertificateRole.MoRoot].Certificate;
    public X509Certificate OemRoot => _entries[CertificateRole.OemRoot].Certificate;

    public static TestPki Generate(TestPkiOptions? options = null)
    {
        options ??= new TestPkiOptions();
        var from = options.ValidFrom ?? new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero);
        var random = new SecureRandom();
        var entries = new Dictionary<CertificateRole, CertifiedKey>();
        var algorithm = options.Algorithm;
        foreach (var (role, file, issuerRole) in LayoutOf(algorithm))
        {
            // the -2 keys keep their labels (a seed gives the PKI it gave before); a -20 PKI's are its own
            string label = algorithm == PkiAlgorithm.Secp256r1 ? file : algorithm.Name() + "/" + file;
            var pair = options.Seed is { } seed ? PkiKeys.FromSeed(algorithm, seed, label) : PkiKeys.Generate(algorithm, random);
            var key = pair.Private;
            string cn = role switch
            {
                CertificateRole.Secc => options.SeccName,
                CertificateRole.Contract => options.Emaid,
                CertificateRole.OemProvisioning => options.Pcid,
                CertificateRole.Vehicle => options.VehicleName,
                _ => CommonNameOf(role),
            };
            var issuer = issuerRole is { } i ? entries[i] : null;
            var cert = V2gCertificates.Issue(role, cn, options.Organization, options.Country, pair.Public, issuer, key, from);
            entries[role] = new CertifiedKey(cert, key);
        }
        return new TestPki(entries, options);
    }

    private static string CommonNameOf(CertificateRole role) => role switch
    {
        CertificateRole.V2gRoot => "V2G Root CA",
        CertificateRole.CpoSubCa1 => "CPO Sub-CA 1",
        CertificateRole.CpoSubCa2 => "CPO Sub-CA 2",
        CertificateRole.CpsSubCa1 => "CPS Sub-CA 1",
        CertificateRole.CpsSubCa2 => "CPS Sub-CA 2",
        CertificateRole.CpsLeaf => "CPS Leaf",
        CertificateRole.OemRoot => "OEM Root CA",
        CertificateRole.OemSubCa1 => "OEM Sub-CA 1",
        CertificateRole.OemSubCa2 => "OEM Sub-CA 2",
        CertificateRole.MoRoot => "MO Root CA",
        CertificateRole.MoSubCa1 => "MO Sub-CA 1",
        CertificateRole.MoSubCa2 => "MO Sub-CA 2",
        _ => role.ToString(),
    };

    /// <summary>
    /// Writes every certificate as NAME.pem and NAME.der, every key as NAME.key.pem (PKCS#8) and NAME.key.der, the
    /// chains of the leaves as NAME-chain.pem (leaf, Sub-CA 2, Sub-CA 1), PKCS#12 bundles of the leaves with their
    /// chains (NAME.p12, password <see cref="Pkcs12Password"/>) and pki.json.
    /// </summary>
    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var (role, file, _) in Roles)
        {
            var e = _entries[role];
            File.WriteAllText(Path.Combine(directory, file + ".pem"), V2gCertificates.ToPem([e.Certificate]));
            File.WriteAllBytes(Path.Combine(directory, file + ".der"), e.Certificate.GetEncoded());
            File.WriteAllText(Path.Combine(directory, file + ".key.pem"), PkiKeys.Pkcs8Pem(e.Key));
            File.WriteAllBytes(Path.Combine(directory, file + ".key.der"), PkiKeys.Pkcs8(e.Key));
        }
        foreach (var leaf in Roles.Select(r => r.Role).Where(r => r is CertificateRole.Secc or CertificateRole.CpsLeaf or CertificateRole.OemProvisioning or CertificateRole.Contract or CertificateRole.Vehicle))
        {
            string file = FileName(leaf);
            File.WriteAllText(Path.Combine(directory, file + "-chain.pem"), V2gCertificates.ToPem(Chain(leaf)));
            if (Options.Algorithm != PkiAlgorithm.Ed448)
            {
                // no Ed448 bundles: BouncyCastle puts the key in as PKCS#8 version 2, which OpenSSL 3.0 cannot read there
                File.WriteAllBytes(Path.Combine(directory, file + ".p12"), Pkcs12(leaf));
            }
        }
        var manifest = new
        {
            generator = "juice certs generate",
            algorithm = Options.Algorithm.Name(),
            seed = Options.Seed,
            validFrom = V2gRoot.NotBefore.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            emaid = Options.Emaid,
            pcid = Options.Pcid,
            secc = Options.SeccName,
            vehicle = Options.Algorithm == PkiAlgorithm.Secp256r1 ? null : Options.VehicleName,
            pkcs12Password = Pkcs12Password,
            certificates = Roles.ToDictionary(l => l.File, l => new
            {
                role = l.Role.ToString(),
                subject = _entries[l.Role].Certificate.SubjectDN.ToString(),
                issuer = _entries[l.Role].Certificate.IssuerDN.ToString(),
                notAfter = _entries[l.Role].Certificate.NotAfter.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                sha256 = V2gCertificates.Fingerprint(_entries[l.Role].Certificate),
            }),
        };
        File.WriteAllText(Path.Combine(directory, "pki.json"), JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    private byte[] Pkcs12(CertificateRole leaf)
    {
        // PBES2 with AES-256 for the key and 3DES for the certificates: what OpenSSL 3 reads without its legacy provider
        var store = new Pkcs12StoreBuilder()
            .SetKeyAlgorithm(Org.BouncyCastle.Asn1.Nist.NistObjectIdentifiers.IdAes256Cbc, Org.BouncyCastle.Asn1.Pkcs.PkcsObjectIdentifiers.IdHmacWithSha256)
            .SetCertAlgorithm(Org.BouncyCastle.Asn1.Pkcs.PkcsObjectIdentifiers.PbeWithShaAnd3KeyTripleDesCbc)
            .Build();
        var chain = Chain(leaf).Select(c => new X509CertificateEntry(c)).ToArray();
        store.SetKeyEntry(FileName(leaf), new AsymmetricKeyEntry(_entries[leaf].Key), chain);
        using var output = new MemoryStream();
        store.Save(output, Pkcs12Password.ToCharArray(), new SecureRandom());
        return output.ToArray();
    }

    /// <summary>Reads a PKI written by <see cref="Write"/>.</summary>
    public static TestPki Load(string directory)
    {
        var entries = new Dictionary<CertificateRole, CertifiedKey>();
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "pki.json"))).RootElement;
        var algorithm = manifest.TryGetProperty("algorithm", out var a) && a.ValueKind == JsonValueKind.String ? PkiKeys.Parse(a.GetString()!) : PkiAlgorithm.Secp256r1;
        foreach (var (role, file, _) in LayoutOf(algorithm))
        {
            var cert = V2gCertificates.Parse(File.ReadAllBytes(Path.Combine(directory, file + ".der")));
            var key = PkiKeys.ReadPrivateKeyPem(File.ReadAllText(Path.Combine(directory, file + ".key.pem"), Encoding.ASCII));
            entries[role] = new CertifiedKey(cert, key);
        }
        var options = new TestPkiOptions
        {
            Seed = manifest.TryGetProperty("seed", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null,
            Emaid = manifest.GetProperty("emaid").GetString()!,
            Pcid = manifest.GetProperty("pcid").GetString()!,
            SeccName = manifest.GetProperty("secc").GetString()!,
            VehicleName = manifest.TryGetProperty("vehicle", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : new TestPkiOptions().VehicleName,
            Algorithm = algorithm,
        };
        return new TestPki(entries, options);
    }
}
