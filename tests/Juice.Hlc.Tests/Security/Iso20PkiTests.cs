using System.Globalization;
using Juice.Hlc.Security;

namespace Juice.Hlc.Tests.Security;

/// <summary>
/// The ISO 15118-20 test PKIs (secp521r1 with ecdsa-with-SHA512, Ed448): reproducible from a seed, every chain
/// (the vehicle certificate's too) valid for us and for OpenSSL, keys and PKCS#12 bundles readable by OpenSSL, and
/// read back from their folder.
/// </summary>
public sealed class Iso20PkiTests : IDisposable
{
    private static readonly DateTimeOffset From = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-pki20-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TestPki Generate(PkiAlgorithm algorithm, string seed = "juice-tests") =>
        TestPki.Generate(new TestPkiOptions { Seed = seed, ValidFrom = From, Algorithm = algorithm });

    private static Task<(int Code, string Output)> OpenSsl(params string[] args) => ChildProcess.RunAsync("openssl", args);

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1)]
    [InlineData(PkiAlgorithm.Ed448)]
    public void A_seeded_ISO_15118_20_PKI_is_the_same_to_the_byte_every_time_and_apart_from_the_ISO_15118_2_one(PkiAlgorithm algorithm)
    {
        var pki = Generate(algorithm);
        var again = Generate(algorithm);
        Assert.Contains(CertificateRole.Vehicle, pki.Certificates);
        foreach (var role in pki.Certificates)
        {
            Assert.Equal(pki[role].Certificate.GetEncoded(), again[role].Certificate.GetEncoded());
            Assert.Equal(PkiKeys.Pkcs8(pki[role].Key), PkiKeys.Pkcs8(again[role].Key));
            Assert.Equal(algorithm, pki[role].Algorithm);
        }
        Assert.NotEqual(pki.V2gRoot.GetEncoded(), Generate(algorithm, "another").V2gRoot.GetEncoded());
        // the ISO 15118-2 PKI of the same seed keeps its keys (generated before -20 PKIs existed)
        var iso2 = TestPki.Generate(new TestPkiOptions { Seed = "juice-tests", ValidFrom = From });
        Assert.Equal(V2gKeys.Raw((Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters)V2gKeys.FromSeed("juice-tests", "v2g-root").Private), V2gKeys.Raw(iso2[CertificateRole.V2gRoot].PrivateKey));
    }

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1, "ecdsa-with-SHA512", "NIST CURVE: P-521")]
    [InlineData(PkiAlgorithm.Ed448, "ED448", "ED448 Private-Key")]
    public async Task Every_chain_is_valid_for_us_and_for_openssl_with_the_profile_of_its_algorithm(PkiAlgorithm algorithm, string signature, string key)
    {
        var pki = Generate(algorithm);
        pki.Write(_dir);
        var at = From.AddDays(1);
        foreach (var (leaf, root, domain) in new[]
        {
            (CertificateRole.Secc, CertificateRole.V2gRoot, "CPO"), (CertificateRole.CpsLeaf, CertificateRole.V2gRoot, "CPS"),
            (CertificateRole.OemProvisioning, CertificateRole.OemRoot, "OEM"), (CertificateRole.Vehicle, CertificateRole.OemRoot, "OEM"),
            (CertificateRole.Contract, CertificateRole.MoRoot, "MO"),
        })
        {
            var chain = pki.Chain(leaf);
            Assert.Equal(3, chain.Count);
            var result = CertificateChains.Validate(chain, [pki[root].Certificate], at, domain);
            Assert.True(result.Valid, result.Detail);
            string intermediates = Path.Combine(_dir, "intermediates.pem");
            File.WriteAllText(intermediates, V2gCertificates.ToPem(chain.Skip(1)));
            var (code, output) = await OpenSsl("verify", "-attime", at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                "-CAfile", Path.Combine(_dir, TestPki.FileName(root) + ".pem"), "-untrusted", intermediates, Path.Combine(_dir, TestPki.FileName(leaf) + ".pem"));
            Assert.True(code == 0, output);
        }
        // a chain of the other -20 algorithm does not end at this root
        var other = Generate(algorithm == PkiAlgorithm.Ed448 ? PkiAlgorithm.Secp521r1 : PkiAlgorithm.Ed448);
        Assert.Equal(ChainStatus.UntrustedRoot, CertificateChains.Validate(other.Chain(CertificateRole.Secc), [pki.V2gRoot], at, "CPO").Status);

        var (_, text) = await OpenSsl("x509", "-in", Path.Combine(_dir, "vehicle.pem"), "-noout", "-text");
        Assert.Contains("Signature Algorithm: " + signature, text);
        Assert.Contains("DC = OEM", text);
        Assert.Contains("CN = " + new TestPkiOptions().VehicleName, text);
        Assert.Contains("Digital Signature, Key Agreement", text);
        var (keyCode, keyText) = await OpenSsl("pkey", "-in", Path.Combine(_dir, "secc.key.pem"), "-noout", "-text");
        Assert.True(keyCode == 0, keyText);
        Assert.Contains(key, keyText, StringComparison.OrdinalIgnoreCase);
        if (algorithm == PkiAlgorithm.Secp521r1)
        {
            var (p12Code, p12) = await OpenSsl("pkcs12", "-in", Path.Combine(_dir, "vehicle.p12"), "-passin", "pass:" + TestPki.Pkcs12Password, "-nodes");
            Assert.True(p12Code == 0, p12);
            Assert.Contains("BEGIN PRIVATE KEY", p12);
        }
        else
        {
            Assert.False(File.Exists(Path.Combine(_dir, "vehicle.p12")));
        }

        // read back from the folder: the same PKI
        var loaded = TestPki.Load(_dir);
        Assert.Equal(algorithm, loaded.Options.Algorithm);
        Assert.Equal(pki[CertificateRole.Vehicle].Certificate, loaded[CertificateRole.Vehicle].Certificate);
        Assert.Equal(PkiKeys.Pkcs8(pki[CertificateRole.Secc].Key), PkiKeys.Pkcs8(loaded[CertificateRole.Secc].Key));
    }
}
