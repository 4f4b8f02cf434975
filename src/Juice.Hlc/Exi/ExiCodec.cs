using System.Xml.Linq;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Exi.Din;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Exi.XmlDsig;

namespace Juice.Hlc.Exi;

/// <summary>
/// One grammar a stream is coded with: a schema and the document or fragment form. The generated entry classes
/// (<see cref="Iso2Exi"/>, …) are the typed API; this is the uniform one for tools and tests.
/// </summary>
public sealed class ExiCodec
{
    private readonly Func<XElement, ExiRoot> _readXml;
    private readonly Func<ExiRoot, byte[]> _encode;
    private readonly Func<byte[], ExiRoot> _decode;
    private readonly Func<ExiRoot, string> _writeXml;

    private ExiCodec(string name, bool fragment, Func<XElement, ExiRoot> readXml, Func<ExiRoot, byte[]> encode, Func<byte[], ExiRoot> decode, Func<ExiRoot, string> writeXml)
    {
        Name = name;
        IsFragment = fragment;
        _readXml = readXml;
        _encode = encode;
        _decode = decode;
        _writeXml = writeXml;
    }

    public string Name { get; }
    public bool IsFragment { get; }

    public static readonly ExiCodec AppHandshake = new("appHandshake", false, AppHandshakeExi.ReadDocumentXml, r => AppHandshakeExi.EncodeDocument(r), b => AppHandshakeExi.DecodeDocument(b), AppHandshakeExi.WriteXml);
    public static readonly ExiCodec Din = new("din", false, DinExi.ReadDocumentXml, r => DinExi.EncodeDocument(r), b => DinExi.DecodeDocument(b), DinExi.WriteXml);
    public static readonly ExiCodec Iso2 = new("iso2", false, Iso2Exi.ReadDocumentXml, r => Iso2Exi.EncodeDocument(r), b => Iso2Exi.DecodeDocument(b), Iso2Exi.WriteXml);
    public static readonly ExiCodec DinFragment = new("din/msgdef fragment", true, DinExi.ReadFragmentXml, r => DinExi.EncodeFragment(r), b => DinExi.DecodeFragment(b), DinExi.WriteXml);
    public static readonly ExiCodec Iso2Fragment = new("iso2/msgdef fragment", true, Iso2Exi.ReadFragmentXml, r => Iso2Exi.EncodeFragment(r), b => Iso2Exi.DecodeFragment(b), Iso2Exi.WriteXml);
    public static readonly ExiCodec XmlDsigFragment = new("xmldsig fragment", true, XmlDsigExi.ReadFragmentXml, r => XmlDsigExi.EncodeFragment(r), b => XmlDsigExi.DecodeFragment(b), XmlDsigExi.WriteXml);

    // ISO 15118-20: one grammar per message schema; documents whose root is the message element
    public static readonly ExiCodec Iso20Common = new("iso20-common", false, Iso20CommonExi.ReadDocumentXml, r => Iso20CommonExi.EncodeDocument(r), b => Iso20CommonExi.DecodeDocument(b), Iso20CommonExi.WriteXml);
    public static readonly ExiCodec Iso20Ac = new("iso20-ac", false, Iso20AcExi.ReadDocumentXml, r => Iso20AcExi.EncodeDocument(r), b => Iso20AcExi.DecodeDocument(b), Iso20AcExi.WriteXml);
    public static readonly ExiCodec Iso20Dc = new("iso20-dc", false, Iso20DcExi.ReadDocumentXml, r => Iso20DcExi.EncodeDocument(r), b => Iso20DcExi.DecodeDocument(b), Iso20DcExi.WriteXml);
    public static readonly ExiCodec Iso20Wpt = new("iso20-wpt", false, Iso20WptExi.ReadDocumentXml, r => Iso20WptExi.EncodeDocument(r), b => Iso20WptExi.DecodeDocument(b), Iso20WptExi.WriteXml);
    public static readonly ExiCodec Iso20Acdp = new("iso20-acdp", false, Iso20AcdpExi.ReadDocumentXml, r => Iso20AcdpExi.EncodeDocument(r), b => Iso20AcdpExi.DecodeDocument(b), Iso20AcdpExi.WriteXml);

    /// <summary>The CommonMessages fragment grammar (9-bit codes): the signed -20 elements (PnC_AReqAuthorizationMode, SignedInstallationData, ...).</summary>
    public static readonly ExiCodec Iso20CommonFragment = new("iso20-common/msgdef fragment", true, Iso20CommonExi.ReadFragmentXml, r => Iso20CommonExi.EncodeFragment(r), b => Iso20CommonExi.DecodeFragment(b), Iso20CommonExi.WriteXml);

    /// <summary>
    /// Selects a codec by the names the CLI uses: schema appHandshake|din|iso2|iso20-common|iso20-ac|iso20-dc|iso20-wpt|iso20-acdp,
    /// fragment null|msgdef|xmldsig (msgdef of iso20-common: its fragment grammar).
    /// </summary>
    public static ExiCodec Select(string schema, string? fragment) => (schema.ToLowerInvariant(), fragment?.ToLowerInvariant()) switch
    {
        ("apphandshake", null) => AppHandshake,
        ("din", null) => Din,
        ("iso2", null) => Iso2,
        ("din", "msgdef") => DinFragment,
        ("iso2", "msgdef") => Iso2Fragment,
        ("iso20-common", null) => Iso20Common,
        ("iso20-ac", null) => Iso20Ac,
        ("iso20-dc", null) => Iso20Dc,
        ("iso20-wpt", null) => Iso20Wpt,
        ("iso20-acdp", null) => Iso20Acdp,
        ("iso20-common", "msgdef") => Iso20CommonFragment,
        (_, "xmldsig") => XmlDsigFragment,
        _ => throw new ArgumentException($"no codec for schema '{schema}'{(fragment is null ? "" : $" with fragment '{fragment}'")}"),
    };

    public ExiRoot ReadXml(XElement element) => _readXml(element);
    public byte[] Encode(ExiRoot root) => _encode(root);
    public ExiRoot Decode(byte[] exi) => _decode(exi);
    public string WriteXml(ExiRoot root) => _writeXml(root);
}
