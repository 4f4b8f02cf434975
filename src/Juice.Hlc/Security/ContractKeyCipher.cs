using System.Buffers.Binary;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Agreement;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Juice.Hlc.Security;

/// <summary>
/// The transport of a contract certificate's private key in CertificateInstallationRes / CertificateUpdateRes
/// (ISO 15118-2 §7.9.2.4.4): the sender makes an ephemeral ECDH key pair (its public point is DHpublickey), the
/// shared secret with the receiver's key (the OEM provisioning certificate's, or the contract being updated)
/// goes through the concatenation KDF of NIST SP 800-56A with SHA-256 and OtherInfo = AlgorithmID 0x01, PartyUInfo
/// 0x55, PartyVInfo 0x56 to a 128-bit key [V2G2-818]; the 32-byte private key is encrypted with AES-128-CBC
/// without padding under a random IV, sent as IV ‖ ciphertext (48 bytes) [V2G2-819].
/// </summary>
public static class ContractKeyCipher
{
    public const int EncryptedLength = 48;

    /// <summary>Encrypts <paramref name="contractKey"/> for the holder of <paramref name="recipient"/>; returns DHpublickey and the encrypted key.</summary>
    public static (byte[] DhPublicKey, byte[] EncryptedKey) Encrypt(ECPrivateKeyParameters contractKey, ECPublicKeyParameters recipient, SecureRandom random)
    {
        var ephemeral = V2gKeys.Generate(random);
        byte[] key = SessionKey((ECPrivateKeyParameters)ephemeral.Private, recipient);
        byte[] iv = new byte[16];
        random.NextBytes(iv);
        using var aes = Aes.Create();
        aes.Key = key;
        byte[] cipher = aes.EncryptCbc(V2gKeys.Raw(contractKey), iv, PaddingMode.None);
        return (V2gKeys.Point((ECPublicKeyParameters)ephemeral.Public), [.. iv, .. cipher]);
    }

    /// <summary>
    /// Decrypts the contract key with the receiver's key; throws <see cref="CryptographicException"/> for bytes that
    /// give no key. AES-CBC cannot tell a wrong key: the receiver compares the result with the contract
    /// certificate (<see cref="Matches"/>).
    /// </summary>
    public static ECPrivateKeyParameters Decrypt(ReadOnlySpan<byte> dhPublicKey, ReadOnlySpan<byte> encryptedKey, ECPrivateKeyParameters receiverKey)
    {
        if (encryptedKey.Length != EncryptedLength)
        {
            throw new CryptographicException($"the encrypted private key has {encryptedKey.Length} bytes, not {EncryptedLength}");
        }
        ECPublicKeyParameters sender;
        try
        {
            sender = V2gKeys.FromPoint(dhPublicKey);
        }
        catch (ArgumentException e)
        {
            throw new CryptographicException("DHpublickey: " + e.Message, e);
        }
        using var aes = Aes.Create();
        aes.Key = SessionKey(receiverKey, sender);
        byte[] plain = aes.DecryptCbc(encryptedKey[16..], encryptedKey[..16], PaddingMode.None);
        try
        {
            return V2gKeys.FromRaw(plain);
        }
        catch (ArgumentException e)
        {
            throw new CryptographicException("the decrypted bytes are no private key (wrong receiver key?)", e);
        }
    }

    /// <summary>True when <paramref name="privateKey"/> belongs to <paramref name="publicKey"/>.</summary>
    public static bool Matches(ECPrivateKeyParameters privateKey, ECPublicKeyParameters publicKey) => PkiKeys.Belongs(privateKey, publicKey);

    /// <summary>ECDH (the x-coordinate, 32 bytes) and the concatenation KDF of [V2G2-818] to 128 bits.</summary>
    internal static byte[] SessionKey(ECPrivateKeyParameters own, ECPublicKeyParameters other)
    {
        var agreement = new ECDHBasicAgreement();
        agreement.Init(own);
        byte[] z = agreement.CalculateAgreement(other).ToByteArrayUnsigned();
        if (z.Length < 32)
        {
            z = [.. new byte[32 - z.Length], .. z];
        }
        Span<byte> input = stackalloc byte[4 + 32 + 3];
        BinaryPrimitives.WriteUInt32BigEndian(input, 1);   // counter
        z.CopyTo(input[4..]);
        input[36] = 0x01;   // AlgorithmID
        input[37] = 0x55;   // PartyUInfo 'U'
        input[38] = 0x56;   // PartyVInfo 'V'
        return SHA256.HashData(input)[..16];
    }
}
