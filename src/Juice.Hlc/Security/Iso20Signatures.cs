using System.Security.Cryptography;
using System.Xml.Linq;
using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Exi.XmlDsig;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;

namespace Juice.Hlc.Security;

/// <summary>
/// The XML signatures of ISO 15118-20 in the message header, built as in ISO 15118-2 (each signed element with an Id is
/// EXI-encoded on its own with the CommonMessages fragment grammar and digested; SignedInfo is encoded with the
/// xmldsig-only fragment grammar and signed) with the -20 algorithms: ecdsa-sha512 over secp521r1 with SHA-512
/// digests (the value r ‖ s, 66 bytes each; deterministic, RFC 6979), or Ed448 (RFC 8032, no context; 114 bytes) with
/// SHAKE256 digests of 64 bytes (the URIs of RFC 9231). The signed elements: PnC_AReqAuthorizationMode
/// ([V2G20-1063]), the OEM provisioning chain of CertificateInstallationReq, SignedInstallationData, SignedMeteringData
/// and the price schedules. A check accepts either digest method for either key, as long as the Reference names it.
/// </summary>
public static class Iso20Signatures
{
    public const string EcdsaSha512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512";
    public const string EddsaEd448 = "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed448";
    public const string Sha512 = "http://www.w3.org/2001/04/xmlenc#sha512";
    public const string Shake256 = "http://www.w3.org/2021/04/xmldsig-more#shake256";

    private static readonly XNamespace CommonMessages = "urn:iso:std:iso:15118:-20:CommonMessages";

    /// <summary>A CommonMessages element as the fragment the signature covers.</summary>
    public static ExiRoot Element(string localName, object value) => new(CommonMessages + localName, value);

    /// <summary>The signature and digest methods of a key's algorithm.</summary>
    public static (string Signature, string Digest) MethodsOf(AsymmetricKeyParameter key) => PkiKeys.Of(key) switch
    {
        PkiAlgorithm.Secp521r1 => (EcdsaSha512, Sha512),
        PkiAlgorithm.Ed448 => (EddsaEd448, Shake256),
        var other => throw new NotSupportedException($"ISO 15118-20 signs with secp521r1 or Ed448, not {other.Name()}"),
    };

    /// <summary>The digest of an element's EXI fragment with the named method; null for a method -20 does not use.</summary>
    public static byte[]? Digest(ExiRoot element, string method)
    {
        byte[] fragment = Iso20CommonExi.EncodeFragment(element);
        switch (method)
        {
            case Sha512:
                return SHA512.HashData(fragment);
            case Shake256:
                var shake = new ShakeDigest(256);
                shake.BlockUpdate(fragment, 0, fragment.Length);
                var output = new byte[64];
                shake.OutputFinal(output, 0, output.Length);
                return output;
            default:
                return null;
        }
    }

    /// <summary>The header signature over the given elements (Id and element), made with <paramref name="key"/> (secp521r1 or Ed448).</summary>
    public static SignatureType Sign(IEnumerable<(string Id, ExiRoot Element)> elements, AsymmetricKeyParameter key)
    {
        var (signatureMethod, digestMethod) = MethodsOf(key);
        var signedInfo = Iso2Signatures.SignedInfo(signatureMethod, digestMethod, elements, e => Digest(e, digestMethod)!);
        return new SignatureType { SignedInfo = signedInfo, SignatureValue = new SignatureValueType { Value = SignRaw(SignedInfoExi(signedInfo), key) } };
    }

    /// <summary>The EXI fragment of SignedInfo that the signature value covers: the xmldsig-only fragment grammar, as in -2.</summary>
    public static byte[] SignedInfoExi(SignedInfoType signedInfo) => Iso2Signatures.SignedInfoExi(signedInfo);

    /// <summary>
    /// Checks a header signature: every element must have a Reference whose digest (SHA-512 or SHAKE256) is the
    /// element's, and the value must verify over SignedInfo with <paramref name="signer"/>, whose algorithm must be
    /// the SignatureMethod's.
    /// </summary>
    public static (SignatureCheck Result, string Detail) Verify(SignatureType? signature, IEnumerable<(string Id, ExiRoot Element)> elements, AsymmetricKeyParameter signer)
    {
        if (signature is null)
        {
            return (SignatureCheck.Missing, "the header carries no signature");
        }
        var info = signature.SignedInfo;
        string expected;
        try
        {
            expected = MethodsOf(signer).Signature;
        }
        catch (NotSupportedException e)
        {
            return (SignatureCheck.UnsupportedAlgorithm, "the signer's key: " + e.Message);
        }
        if (info.SignatureMethod.Algorithm != expected || info.CanonicalizationMethod.Algorithm != Iso2Signatures.CanonicalExi)
        {
            return (SignatureCheck.UnsupportedAlgorithm, $"signature method {info.SignatureMethod.Algorithm} (the signer's key needs {expected}), canonicalization {info.CanonicalizationMethod.Algorithm}");
        }
        if (Iso2Signatures.CheckReferences(info, elements, Digest) is { } problem)
        {
            return problem;
        }
        return VerifyRaw(SignedInfoExi(info), signature.SignatureValue.Value, signer)
            ? (SignatureCheck.Valid, "valid")
            : (SignatureCheck.BadSignature, "the signature value does not verify with the signer's key");
    }

    private const int P521Half = 66;

    /// <summary>The raw signature over <paramref name="data"/>: ECDSA-SHA-512 as r ‖ s (132 bytes) or Ed448 (114 bytes).</summary>
    public static byte[] SignRaw(ReadOnlySpan<byte> data, AsymmetricKeyParameter key)
    {
        switch (key)
        {
            case Ed448PrivateKeyParameters ed:
                var signer = new Ed448Signer([]);
                signer.Init(true, ed);
                signer.BlockUpdate(data.ToArray(), 0, data.Length);
                return signer.GenerateSignature();
            case ECPrivateKeyParameters ec when PkiKeys.Of(ec) == PkiAlgorithm.Secp521r1:
                var ecdsa = new ECDsaSigner(new HMacDsaKCalculator(new Sha512Digest()));
                ecdsa.Init(true, ec);
                var rs = ecdsa.GenerateSignature(SHA512.HashData(data));
                var value = new byte[2 * P521Half];
                Place(rs[0], value.AsSpan(0, P521Half));
                Place(rs[1], value.AsSpan(P521Half, P521Half));
                return value;
            default:
                throw new NotSupportedException("ISO 15118-20 signs with secp521r1 or Ed448");
        }
    }

    private static void Place(BigInteger n, Span<byte> into)
    {
        byte[] bytes = n.ToByteArrayUnsigned();
        bytes.CopyTo(into[(into.Length - bytes.Length)..]);
    }

    public static bool VerifyRaw(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature, AsymmetricKeyParameter key)
    {
        var publicKey = key.IsPrivate ? PkiKeys.PublicOf(key) : key;
        switch (publicKey)
        {
            case Ed448PublicKeyParameters ed:
                if (signature.Length != Ed448PrivateKeyParameters.SignatureSize)
                {
                    return false;
                }
                var verifier = new Ed448Signer([]);
                verifier.Init(false, ed);
                verifier.BlockUpdate(data.ToArray(), 0, data.Length);
                return verifier.VerifySignature(signature.ToArray());
            case ECPublicKeyParameters ec when PkiKeys.Of(ec) == PkiAlgorithm.Secp521r1:
                if (signature.Length != 2 * P521Half)
                {
                    return false;
                }
                var ecdsa = new ECDsaSigner();
                ecdsa.Init(false, ec);
                return ecdsa.VerifySignature(SHA512.HashData(data), new BigInteger(1, signature[..P521Half].ToArray()), new BigInteger(1, signature[P521Half..].ToArray()));
            default:
                return false;
        }
    }
}
