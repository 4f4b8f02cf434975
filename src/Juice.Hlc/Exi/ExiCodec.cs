using System.Xml.Linq;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Exi.Din;
using Juice.Hlc.Exi.Iso2;
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

    /// <summary>Selects a codec by the names the CLI uses: schema appHandshake|din|iso2, fragment null|msgdef|xmldsig.</summary>
    public static ExiCodec Select(string schema, string? fragment) => (schema.ToLowerInvariant(), fragment?.ToLowerInvariant()) switch
    {
        ("apphandshake", null) => AppHandshake,
        ("din", null) => Din,
        ("iso2", null) => Iso2,
        ("din", "msgdef") => DinFragment,
        ("iso2", "msgdef") => Iso2Fragment,
        (_, "xmldsig") => XmlDsigFragment,
        _ => throw new ArgumentException($"no codec for schema '{schema}'{(fragment is null ? "" : $" with fragment '{fragment}'")}"),
    };

    public ExiRoot ReadXml(XElement element) => _readXml(element);
    public byte[] Encode(ExiRoot root) => _encode(root);
    public ExiRoot Decode(byte[] exi) => _decode(exi);
    public string WriteXml(ExiRoot root) => _writeXml(root);
}
