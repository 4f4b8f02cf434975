using System.Security.Cryptography;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Security;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Juice.Hlc.Tests.Security;

/// <summary>
/// The cryptography of Plug &amp; Charge, each checked against an independent implementation: OpenSSL (the openssl
/// command) for the generated PKI, .NET's ECDSA and ECDH (OpenSSL underneath) for signatures and the key transport,
/// and RFC 6979's own test vector for deterministic signing.
/// </summary>
public sealed class SecurityPrimitivesTests : IDisposable
{
    private static readonly DateTimeOffset From = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Lazy<TestPki> Seeded = new(() => TestPki.Generate(new TestPkiOptions { Seed = "juice-tests", ValidFrom = From }));
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-pki-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TestPki Pki => Seeded.Value;

    private static Task<(int Code, string Output)> OpenSsl(params string[] args) => ChildProcess.RunAsync("openssl", args);

    [Fact]
    public void A_seeded_PKI_is_the_same_to_the_byte_every_time()
    {
        var again = TestPki.Generate(new TestPkiOptions { Seed = "juice-tests", ValidFrom = From });
        Assert.Equal(Enum.GetValues<CertificateRole>().Length - 1, Pki.Certificates.Count);   // all but the -20 vehicle certificate
        foreach (var role in Pki.Certificates)
        {
            Assert.Equal(Pki[role].Certificate.GetEncoded(), again[role].Certificate.GetEncoded());
            Assert.Equal(V2gKeys.Raw(Pki[role].PrivateKey), V2gKeys.Raw(again[role].PrivateKey));
        }
        var other = TestPki.Generate(new TestPkiOptions { Seed = "another", ValidFrom = From });
        Assert.NotEqual(Pki[CertificateRole.Contract].Certificate.GetEncoded(), other[CertificateRole.Contract].Certificate.GetEncoded());
    }

    [Theory]
    [InlineData(CertificateRole.Secc, CertificateRole.V2gRoot, "CPO")]
    [InlineData(CertificateRole.CpsLeaf, CertificateRole.V2gRoot, "CPS")]
    [InlineData(CertificateRole.OemProvisioning, CertificateRole.OemRoot, "OEM")]
    [InlineData(CertificateRole.Contract, CertificateRole.MoRoot, "MO")]
    public async Task Every_leaf_chain_is_valid_for_us_and_for_openssl(CertificateRole leaf, CertificateRole root, string domain)
    {
        var chain = Pki.Chain(leaf);
        Assert.Equal(3, chain.Count);   // leaf, Sub-CA 2, Sub-CA 1
        var result = CertificateChains.Validate(chain, [Pki[root].Certificate], From.AddDays(1), domain);
        Assert.True(result.Valid, result.Detail);
        Assert.All(chain, c => Assert.True(c.GetEncoded().Length <= 800, "certificateType allows 800 bytes"));

        Pki.Write(_dir);
        string name = TestPki.FileName(leaf);
        string intermediates = Path.Combine(_dir, "intermediates.pem");
        File.WriteAllText(intermediates, V2gCertificates.ToPem(chain.Skip(1)));
        var (code, output) = await OpenSsl("verify", "-attime", From.AddDays(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-CAfile", Path.Combine(_dir, TestPki.FileName(root) + ".pem"), "-untrusted", intermediates, Path.Combine(_dir, name + ".pem"));
        Assert.True(code == 0, output);
        Assert.Contains(": OK", output);
    }

    [Fact]
    public async Task The_certificates_follow_the_ISO_15118_2_profiles_as_openssl_reads_them()
    {
        Pki.Write(_dir);
        async Task<string> Text(string file) => (await OpenSsl("x509", "-in", Path.Combine(_dir, file + ".pem"), "-noout", "-text")).Output;

        string root = await Text("v2g-root");
        Assert.Contains("ecdsa-with-SHA256", root);
        Assert.Contains("ASN1 OID: prime256v1", root);
        Assert.Contains("DC = V2G", root);
        Assert.Contains("X509v3 Basic Constraints: critical\n                CA:TRUE", root);
        Assert.Contains("Certificate Sign, CRL Sign", root);

        string sub2 = await Text("cpo-sub-ca2");
        Assert.Contains("CA:TRUE, pathlen:0", sub2);
        Assert.Contains("X509v3 Authority Key Identifier", sub2);

        string secc = await Text("secc");
        Assert.Contains("CN = DE*JUI*E0001", secc);
        Assert.Contains("DC = CPO", secc);
        Assert.Contains("CA:FALSE", secc);
        Assert.Contains("Digital Signature, Key Agreement", secc);

        string contract = await Text("contract");
        Assert.Contains("CN = DEJUIC000000001", contract);
        Assert.Contains("DC = MO", contract);
        Assert.Contains("Digital Signature, Non Repudiation, Key Encipherment, Key Agreement", contract);

        // the keys and the PKCS#12 bundles open with OpenSSL too
        var (keyCode, key) = await OpenSsl("pkey", "-in", Path.Combine(_dir, "contract.key.pem"), "-noout", "-text");
        Assert.True(keyCode == 0, key);
        Assert.Contains("prime256v1", key);
        var (p12Code, p12) = await OpenSsl("pkcs12", "-in", Path.Combine(_dir, "contract.p12"), "-passin", "pass:" + TestPki.Pkcs12Password, "-nokeys", "-info");
        Assert.True(p12Code == 0, p12);
        Assert.Contains("subject=CN = DEJUIC000000001", p12.Replace("subject=CN=", "subject=CN = ", StringComparison.Ordinal));

        var loaded = TestPki.Load(_dir);
        Assert.Equal(Pki[CertificateRole.Secc].Certificate, loaded[CertificateRole.Secc].Certificate);
        Assert.Equal(V2gKeys.Raw(Pki[CertificateRole.Secc].PrivateKey), V2gKeys.Raw(loaded[CertificateRole.Secc].PrivateKey));
    }

    [Fact]
    public void A_chain_is_refused_when_expired_not_yet_valid_from_a_foreign_root_tampered_out_of_order_or_of_the_wrong_kind()
    {
        var chain = Pki.Chain(CertificateRole.Contract);
        var mo = Pki.MoRoot;
        Assert.Equal(ChainStatus.Expired, CertificateChains.Validate(chain, [mo], From.AddYears(3)).Status);   // the contract lasts two years
        Assert.Equal(ChainStatus.NotYetValid, CertificateChains.Validate(chain, [mo], From.AddDays(-1)).Status);
        var foreign = TestPki.Generate(new TestPkiOptions { Seed = "foreign", ValidFrom = From });
        Assert.Equal(ChainStatus.UntrustedRoot, CertificateChains.Validate(chain, [foreign.MoRoot], From.AddDays(1)).Status);   // same name, other key
        Assert.Equal(ChainStatus.UntrustedRoot, CertificateChains.Validate(chain, [Pki.V2gRoot], From.AddDays(1)).Status);

        byte[] tampered = chain[0].GetEncoded();
        tampered[^5] ^= 0x01;   // inside the signature
        var t = CertificateChains.Validate(tampered, [.. chain.Skip(1).Select(c => c.GetEncoded())], [mo], From.AddDays(1));
        Assert.True(t.Status is ChainStatus.BadSignature or ChainStatus.Malformed, t.Detail);
        Assert.Equal(ChainStatus.BadSignature, CertificateChains.Validate([chain[0], chain[2], chain[1]], [mo], From.AddDays(1)).Status);
        Assert.Equal(ChainStatus.Malformed, CertificateChains.Validate([1, 2, 3], [], [mo], From).Status);
        Assert.Equal(ChainStatus.WrongProfile, CertificateChains.Validate(chain, [mo], From.AddDays(1), "CPO").Status);
        Assert.Equal(ChainStatus.WrongProfile, CertificateChains.Validate(chain.Skip(1).ToList(), [mo], From.AddDays(1)).Status);   // a CA as the leaf

        // a Sub-CA 2 (path length 0) that issues another CA
        var rogue = V2gKeys.FromSeed("rogue", "ca");
        var rogueCa = V2gCertificates.Issue(CertificateRole.MoSubCa2, "Rogue CA", "x", "DE", (ECPublicKeyParameters)rogue.Public, Pki[CertificateRole.MoSubCa2], null, From);
        var leafKey = V2gKeys.FromSeed("rogue", "leaf");
        var leaf = V2gCertificates.Issue(CertificateRole.Contract, "DEJUIC000000009", "x", "DE", (ECPublicKeyParameters)leafKey.Public,
            new CertifiedKey(rogueCa, (ECPrivateKeyParameters)rogue.Private), null, From);
        var deep = CertificateChains.Validate([leaf, rogueCa, chain[1], chain[2]], [mo], From.AddDays(1));
        Assert.Equal(ChainStatus.WrongProfile, deep.Status);
        Assert.Contains("allows 0 CAs", deep.Detail);
    }

    [Fact]
    public void Deterministic_ECDSA_gives_the_signature_of_RFC_6979_A_2_5()
    {
        var key = V2gKeys.FromRaw(Convert.FromHexString("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721"));
        byte[] signature = Iso2Signatures.SignRaw("sample"u8, key);
        Assert.Equal("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716" + "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
            Convert.ToHexString(signature));
    }

    private static AuthorizationReqType Authorization(byte[] challenge) => new() { Id = "ID1", GenChallenge = challenge };

    [Fact]
    public void A_header_signature_verifies_with_us_and_with_dotnet_and_every_tampered_part_is_named()
    {
        var contract = Pki[CertificateRole.Contract];
        byte[] challenge = RandomNumberGenerator.GetBytes(16);
        var element = Iso2Signatures.Body("AuthorizationReq", Authorization(challenge));
        var signature = Iso2Signatures.Sign([("ID1", element)], contract.PrivateKey);
        Assert.Equal(64, signature.SignatureValue.Value.Length);
        Assert.Equal(Iso2Signatures.Sign([("ID1", element)], contract.PrivateKey).SignatureValue.Value, signature.SignatureValue.Value);   // RFC 6979
        Assert.Equal((SignatureCheck.Valid, "valid"), Iso2Signatures.Verify(signature, [("ID1", element)], contract.PublicKey));

        // the same bytes with .NET's ECDSA (OpenSSL): digest of the fragment, raw r‖s over the SignedInfo fragment
        using var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = V2gKeys.Point(contract.PublicKey)[1..33], Y = V2gKeys.Point(contract.PublicKey)[33..] },
        });
        Assert.True(ecdsa.VerifyData(Iso2Signatures.SignedInfoExi(signature.SignedInfo), signature.SignatureValue.Value, HashAlgorithmName.SHA256));
        Assert.Equal(SHA256.HashData(Iso2Exi.EncodeFragment(element)), signature.SignedInfo.Reference[0].DigestValue);

        byte[] other = (byte[])challenge.Clone();
        other[0] ^= 1;
        Assert.Equal(SignatureCheck.DigestMismatch, Iso2Signatures.Verify(signature, [("ID1", Iso2Signatures.Body("AuthorizationReq", Authorization(other)))], contract.PublicKey).Result);
        var broken = Iso2Signatures.Sign([("ID1", element)], contract.PrivateKey);
        broken.SignatureValue.Value[10] ^= 1;
        Assert.Equal(SignatureCheck.BadSignature, Iso2Signatures.Verify(broken, [("ID1", element)], contract.PublicKey).Result);
        Assert.Equal(SignatureCheck.BadSignature, Iso2Signatures.Verify(signature, [("ID1", element)], Pki[CertificateRole.OemProvisioning].PublicKey).Result);
        Assert.Equal(SignatureCheck.Missing, Iso2Signatures.Verify(signature, [("ID2", element)], contract.PublicKey).Result);
        Assert.Equal(SignatureCheck.Missing, Iso2Signatures.Verify(null, [("ID1", element)], contract.PublicKey).Result);
        signature.SignedInfo.SignatureMethod.Algorithm = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
        Assert.Equal(SignatureCheck.UnsupportedAlgorithm, Iso2Signatures.Verify(signature, [("ID1", element)], contract.PublicKey).Result);
    }

    [Fact]
    public void The_contract_key_transport_round_trips_and_its_session_key_is_the_one_dotnet_derives()
    {
        var oem = Pki[CertificateRole.OemProvisioning];
        var contract = Pki[CertificateRole.Contract];
        var (dh, encrypted) = ContractKeyCipher.Encrypt(contract.PrivateKey, oem.PublicKey, new SecureRandom());
        Assert.Equal(65, dh.Length);
        Assert.Equal(48, encrypted.Length);
        Assert.Equal(V2gKeys.Raw(contract.PrivateKey), V2gKeys.Raw(ContractKeyCipher.Decrypt(dh, encrypted, oem.PrivateKey)));

        // [V2G2-818] with .NET: SHA-256(00000001 ‖ Z ‖ 01 55 56), the first 16 bytes
        using var mine = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            D = V2gKeys.Raw(oem.PrivateKey),
            Q = new ECPoint { X = V2gKeys.Point(oem.PublicKey)[1..33], Y = V2gKeys.Point(oem.PublicKey)[33..] },
        });
        using var theirs = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = dh[1..33], Y = dh[33..] } });
        byte[] expected = mine.DeriveKeyFromHash(theirs.PublicKey, HashAlgorithmName.SHA256, [0, 0, 0, 1], [0x01, 0x55, 0x56])[..16];
        Assert.Equal(expected, ContractKeyCipher.SessionKey(oem.PrivateKey, V2gKeys.FromPoint(dh)));
        using var aes = Aes.Create();
        aes.Key = expected;
        Assert.Equal(V2gKeys.Raw(contract.PrivateKey), aes.DecryptCbc(encrypted[16..], encrypted[..16], PaddingMode.None));

        Assert.Throws<CryptographicException>(() => ContractKeyCipher.Decrypt(dh, encrypted[..47], oem.PrivateKey));
        Assert.Throws<CryptographicException>(() => ContractKeyCipher.Decrypt(new byte[65], encrypted, oem.PrivateKey));
    }

    [Theory]
    [InlineData("DEJUIC000000001", true)]
    [InlineData("DE-JUI-C00000000-1", true)]
    [InlineData("DEJUIC00000000", true)]
    [InlineData("DE8EOCAETE3KDB", true)]
    [InlineData("DEJUIC0000000", false)]
    [InlineData("D1JUIC000000001", false)]
    [InlineData("DE_JUI_C00000000", false)]
    [InlineData("", false)]
    public void An_eMAID_has_the_syntax_of_Annex_H(string emaid, bool valid) => Assert.Equal(valid, Emaid.IsValid(emaid));
}
