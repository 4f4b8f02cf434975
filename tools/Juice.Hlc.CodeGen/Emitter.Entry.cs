using System.Xml;

namespace Juice.Hlc.CodeGen;

/// <summary>The public entry class of one schema set: document and fragment grammars (EXI §8.5.1, §8.5.2), the
/// relaxed element fragment grammar where a name has several types (§8.5.3), and the XML mapping of roots.</summary>
internal sealed class EntryEmitter
{
    private readonly Emitter _e;
    private readonly SchemaSetConfig _cfg;
    private readonly List<ElementDecl> _globals;
    private readonly List<(XmlQualifiedName Name, List<ElementDecl> Decls)> _fragment;
    private readonly List<(XmlQualifiedName Name, SimpleDef? Type)> _attributes;
    private const string Simple = "global::Juice.Hlc.Exi.ExiSimpleTypes";
    private const string Rt = "global::Juice.Hlc.Exi";

    private readonly string _ownNamespace;

    public EntryEmitter(Emitter e, SchemaSetConfig cfg, string targetNamespace, List<ElementDecl> globals, List<ElementDecl> all, List<AttrUse> attrs)
    {
        _e = e;
        _cfg = cfg;
        _ownNamespace = targetNamespace;
        _globals = globals;
        _fragment = all.GroupBy(d => d.Name).Select(g => (g.Key, g.ToList())).ToList();
        _fragment.Sort((a, b) => Naming.CompareQName(a.Item1, b.Item1));
        _attributes = attrs.GroupBy(a => a.Name)
            .Select(g => (g.Key, g.Select(a => a.Type).Distinct().Count() == 1 ? g.First().Type : null))
            .ToList();
        _attributes.Sort((a, b) => Naming.CompareQName(a.Item1, b.Item1));
    }

    private static string XN(XmlQualifiedName n) => $"global::System.Xml.Linq.XName.Get({Emitter.SymbolDisplay(n.Name)}, {Emitter.SymbolDisplay(n.Namespace)})";

    private string TypeOf(TypeDef t) => t switch
    {
        ComplexDef c => Emitter.ClassRef(c),
        SimpleDef s => s.CsType,
        _ => throw new NotSupportedException(),
    };

    private string Encode(TypeDef t, string value) => t switch
    {
        ComplexDef c => $"{Emitter.CodecClass(c.CsNamespace)}.Encode_{c.ClassName}(ref w, {value});",
        SimpleDef s => $"{Simple}.WE_{_e.SimpleId(s)}(ref w, {value});",
        _ => throw new NotSupportedException(),
    };

    private string Decode(TypeDef t) => t switch
    {
        ComplexDef c => $"{Emitter.CodecClass(c.CsNamespace)}.Decode_{c.ClassName}(ref r)",
        SimpleDef s => $"{Simple}.RE_{_e.SimpleId(s)}(ref r)",
        _ => throw new NotSupportedException(),
    };

    private string ReadXml(TypeDef t, string el) => t switch
    {
        ComplexDef c => $"{Emitter.CodecClass(c.CsNamespace)}.ReadXml_{c.ClassName}({el})",
        SimpleDef s => $"{Simple}.P_{_e.SimpleId(s)}({Rt}.ExiXml.Text({el}))",
        _ => throw new NotSupportedException(),
    };

    private string WriteXml(TypeDef t, string value) => t switch
    {
        ComplexDef c => $"{Emitter.CodecClass(c.CsNamespace)}.WriteXml_{c.ClassName}(x, ({TypeOf(c)}){value});",
        SimpleDef s => $"x.WriteString({Simple}.F_{_e.SimpleId(s)}(({TypeOf(s)}){value}));",
        _ => throw new NotSupportedException(),
    };

    /// <summary>The declaration whose model represents a fragment element: the only type, or for the relaxed case the complex type with simple content.</summary>
    private static (TypeDef Type, bool Relaxed) FragmentType(List<ElementDecl> decls)
    {
        var types = decls.Select(d => d.Type).Distinct().ToList();
        if (types.Count == 1 && decls.Select(d => d.IsNillable).Distinct().Count() == 1)
        {
            return (types[0], false);
        }
        var complex = types.OfType<ComplexDef>().ToList();
        if (complex.Count == 1 && complex[0].SimpleContent is not null && types.OfType<SimpleDef>().All(s => s.Kind == SimpleKind.String))
        {
            return (complex[0], true);
        }
        throw new NotSupportedException($"fragment element {decls[0].Name}: declared with incompatible types");
    }

    /// <summary>An element that can be a document root or a fragment's element: its code, name and model type.</summary>
    private sealed record RootEntry(int Index, XmlQualifiedName Name, TypeDef Type, bool Relaxed)
    {
        public bool Encodable => Type is not ComplexDef { IsAbstract: true };
    }

    private void EmitEncodeContent(SourceWriter w, string kind, string table, List<RootEntry> entries)
    {
        w.Open($"private static void Encode{kind}Content(ref {Rt}.ExiWriter w, int index, object value)");
        w.Open("switch (index)");
        foreach (var e in entries)
        {
            w.Line(e.Relaxed
                ? $"case {e.Index}: EncodeRelaxed_{Naming.Identifier(e.Name.Name)}(ref w, ({TypeOf(e.Type)})value); break;"
                : $"case {e.Index}: {Encode(e.Type, $"({TypeOf(e.Type)})value")} break;");
        }
        w.Line($"default: throw new global::System.InvalidOperationException($\"{{{table}[index]}} is abstract\");");
        w.Close();
        w.Close();
    }

    private void EmitDecodeContent(SourceWriter w, string kind, string table, List<RootEntry> entries)
    {
        w.Open($"private static object Decode{kind}Content(ref {Rt}.ExiReader r, int index, long at)");
        w.Open("switch (index)");
        foreach (var e in entries)
        {
            w.Line(e.Relaxed
                ? $"case {e.Index}: return DecodeRelaxed_{Naming.Identifier(e.Name.Name)}(ref r);"
                : $"case {e.Index}: return {Decode(e.Type)};");
        }
        w.Line($"default: throw new {Rt}.ExiContentException(at, $\"{{{table}[index].LocalName}} is abstract and cannot occur\");");
        w.Close();
        w.Close();
    }

    public string Emit()
    {
        var w = new SourceWriter();
        string cls = _cfg.Name + "Exi";
        int n = _globals.Count;
        int docWidth = SimpleDef.Bits(n + 1);
        int m = _fragment.Count;
        int fragWidth = SimpleDef.Bits(m + 2);
        var documentEntries = _globals.Select((g, i) => new RootEntry(i, g.Name, g.Type, false)).Where(e => !_globals[e.Index].IsAbstract && e.Encodable).ToList();
        var fragmentEntries = _fragment.Select((f, i) => FragmentType(f.Decls) is var (type, relaxed) ? new RootEntry(i, f.Name, type, relaxed) : null!).Where(e => e.Encodable).ToList();
        w.Line(Emitter.Header.TrimEnd('\n'));
        w.Line($"namespace {_cfg.CsNamespace};");
        w.Line();
        w.Line($"/// <summary>");
        w.Line($"/// EXI codec for {System.Security.SecurityElement.Escape(_cfg.Title)}, from schemas/{_cfg.RootXsd}, with the options V2G uses:");
        w.Line($"/// header 0x80, bit-packed, strict = false, no fidelity options, valuePartitionCapacity = 0.");
        w.Line($"/// </summary>");
        w.Line(Emitter.GeneratedAttribute);
        w.Open($"public static partial class {cls}");
        w.Line($"/// <summary>Global elements in the order of the schema-informed document grammar (EXI §8.5.1); SE(*) is {n}.</summary>");
        w.Line($"public static global::System.Collections.Generic.IReadOnlyList<global::System.Xml.Linq.XName> DocumentElements => s_document;");
        w.Line($"private static readonly global::System.Xml.Linq.XName[] s_document = [{string.Join(", ", _globals.Select(g => XN(g.Name)))}];");
        w.Line($"private const int DocumentWidth = {docWidth};");
        w.Line();
        w.Line($"/// <summary>Element names of the schema-informed fragment grammar (EXI §8.5.2): every declaration, global and local, one per name; SE(*) is {m}, ED is {m + 1}.</summary>");
        w.Line($"public static global::System.Collections.Generic.IReadOnlyList<global::System.Xml.Linq.XName> FragmentElements => s_fragment;");
        w.Line($"private static readonly global::System.Xml.Linq.XName[] s_fragment = [{string.Join(", ", _fragment.Select(f => XN(f.Name)))}];");
        w.Line($"private const int FragmentWidth = {fragWidth};");
        w.Line();
        w.Line($"private static readonly global::System.Collections.Generic.Dictionary<global::System.Xml.Linq.XName, int> s_documentIndex = {Rt}.ExiXml.Index(s_document);");
        w.Line($"private static readonly global::System.Collections.Generic.Dictionary<global::System.Xml.Linq.XName, int> s_fragmentIndex = {Rt}.ExiXml.Index(s_fragment);");
        w.Line($"private static readonly (string Prefix, string Namespace)[] s_prefixes = [{string.Join(", ", Generation.Prefixes.Where(p => Generation.Namespaces[p.Key] == _cfg.CsNamespace || (_cfg.Name != "XmlDsig" && _cfg.Name != "AppHandshake" && p.Key.Contains("xmldsig"))).Select(p => $"({Emitter.SymbolDisplay(p.Value)}, {Emitter.SymbolDisplay(p.Key)})"))}];");

        // ---- messages
        string[] messages = _cfg.MessageElements is [Generation.AllMessages]
            ? [.. _globals.Where(g => !g.IsAbstract && g.Name.Namespace == _ownNamespace && (g.Name.Name.EndsWith("Req", StringComparison.Ordinal) || g.Name.Name.EndsWith("Res", StringComparison.Ordinal))).Select(g => g.Name.Name)]
            : _cfg.MessageElements;
        foreach (var name in messages)
        {
            var decl = _globals.Single(g => g.Name.Name == name);
            int index = _globals.IndexOf(decl);
            string type = TypeOf(decl.Type);
            string pascal = Naming.Pascal(name);
            bool single = messages.Length == 1;
            string encodeName = single ? "Encode" : "Encode" + pascal;
            string decodeName = single ? "Decode" : "Decode" + pascal;
            w.Line();
            w.Line($"/// <summary>Encodes a <c>{name}</c> document into <paramref name=\"destination\"/>; returns the bytes written. Allocates nothing.</summary>");
            w.Line($"/// <exception cref=\"{Rt}.ExiBufferTooSmallException\">The destination is too small.</exception>");
            w.Line($"/// <exception cref=\"global::System.InvalidOperationException\">The message breaks the schema (a required part missing, a list too long, a value outside its facets).</exception>");
            w.Open($"public static int {encodeName}({type} message, global::System.Span<byte> destination)");
            w.Line($"var w = new {Rt}.ExiWriter(destination);");
            w.Line($"w.WriteBits({Rt}.ExiHeader.Value, {Rt}.ExiHeader.Bits);");
            w.Line($"w.WriteBits({index}, DocumentWidth); // SE({name})");
            w.Line(Encode(decl.Type, "message"));
            w.Line("return w.Finish(); // ED: the only production of DocEnd, 0 bits");
            w.Close();
            w.Line();
            w.Line($"/// <summary>Encodes a <c>{name}</c> document into a new array.</summary>");
            w.Line($"public static byte[] {encodeName}({type} message) => {Rt}.ExiBuffers.Encode(message, static (m, d) => {encodeName}(m, d));");
            w.Line();
            w.Line($"/// <summary>Encodes a <c>{name}</c> document; false when <paramref name=\"destination\"/> is too small.</summary>");
            w.Open($"public static bool Try{encodeName}({type} message, global::System.Span<byte> destination, out int bytesWritten)");
            w.Open("try");
            w.Line($"bytesWritten = {encodeName}(message, destination);");
            w.Line("return true;");
            w.Close();
            w.Open($"catch ({Rt}.ExiBufferTooSmallException)");
            w.Line("bytesWritten = 0;");
            w.Line("return false;");
            w.Close();
            w.Close();
            w.Line();
            w.Line($"/// <summary>Decodes a document whose root must be <c>{name}</c>.</summary>");
            w.Line($"/// <exception cref=\"{Rt}.ExiContentException\">The stream is malformed, with the bit offset.</exception>");
            w.Open($"public static {type} {decodeName}(global::System.ReadOnlySpan<byte> exi)");
            w.Line($"var r = new {Rt}.ExiReader(exi);");
            w.Line($"{Rt}.ExiHeader.Read(ref r);");
            w.Line("long at = r.BitPosition;");
            w.Line("uint code = r.ReadBits(DocumentWidth);");
            w.Line($"if (code != {index}) throw new {Rt}.ExiContentException(at, code < s_document.Length ? $\"document root is {{s_document[code].LocalName}}, expected {name}\" : $\"document event code {{code}} is not a declared global element\");");
            w.Line($"var value = {Decode(decl.Type)};");
            w.Line("r.EnsureEnd();");
            w.Line("return value;");
            w.Close();
        }

        // ---- generic documents
        w.Line();
        w.Line($"/// <summary>Encodes an EXI document whose root is any global element of the schema.</summary>");
        w.Open($"public static int EncodeDocument({Rt}.ExiRoot root, global::System.Span<byte> destination)");
        w.Line($"if (!s_documentIndex.TryGetValue(root.Name, out int index)) throw new global::System.InvalidOperationException($\"{{root.Name}} is not a global element of {_cfg.Name}\");");
        w.Line($"var w = new {Rt}.ExiWriter(destination);");
        w.Line($"w.WriteBits({Rt}.ExiHeader.Value, {Rt}.ExiHeader.Bits);");
        w.Line("w.WriteBits((uint)index, DocumentWidth);");
        w.Line("EncodeDocumentContent(ref w, index, root.Value);");
        w.Line("return w.Finish();");
        w.Close();
        w.Line();
        w.Line($"public static byte[] EncodeDocument({Rt}.ExiRoot root) => {Rt}.ExiBuffers.Encode(root, static (m, d) => EncodeDocument(m, d));");
        w.Line();
        EmitEncodeContent(w, "Document", "s_document", documentEntries);
        w.Line();
        w.Line($"/// <summary>Decodes an EXI document whose root is any global element of the schema.</summary>");
        w.Open($"public static {Rt}.ExiRoot DecodeDocument(global::System.ReadOnlySpan<byte> exi)");
        w.Line($"var r = new {Rt}.ExiReader(exi);");
        w.Line($"{Rt}.ExiHeader.Read(ref r);");
        w.Line("long at = r.BitPosition;");
        w.Line("uint code = r.ReadBits(DocumentWidth);");
        w.Line($"if (code >= {n}) throw new {Rt}.ExiContentException(at, code == {n} ? \"SE(*): a root element that the schema does not declare is not supported\" : $\"document event code {{code}} is undefined\");");
        w.Line("object value = DecodeDocumentContent(ref r, (int)code, at);");
        w.Line("r.EnsureEnd();");
        w.Line($"return new {Rt}.ExiRoot(s_document[code], value);");
        w.Close();
        w.Line();
        EmitDecodeContent(w, "Document", "s_document", documentEntries);

        // ---- fragments
        w.Line();
        w.Line($"/// <summary>Encodes an EXI fragment holding one element (as signatures use it: EXI §8.5.2, ISO 15118-2 Annex J).</summary>");
        w.Open($"public static int EncodeFragment({Rt}.ExiRoot element, global::System.Span<byte> destination)");
        w.Line($"if (!s_fragmentIndex.TryGetValue(element.Name, out int index)) throw new global::System.InvalidOperationException($\"{{element.Name}} is not declared in {_cfg.Name}\");");
        w.Line($"var w = new {Rt}.ExiWriter(destination);");
        w.Line($"w.WriteBits({Rt}.ExiHeader.Value, {Rt}.ExiHeader.Bits);");
        w.Line("w.WriteBits((uint)index, FragmentWidth);");
        w.Line("EncodeFragmentContent(ref w, index, element.Value);");
        w.Line($"w.WriteBits({m + 1}, FragmentWidth); // ED");
        w.Line("return w.Finish();");
        w.Close();
        w.Line();
        w.Line($"public static byte[] EncodeFragment({Rt}.ExiRoot element) => {Rt}.ExiBuffers.Encode(element, static (m, d) => EncodeFragment(m, d));");
        w.Line();
        EmitEncodeContent(w, "Fragment", "s_fragment", fragmentEntries);
        w.Line();
        w.Line($"/// <summary>Decodes an EXI fragment holding exactly one element.</summary>");
        w.Open($"public static {Rt}.ExiRoot DecodeFragment(global::System.ReadOnlySpan<byte> exi)");
        w.Line($"var r = new {Rt}.ExiReader(exi);");
        w.Line($"{Rt}.ExiHeader.Read(ref r);");
        w.Line("long at = r.BitPosition;");
        w.Line("uint code = r.ReadBits(FragmentWidth);");
        w.Line($"if (code >= {m}) throw new {Rt}.ExiContentException(at, code == {m} ? \"SE(*): an element that the schema does not declare is not supported\" : code == {m + 1} ? \"empty fragment\" : $\"fragment event code {{code}} is undefined\");");
        w.Line("object value = DecodeFragmentContent(ref r, (int)code, at);");
        w.Line("at = r.BitPosition;");
        w.Line("uint end = r.ReadBits(FragmentWidth);");
        w.Line($"if (end != {m + 1}) throw new {Rt}.ExiContentException(at, end < {m + 1} ? \"a fragment with more than one element is not supported\" : $\"fragment event code {{end}} is undefined\");");
        w.Line("r.EnsureEnd();");
        w.Line($"return new {Rt}.ExiRoot(s_fragment[code], value);");
        w.Close();
        w.Line();
        EmitDecodeContent(w, "Fragment", "s_fragment", fragmentEntries);

        foreach (var e in fragmentEntries.Where(e => e.Relaxed))
        {
            EmitRelaxed(w, e.Name, (ComplexDef)e.Type);
        }

        // ---- XML
        w.Line();
        w.Line($"/// <summary>Reads the XML form of a document root (a global element).</summary>");
        w.Open($"public static {Rt}.ExiRoot ReadDocumentXml(global::System.Xml.Linq.XElement element)");
        w.Line($"if (!s_documentIndex.TryGetValue(element.Name, out int index)) throw {Rt}.ExiXml.Unexpected(element);");
        w.Open("object value = index switch");
        foreach (var e in documentEntries)
        {
            w.Line($"{e.Index} => {ReadXml(e.Type, "element")},");
        }
        w.Line($"_ => throw {Rt}.ExiXml.Unexpected(element),");
        w.Close(";");
        w.Line($"return new {Rt}.ExiRoot(element.Name, value);");
        w.Close();
        w.Line();
        w.Line($"/// <summary>Reads the XML form of a fragment element (any declared element).</summary>");
        w.Open($"public static {Rt}.ExiRoot ReadFragmentXml(global::System.Xml.Linq.XElement element)");
        w.Line($"if (!s_fragmentIndex.TryGetValue(element.Name, out int index)) throw {Rt}.ExiXml.Unexpected(element);");
        w.Open("object value = index switch");
        foreach (var e in fragmentEntries)
        {
            w.Line($"{e.Index} => {ReadXml(e.Type, "element")},");
        }
        w.Line($"_ => throw {Rt}.ExiXml.Unexpected(element),");
        w.Close(";");
        w.Line($"return new {Rt}.ExiRoot(element.Name, value);");
        w.Close();
        w.Line();
        w.Line($"/// <summary>Writes the XML form of a root or fragment element, declaring the schema's conventional prefixes.</summary>");
        w.Open($"public static void WriteXml({Rt}.ExiRoot root, global::System.Xml.XmlWriter x)");
        w.Line($"{Rt}.ExiXml.StartRoot(x, root.Name, s_prefixes);");
        w.Line("object value = root.Value;");
        w.Open("if (s_fragmentIndex.TryGetValue(root.Name, out int index))");
        w.Open("switch (index)");
        foreach (var e in fragmentEntries)
        {
            w.Line($"case {e.Index}: {WriteXml(e.Type, "value")} break;");
        }
        w.Close();
        w.Close();
        w.Line("x.WriteEndElement();");
        w.Close();
        w.Line();
        w.Line($"/// <summary>The XML text (UTF-8, indented) of a root or fragment element.</summary>");
        w.Line($"public static string WriteXml({Rt}.ExiRoot root) => {Rt}.ExiXml.ToText(x => WriteXml(root, x));");
        w.Close();
        return w.ToString();
    }

    /// <summary>EXI §8.5.3: the relaxed element fragment grammar for a name declared with different types.</summary>
    private void EmitRelaxed(SourceWriter w, XmlQualifiedName name, ComplexDef type)
    {
        string id = Naming.Identifier(name.Name);
        int n = _attributes.Count;
        // terminals: AT(A0..An-1), AT(*), SE(F0..Fm-1), SE(*), EE, CH [untyped]
        var terms = new List<Terminal>();
        foreach (var (an, _) in _attributes) terms.Add(new Terminal(TermKind.AT, an, -1, 0, null, null, $"AT({an.Name})"));
        terms.Add(new Terminal(TermKind.ATAny, null, -1, 0, null, null, "AT(*)"));
        foreach (var (fn, _) in _fragment) terms.Add(new Terminal(TermKind.SE, fn, -1, 0, null, null, $"SE({fn.Name})"));
        terms.Add(new Terminal(TermKind.SEAny, null, -1, 0, null, null, "SE(*)"));
        int ee = terms.Count;
        terms.Add(new Terminal(TermKind.EE, null, -1, 0, null, null, "EE"));
        int ch = terms.Count;
        terms.Add(new Terminal(TermKind.CH, null, -1, 0, null, null, "CH [untyped]"));
        var s0 = new GrammarState { StartTag = true, HasEE = true };
        var s1 = new GrammarState { StartTag = false, HasEE = true };
        var actions = new List<GrammarAction>();
        int Act(int t)
        {
            if (t == ee) return 0;
            return t + 1;
        }
        for (int t = 0; t < terms.Count; t++)
        {
            int next = t <= n ? 0 : 1;
            s0.Productions.Add((t, t == ee ? 0 : next, Act(t)));
            if (t > n)
            {
                s1.Productions.Add((t, t == ee ? 0 : 1, Act(t)));
            }
        }
        actions.Add(new GrammarAction(ee, -1));
        for (int t = 0; t < terms.Count; t++) actions.Add(new GrammarAction(t, -1));
        var g = new BuiltGrammar { Name = $"{name.Name} (element fragment grammar)", Terminals = terms, States = [s0, s1], Actions = actions };
        w.Line();
        Emitter.EmitGrammar(w, $"G_Relaxed_{id}", g);
        string t0 = Emitter.ClassRef(type);
        w.Line();
        w.Open($"private static void EncodeRelaxed_{id}(ref {Rt}.ExiWriter w, {t0} v)");
        w.Line($"var g = G_Relaxed_{id};");
        w.Line("int s = 0;");
        foreach (var a in type.AllAttributes)
        {
            int ai = _attributes.FindIndex(x => x.Name == a.Name);
            var at = _attributes[ai].Type;
            string write = at is not null
                ? $"{Simple}.W_{_e.SimpleId(at)}(ref w, {{0}});"
                : $"{{{{ var str = {Simple}.F_{_e.SimpleId(a.Type)}({{0}}); w.WriteStringLiteral(str, {Rt}.ExiWriter.CountCodePoints(str)); }}}}";
            if (a.Required)
            {
                w.Line($"w.Event(g, ref s, {ai}); " + string.Format(System.Globalization.CultureInfo.InvariantCulture, write, $"v.{a.PropName}"));
            }
            else
            {
                w.Line($"if (v.{a.PropName} is {{ }} a{ai}) {{ w.Event(g, ref s, {ai}); " + string.Format(System.Globalization.CultureInfo.InvariantCulture, write, $"a{ai}") + " }");
            }
        }
        w.Line($"string text = {Simple}.F_{_e.SimpleId(type.SimpleContent!)}(v.Value);");
        w.Open("if (text.Length > 0)");
        w.Line($"w.Event(g, ref s, {ch});");
        w.Line($"w.WriteStringLiteral(text, {Rt}.ExiWriter.CountCodePoints(text));");
        w.Close();
        w.Line($"w.Event(g, ref s, {ee});");
        w.Close();
        w.Line();
        w.Open($"private static {t0} DecodeRelaxed_{id}(ref {Rt}.ExiReader r)");
        w.Line($"var g = G_Relaxed_{id};");
        w.Line($"var v = new {t0}({Rt}.ExiDecoding.Instance) {{ Value = \"\" }};");
        w.Line("int s = 0;");
        w.Open("while (true)");
        w.Line("long at = r.BitPosition;");
        w.Line("int action = r.Event(g, ref s);");
        w.Line("if (action == global::Juice.Hlc.Exi.ExiGrammar.EndElement) return v;");
        w.Open("switch (action - 1)");
        foreach (var a in type.AllAttributes)
        {
            int ai = _attributes.FindIndex(x => x.Name == a.Name);
            var at = _attributes[ai].Type;
            string read = at is not null
                ? $"{Simple}.R_{_e.SimpleId(at)}(ref r)"
                : $"{Simple}.P_{_e.SimpleId(a.Type)}(r.ReadStringValue(int.MaxValue))";
            w.Line($"case {ai}: v.{a.PropName} = {read}; break;");
        }
        w.Line($"case {ch}: v.Value = {Simple}.P_{_e.SimpleId(type.SimpleContent!)}(r.ReadStringValue(int.MaxValue)); break;");
        w.Line($"default: throw new {Rt}.ExiContentException(at, $\"{name.Name}: {{g.Terminals[action - 1]}} is not supported in the element fragment grammar\");");
        w.Close();
        w.Close();
        w.Close();
    }
}
