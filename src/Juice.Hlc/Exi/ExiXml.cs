using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Juice.Hlc.Exi;

/// <summary>Helpers of the generated XML mapping: child cursors, lexical forms and the error on unexpected content.</summary>
public static class ExiXml
{
    public static List<XElement> Children(XElement e)
    {
        foreach (var node in e.Nodes())
        {
            if (node is XText t && !string.IsNullOrWhiteSpace(t.Value))
            {
                throw Error(e, $"character content '{Shorten(t.Value)}' in element-only content");
            }
        }
        return e.Elements().ToList();
    }

    public static bool At(List<XElement> kids, int i, XName[] names) => i < kids.Count && Array.IndexOf(names, kids[i].Name) >= 0;

    public static XElement Take(XElement parent, List<XElement> kids, ref int i, XName[] names)
    {
        Expect(parent, kids, i, names);
        return kids[i++];
    }

    public static void Expect(XElement parent, List<XElement> kids, int i, XName[] names)
    {
        if (!At(kids, i, names))
        {
            string found = i < kids.Count ? $"<{kids[i].Name.LocalName}>" : "the end of the element";
            throw Error(i < kids.Count ? kids[i] : parent, $"expected {string.Join(" or ", names.Select(n => "<" + n.LocalName + ">"))} in <{parent.Name.LocalName}>, found {found}");
        }
    }

    public static void End(XElement parent, List<XElement> kids, int i)
    {
        if (i < kids.Count)
        {
            throw Error(kids[i], $"unexpected <{kids[i].Name.LocalName}> ({kids[i].Name.NamespaceName}) in <{parent.Name.LocalName}>");
        }
    }

    public static void NoChildren(XElement e)
    {
        if (e.HasElements)
        {
            throw Error(e, $"<{e.Name.LocalName}> has simple content but contains elements");
        }
    }

    public static string Text(XElement e)
    {
        NoChildren(e);
        return e.Value;
    }

    public static string RequiredAttribute(XElement e, XName name) =>
        e.Attribute(name)?.Value ?? throw Error(e, $"<{e.Name.LocalName}> lacks the required attribute {name.LocalName}");

    public static Exception Unexpected(XElement e) => Error(e, $"<{e.Name.LocalName}> ({e.Name.NamespaceName}) is not expected here");

    public static FormatException Error(XObject at, string message)
    {
        var li = (IXmlLineInfo)at;
        return new FormatException(li.HasLineInfo() ? $"line {li.LineNumber}: {message}" : message);
    }

    private static string Shorten(string s) => s.Trim().Length > 20 ? s.Trim()[..20] + "…" : s.Trim();

    /// <summary>XML Schema whiteSpace="collapse".</summary>
    public static string Collapse(string s)
    {
        if (s.Length == 0 || (!char.IsWhiteSpace(s[0]) && !char.IsWhiteSpace(s[^1]) && !s.Contains("  ", StringComparison.Ordinal) && s.IndexOfAny(['\t', '\n', '\r']) < 0))
        {
            return s;
        }
        return string.Join(' ', s.Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
    }

    public static bool ParseBoolean(string s) => s switch
    {
        "true" or "1" => true,
        "false" or "0" => false,
        _ => throw new FormatException($"'{s}' is not an xs:boolean"),
    };

    public static Dictionary<XName, int> Index(XName[] names)
    {
        var d = new Dictionary<XName, int>(names.Length);
        for (int i = 0; i < names.Length; i++)
        {
            d[names[i]] = i;
        }
        return d;
    }

    public static void StartRoot(XmlWriter x, XName name, (string Prefix, string Namespace)[] prefixes)
    {
        string? prefix = prefixes.FirstOrDefault(p => p.Namespace == name.NamespaceName).Prefix;
        if (name.NamespaceName.Length == 0)
        {
            x.WriteStartElement(name.LocalName);
        }
        else
        {
            x.WriteStartElement(prefix ?? "ns", name.LocalName, name.NamespaceName);
        }
        foreach (var (p, ns) in prefixes)
        {
            if (ns != name.NamespaceName)
            {
                x.WriteAttributeString("xmlns", p, null, ns);
            }
        }
    }

    /// <summary>
    /// The XML form of a decoded stream. A string holds whatever code points the stream carried, also those XML 1.0
    /// cannot hold (C0 controls such as U+0011 or U+0000, U+FFFE, U+FFFF): they are written as numeric character
    /// references (<c>&amp;#x11;</c>, as XML 1.1 allows), and CR as <c>&amp;#xD;</c> (a reader would turn a literal CR
    /// into LF). <see cref="Parse"/> reads them back to the same value, so decode → XML → encode
    /// gives the same bytes.
    /// </summary>
    public static string ToText(Action<XmlWriter> write)
    {
        var sb = new StringBuilder();
        var settings = new XmlWriterSettings
        {
            Indent = true, OmitXmlDeclaration = false, Encoding = new UTF8Encoding(false), NewLineChars = "\n",
            CheckCharacters = false, NewLineHandling = NewLineHandling.Entitize,
        };
        using (var sw = new Utf8StringWriter(sb))
        using (var x = XmlWriter.Create(sw, settings))
        {
            write(x);
        }
        return sb.ToString();
    }

    private static readonly XmlReaderSettings ReaderSettings = new() { CheckCharacters = false, DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };

    /// <summary>Reads the XML form (<see cref="ToText"/>), character references of code points outside XML 1.0 included; with line numbers.</summary>
    public static XElement Parse(string xml)
    {
        using var reader = XmlReader.Create(new StringReader(xml), ReaderSettings);
        return XElement.Load(reader, LoadOptions.SetLineInfo);
    }

    private sealed class Utf8StringWriter(StringBuilder sb) : StringWriter(sb, System.Globalization.CultureInfo.InvariantCulture)
    {
        public override Encoding Encoding => new UTF8Encoding(false);
    }
}
