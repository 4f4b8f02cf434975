using System.Xml;

namespace Juice.Hlc.CodeGen;

internal sealed partial class ComplexEmitter
{
    private int TermOf(TermKind kind, Particle? p = null, int member = 0, AttrUse? attr = null)
    {
        int i = _g.Terminals.FindIndex(t => t.Kind == kind && (p is null || t.Particle == p) && t.Member == member && (attr is null || t.Attribute == attr));
        return i >= 0 ? i : throw new InvalidOperationException($"{T}: no terminal {kind} {attr?.Name}");
    }

    private string Codec(ComplexDef c) => c.CsNamespace == _def.CsNamespace ? "" : Emitter.CodecClass(c.CsNamespace) + ".";

    private string EncodeValue(TypeDef t, string value) => t switch
    {
        ComplexDef c => $"{Codec(c)}Encode_{c.ClassName}(ref w, {value});",
        SimpleDef s => $"{Simple}.WE_{_e.SimpleId(s)}(ref w, {value});",
        _ => throw new NotSupportedException(),
    };

    private string DecodeValue(TypeDef t) => t switch
    {
        ComplexDef c => $"{Codec(c)}Decode_{c.ClassName}(ref r)",
        SimpleDef s => $"{Simple}.RE_{_e.SimpleId(s)}(ref r)",
        _ => throw new NotSupportedException(),
    };

    public void EmitCodec(SourceWriter w)
    {
        string cls = Emitter.Short(_def.CsNamespace) + "Codec";
        w.Line();
        w.Open($"internal static partial class {cls}");
        Emitter.EmitGrammar(w, $"G_{T}", _g);
        w.Line();
        EmitEncoder(w);
        w.Line();
        EmitDecoder(w);
        w.Line();
        EmitXmlReader(w);
        w.Line();
        EmitXmlWriter(w);
        w.Close();
    }

    // ------------------------------------------------------------ encoder

    private void EmitEncoder(SourceWriter w)
    {
        w.Open($"internal static void Encode_{T}(ref global::Juice.Hlc.Exi.ExiWriter w, {T} v)");
        if (_def.IsAbstract)
        {
            w.Line($"throw new global::System.InvalidOperationException(\"{T} is abstract: use one of its derived types\");");
            w.Close();
            return;
        }
        w.Line($"var g = G_{T};");
        w.Line("int s = 0;");
        foreach (var a in _def.AllAttributes)
        {
            int t = TermOf(TermKind.AT, attr: a);
            string write = $"w.Event(g, ref s, {t}); {Simple}.W_{_e.SimpleId(a.Type)}(ref w, ";
            if (a.Required)
            {
                w.Line(write + $"v.{a.PropName});");
            }
            else
            {
                string n = "a" + N();
                w.Line($"if (v.{a.PropName} is {{ }} {n}) {{ {write}{n}); }}");
            }
        }
        if (_def.SimpleContent is { } sc)
        {
            if (sc.CanBeEmpty)
            {
                w.Open("if (v.Value.Length == 0)");
                w.Line("w.EmptyContentEnd(g, s);");
                w.Line("return;");
                w.Close();
            }
            w.Line($"w.Event(g, ref s, {TermOf(TermKind.CH)});");
            w.Line($"{Simple}.W_{_e.SimpleId(sc)}(ref w, v.Value);");
        }
        WalkMembers(w, _models.All(_def), "v", EncodeLeaf);
        w.Line($"w.Event(g, ref s, {TermOf(TermKind.EE)});");
        w.Close();
    }

    /// <summary>
    /// Emits a walk over the members of a model object in content order (required members checked, optional ones
    /// tested, lists iterated, choices switched on) that hands each element value to <paramref name="leaf"/>.
    /// The encoder and the XML writer share it.
    /// </summary>
    private void WalkMembers(SourceWriter w, List<MNode> members, string obj, Action<SourceWriter, PElement, string> leaf)
    {
        foreach (var m in members)
        {
            switch (m)
            {
                case MElement e:
                {
                    string val = $"{obj}.{e.Prop}";
                    string n = "e" + N();
                    switch (e.Card)
                    {
                        case Card.One when LeafIsValueType(e.Leaf):
                            leaf(w, e.Leaf, val);
                            break;
                        case Card.One:
                            w.Line($"var {n} = {val} ?? throw new global::System.InvalidOperationException(\"{T}.{e.Prop} is required\");");
                            leaf(w, e.Leaf, n);
                            break;
                        case Card.Optional:
                            w.Open($"if ({val} is {{ }} {n})");
                            leaf(w, e.Leaf, n);
                            w.Close();
                            break;
                        default:
                            w.Open($"foreach (var {n} in {val})");
                            leaf(w, e.Leaf, n);
                            w.Close();
                            break;
                    }
                    break;
                }
                case MChoice c:
                {
                    string n = "c" + N();
                    if (c.Card == Card.List)
                    {
                        w.Open($"foreach (var {n} in {obj}.{c.Prop})");
                        WalkChoice(w, c, n, leaf);
                        w.Close();
                    }
                    else
                    {
                        WalkChoice(w, c, $"{obj}.{c.Prop}", leaf);
                    }
                    break;
                }
                case MGroupList g:
                {
                    string n = "q" + N();
                    w.Open($"foreach (var {n} in {obj}.{g.Prop})");
                    WalkMembers(w, g.Item.Members, n, leaf);
                    w.Close();
                    break;
                }
            }
        }
    }

    private void WalkChoice(SourceWriter w, MChoice c, string val, Action<SourceWriter, PElement, string> leaf)
    {
        if (c.Alts.All(a => a.Wildcard is not null))
        {
            return;
        }
        w.Open($"switch ({val})");
        foreach (var a in c.Alts)
        {
            string n = "a" + N();
            string type = $"global::{_def.CsNamespace}.{c.ClassName}.{a.ClassName}";
            if (a.Leaf is not null)
            {
                w.Line($"case {type} {n}:");
                leaf(w, a.Leaf, $"{n}.Value");
                w.Line("    break;");
            }
            else if (a.Container is not null)
            {
                w.Line($"case {type} {n}:");
                WalkMembers(w, a.Container.Members, n, leaf);
                w.Line("    break;");
            }
        }
        if (c.Card == Card.Optional)
        {
            w.Line("case null:");
            w.Line("    break;");
        }
        w.Line("default:");
        w.Line($"    throw new global::System.InvalidOperationException(\"{T}.{c.Prop}: \" + ({val}?.GetType().Name ?? \"null\") + \" is not an alternative that can be encoded\");");
        w.Close();
    }

    private void EncodeLeaf(SourceWriter w, PElement leaf, string val)
    {
        if (!IsSubstitution(leaf))
        {
            w.Line($"w.Event(g, ref s, {TermOf(TermKind.SE, leaf, 0)});");
            w.Line(EncodeValue(leaf.Decl.Type, val));
            return;
        }
        w.Open($"switch ({val})");
        foreach (var d in Concrete(leaf))
        {
            string n = "m" + N();
            var c = (ComplexDef)d.Type;
            w.Line($"case {Emitter.ClassRef(c)} {n}:");
            w.Line($"    w.Event(g, ref s, {TermOf(TermKind.SE, leaf, leaf.Members.IndexOf(d))});");
            w.Line("    " + EncodeValue(c, n));
            w.Line("    break;");
        }
        w.Line("default:");
        w.Line($"    throw new global::System.InvalidOperationException(\"{T}: \" + {val}.GetType().Name + \" is not in the substitution group of {leaf.Decl.Name.Name}\");");
        w.Close();
    }

    // ------------------------------------------------------------ decoder

    private string ContainerRef(MContainer c) => $"global::{_def.CsNamespace}.{c.ClassName}";

    private void EmitDecoder(SourceWriter w)
    {
        EmitEventReader(w);
        w.Open($"internal static {T} Decode_{T}(ref global::Juice.Hlc.Exi.ExiReader r)");
        if (_def.IsAbstract)
        {
            w.Line($"throw r.Error(\"{T} is abstract\");");
            w.Close();
            return;
        }
        w.Line($"var v = new {T}({Dec}.Instance);");
        w.Line("int s = 0;");
        foreach (var (c, id) in _containerIds)
        {
            w.Line($"{ContainerRef(c)}? k{id} = null;");
        }
        w.Open("while (true)");
        w.Line("long at = r.BitPosition;");
        w.Open($"switch (Event_{T}(ref r, ref s))");
        w.Line("case global::Juice.Hlc.Exi.ExiGrammar.EndElement:");
        w.Line("    return v;");
        w.Line("case global::Juice.Hlc.Exi.ExiGrammar.EmptyContentEnd:");
        if (_def.SimpleContent is { CanBeEmpty: true } sc0)
        {
            w.Line($"    if ({NotCharacterState()}) throw new global::Juice.Hlc.Exi.ExiContentException(at, \"{T}: element ended before its required content\");");
            w.Line(sc0.Kind == SimpleKind.String
                ? "    v.Value = string.Empty;"
                : $"    v.Value = global::Juice.Hlc.Exi.ExiFacets.EmptyBinary(ref r, {sc0.MinLength ?? 0}, \"{T}\");");
            w.Line("    return v;");
        }
        else
        {
            w.Line($"    throw new global::Juice.Hlc.Exi.ExiContentException(at, \"{T}: element ended before its required content\");");
        }
        for (int aid = 1; aid < _g.Actions.Count; aid++)
        {
            var action = _g.Actions[aid];
            var t = _g.Terminals[action.Terminal];
            w.Line($"case {aid}: // {t.Label}{(action.NewFrom >= 0 ? $", new group occurrence from level {action.NewFrom}" : "")}");
            switch (t.Kind)
            {
                case TermKind.AT:
                    w.Line($"    v.{t.Attribute!.PropName} = {Simple}.R_{_e.SimpleId(t.Attribute.Type)}(ref r);");
                    break;
                case TermKind.CH:
                    w.Line($"    v.Value = {Simple}.R_{_e.SimpleId(_def.SimpleContent!)}(ref r);");
                    break;
                case TermKind.CHMixed:
                    w.Line($"    throw new global::Juice.Hlc.Exi.ExiContentException(at, \"{T}: character content in mixed content is not supported\");");
                    continue;
                case TermKind.SEAny or TermKind.SEUri:
                    w.Line($"    throw new global::Juice.Hlc.Exi.ExiContentException(at, \"{T}: wildcard (xs:any) content is not supported\");");
                    continue;
                case TermKind.SE:
                {
                    var leaf = (PElement)t.Particle!;
                    var decl = leaf.Members[t.Member];
                    if (decl.IsAbstract)
                    {
                        w.Line($"    throw new global::Juice.Hlc.Exi.ExiContentException(at, \"{T}: abstract element {decl.Name.Name} cannot occur\");");
                        continue;
                    }
                    var (slot, alt, chain) = _loc[leaf];
                    string target = "v";
                    for (int i = 0; i < chain.Count; i++)
                    {
                        var c = chain[i];
                        string k = $"k{_containerIds[c]}";
                        if (action.NewFrom >= 0 && i >= action.NewFrom)
                        {
                            w.Line($"    {k} = new {ContainerRef(c)}({Dec}.Instance);");
                            switch (c.Owner)
                            {
                                case MGroupList gl:
                                    w.Line($"    {target}.{gl.Prop}.Add({k});");
                                    break;
                                case MAlt ca when ca.Choice.Card == Card.List:
                                    w.Line($"    {target}.{ca.Choice.Prop}.Add({k});");
                                    break;
                                case MAlt ca:
                                    w.Line($"    {target}.{ca.Choice.Prop} = {k};");
                                    break;
                            }
                        }
                        target = k + "!";
                    }
                    string value = DecodeValue(decl.Type);
                    switch (slot)
                    {
                        case MElement e when e.Card == Card.List:
                            if (e.Leaf.Max is -1 or > 4)
                            {
                                // long lists (schedules: up to 1024) start with room for 16, not 4, 8, 16 and three copies
                                w.Line($"    if ({target}.{e.Prop}.Capacity == 0) {target}.{e.Prop}.Capacity = {(e.Leaf.Max == -1 ? 16 : Math.Min(e.Leaf.Max, 16))};");
                            }
                            w.Line($"    {target}.{e.Prop}.Add({value});");
                            break;
                        case MElement e:
                            w.Line($"    {target}.{e.Prop} = {value};");
                            break;
                        case MChoice c:
                            string alt1 = $"new global::{_def.CsNamespace}.{c.ClassName}.{alt!.ClassName}({value})";
                            w.Line(c.Card == Card.List ? $"    {target}.{c.Prop}.Add({alt1});" : $"    {target}.{c.Prop} = {alt1};");
                            break;
                    }
                    break;
                }
                default:
                    throw new NotSupportedException(t.Kind.ToString());
            }
            w.Line("    break;");
        }
        w.Line("default:");
        w.Line($"    throw new global::Juice.Hlc.Exi.ExiContentException(at, \"{T}: unexpected event\");");
        w.Close();
        w.Close();
        w.Close();
    }

    /// <summary>
    /// The grammar's first level compiled into code (the same productions as the table <c>G_T</c>, which still
    /// serves the second level and the encoder): per state a read of its constant width and the production's next
    /// state and action. Saves the table loads and the variable-width shifts of the generic reader. The states that
    /// an unrolled list (maxOccurs up to 1024) makes are alike: a run of them shares one case, with the next state
    /// relative to the current one.
    /// </summary>
    private void EmitEventReader(SourceWriter w)
    {
        if (_def.IsAbstract)
        {
            return;
        }
        w.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]");
        w.Open($"private static int Event_{T}(ref global::Juice.Hlc.Exi.ExiReader r, ref int s)");
        w.Line("uint c;");
        w.Open("switch (s)");
        for (int i = 0; i < _g.States.Count;)
        {
            int j = i;
            while (j + 1 < _g.States.Count && Alike(i, j + 1, j + 1 - i))
            {
                j++;
            }
            var st = _g.States[i];
            bool run = j > i;
            w.Line(run ? $"case >= {i} and <= {j}:" : $"case {i}:");
            w.Line($"    c = r.ReadBits({st.Width1});");
            string Next(int next) => run && next != 0 ? $"s + {next - i}" : next.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (st.Productions.Count == 1)
            {
                var (_, next, action) = st.Productions[0];
                w.Line($"    if (c == 0) {{ s = {Next(next)}; return {action}; }}");
            }
            else
            {
                w.Line("    switch (c)");
                w.Line("    {");
                for (int code = 0; code < st.Productions.Count; code++)
                {
                    var (_, next, action) = st.Productions[code];
                    w.Line($"        case {code}: s = {Next(next)}; return {action};");
                }
                w.Line("    }");
            }
            w.Line("    break;");
            i = j + 1;
        }
        w.Line("default:");
        w.Line($"    throw new global::System.InvalidOperationException(\"{T}: no grammar state \" + s);");
        w.Close();
        w.Line($"return r.Escape(G_{T}, s, c);");
        w.Close();
        w.Line();
    }

    /// <summary>
    /// State <paramref name="b"/> reads like state <paramref name="a"/> shifted by <paramref name="d"/>: the same
    /// width and, code by code, the same action, with a next state <paramref name="d"/> further (or both 0, after EE).
    /// </summary>
    private bool Alike(int a, int b, int d)
    {
        var x = _g.States[a];
        var y = _g.States[b];
        if (x.Width1 != y.Width1 || x.Productions.Count != y.Productions.Count)
        {
            return false;
        }
        for (int code = 0; code < x.Productions.Count; code++)
        {
            var (_, nx, ax) = x.Productions[code];
            var (_, ny, ay) = y.Productions[code];
            if (ax != ay || !(nx == 0 && ny == 0 || nx != 0 && ny == nx + d))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>True when the current state is not one that expects the CH of simple content.</summary>
    private string NotCharacterState()
    {
        int ch = TermOf(TermKind.CH);
        var states = _g.States.Select((st, i) => (st, i)).Where(x => x.st.Productions.Any(p => p.Terminal == ch)).Select(x => $"s != {x.i}");
        return string.Join(" && ", states);
    }
}
