using System.Xml;

namespace Juice.Hlc.CodeGen;

internal sealed partial class ComplexEmitter
{
    private readonly Emitter _e;
    private readonly ModelBuilder _models;
    private readonly ComplexDef _def;
    private readonly BuiltGrammar _g;
    private readonly Dictionary<Particle, (MNode Slot, MAlt? Alt, List<MContainer> Chain)> _loc;
    private readonly Dictionary<MContainer, int> _containerIds = [];
    private int _tmp;

    private const string Dec = "global::Juice.Hlc.Exi.ExiDecoding";
    private const string Simple = "global::Juice.Hlc.Exi.ExiSimpleTypes";
    private const string Xml = "global::Juice.Hlc.Exi.ExiXml";

    public ComplexEmitter(Emitter e, ModelBuilder models, ComplexDef def, BuiltGrammar g,
        Dictionary<Particle, (MNode Slot, MAlt? Alt, List<MContainer> Chain)> loc)
    {
        _e = e;
        _models = models;
        _def = def;
        _g = g;
        _loc = loc;
        // containers that hold a decodable element (wildcards have no model)
        foreach (var c in loc.Where(l => l.Key is PElement).SelectMany(l => l.Value.Chain).Distinct())
        {
            _containerIds[c] = _containerIds.Count;
        }
    }

    private string T => _def.ClassName;
    private string N() => (++_tmp).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static bool IsSubstitution(PElement leaf) => leaf.Members.Count > 1 || leaf.Decl.IsAbstract;

    public static IEnumerable<ElementDecl> Concrete(PElement leaf) =>
        // an element whose type is abstract cannot occur without xsi:type (not supported): the types derived from it
        // select their own elements, and a derived type of another schema set is refused as not in the group
        leaf.Members.Where(m => !m.IsAbstract && m.Type is not ComplexDef { IsAbstract: true }).OrderByDescending(m => Depth((ComplexDef)m.Type));

    private static int Depth(ComplexDef c) => c.Base is null ? 0 : 1 + Depth(c.Base);

    public string ValueType(PElement leaf)
    {
        if (IsSubstitution(leaf))
        {
            return leaf.Decl.Type is ComplexDef c ? Emitter.ClassRef(c) : throw new NotSupportedException($"substitution group of simple type at {leaf.Decl}");
        }
        return TypeOf(leaf.Decl.Type);
    }

    public string TypeOf(TypeDef t) => t switch
    {
        ComplexDef c => Emitter.ClassRef(c),
        SimpleDef s => s.CsType,
        _ => throw new NotSupportedException(),
    };

    private static bool IsValueType(TypeDef t) => t is SimpleDef { IsValueType: true };

    private bool LeafIsValueType(PElement leaf) => !IsSubstitution(leaf) && IsValueType(leaf.Decl.Type);

    // ------------------------------------------------------------ model

    public void EmitModel(SourceWriter w)
    {
        string baseClause = _def.Base is null ? "" : $" : {Emitter.ClassRef(_def.Base)}";
        string modifiers = _def.IsAbstract ? "public abstract partial class" : _def.Derived.Count == 0 ? "public sealed partial class" : "public partial class";
        w.Line($"/// <summary>XSD complex type <c>{System.Security.SecurityElement.Escape(_def.Describe())}</c>.</summary>");
        if (_def.Documentation is { } doc)
        {
            w.Line($"/// <remarks>{System.Security.SecurityElement.Escape(doc.Trim())}</remarks>");
        }
        w.Line(Emitter.GeneratedAttribute);
        w.Open($"{modifiers} {T}{baseClause}");
        w.Line($"/// <summary>Creates an empty instance; set the required members.</summary>");
        w.Line($"{(_def.IsAbstract ? "protected" : "public")} {T}() {{ }}");
        w.Line();
        w.Line("#pragma warning disable CS8618 // the decoder sets every required member before it returns the object");
        w.Line("[global::System.Diagnostics.CodeAnalysis.SetsRequiredMembers]");
        w.Line($"internal {T}({Dec} _){(_def.Base is null ? "" : " : base(_)")} {{ }}");
        w.Line("#pragma warning restore CS8618");
        foreach (var a in _def.OwnAttributes)
        {
            w.Line();
            w.Line($"/// <summary>Attribute <c>{a.Name.Name}</c>{(a.Name.Namespace.Length > 0 ? $" ({{{a.Name.Namespace}}})" : "")}, {(a.Required ? "required" : "optional")}.</summary>");
            if (FacetsAttribute(null, a.Type) is { Length: > 0 } fa) w.Line(fa);
            w.Line($"public {(a.Required ? "required " : "")}{a.Type.CsType}{(a.Required ? "" : "?")} {a.PropName} {{ get; set; }}");
        }
        if (_def.SimpleContent is not null && _def.Base?.SimpleContent is null)
        {
            w.Line();
            w.Line($"/// <summary>Simple content ({_def.SimpleContent.Describe()}).</summary>");
            if (FacetsAttribute(null, _def.SimpleContent) is { Length: > 0 } fv) w.Line(fv);
            w.Line($"public required {_def.SimpleContent.CsType} Value {{ get; set; }}");
        }
        var nested = new List<Action>();
        EmitMembers(w, _models.Own(_def), nested);
        w.Close();
        foreach (var n in nested)
        {
            n();
        }
    }

    private void EmitMembers(SourceWriter w, List<MNode> members, List<Action> nested)
    {
        foreach (var m in members)
        {
            switch (m)
            {
                case MElement e:
                {
                    string type = ValueType(e.Leaf);
                    string desc = IsSubstitution(e.Leaf)
                        ? $"Element <c>{e.Leaf.Decl.Name.Name}</c> or a member of its substitution group: {string.Join(", ", Concrete(e.Leaf).Select(d => d.Name.Name))} (the runtime type selects the element)"
                        : $"Element <c>{e.Leaf.Decl.Name.Name}</c> ({System.Security.SecurityElement.Escape(e.Leaf.Decl.Type.Describe())})";
                    w.Line();
                    w.Line($"/// <summary>{desc}; {Occurs(e.Leaf)}.</summary>");
                    if (FacetsAttribute(e.Leaf, IsSubstitution(e.Leaf) ? null : e.Leaf.Decl.Type) is { Length: > 0 } fe) w.Line(fe);
                    switch (e.Card)
                    {
                        case Card.One:
                            w.Line($"public required {type} {e.Prop} {{ get; set; }}");
                            break;
                        case Card.Optional:
                            w.Line($"public {type}? {e.Prop} {{ get; set; }}");
                            break;
                        default:
                            w.Line($"public global::System.Collections.Generic.List<{type}> {e.Prop} {{ get; set; }} = [];");
                            break;
                    }
                    break;
                }
                case MChoice c:
                {
                    string type = $"global::{_def.CsNamespace}.{c.ClassName}";
                    w.Line();
                    w.Line($"/// <summary>Choice of {string.Join(", ", c.Alts.Select(a => a.ClassName))}; {Occurs(c.Occurs ?? c.Group)}.</summary>");
                    if (FacetsAttribute(c.Occurs ?? c.Group, null) is { Length: > 0 } fc) w.Line(fc);
                    w.Line(c.Card switch
                    {
                        Card.One => $"public required {type} {c.Prop} {{ get; set; }}",
                        Card.Optional => $"public {type}? {c.Prop} {{ get; set; }}",
                        _ => $"public global::System.Collections.Generic.List<{type}> {c.Prop} {{ get; set; }} = [];",
                    });
                    nested.Add(() => EmitChoiceClass(w, c));
                    break;
                }
                case MGroupList g:
                {
                    string type = $"global::{_def.CsNamespace}.{g.Item.ClassName}";
                    w.Line();
                    w.Line($"/// <summary>Repeated group; {Occurs(g.Item.Particle)}.</summary>");
                    if (FacetsAttribute(g.Item.Particle, null) is { Length: > 0 } fg) w.Line(fg);
                    w.Line($"public global::System.Collections.Generic.List<{type}> {g.Prop} {{ get; set; }} = [];");
                    nested.Add(() => EmitContainerClass(w, g.Item.ClassName, null, g.Item));
                    break;
                }
                case MWildcard x:
                    w.Line();
                    w.Line($"// xs:any ({x.Leaf.Any.Namespace ?? "##any"}; {Occurs(x.Leaf)}): wildcard content has no model; the codec rejects it.");
                    break;
            }
        }
    }

    /// <summary>A [SchemaFacets] attribute for a member: occurrences and the facets of its simple type.</summary>
    public static string FacetsAttribute(Particle? p, TypeDef? type)
    {
        var parts = new List<string>();
        if (p is not null)
        {
            if (p.Min != 1) parts.Add($"MinOccurs = {p.Min}");
            if (p.Max != 1) parts.Add($"MaxOccurs = {p.Max}");
        }
        if (type is SimpleDef s)
        {
            if (s.MinLength is { } a && a != 0) parts.Add($"MinLength = {a}");
            if (s.MaxLength is { } b) parts.Add($"MaxLength = {b}");
            if (s.Kind == SimpleKind.Integer)
            {
                if (s.MinValue is { } lo) parts.Add($"MinValue = \"{lo}\"");
                if (s.MaxValue is { } hi) parts.Add($"MaxValue = \"{hi}\"");
            }
        }
        return parts.Count == 0 ? "" : $"[global::Juice.Hlc.Exi.SchemaFacets({string.Join(", ", parts)})]";
    }

    private static string Occurs(Particle p) =>
        $"occurs {p.Min}..{(p.Max == -1 ? "unbounded" : p.Max.ToString(System.Globalization.CultureInfo.InvariantCulture))}";

    private void EmitChoiceClass(SourceWriter w, MChoice c)
    {
        w.Line();
        w.Line($"/// <summary>Tagged choice: exactly one of the nested alternatives.</summary>");
        w.Line(Emitter.GeneratedAttribute);
        w.Open($"public abstract partial class {c.ClassName}");
        w.Line($"private protected {c.ClassName}() {{ }}");
        var nested = new List<Action>();
        foreach (var a in c.Alts)
        {
            w.Line();
            if (a.Leaf is not null)
            {
                string type = ValueType(a.Leaf);
                w.Line($"/// <summary>Alternative: element <c>{a.Leaf.Decl.Name.Name}</c>.</summary>");
                w.Open($"public sealed partial class {a.ClassName} : {c.ClassName}");
                w.Line($"public {a.ClassName}({type} value) => Value = value;");
                if (FacetsAttribute(null, IsSubstitution(a.Leaf) ? null : a.Leaf.Decl.Type) is { Length: > 0 } fa) w.Line(fa);
                w.Line($"public {type} Value {{ get; set; }}");
                w.Close();
            }
            else if (a.Container is not null)
            {
                EmitContainerClass(w, a.ClassName, c.ClassName, a.Container);
            }
            else
            {
                w.Line($"// Alternative xs:any: wildcard content has no model.");
            }
        }
        w.Close();
    }

    private void EmitContainerClass(SourceWriter w, string name, string? baseClass, MContainer container)
    {
        string simpleName = name.Contains('.') ? name[(name.LastIndexOf('.') + 1)..] : name;
        w.Line();
        w.Line($"/// <summary>One occurrence of a group of {_def.ClassName}.</summary>");
        w.Line(Emitter.GeneratedAttribute);
        w.Open($"public sealed partial class {simpleName}{(baseClass is null ? "" : " : " + baseClass)}");
        w.Line($"public {simpleName}() {{ }}");
        w.Line();
        w.Line("#pragma warning disable CS8618 // the decoder sets every required member before it returns the object");
        w.Line("[global::System.Diagnostics.CodeAnalysis.SetsRequiredMembers]");
        w.Line($"internal {simpleName}({Dec} _) {{ }}");
        w.Line("#pragma warning restore CS8618");
        var nested = new List<Action>();
        EmitMembers(w, container.Members, nested);
        w.Close();
        foreach (var n in nested)
        {
            n();
        }
    }
}
