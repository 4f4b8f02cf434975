using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using Juice.Hlc.Exi.Iso20;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Agreement;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Juice.Hlc.Security;

/// <summary>A contract key sealed for one EV: the curve of the key agreement, the sender's ephemeral public key and the encrypted key.</summary>
public sealed record SealedContractKey(EcdhCurveType Curve, byte[] DhPublicKey, SignedInstallationDataTypeChoice EncryptedKey);

/// <summary>
/// The transport of a contract certificate's private key in the ISO 15118-20 CertificateInstallationRes (§7.9.2.5.2,
/// EVCC without TPM): ephemeral-static ECDH with the OEM provisioning key (§7.9.2.5.4) — secp521r1 (DHPublicKey the
/// uncompressed point, 133 bytes, Z the x-coordinate) or X448 (DHPublicKey the 56-byte u-coordinate without filler
/// [V2G20-2495]; an Ed448 OEM key takes part through the RFC 7748 map of its public key and the X448 scalar of its
/// RFC 8032 secret, [V2G20-2491]) — then AES-GCM-256 with a random 96-bit IV, a 128-bit tag and the AAD of
/// [V2G20-2492] (the PCID, then the contract certificate's SKI as upper-case hex, both ASCII); sent as IV ‖ ciphertext
/// ‖ tag: 94 bytes for a secp521r1 key padded to 66 bytes [V2G20-2497..2499], 84 bytes for a 56-byte Ed448 key
/// [V2G20-2500..2502].
/// Two readings of ours where the text at hand is silent, kept in this one file: the session key is the one-step KDF of
/// NIST SP 800-56C with SHA-512 and the OtherInfo of ISO 15118-2 [V2G2-818] (AlgorithmID 0x01, PartyUInfo 0x55,
/// PartyVInfo 0x56), cut to 256 bits; and an Ed448 contract key is its RFC 8032 secret whose 57th byte is zero, so that
/// the 56 bytes the field holds make a key that signs as RFC 8032 says (the CPS issues such keys).
/// </summary>
public static class Iso20ContractKeyCipher
{
    public const int Secp521Length = 94;
    public const int X448Length = 84;
    private const int IvLength = 12;
    private const int TagLength = 16;
    private const int P521Bytes = 66;
    private const int X448Bytes = 56;

    private static readonly ECNamedDomainParameters P521 = new(SecObjectIdentifiers.SecP521r1, ECNamedCurveTable.GetByName("secp521r1"));
    private static readonly BigInteger P448 = BigInteger.Pow(2, 448) - BigInteger.Pow(2, 224) - 1;
    private static readonly BigInteger EdwardsD = P448 - 39081;

    /// <summary>An Ed448 contract key the 56 bytes of X448_EncryptedPrivateKey can carry (its 57th secret byte zero).</summary>
    public static Ed448PrivateKeyParameters NewEd448ContractKey(SecureRandom random)
    {
        byte[] secret = new byte[Ed448PrivateKeyParameters.KeySize];
        random.NextBytes(secret, 0, X448Bytes);
        return new Ed448PrivateKeyParameters(secret);
    }

    /// <summary>The AAD of [V2G20-2492]: the PCID (upper case, no separators), then the contract certificate's SKI in upper-case hex.</summary>
    public static byte[] Aad(string pcid, X509Certificate contract) =>
        Encoding.ASCII.GetBytes(pcid.Replace("-", "", StringComparison.Ordinal).ToUpperInvariant() + Convert.ToHexString(SubjectKeyId(contract)));

    /// <summary>Seals <paramref name="contractKey"/> (secp521r1 or Ed448) for the holder of <paramref name="oemPublicKey"/> (secp521r1 or Ed448).</summary>
    public static SealedContractKey Encrypt(AsymmetricKeyParameter contractKey, X509Certificate contract, AsymmetricKeyParameter oemPublicKey, string pcid, SecureRandom random)
    {
        byte[] plain = contractKey switch
        {
            ECPrivateKeyParameters ec when PkiKeys.Of(ec) == PkiAlgorithm.Secp521r1 => Fixed(ec.D.ToByteArrayUnsigned(), P521Bytes),   // [V2G20-2497]: 7 leading zero bits
            Ed448PrivateKeyParameters ed when ed.GetEncoded()[X448Bytes] == 0 => ed.GetEncoded()[..X448Bytes],
            Ed448PrivateKeyParameters => throw new ArgumentException("the Ed448 contract key's 57th byte is not zero: 56 bytes cannot carry it (NewEd448ContractKey)"),
            _ => throw new ArgumentException($"a -20 contract key is secp521r1 or Ed448, not {PkiKeys.Of(contractKey).Name()}"),
        };
        EcdhCurveType curve;
        byte[] dh, z;
        switch (oemPublicKey)
        {
            case ECPublicKeyParameters ec when PkiKeys.Of(ec) == PkiAlgorithm.Secp521r1:
                var pair = PkiKeys.Generate(PkiAlgorithm.Secp521r1, random);
                curve = EcdhCurveType.SECP521;
                dh = ((ECPublicKeyParameters)pair.Public).Q.GetEncoded(false);
                z = AgreeP521((ECPrivateKeyParameters)pair.Private, ec);
                break;
            case Ed448PublicKeyParameters ed:
                var ephemeral = new X448PrivateKeyParameters(random);
                curve = EcdhCurveType.X448;
                dh = ephemeral.GeneratePublicKey().GetEncoded();
                z = new byte[X448Bytes];
                ephemeral.GenerateSecret(X448Of(ed), z, 0);
                break;
            default:
                throw new ArgumentException($"the OEM provisioning key is {PkiKeys.Of(oemPublicKey).Name()}; -20 installs for secp521r1 or Ed448");
        }
        byte[] iv = new byte[IvLength];
        random.NextBytes(iv);
        byte[] sealedKey = new byte[IvLength + plain.Length + TagLength];
        iv.CopyTo(sealedKey, 0);
        using (var gcm = new AesGcm(SessionKey(z), TagLength))
        {
            gcm.Encrypt(iv, plain, sealedKey.AsSpan(IvLength, plain.Length), sealedKey.AsSpan(IvLength + plain.Length), Aad(pcid, contract));
        }
        CryptographicOperations.ZeroMemory(plain);
        CryptographicOperations.ZeroMemory(z);
        SignedInstallationDataTypeChoice field = plain.Length == P521Bytes
            ? new SignedInstallationDataTypeChoice.SECP521_EncryptedPrivateKey(sealedKey)
            : new SignedInstallationDataTypeChoice.X448_EncryptedPrivateKey(sealedKey);
        return new SealedContractKey(curve, dh, field);
    }

    /// <summary>
    /// Opens a sealed contract key with the OEM provisioning key and checks it is the contract certificate's
    /// ([V2G20-2504], [V2G20-2678], [V2G20-2507], [V2G20-2510]); <see cref="CryptographicException"/> with the reason otherwise.
    /// </summary>
    public static AsymmetricKeyParameter Decrypt(SealedContractKey sealedKey, AsymmetricKeyParameter oemPrivateKey, X509Certificate contract, string pcid)
    {
        byte[] z;
        switch (sealedKey.Curve, oemPrivateKey)
        {
            case (EcdhCurveType.SECP521, ECPrivateKeyParameters ec) when PkiKeys.Of(ec) == PkiAlgorithm.Secp521r1:
                ECPublicKeyParameters sender;
                try
                {
                    sender = new ECPublicKeyParameters("EC", P521.Curve.DecodePoint(sealedKey.DhPublicKey), SecObjectIdentifiers.SecP521r1);
                }
                catch (ArgumentException e)
                {
                    throw new CryptographicException("DHPublicKey is no secp521r1 point: " + e.Message, e);
                }
                z = AgreeP521(ec, sender);
                break;
            case (EcdhCurveType.X448, Ed448PrivateKeyParameters ed):
                if (sealedKey.DhPublicKey.Length != X448Bytes)
                {
                    throw new CryptographicException($"DHPublicKey has {sealedKey.DhPublicKey.Length} bytes; an X448 key has {X448Bytes}");
                }
                z = new byte[X448Bytes];
                X448Of(ed).GenerateSecret(new X448PublicKeyParameters(sealedKey.DhPublicKey), z, 0);
                break;
            default:
                throw new CryptographicException($"ECDHCurve {sealedKey.Curve} does not fit the OEM provisioning key ({PkiKeys.Of(oemPrivateKey).Name()})");
        }
        byte[] field = sealedKey.EncryptedKey switch
        {
            SignedInstallationDataTypeChoice.SECP521_EncryptedPrivateKey k => k.Value,
            SignedInstallationDataTypeChoice.X448_EncryptedPrivateKey k => k.Value,
            _ => throw new CryptographicException("TPM_EncryptedPrivateKey: this EV has no TPM 2.0"),
        };
        int length = sealedKey.EncryptedKey is SignedInstallationDataTypeChoice.SECP521_EncryptedPrivateKey ? Secp521Length : X448Length;
        if (field.Length != length)
        {
            throw new CryptographicException($"the encrypted private key has {field.Length} bytes, not {length}");
        }
        byte[] plain = new byte[length - IvLength - TagLength];
        try
        {
            using var gcm = new AesGcm(SessionKey(z), TagLength);
            gcm.Decrypt(field.AsSpan(0, IvLength), field.AsSpan(IvLength, plain.Length), field.AsSpan(IvLength + plain.Length), plain, Aad(pcid, contract));
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new CryptographicException("AES-GCM: the tag does not verify (tampered data, another PCID or contract, or another receiver) [V2G20-2504]", e);
        }
        AsymmetricKeyParameter key;
        if (plain.Length == P521Bytes)
        {
            if ((plain[0] & 0xFE) != 0)
            {
                throw new CryptographicException("the decrypted key's 7 most significant bits are not zero [V2G20-2678]");
            }
            var d = new Org.BouncyCastle.Math.BigInteger(1, plain);
            if (d.SignValue <= 0 || d.CompareTo(P521.N) >= 0)
            {
                throw new CryptographicException("the decrypted key is not below the order of secp521r1 [V2G20-2507]");
            }
            key = new ECPrivateKeyParameters("EC", d, SecObjectIdentifiers.SecP521r1);
        }
        else
        {
            key = new Ed448PrivateKeyParameters([.. plain, 0]);
        }
        if (!PkiKeys.Belongs(key, contract.GetPublicKey()))
        {
            throw new CryptographicException("the decrypted key is not the contract certificate's [V2G20-2507]/[V2G20-2510]");
        }
        return key;
    }

    /// <summary>
    /// The session key: one-step KDF (NIST SP 800-56C) with SHA-512 over counter 1 ‖ Z ‖ OtherInfo 01 55 56, the first
    /// 256 bits (our reading, see the class summary).
    /// </summary>
    internal static byte[] SessionKey(ReadOnlySpan<byte> z)
    {
        byte[] input = new byte[4 + z.Length + 3];
        BinaryPrimitives.WriteUInt32BigEndian(input, 1);
        z.CopyTo(input.AsSpan(4));
        input[^3] = 0x01;
        input[^2] = 0x55;
        input[^1] = 0x56;
        byte[] key = SHA512.HashData(input)[..32];
        CryptographicOperations.ZeroMemory(input);
        return key;
    }

    /// <summary>ECDH on secp521r1: the x-coordinate in 66 bytes.</summary>
    private static byte[] AgreeP521(ECPrivateKeyParameters own, ECPublicKeyParameters other)
    {
        var agreement = new ECDHBasicAgreement();
        agreement.Init(own);
        return Fixed(agreement.CalculateAgreement(other).ToByteArrayUnsigned(), P521Bytes);
    }

    /// <summary>
    /// The X448 private key of an Ed448 secret: the first 56 bytes of SHAKE256(secret, 114), the scalar RFC 8032 prunes
    /// as X448 clamps it.
    /// </summary>
    private static X448PrivateKeyParameters X448Of(Ed448PrivateKeyParameters ed)
    {
        byte[] secret = ed.GetEncoded();
        var shake = new ShakeDigest(256);
        shake.BlockUpdate(secret, 0, secret.Length);
        byte[] h = new byte[114];
        shake.OutputFinal(h, 0, h.Length);
        var x = new X448PrivateKeyParameters(h, 0);
        CryptographicOperations.ZeroMemory(h);
        return x;
    }

    /// <summary>The X448 public key of an Ed448 public key (RFC 7748 §4.2): u = y²/x² = y²(1 − d·y²)/(1 − y²) mod p.</summary>
    private static X448PublicKeyParameters X448Of(Ed448PublicKeyParameters ed)
    {
        byte[] encoded = ed.GetEncoded();
        var y = new BigInteger(encoded.AsSpan(0, X448Bytes), isUnsigned: true, isBigEndian: false);
        var y2 = y * y % P448;
        var numerator = y2 * Mod(1 - EdwardsD * y2) % P448;
        var u = numerator * BigInteger.ModPow(Mod(1 - y2), P448 - 2, P448) % P448;
        byte[] bytes = new byte[X448Bytes];
        u.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
        return new X448PublicKeyParameters(bytes);
    }

    private static BigInteger Mod(BigInteger a) => (a % P448 + P448) % P448;

    private static byte[] SubjectKeyId(X509Certificate certificate) =>
        certificate.GetExtensionValue(X509Extensions.SubjectKeyIdentifier) is { } value
            ? SubjectKeyIdentifier.GetInstance(Org.BouncyCastle.Asn1.Asn1Object.FromByteArray(value.GetOctets())).GetKeyIdentifier()
            : throw new CryptographicException("the contract certificate has no subject key identifier");

    private static byte[] Fixed(byte[] value, int length) => value.Length >= length ? value[^length..] : [.. new byte[length - value.Length], .. value];
}
