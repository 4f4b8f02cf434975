using System.Text;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.EdEC;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace Juice.Hlc.Security;

/// <summary>
/// The key and signature algorithms of the V2G PKIs: ISO 15118-2 uses ECDSA over secp256r1 with SHA-256 (Annex F);
/// ISO 15118-20 offers two profiles, ECDSA over secp521r1 with SHA-512 and EdDSA over Ed448 (§7.9, Annex B), for its
/// certificates, its TLS 1.3 handshake and its message signatures.
/// </summary>
public enum PkiAlgorithm
{
    Secp256r1,
    Secp521r1,
    Ed448,
}

/// <summary>Keys, certificate signatures and key files for each <see cref="PkiAlgorithm"/>.</summary>
public static class PkiKeys
{
    private static readonly X9ECParameters P521 = ECNamedCurveTable.GetByName("secp521r1");
    private static readonly ECNamedDomainParameters P521Domain = new(SecObjectIdentifiers.SecP521r1, P521);

    /// <summary>The name used in file and folder names and in pki.json: secp256r1, secp521r1, ed448.</summary>
    public static string Name(this PkiAlgorithm algorithm) => algorithm.ToString().ToLowerInvariant();

    public static PkiAlgorithm Parse(string name) => name.ToLowerInvariant() switch
    {
        "secp256r1" or "p-256" or "prime256v1" => PkiAlgorithm.Secp256r1,
        "secp521r1" or "p-521" => PkiAlgorithm.Secp521r1,
        "ed448" => PkiAlgorithm.Ed448,
        _ => throw new FormatException($"'{name}' is no PKI algorithm (secp256r1, secp521r1, ed448)"),
    };

    /// <summary>The algorithm of a private or public key; <see cref="NotSupportedException"/> for any other key.</summary>
    public static PkiAlgorithm Of(AsymmetricKeyParameter key) => key switch
    {
        Ed448PrivateKeyParameters or Ed448PublicKeyParameters => PkiAlgorithm.Ed448,
        ECKeyParameters ec when ec.Parameters.Curve.FieldSize == 256 => PkiAlgorithm.Secp256r1,
        ECKeyParameters ec when ec.Parameters.Curve.FieldSize == 521 => PkiAlgorithm.Secp521r1,
        _ => throw new NotSupportedException($"a {key.GetType().Name} is no key of the V2G PKIs"),
    };

    public static AsymmetricCipherKeyPair Generate(PkiAlgorithm algorithm, SecureRandom random)
    {
        switch (algorithm)
        {
            case PkiAlgorithm.Secp256r1:
                return V2gKeys.Generate(random);
            case PkiAlgorithm.Secp521r1:
                var ec = new ECKeyPairGenerator();
                ec.Init(new ECKeyGenerationParameters(P521Domain, random));
                return ec.GenerateKeyPair();
            default:
                var ed = new Ed448KeyPairGenerator();
                ed.Init(new Ed448KeyGenerationParameters(random));
                return ed.GenerateKeyPair();
        }
    }

    /// <summary>
    /// A key pair derived from a seed and a label (deterministic test PKIs): secp256r1 as <see cref="V2gKeys.FromSeed"/>;
    /// secp521r1 d = SHAKE256(seed ‖ 0 ‖ label, 80 bytes) mod (n − 1) + 1; Ed448 the 57-byte secret SHAKE256(seed ‖ 0 ‖ label).
    /// </summary>
    public static AsymmetricCipherKeyPair FromSeed(PkiAlgorithm algorithm, string seed, string label)
    {
        if (algorithm == PkiAlgorithm.Secp256r1)
        {
            return V2gKeys.FromSeed(seed, label);
        }
        byte[] input = Encoding.UTF8.GetBytes(seed + "\0" + label);
        var shake = new ShakeDigest(256);
        shake.BlockUpdate(input, 0, input.Length);
        byte[] output = new byte[algorithm == PkiAlgorithm.Secp521r1 ? 80 : Ed448PrivateKeyParameters.KeySize];
        shake.OutputFinal(output, 0, output.Length);
        if (algorithm == PkiAlgorithm.Secp521r1)
        {
            var d = new BigInteger(1, output).Mod(P521.N.Subtract(BigInteger.One)).Add(BigInteger.One);
            var key = new ECPrivateKeyParameters("EC", d, SecObjectIdentifiers.SecP521r1);
            return new AsymmetricCipherKeyPair(new ECPublicKeyParameters("EC", P521Domain.G.Multiply(d).Normalize(), SecObjectIdentifiers.SecP521r1), key);
        }
        var ed = new Ed448PrivateKeyParameters(output);
        return new AsymmetricCipherKeyPair(ed.GeneratePublicKey(), ed);
    }

    /// <summary>The public key of a private key.</summary>
    public static AsymmetricKeyParameter PublicOf(AsymmetricKeyParameter privateKey) => privateKey switch
    {
        Ed448PrivateKeyParameters ed => ed.GeneratePublicKey(),
        ECPrivateKeyParameters ec => new ECPublicKeyParameters("EC", ec.Parameters.G.Multiply(ec.D).Normalize(), ((ECNamedDomainParameters)ec.Parameters).Name),
        _ => throw new NotSupportedException($"a {privateKey.GetType().Name} is no key of the V2G PKIs"),
    };

    /// <summary>True when <paramref name="privateKey"/> is the private key of <paramref name="publicKey"/> (any of the three algorithms).</summary>
    public static bool Belongs(AsymmetricKeyParameter privateKey, AsymmetricKeyParameter publicKey) => (PublicOf(privateKey), publicKey) switch
    {
        (ECPublicKeyParameters a, ECPublicKeyParameters b) => a.Q.Equals(b.Q),
        (Ed448PublicKeyParameters a, Ed448PublicKeyParameters b) => a.GetEncoded().AsSpan().SequenceEqual(b.GetEncoded()),
        _ => false,
    };

    /// <summary>
    /// The certificate signature of a key: ecdsa-with-SHA256 (secp256r1), ecdsa-with-SHA512 (secp521r1), both
    /// deterministic (RFC 6979), or Ed448 (deterministic by construction); a seeded PKI gives the same bytes every time.
    /// </summary>
    public static ISignatureFactory SignatureFactory(AsymmetricKeyParameter signingKey) => signingKey switch
    {
        Ed448PrivateKeyParameters => new Org.BouncyCastle.Crypto.Operators.Asn1SignatureFactory("Ed448", signingKey),
        ECPrivateKeyParameters ec when Of(ec) == PkiAlgorithm.Secp256r1 => new DeterministicEcdsaFactory(ec, X9ObjectIdentifiers.ECDsaWithSha256, () => new Sha256Digest()),
        ECPrivateKeyParameters ec => new DeterministicEcdsaFactory(ec, X9ObjectIdentifiers.ECDsaWithSha512, () => new Sha512Digest()),
        _ => throw new NotSupportedException($"a {signingKey.GetType().Name} is no key of the V2G PKIs"),
    };

    /// <summary>
    /// PKCS#8 DER of any private key of the V2G PKIs. An Ed448 key is written as version 1 without the public key
    /// (RFC 8410 §7): OpenSSL 3.0 does not read the version 2 form BouncyCastle writes by default.
    /// </summary>
    public static byte[] Pkcs8(AsymmetricKeyParameter key) => key is Ed448PrivateKeyParameters ed
        ? new PrivateKeyInfo(new AlgorithmIdentifier(EdECObjectIdentifiers.id_Ed448), new DerOctetString(ed.GetEncoded())).GetEncoded()
        : PrivateKeyInfoFactory.CreatePrivateKeyInfo(key).GetEncoded();

    public static string Pkcs8Pem(AsymmetricKeyParameter key) => Pem.Encode("PRIVATE KEY", Pkcs8(key));

    /// <summary>A private key of any of the three algorithms from PEM: PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY").</summary>
    public static AsymmetricKeyParameter ReadPrivateKeyPem(string pem)
    {
        using var reader = new StringReader(pem);
        object? o = new PemReader(reader).ReadObject();
        AsymmetricKeyParameter key = o switch
        {
            AsymmetricKeyParameter { IsPrivate: true } k => k,
            AsymmetricCipherKeyPair p => p.Private,
            _ => throw new FormatException("no private key in the PEM text"),
        };
        _ = Of(key);
        return key;
    }

    /// <summary>ECDSA with a deterministic k (RFC 6979, HMAC over the signature's own hash).</summary>
    private sealed class DeterministicEcdsaFactory(ECPrivateKeyParameters key, DerObjectIdentifier oid, Func<IDigest> digest) : ISignatureFactory
    {
        public object AlgorithmDetails { get; } = new AlgorithmIdentifier(oid);

        public IStreamCalculator<IBlockResult> CreateCalculator() => new Calculator(key, digest);

        private sealed class Calculator(ECPrivateKeyParameters key, Func<IDigest> digest) : IStreamCalculator<IBlockResult>
        {
            private readonly MemoryStream _data = new();

            public Stream Stream => _data;

            public IBlockResult GetResult()
            {
                var d = digest();
                byte[] hash = new byte[d.GetDigestSize()];
                byte[] data = _data.ToArray();   // the generator closes the stream before it asks for the result
                d.BlockUpdate(data, 0, data.Length);
                d.DoFinal(hash, 0);
                var signer = new ECDsaSigner(new HMacDsaKCalculator(digest()));
                signer.Init(true, key);
                var rs = signer.GenerateSignature(hash);
                return new SimpleBlockResult(new DerSequence(new DerInteger(rs[0]), new DerInteger(rs[1])).GetEncoded());
            }
        }
    }

    private sealed class SimpleBlockResult(byte[] value) : IBlockResult
    {
        public byte[] Collect() => value;

        public int Collect(byte[] buf, int off)
        {
            value.CopyTo(buf, off);
            return value.Length;
        }

        public int Collect(Span<byte> output)
        {
            value.CopyTo(output);
            return value.Length;
        }

        public int GetMaxResultLength() => value.Length;
    }
}
