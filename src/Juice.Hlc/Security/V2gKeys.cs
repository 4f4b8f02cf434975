using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace Juice.Hlc.Security;

/// <summary>
/// The keys of ISO 15118-2 (Annex F, §7.9.2.4): ECDSA and ECDH on secp256r1 (NIST P-256). Public keys travel as the
/// uncompressed point (0x04 ‖ X ‖ Y, 65 bytes: DHpublickey), private keys as the 32-byte scalar
/// (ContractSignatureEncryptedPrivateKey) or PKCS#8 in files.
/// </summary>
public static class V2gKeys
{
    public static readonly X9ECParameters Curve = ECNamedCurveTable.GetByName("secp256r1");

    public static readonly ECNamedDomainParameters Domain = new(SecObjectIdentifiers.SecP256r1, Curve);

    public static AsymmetricCipherKeyPair Generate(SecureRandom random)
    {
        var generator = new ECKeyPairGenerator();
        generator.Init(new ECKeyGenerationParameters(Domain, random));
        return generator.GenerateKeyPair();
    }

    /// <summary>A key pair derived from a seed and a label (deterministic test PKIs): d = SHA-256(seed ‖ 0 ‖ label) mod (n − 1) + 1.</summary>
    public static AsymmetricCipherKeyPair FromSeed(string seed, string label)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed + "\0" + label));
        var d = new BigInteger(1, hash).Mod(Curve.N.Subtract(BigInteger.One)).Add(BigInteger.One);
        return Pair(new ECPrivateKeyParameters("EC", d, SecObjectIdentifiers.SecP256r1));
    }

    public static AsymmetricCipherKeyPair Pair(ECPrivateKeyParameters privateKey) => new(PublicOf(privateKey), privateKey);

    public static ECPublicKeyParameters PublicOf(ECPrivateKeyParameters privateKey) =>
        new("EC", Domain.G.Multiply(privateKey.D).Normalize(), SecObjectIdentifiers.SecP256r1);

    /// <summary>The uncompressed point of a public key (65 bytes).</summary>
    public static byte[] Point(ECPublicKeyParameters key) => key.Q.GetEncoded(false);

    /// <summary>A public key from its point; throws <see cref="ArgumentException"/> for bytes that are no point of the curve.</summary>
    public static ECPublicKeyParameters FromPoint(ReadOnlySpan<byte> point)
    {
        try
        {
            var q = Curve.Curve.DecodePoint(point.ToArray());
            if (!q.IsValid() || q.IsInfinity)
            {
                throw new ArgumentException("not a point of secp256r1");
            }
            return new ECPublicKeyParameters("EC", q, SecObjectIdentifiers.SecP256r1);
        }
        catch (Exception e) when (e is not ArgumentException)
        {
            throw new ArgumentException("not a point of secp256r1: " + e.Message, e);
        }
    }

    /// <summary>The 32-byte big-endian private scalar.</summary>
    public static byte[] Raw(ECPrivateKeyParameters key) => key.D.ToByteArrayUnsigned().Length == 32
        ? key.D.ToByteArrayUnsigned()
        : [.. new byte[32 - key.D.ToByteArrayUnsigned().Length], .. key.D.ToByteArrayUnsigned()];

    public static ECPrivateKeyParameters FromRaw(ReadOnlySpan<byte> scalar)
    {
        var d = new BigInteger(1, scalar.ToArray());
        if (scalar.Length != 32 || d.SignValue <= 0 || d.CompareTo(Curve.N) >= 0)
        {
            throw new ArgumentException("a secp256r1 private key is a 32-byte scalar in 1..n-1");
        }
        return new ECPrivateKeyParameters("EC", d, SecObjectIdentifiers.SecP256r1);
    }

    /// <summary>PKCS#8 DER of a private key (what OpenSSL, Java and .NET read).</summary>
    public static byte[] Pkcs8(ECPrivateKeyParameters key) => PrivateKeyInfoFactory.CreatePrivateKeyInfo(key).GetEncoded();

    public static string Pkcs8Pem(ECPrivateKeyParameters key) => Pem.Encode("PRIVATE KEY", Pkcs8(key));

    /// <summary>A private key from PEM: PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY").</summary>
    public static ECPrivateKeyParameters ReadPrivateKeyPem(string pem)
    {
        using var reader = new StringReader(pem);
        object? o = new PemReader(reader).ReadObject();
        return o switch
        {
            ECPrivateKeyParameters k => k,
            AsymmetricCipherKeyPair { Private: ECPrivateKeyParameters k } => k,
            _ => throw new FormatException("no EC private key in the PEM text"),
        };
    }
}

/// <summary>PEM armour (RFC 7468).</summary>
public static class Pem
{
    public static string Encode(string label, ReadOnlySpan<byte> der) => new string(PemEncoding.Write(label, der)) + "\n";

    /// <summary>Every block with the label, in order.</summary>
    public static IReadOnlyList<byte[]> Decode(string text, string label)
    {
        var list = new List<byte[]>();
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual(label))
            {
                list.Add(Convert.FromBase64String(rest[fields.Base64Data].ToString()));
            }
            rest = rest[fields.Location.End..];
        }
        return list;
    }
}
