using System.Security.Cryptography;
using System.Xml.Linq;
using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Exi.XmlDsig;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;

namespace Juice.Hlc.Security;

/// <summary>How a signature check came out.</summary>
public enum SignatureCheck
{
    Valid,

    /// <summary>No signature in the header, or no Reference for a signed element.</summary>
    Missing,

    /// <summary>A digest differs from the signed element: the element was changed.</summary>
    DigestMismatch,

    /// <summary>The signature value does not verify over SignedInfo with the signer's key.</summary>
    BadSignature,

    /// <summary>An algorithm other than the ones ISO 15118-2 prescribes.</summary>
    UnsupportedAlgorithm,
}

/// <summary>
/// The XML signatures of ISO 15118-2 (§7.9.2.4.3, Annex J.4) in the message header: each signed element (with an
/// Id) is EXI-encoded on its own as a fragment with the MsgDef fragment grammar and digested with SHA-256; the
/// Reference carries "#Id", the canonical-EXI transform and the digest; SignedInfo is EXI-encoded as a fragment with
/// the xmldsig-only fragment grammar and signed with ECDSA over SHA-256; the value is r ‖ s, 64 bytes. Signing is
/// deterministic (RFC 6979).
/// </summary>
public static class Iso2Signatures
{
    public const string CanonicalExi = "http://www.w3.org/TR/canonical-exi/";
    public const string EcdsaSha256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
    public const string Sha256 = "http://www.w3.org/2001/04/xmlenc#sha256";

    private static readonly XNamespace MsgBody = "urn:iso:15118:2:2013:MsgBody";
    private static readonly XNamespace Dsig = "http://www.w3.org/2000/09/xmldsig#";

    /// <summary>A body element as the fragment the signature covers (its element name in the MsgBody namespace).</summary>
    public static ExiRoot Body(string localName, object value) => new(MsgBody + localName, value);

    /// <summary>The SHA-256 digest of an element's EXI fragment.</summary>
    public static byte[] Digest(ExiRoot element) => SHA256.HashData(Iso2Exi.EncodeFragment(element));

    /// <summary>The signature over the given elements (Id and element), made with <paramref name="key"/>.</summary>
    public static SignatureType Sign(IEnumerable<(string Id, ExiRoot Element)> elements, ECPrivateKeyParameters key)
    {
        var signedInfo = SignedInfo(EcdsaSha256, Sha256, elements, Digest);
        return new SignatureType { SignedInfo = signedInfo, SignatureValue = new SignatureValueType { Value = SignRaw(SignedInfoExi(signedInfo), key) } };
    }

    /// <summary>
    /// SignedInfo as ISO 15118-2 and -20 both build it: canonical EXI, the signature method, and per element a
    /// Reference "#Id" with the canonical-EXI transform and its digest.
    /// </summary>
    internal static SignedInfoType SignedInfo(string signatureMethod, string digestMethod, IEnumerable<(string Id, ExiRoot Element)> elements, Func<ExiRoot, byte[]> digest) => new()
    {
        CanonicalizationMethod = new CanonicalizationMethodType { Algorithm = CanonicalExi },
        SignatureMethod = new SignatureMethodType { Algorithm = signatureMethod },
        Reference = [.. elements.Select(e => new ReferenceType
        {
            URI = "#" + e.Id,
            Transforms = new TransformsType { Transform = [new TransformType { Algorithm = CanonicalExi }] },
            DigestMethod = new DigestMethodType { Algorithm = digestMethod },
            DigestValue = digest(e.Element),
        })],
    };

    /// <summary>
    /// The References of a SignedInfo against the elements (-2 and -20 alike): each element needs a Reference to its Id
    /// whose digest, by the method it names (<paramref name="digest"/> gives null for a method the protocol does not
    /// use), is the element's. Null when all match.
    /// </summary>
    internal static (SignatureCheck Result, string Detail)? CheckReferences(SignedInfoType info, IEnumerable<(string Id, ExiRoot Element)> elements,
        Func<ExiRoot, string, byte[]?> digest)
    {
        foreach (var (id, element) in elements)
        {
            var reference = info.Reference.FirstOrDefault(r => r.URI == "#" + id);
            if (reference is null)
            {
                return (SignatureCheck.Missing, $"no Reference to #{id} ({element.Name.LocalName})");
            }
            if (digest(element, reference.DigestMethod.Algorithm) is not { } value)
            {
                return (SignatureCheck.UnsupportedAlgorithm, $"digest method {reference.DigestMethod.Algorithm} for #{id}");
            }
            if (!CryptographicOperations.FixedTimeEquals(reference.DigestValue, value))
            {
                return (SignatureCheck.DigestMismatch, $"the digest of #{id} ({element.Name.LocalName}) does not match the element");
            }
        }
        return null;
    }

    /// <summary>The EXI fragment of SignedInfo that the signature value covers.</summary>
    public static byte[] SignedInfoExi(SignedInfoType signedInfo) => XmlDsigExi.EncodeFragment(new ExiRoot(Dsig + "SignedInfo", signedInfo));

    /// <summary>
    /// Checks a header signature: every element of <paramref name="elements"/> must have a Reference whose digest is
    /// the element's, and the signature value must verify over SignedInfo with <paramref name="signer"/>.
    /// </summary>
    public static (SignatureCheck Result, string Detail) Verify(SignatureType? signature, IEnumerable<(string Id, ExiRoot Element)> elements, ECPublicKeyParameters signer)
    {
        if (signature is null)
        {
            return (SignatureCheck.Missing, "the header carries no signature");
        }
        var info = signature.SignedInfo;
        if (info.SignatureMethod.Algorithm != EcdsaSha256 || info.CanonicalizationMethod.Algorithm != CanonicalExi)
        {
            return (SignatureCheck.UnsupportedAlgorithm, $"signature method {info.SignatureMethod.Algorithm}, canonicalization {info.CanonicalizationMethod.Algorithm}");
        }
        if (CheckReferences(info, elements, (element, method) => method == Sha256 ? Digest(element) : null) is { } problem)
        {
            return problem;
        }
        return VerifyRaw(SignedInfoExi(info), signature.SignatureValue.Value, signer)
            ? (SignatureCheck.Valid, "valid")
            : (SignatureCheck.BadSignature, "the signature value does not verify with the signer's key");
    }

    /// <summary>ECDSA-SHA-256 over <paramref name="data"/>, as r ‖ s (32 bytes each).</summary>
    public static byte[] SignRaw(ReadOnlySpan<byte> data, ECPrivateKeyParameters key)
    {
        var signer = new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest()));
        signer.Init(true, key);
        var rs = signer.GenerateSignature(SHA256.HashData(data));
        var value = new byte[64];
        rs[0].ToByteArrayUnsigned().CopyTo(value.AsSpan(32 - rs[0].ToByteArrayUnsigned().Length));
        rs[1].ToByteArrayUnsigned().CopyTo(value.AsSpan(64 - rs[1].ToByteArrayUnsigned().Length));
        return value;
    }

    public static bool VerifyRaw(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature, ECPublicKeyParameters key)
    {
        if (signature.Length != 64)
        {
            return false;
        }
        var verifier = new ECDsaSigner();
        verifier.Init(false, key);
        return verifier.VerifySignature(SHA256.HashData(data), new BigInteger(1, signature[..32].ToArray()), new BigInteger(1, signature[32..].ToArray()));
    }
}
