using System.Globalization;
using System.Numerics;
using System.Xml.Linq;
using Xunit.Sdk;

namespace Juice.Hlc.Tests.Exi;

/// <summary>
/// Compares two XML element trees as infosets: element and attribute names, order of elements, and values compared
/// by type rather than lexical form (integers numerically, binary as bytes in hex or base64, booleans 1/true).
/// Indentation in element-only content is ignored; namespace prefixes are not part of the comparison.
/// </summary>
internal static class InfosetAssert
{
    public static void Equal(XElement expected, XElement actual) => Compare(expected, actual, "/" + expected.Name.LocalName);

    private static void Compare(XElement e, XElement a, string path)
    {
        if (e.Name != a.Name)
        {
            throw new XunitException($"{path}: element {e.Name} expected, {a.Name} found");
        }
        var ea = e.Attributes().Where(x => !x.IsNamespaceDeclaration).OrderBy(x => x.Name.ToString(), StringComparer.Ordinal).ToList();
        var aa = a.Attributes().Where(x => !x.IsNamespaceDeclaration).OrderBy(x => x.Name.ToString(), StringComparer.Ordinal).ToList();
        if (ea.Count != aa.Count || ea.Zip(aa).Any(p => p.First.Name != p.Second.Name || !SameValue(p.First.Value, p.Second.Value)))
        {
            throw new XunitException($"{path}: attributes differ: [{string.Join(", ", ea)}] vs [{string.Join(", ", aa)}]");
        }
        var ek = e.Elements().ToList();
        var ak = a.Elements().ToList();
        if (ek.Count == 0 && ak.Count == 0)
        {
            if (!SameValue(e.Value, a.Value))
            {
                throw new XunitException($"{path}: value '{e.Value}' expected, '{a.Value}' found");
            }
            return;
        }
        if (ek.Count != ak.Count)
        {
            throw new XunitException($"{path}: {ek.Count} child elements expected, {ak.Count} found ({string.Join(",", ek.Select(x => x.Name.LocalName))} vs {string.Join(",", ak.Select(x => x.Name.LocalName))})");
        }
        for (int i = 0; i < ek.Count; i++)
        {
            Compare(ek[i], ak[i], $"{path}/{ek[i].Name.LocalName}[{i}]");
        }
    }

    private static bool SameValue(string x, string y)
    {
        if (x == y)
        {
            return true;
        }
        string tx = x.Trim(), ty = y.Trim();
        if (tx == ty)
        {
            return true;
        }
        if (BigInteger.TryParse(tx, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ix)
            && BigInteger.TryParse(ty, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var iy))
        {
            return ix == iy;
        }
        if ((tx, ty) is ("1", "true") or ("true", "1") or ("0", "false") or ("false", "0"))
        {
            return true;
        }
        return SameBytes(tx, ty, Convert.FromHexString) || SameBytes(tx, ty, Convert.FromBase64String);
    }

    private static bool SameBytes(string x, string y, Func<string, byte[]> parse)
    {
        try
        {
            return parse(x).AsSpan().SequenceEqual(parse(y));
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
