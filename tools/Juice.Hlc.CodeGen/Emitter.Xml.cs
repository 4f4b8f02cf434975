using System.Xml;

namespace Juice.Hlc.CodeGen;

internal sealed partial class ComplexEmitter
{
    private static string XN(XmlQualifiedName n) => $"global::System.Xml.Linq.XName.Get({Emitter.SymbolDisplay(n.Name)}, {Emitter.SymbolDisplay(n.Namespace)})";

    private static IEnumerable<XmlQualifiedName> Names(PElement leaf) =>
        IsSubstitution(leaf) ? Concrete(leaf).Select(d => d.Name) : [leaf.Decl.Name];

    private static List<XmlQualifiedName> First(List<MNode> members)
    {
        var result = new List<XmlQualifiedName>();
        foreach (var m in members)
        {
            result.AddRange(First(m));
            if (!Nullable(m))
            {
                break;
            }
        }
        return result;
    }

    private static IEnumerable<XmlQualifiedName> First(MNode m) => m switch
    {
        MElement e => Names(e.Leaf),
        MChoice c => c.Alts.SelectMany(a => First(a)),
        MGroupList g => First(g.Item.Members),
        _ => [],
    };

    private static IEnumerable<XmlQualifiedName> First(MAlt a) =>
        a.Leaf is not null ? Names(a.Leaf) : a.Container is not null ? First(a.Container.Members) : [];

    private static bool Nullable(MNode m) => m switch
    {
        MElement e => e.Card != Card.One,
        MChoice c => c.Card != Card.One,
        MGroupList g => g.Item.Particle.Min == 0,
        _ => true,
    };

    private static string NameArray(IEnumerable<XmlQualifiedName> names) => "[" + string.Join(", ", names.Distinct().Select(XN)) + "]";

    private string ReadValue(TypeDef t, string element) => t switch
    {
        ComplexDef c => $"{Codec(c)}ReadXml_{c.ClassName}({element})",
        SimpleDef s => $"{Simple}.P_{_e.SimpleId(s)}({Xml}.Text({element}))",
        _ => throw new NotSupportedException(),
    };

    private string ReadLeaf(PElement leaf, string element)
    {
        if (!IsSubstitution(leaf))
        {
            return ReadValue(leaf.Decl.Type, element);
        }
        var members = Concrete(leaf).ToList();
        string type = ValueType(leaf);
        var parts = members.Select((d, i) => $"{element}.Name == {XN(d.Name)} ? ({type}){ReadValue(d.Type, element)}");
        return "(" + string.Join(" : ", parts) + $" : throw {Xml}.Unexpected({element}))";
    }

    private void EmitXmlReader(SourceWriter w)
    {
        w.Open($"internal static {T} ReadXml_{T}(global::System.Xml.Linq.XElement e)");
        if (_def.IsAbstract)
        {
            w.Line($"throw {Xml}.Unexpected(e);");
            w.Close();
            return;
        }
        w.Line($"var v = new {T}({Dec}.Instance);");
        foreach (var a in _def.AllAttributes)
        {
            string parse = $"{Simple}.P_{_e.SimpleId(a.Type)}";
            if (a.Required)
            {
                w.Line($"v.{a.PropName} = {parse}({Xml}.RequiredAttribute(e, {XN(a.Name)}));");
            }
            else
            {
                string n = "t" + N();
                w.Line($"if (e.Attribute({XN(a.Name)}) is {{ }} {n}) v.{a.PropName} = {parse}({n}.Value);");
            }
        }
        if (_def.SimpleContent is { } sc)
        {
            w.Line($"{Xml}.NoChildren(e);");
            w.Line($"v.Value = {Simple}.P_{_e.SimpleId(sc)}({Xml}.Text(e));");
        }
        else
        {
            w.Line($"var kids = {Xml}.Children(e);");
            w.Line("int i = 0;");
            ReadMembers(w, _models.All(_def), "v");
            w.Line($"{Xml}.End(e, kids, i);");
        }
        w.Line("return v;");
        w.Close();
    }

    private void ReadMembers(SourceWriter w, List<MNode> members, string obj)
    {
        foreach (var m in members)
        {
            switch (m)
            {
                case MElement e:
                {
                    string names = NameArray(Names(e.Leaf));
                    string c = "x" + N();
                    switch (e.Card)
                    {
                        case Card.One:
                            w.Open("");
                            w.Line($"var {c} = {Xml}.Take(e, kids, ref i, {names});");
                            w.Line($"{obj}.{e.Prop} = {ReadLeaf(e.Leaf, c)};");
                            w.Close();
                            break;
                        case Card.Optional:
                            w.Open($"if ({Xml}.At(kids, i, {names}))");
                            w.Line($"var {c} = kids[i++];");
                            w.Line($"{obj}.{e.Prop} = {ReadLeaf(e.Leaf, c)};");
                            w.Close();
                            break;
                        default:
                            w.Open($"while ({Xml}.At(kids, i, {names}))");
                            w.Line($"var {c} = kids[i++];");
                            w.Line($"{obj}.{e.Prop}.Add({ReadLeaf(e.Leaf, c)});");
                            w.Close();
                            break;
                    }
                    break;
                }
                case MChoice ch when ch.Alts.All(a => a.Wildcard is not null):
                    break;
                case MChoice ch:
                {
                    string all = NameArray(First(ch));
                    string loop = ch.Card == Card.List ? "while" : "if";
                    if (ch.Card == Card.One)
                    {
                        w.Line($"{Xml}.Expect(e, kids, i, {all});");
                    }
                    w.Open($"{loop} ({Xml}.At(kids, i, {all}))");
                    string c = "x" + N();
                    w.Line($"var {c} = kids[i];");
                    bool first = true;
                    foreach (var a in ch.Alts)
                    {
                        if (a.Leaf is null && a.Container is null)
                        {
                            continue;
                        }
                        string type = $"global::{_def.CsNamespace}.{ch.ClassName}.{a.ClassName}";
                        w.Open($"{(first ? "" : "else ")}if ({Xml}.At(kids, i, {NameArray(First(a))}))");
                        first = false;
                        string assign(string value) => ch.Card == Card.List ? $"{obj}.{ch.Prop}.Add({value});" : $"{obj}.{ch.Prop} = {value};";
                        if (a.Leaf is not null)
                        {
                            w.Line("i++;");
                            w.Line(assign($"new {type}({ReadLeaf(a.Leaf, c)})"));
                        }
                        else
                        {
                            string q = "q" + N();
                            w.Line($"var {q} = new {type}({Dec}.Instance);");
                            ReadMembers(w, a.Container!.Members, q);
                            w.Line(assign(q));
                        }
                        w.Close();
                    }
                    if (ch.Card == Card.List)
                    {
                        w.Line("else break;");
                    }
                    w.Close();
                    break;
                }
                case MGroupList g:
                {
                    string q = "q" + N();
                    w.Open($"while ({Xml}.At(kids, i, {NameArray(First(g.Item.Members))}))");
                    w.Line($"var {q} = new {ContainerRef(g.Item)}({Dec}.Instance);");
                    ReadMembers(w, g.Item.Members, q);
                    w.Line($"{obj}.{g.Prop}.Add({q});");
                    w.Close();
                    break;
                }
            }
        }
    }

    private void EmitXmlWriter(SourceWriter w)
    {
        w.Open($"internal static void WriteXml_{T}(global::System.Xml.XmlWriter x, {T} v)");
        if (_def.IsAbstract)
        {
            w.Line($"throw new global::System.InvalidOperationException(\"{T} is abstract\");");
            w.Close();
            return;
        }
        foreach (var a in _def.AllAttributes)
        {
            string fmt = $"{Simple}.F_{_e.SimpleId(a.Type)}";
            string write = $"x.WriteAttributeString({Emitter.SymbolDisplay(a.Name.Name)}, {Emitter.SymbolDisplay(a.Name.Namespace)}, ";
            if (a.Required)
            {
                w.Line($"{write}{fmt}(v.{a.PropName}));");
            }
            else
            {
                string n = "t" + N();
                w.Line($"if (v.{a.PropName} is {{ }} {n}) {write}{fmt}({n}));");
            }
        }
        if (_def.SimpleContent is { } sc)
        {
            w.Line($"x.WriteString({Simple}.F_{_e.SimpleId(sc)}(v.Value));");
        }
        WalkMembers(w, _models.All(_def), "v", WriteLeaf);
        w.Close();
    }

    private void WriteLeaf(SourceWriter w, PElement leaf, string val)
    {
        if (!IsSubstitution(leaf))
        {
            WriteElement(w, leaf.Decl, val);
            return;
        }
        w.Open($"switch ({val})");
        foreach (var d in Concrete(leaf))
        {
            string n = "m" + N();
            w.Line($"case {Emitter.ClassRef((ComplexDef)d.Type)} {n}:");
            WriteElement(w, d, n);
            w.Line("    break;");
        }
        w.Close();
    }

    private void WriteElement(SourceWriter w, ElementDecl d, string val)
    {
        w.Line($"x.WriteStartElement({Emitter.SymbolDisplay(d.Name.Name)}, {Emitter.SymbolDisplay(d.Name.Namespace)});");
        w.Line(d.Type switch
        {
            ComplexDef c => $"{Codec(c)}WriteXml_{c.ClassName}(x, {val});",
            SimpleDef s => $"x.WriteString({Simple}.F_{_e.SimpleId(s)}({val}));",
            _ => throw new NotSupportedException(),
        });
        w.Line("x.WriteEndElement();");
    }
}
