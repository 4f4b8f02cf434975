using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Security;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Agreement;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Juice.Hlc.Tests.Security;

/// <summary>
/// The -20 contract key transport (§7.9.2.5.2): sealed for the OEM provisioning key and opened with it for every pair
/// of curves, the field layout rebuilt here step by step from the requirements (ECDH, the KDF, AES-GCM-256 with IV ‖
/// ciphertext ‖ tag and the PCID ‖ SKI AAD), and every change that must make the EV refuse the key.
/// </summary>
public sealed class Iso20ContractKeyCipherTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly Iso20TestPkis Pkis = new("iso20-cipher", Now.AddDays(-1));
    private static readonly SecureRandom Random = new();

    /// <summary>A new contract of <paramref name="algorithm"/> from that PKI's MO Sub-CA 2, as the CPS issues it.</summary>
    private static (AsymmetricKeyParameter Key, X509Certificate Certificate) NewContract(PkiAlgorithm algorithm, string emaid = "DEJUIC000000001")
    {
        AsymmetricKeyParameter key = algorithm == PkiAlgorithm.Ed448 ? Iso20ContractKeyCipher.NewEd448ContractKey(Random) : PkiKeys.Generate(algorithm, Random).Private;
        var pki = Pkis[algorithm];
        return (key, V2gCertificates.Issue(CertificateRole.Contract, emaid, "Juice", "DE", PkiKeys.PublicOf(key), pki[CertificateRole.MoSubCa2], null, Now));
    }

    private static CertifiedKey Oem(PkiAlgorithm algorithm) => Pkis[algorithm][CertificateRole.OemProvisioning];

    private static byte[] Field(SealedContractKey sealedKey) => sealedKey.EncryptedKey switch
    {
        SignedInstallationDataTypeChoice.SECP521_EncryptedPrivateKey k => k.Value,
        SignedInstallationDataTypeChoice.X448_EncryptedPrivateKey k => k.Value,
        _ => throw new InvalidOperationException(),
    };

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1, PkiAlgorithm.Secp521r1, 133, 94)]
    [InlineData(PkiAlgorithm.Ed448, PkiAlgorithm.Ed448, 56, 84)]
    [InlineData(PkiAlgorithm.Secp521r1, PkiAlgorithm.Ed448, 133, 84)]
    [InlineData(PkiAlgorithm.Ed448, PkiAlgorithm.Secp521r1, 56, 94)]
    public void A_sealed_contract_key_opens_with_the_OEM_provisioning_key_and_is_the_contract_certificates(PkiAlgorithm oem, PkiAlgorithm contract, int dhLength, int fieldLength)
    {
        var (key, certificate) = NewContract(contract);
        var sealedKey = Iso20ContractKeyCipher.Encrypt(key, certificate, Oem(oem).Certificate.GetPublicKey(), "JUICEPCID00000001", Random);
        Assert.Equal(oem == PkiAlgorithm.Ed448 ? EcdhCurveType.X448 : EcdhCurveType.SECP521, sealedKey.Curve);
        Assert.Equal(dhLength, sealedKey.DhPublicKey.Length);   // [V2G20-2495]: X448 without filler
        Assert.Equal(fieldLength, Field(sealedKey).Length);
        Assert.IsType(contract == PkiAlgorithm.Ed448 ? typeof(SignedInstallationDataTypeChoice.X448_EncryptedPrivateKey) : typeof(SignedInstallationDataTypeChoice.SECP521_EncryptedPrivateKey),
            sealedKey.EncryptedKey);

        var opened = Iso20ContractKeyCipher.Decrypt(sealedKey, Oem(oem).Key, certificate, "JUICEPCID00000001");
        Assert.Equal(PkiKeys.Pkcs8(key), PkiKeys.Pkcs8(opened));
        // the opened key signs: a -20 signature made with it verifies with the contract certificate
        var mode = new PnC_AReqAuthorizationModeType { Id = "id1", GenChallenge = new byte[16], ContractCertificateChain = new ContractCertificateChainType
            { Certificate = certificate.GetEncoded(), SubCertificates = new SubCertificatesType { Certificate = [[0x30, 0x00]] } } };
        var signature = Iso20Signatures.Sign([(mode.Id, Iso20Signatures.Element("PnC_AReqAuthorizationMode", mode))], opened);
        Assert.Equal(SignatureCheck.Valid, Iso20Signatures.Verify(signature, [(mode.Id, Iso20Signatures.Element("PnC_AReqAuthorizationMode", mode))], certificate.GetPublicKey()).Result);
    }

    [Fact]
    public void The_secp521r1_field_is_IV_then_the_key_padded_to_66_bytes_under_AES_GCM_256_then_the_tag_with_the_PCID_and_SKI_as_AAD()
    {
        // rebuilt from [V2G20-2492], [V2G20-2497]..[V2G20-2499] and the session key of §7.9.2.5.4 as the class documents it
        var (key, certificate) = NewContract(PkiAlgorithm.Secp521r1);
        var oem = Oem(PkiAlgorithm.Secp521r1);
        var sealedKey = Iso20ContractKeyCipher.Encrypt(key, certificate, oem.Certificate.GetPublicKey(), "JUICEPCID00000001", Random);
        Assert.Equal(0x04, sealedKey.DhPublicKey[0]);   // the uncompressed point
        var sender = new ECPublicKeyParameters("EC", ((ECPublicKeyParameters)oem.Certificate.GetPublicKey()).Parameters.Curve.DecodePoint(sealedKey.DhPublicKey),
            ((ECPublicKeyParameters)oem.Certificate.GetPublicKey()).Parameters);
        var agreement = new ECDHBasicAgreement();
        agreement.Init(oem.Key);
        byte[] z = agreement.CalculateAgreement(sender).ToByteArrayUnsigned();
        z = [.. new byte[66 - z.Length], .. z];
        byte[] kdfInput = [0, 0, 0, 1, .. z, 0x01, 0x55, 0x56];
        byte[] sessionKey = SHA512.HashData(kdfInput)[..32];
        var ski = Org.BouncyCastle.X509.Extension.X509ExtensionUtilities.CreateSubjectKeyIdentifier(certificate.GetPublicKey()).GetKeyIdentifier();
        byte[] aad = Encoding.ASCII.GetBytes("JUICEPCID00000001" + Convert.ToHexString(ski));
        Assert.Equal(aad, Iso20ContractKeyCipher.Aad("JUICEPCID00000001", certificate));

        byte[] field = Field(sealedKey);
        byte[] plain = new byte[66];
        using (var gcm = new AesGcm(sessionKey, 16))
        {
            gcm.Decrypt(field[..12], field[12..78], field[78..], plain, aad);
        }
        Assert.Equal(0, plain[0] & 0xFE);   // 7 leading zero bits
        Assert.Equal(((ECPrivateKeyParameters)key).D, new Org.BouncyCastle.Math.BigInteger(1, plain));
    }

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1, 0)]    // the IV
    [InlineData(PkiAlgorithm.Secp521r1, 40)]   // the ciphertext
    [InlineData(PkiAlgorithm.Secp521r1, 93)]   // the tag
    [InlineData(PkiAlgorithm.Ed448, 5)]
    [InlineData(PkiAlgorithm.Ed448, 83)]
    public void A_changed_byte_anywhere_in_the_field_is_refused_by_the_tag(PkiAlgorithm algorithm, int at)
    {
        var (key, certificate) = NewContract(algorithm);
        var sealedKey = Iso20ContractKeyCipher.Encrypt(key, certificate, Oem(algorithm).Certificate.GetPublicKey(), "JUICEPCID00000001", Random);
        Field(sealedKey)[at] ^= 0x01;
        var e = Assert.Throws<CryptographicException>(() => Iso20ContractKeyCipher.Decrypt(sealedKey, Oem(algorithm).Key, certificate, "JUICEPCID00000001"));
        Assert.Contains("[V2G20-2504]", e.Message);
    }

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1)]
    [InlineData(PkiAlgorithm.Ed448)]
    public void Another_PCID_another_contract_certificate_another_receiver_or_another_ephemeral_key_opens_nothing(PkiAlgorithm algorithm)
    {
        var (key, certificate) = NewContract(algorithm);
        var sealedKey = Iso20ContractKeyCipher.Encrypt(key, certificate, Oem(algorithm).Certificate.GetPublicKey(), "JUICEPCID00000001", Random);
        Assert.Throws<CryptographicException>(() => Iso20ContractKeyCipher.Decrypt(sealedKey, Oem(algorithm).Key, certificate, "JUICEPCID00000002"));
        var (_, other) = NewContract(algorithm, "DEJUIC000000002");
        Assert.Throws<CryptographicException>(() => Iso20ContractKeyCipher.Decrypt(sealedKey, Oem(algorithm).Key, other, "JUICEPCID00000001"));
        var stranger = TestPki.Generate(new TestPkiOptions { Seed = "stranger", ValidFrom = Now, Algorithm = algorithm })[CertificateRole.OemProvisioning];
        Assert.Throws<CryptographicException>(() => Iso20ContractKeyCipher.Decrypt(sealedKey, stranger.Key, certificate, "JUICEPCID00000001"));
        var again = Iso20ContractKeyCipher.Encrypt(key, certificate, Oem(algorithm).Certificate.GetPublicKey(), "JUICEPCID00000001", Random);
        Assert.Throws<CryptographicException>(() => Iso20ContractKeyCipher.Decrypt(sealedKey with { DhPublicKey = again.DhPublicKey }, Oem(algorithm).Key, certificate, "JUICEPCID00000001"));
        // the curve must fit the EV's key
        Assert.Throws<CryptographicException>(() => Iso20ContractKeyCipher.Decrypt(sealedKey, Oem(algorithm == PkiAlgorithm.Ed448 ? PkiAlgorithm.Secp521r1 : PkiAlgorithm.Ed448).Key,
            certificate, "JUICEPCID00000001"));
    }

    [Fact]
    public void A_key_that_opens_but_is_not_the_certificates_is_refused()
    {
        var (key, certificate) = NewContract(PkiAlgorithm.Secp521r1);
        var (_, other) = NewContract(PkiAlgorithm.Secp521r1, "DEJUIC000000002");
        // sealed with the other certificate's SKI in the AAD, so the tag holds for it: the key check must catch it
        var sealedKey = Iso20ContractKeyCipher.Encrypt(key, other, Oem(PkiAlgorithm.Secp521r1).Certificate.GetPublicKey(), "JUICEPCID00000001", Random);
        var e = Assert.Throws<CryptographicException>(() => Iso20ContractKeyCipher.Decrypt(sealedKey, Oem(PkiAlgorithm.Secp521r1).Key, other, "JUICEPCID00000001"));
        Assert.Contains("not the contract certificate's", e.Message);
    }

    [Fact]
    public void An_Ed448_key_whose_57th_byte_is_set_cannot_be_carried_in_56_bytes()
    {
        byte[] secret = new byte[57];
        secret[56] = 1;
        var key = new Ed448PrivateKeyParameters(secret);
        var certificate = V2gCertificates.Issue(CertificateRole.Contract, "DEJUIC000000001", "Juice", "DE", key.GeneratePublicKey(), Pkis.Ed448[CertificateRole.MoSubCa2], null, Now);
        Assert.Throws<ArgumentException>(() => Iso20ContractKeyCipher.Encrypt(key, certificate, Oem(PkiAlgorithm.Ed448).Certificate.GetPublicKey(), "JUICEPCID00000001", Random));
        Assert.Equal(0, Iso20ContractKeyCipher.NewEd448ContractKey(Random).GetEncoded()[56]);
    }

    [Fact]
    public void The_session_key_is_the_one_step_KDF_with_SHA_512_of_the_shared_secret()
    {
        byte[] z = Enumerable.Range(0, 66).Select(i => (byte)i).ToArray();
        byte[] input = new byte[4 + 66 + 3];
        BinaryPrimitives.WriteInt32BigEndian(input, 1);
        z.CopyTo(input, 4);
        input[70] = 0x01;
        input[71] = 0x55;
        input[72] = 0x56;
        Assert.Equal(SHA512.HashData(input)[..32], Iso20ContractKeyCipher.SessionKey(z));
    }
}
