using System.Security.Cryptography;
using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Security;

namespace Juice.Hlc.Tests.Security;

/// <summary>
/// The ISO 15118-20 header signatures: ecdsa-sha512 over secp521r1 with SHA-512 digests and Ed448 with SHAKE256
/// digests, over the EXI fragment of the signed element as the reference encoder codes it; every signed part tampered
/// with is caught, and a key of the wrong algorithm is refused.
/// </summary>
public sealed class Iso20SignaturesTests
{
    private static readonly DateTimeOffset From = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Lazy<TestPki> P521 = new(() => TestPki.Generate(new TestPkiOptions { Seed = "iso20-sig", ValidFrom = From, Algorithm = PkiAlgorithm.Secp521r1 }));
    private static readonly Lazy<TestPki> Ed448 = new(() => TestPki.Generate(new TestPkiOptions { Seed = "iso20-sig", ValidFrom = From, Algorithm = PkiAlgorithm.Ed448 }));

    private static string Vector(string name) => Path.Combine(Vectors.Shared, "vectors", "exi", "iso20-CommonMessages-fragment", name);

    private static ExiRoot ReferenceElement(out byte[] referenceExi)
    {
        referenceExi = Convert.FromHexString(File.ReadAllText(Vector("PnC_AReqAuthorizationMode.fromAuthorizationReq.c3.exi")).Trim());   // hex text
        return ExiCodec.Iso20CommonFragment.ReadXml(System.Xml.Linq.XElement.Parse(File.ReadAllText(Vector("PnC_AReqAuthorizationMode.fromAuthorizationReq.c3.xml"))));
    }

    [Fact]
    public void The_digests_are_taken_over_the_reference_encoding_of_the_fragment()
    {
        var element = ReferenceElement(out byte[] exi);
        Assert.Equal(SHA512.HashData(exi), Iso20Signatures.Digest(element, Iso20Signatures.Sha512));
        var shake = new Org.BouncyCastle.Crypto.Digests.ShakeDigest(256);
        shake.BlockUpdate(exi, 0, exi.Length);
        var expected = new byte[64];
        shake.OutputFinal(expected, 0, 64);
        Assert.Equal(expected, Iso20Signatures.Digest(element, Iso20Signatures.Shake256));
        Assert.Null(Iso20Signatures.Digest(element, Iso2Signatures.Sha256));
    }

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1, Iso20Signatures.EcdsaSha512, Iso20Signatures.Sha512, 132)]
    [InlineData(PkiAlgorithm.Ed448, Iso20Signatures.EddsaEd448, Iso20Signatures.Shake256, 114)]
    public void A_signature_verifies_with_the_signers_key_and_each_tampered_part_is_caught(PkiAlgorithm algorithm, string method, string digest, int length)
    {
        var pki = algorithm == PkiAlgorithm.Ed448 ? Ed448.Value : P521.Value;
        var element = ReferenceElement(out _);
        string id = ((PnC_AReqAuthorizationModeType)element.Value).Id;
        var key = pki[CertificateRole.Contract].Key;
        var publicKey = pki[CertificateRole.Contract].Certificate.GetPublicKey();
        var signature = Iso20Signatures.Sign([(id, element)], key);
        Assert.Equal(method, signature.SignedInfo.SignatureMethod.Algorithm);
        Assert.Equal(digest, signature.SignedInfo.Reference[0].DigestMethod.Algorithm);
        Assert.Equal(length, signature.SignatureValue.Value.Length);
        Assert.Equal(SignatureCheck.Valid, Iso20Signatures.Verify(signature, [(id, element)], publicKey).Result);
        // deterministic (RFC 6979 / EdDSA): the same bytes again
        Assert.Equal(signature.SignatureValue.Value, Iso20Signatures.Sign([(id, element)], key).SignatureValue.Value);

        // the element
        var changed = ExiCodec.Iso20CommonFragment.ReadXml(System.Xml.Linq.XElement.Parse(File.ReadAllText(Vector("PnC_AReqAuthorizationMode.fromAuthorizationReq.c3.xml"))));
        ((PnC_AReqAuthorizationModeType)changed.Value).GenChallenge[0] ^= 1;
        Assert.Equal(SignatureCheck.DigestMismatch, Iso20Signatures.Verify(signature, [(id, changed)], publicKey).Result);
        // the digest in SignedInfo
        var forged = Iso20Signatures.Sign([(id, element)], key);
        forged.SignedInfo.Reference[0].DigestValue = Iso20Signatures.Digest(changed, digest)!;
        Assert.Equal(SignatureCheck.BadSignature, Iso20Signatures.Verify(forged, [(id, changed)], publicKey).Result);
        // the signature value
        var flipped = Iso20Signatures.Sign([(id, element)], key);
        flipped.SignatureValue.Value[^1] ^= 0x40;
        Assert.Equal(SignatureCheck.BadSignature, Iso20Signatures.Verify(flipped, [(id, element)], publicKey).Result);
        // another key of the same algorithm, a key of the other -20 algorithm, an ISO 15118-2 key
        Assert.Equal(SignatureCheck.BadSignature, Iso20Signatures.Verify(signature, [(id, element)], pki[CertificateRole.MoSubCa2].Certificate.GetPublicKey()).Result);
        var other = algorithm == PkiAlgorithm.Ed448 ? P521.Value : Ed448.Value;
        Assert.Equal(SignatureCheck.UnsupportedAlgorithm, Iso20Signatures.Verify(signature, [(id, element)], other[CertificateRole.Contract].Certificate.GetPublicKey()).Result);
        var iso2 = TestPki.Generate(new TestPkiOptions { Seed = "iso20-sig", ValidFrom = From });
        Assert.Equal(SignatureCheck.UnsupportedAlgorithm, Iso20Signatures.Verify(signature, [(id, element)], iso2[CertificateRole.Contract].PublicKey).Result);
        Assert.Throws<NotSupportedException>(() => Iso20Signatures.Sign([(id, element)], iso2[CertificateRole.Contract].PrivateKey));
        // a Reference to another Id, no signature at all
        Assert.Equal(SignatureCheck.Missing, Iso20Signatures.Verify(signature, [("other", element)], publicKey).Result);
        Assert.Equal(SignatureCheck.Missing, Iso20Signatures.Verify(null, [(id, element)], publicKey).Result);
    }

    [Fact]
    public async Task An_Ed448_signature_verifies_with_OpenSSLs_EdDSA_as_an_independent_check()
    {
        // .NET has no Ed448: check the raw signature with the openssl command over the same bytes
        var pki = Ed448.Value;
        byte[] data = "SignedInfo bytes"u8.ToArray();
        byte[] value = Iso20Signatures.SignRaw(data, pki[CertificateRole.Contract].Key);
        string dir = Directory.CreateTempSubdirectory("juice-ed448-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "data"), data);
            File.WriteAllBytes(Path.Combine(dir, "sig"), value);
            File.WriteAllText(Path.Combine(dir, "cert.pem"), V2gCertificates.ToPem([pki[CertificateRole.Contract].Certificate]));
            var (code, output) = await ChildProcess.RunAsync("openssl", ["pkeyutl", "-verify", "-certin", "-inkey", "cert.pem", "-rawin", "-in", "data", "-sigfile", "sig"],
                workingDirectory: dir);
            Assert.True(code == 0, output);
            Assert.Contains("Signature Verified Successfully", output);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
