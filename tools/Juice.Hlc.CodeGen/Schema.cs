using System.Numerics;
using System.Xml;
using System.Xml.Schema;

namespace Juice.Hlc.CodeGen;

// Stage 1 of the generator: the XSDs, compiled by System.Xml.Schema, turned into a small component model that
// holds exactly what EXI grammars (EXI 1.0 §8.5) and the C# model need.

internal sealed class ElementDecl
{
    public required XmlQualifiedName Name { get; init; }
    public required TypeDef Type { get; set; }
    public required bool IsGlobal { get; init; }
    public bool IsAbstract { get; init; }
    public bool IsNillable { get; init; }
    public XmlQualifiedName? SubstitutionHead { get; init; }
    public override string ToString() => Name.ToString();
}

internal abstract class TypeDef
{
    public XmlQualifiedName? Name { get; init; }
    public string CsNamespace { get; set; } = "";
    public abstract string Describe();
}

internal sealed class AttrUse
{
    public required XmlQualifiedName Name { get; init; }
    public required SimpleDef Type { get; init; }
    public required bool Required { get; init; }
    public string PropName { get; set; } = "";
}

internal sealed class ComplexDef : TypeDef
{
    public required string ClassName { get; set; }
    public ComplexDef? Base { get; set; }
    public List<ComplexDef> Derived { get; } = [];
    public List<AttrUse> AllAttributes { get; set; } = [];   // sorted by local name, then uri (EXI §8.5.4.1.3.2)
    public List<AttrUse> OwnAttributes { get; set; } = [];
    public XmlSchemaAnyAttribute? AttributeWildcard { get; set; }
    public Particle? Content { get; set; }       // full effective content (base content first)
    public Particle? OwnContent { get; set; }    // the part this type adds
    public SimpleDef? SimpleContent { get; set; }
    public bool Mixed { get; set; }
    public bool IsAbstract { get; set; }
    public string? Documentation { get; set; }
    public override string Describe() => Name?.ToString() ?? $"(anonymous {ClassName})";
}

internal enum SimpleKind { String, Boolean, HexBinary, Base64Binary, Integer, Enum }

internal enum IntRep { NBit, Unsigned, Signed }

internal sealed class SimpleDef : TypeDef
{
    public required SimpleKind Kind { get; init; }
    public required XmlTypeCode TypeCode { get; init; }
    public int? MinLength { get; set; }
    public int? MaxLength { get; set; }
    public BigInteger? MinValue { get; set; }
    public BigInteger? MaxValue { get; set; }
    public List<string> Enumeration { get; } = [];
    public bool PreserveWhitespace { get; init; }
    public string? EnumTypeName { get; set; }

    public IntRep IntRepresentation
    {
        get
        {
            // EXI 1.0 §7.1.5: a bounded range of at most 4096 values is an n-bit offset from the minimum; a lower
            // bound >= 0 gives Unsigned Integer; otherwise the signed Integer form.
            if (MinValue is { } min && MaxValue is { } max && max - min + 1 <= 4096)
            {
                return IntRep.NBit;
            }
            return MinValue is { } lo && lo >= 0 ? IntRep.Unsigned : IntRep.Signed;
        }
    }

    public int NBits => Kind == SimpleKind.Enum ? Bits(Enumeration.Count) : Bits((int)(MaxValue!.Value - MinValue!.Value + 1));

    public static int Bits(int m)
    {
        int n = 0;
        while ((1 << n) < m)
        {
            n++;
        }
        return n;
    }

    public string CsType => Kind switch
    {
        SimpleKind.String => "string",
        SimpleKind.Boolean => "bool",
        SimpleKind.HexBinary or SimpleKind.Base64Binary => "byte[]",
        SimpleKind.Enum => $"global::{CsNamespace}.{EnumTypeName}",
        _ => TypeCode switch
        {
            XmlTypeCode.Byte => "sbyte",
            XmlTypeCode.UnsignedByte => "byte",
            XmlTypeCode.Short => "short",
            XmlTypeCode.UnsignedShort => "ushort",
            XmlTypeCode.Int => "int",
            XmlTypeCode.UnsignedInt => "uint",
            XmlTypeCode.Long => "long",
            XmlTypeCode.UnsignedLong => "ulong",
            _ => "global::System.Numerics.BigInteger",
        },
    };

    public bool IsValueType => Kind is SimpleKind.Boolean or SimpleKind.Integer or SimpleKind.Enum;
    public bool IsBig => Kind == SimpleKind.Integer && CsType.EndsWith("BigInteger", StringComparison.Ordinal);
    public bool CanBeEmpty => Kind is SimpleKind.String or SimpleKind.HexBinary or SimpleKind.Base64Binary;

    /// <summary>A stable identity for helper generation: representation and facets.</summary>
    public string Signature =>
        $"{Kind}|{TypeCode}|{MinLength}|{MaxLength}|{MinValue}|{MaxValue}|{EnumTypeName}|{CsNamespace}|{(Kind == SimpleKind.Enum ? Name : null)}";

    public override string Describe() => Name?.ToString() ?? $"anonymous {TypeCode}";
}

internal abstract class Particle
{
    public int Min { get; init; } = 1;
    public int Max { get; init; } = 1;   // -1 = unbounded
    public bool Repeats => Max == -1 || Max > 1;
}

internal sealed class PElement : Particle
{
    public required ElementDecl Decl { get; init; }
    public int LeafIndex { get; set; }
    public List<ElementDecl> Members { get; set; } = [];  // substitution set S sorted (EXI §8.5.4.1.6)
}

internal sealed class PWildcard : Particle
{
    public required XmlSchemaAny Any { get; init; }
    public int LeafIndex { get; set; }
}

internal enum GroupKind { Sequence, Choice, All }

internal sealed class PGroup : Particle
{
    public required GroupKind Kind { get; init; }
    public required List<Particle> Children { get; init; }
}

/// <summary>All types and element declarations of every schema set, unified by qualified name.</summary>
internal sealed class Registry
{
    private readonly Dictionary<XmlQualifiedName, ComplexDef> _namedComplex = [];
    private readonly Dictionary<XmlQualifiedName, SimpleDef> _namedSimple = [];
    private readonly Dictionary<XmlSchemaType, TypeDef> _byObject = [];
    private readonly Func<string, string> _csNamespace;

    public Registry(Func<string, string> csNamespace) => _csNamespace = csNamespace;

    public List<ComplexDef> AllComplex { get; } = [];
    public List<SimpleDef> AllEnums { get; } = [];

    public string CsNamespace(string xmlNs) => _csNamespace(xmlNs);

    public TypeDef Resolve(XmlSchemaType type, XmlQualifiedName? anonymousOwner, Func<XmlQualifiedName, XmlSchemaType?> lookup)
    {
        if (_byObject.TryGetValue(type, out var known))
        {
            return known;
        }
        if (!type.QualifiedName.IsEmpty)
        {
            if (type is XmlSchemaComplexType && _namedComplex.TryGetValue(type.QualifiedName, out var c))
            {
                _byObject[type] = c;
                return c;
            }
            if (type is XmlSchemaSimpleType && _namedSimple.TryGetValue(type.QualifiedName, out var s))
            {
                _byObject[type] = s;
                return s;
            }
        }
        TypeDef result = type switch
        {
            XmlSchemaComplexType ct => BuildComplex(ct, anonymousOwner, lookup),
            XmlSchemaSimpleType st => BuildSimple(st, anonymousOwner),
            _ => throw new NotSupportedException(type.ToString()),
        };
        return result;
    }

    private SimpleDef BuildSimple(XmlSchemaSimpleType st, XmlQualifiedName? owner)
    {
        if (st.Datatype!.Variety != XmlSchemaDatatypeVariety.Atomic)
        {
            throw new NotSupportedException($"simple type {st.QualifiedName}: list and union types are not supported");
        }
        var tc = st.Datatype.TypeCode;
        var facets = new List<XmlSchemaFacet>();
        for (XmlSchemaSimpleType? t = st; t is not null; t = t.BaseXmlSchemaType as XmlSchemaSimpleType)
        {
            if (t.Content is XmlSchemaSimpleTypeRestriction r)
            {
                foreach (XmlSchemaFacet f in r.Facets)
                {
                    facets.Add(f);
                }
            }
            if (t.QualifiedName.Namespace == XmlSchema.Namespace)
            {
                break;
            }
        }
        SimpleKind kind = tc switch
        {
            XmlTypeCode.Boolean => SimpleKind.Boolean,
            XmlTypeCode.HexBinary => SimpleKind.HexBinary,
            XmlTypeCode.Base64Binary => SimpleKind.Base64Binary,
            XmlTypeCode.Integer or XmlTypeCode.NonNegativeInteger or XmlTypeCode.PositiveInteger or XmlTypeCode.NonPositiveInteger
                or XmlTypeCode.NegativeInteger or XmlTypeCode.Long or XmlTypeCode.Int or XmlTypeCode.Short or XmlTypeCode.Byte
                or XmlTypeCode.UnsignedLong or XmlTypeCode.UnsignedInt or XmlTypeCode.UnsignedShort or XmlTypeCode.UnsignedByte => SimpleKind.Integer,
            XmlTypeCode.String or XmlTypeCode.NormalizedString or XmlTypeCode.Token or XmlTypeCode.Language or XmlTypeCode.NmToken
                or XmlTypeCode.Name or XmlTypeCode.NCName or XmlTypeCode.Id or XmlTypeCode.Idref or XmlTypeCode.Entity
                or XmlTypeCode.AnyUri => SimpleKind.String,
            _ => throw new NotSupportedException($"simple type {st.QualifiedName}: XML Schema type {tc} is not used by V2G and not supported"),
        };
        if (facets.OfType<XmlSchemaEnumerationFacet>().Any())
        {
            if (kind != SimpleKind.String)
            {
                throw new NotSupportedException($"simple type {st.QualifiedName}: enumerations of {tc} are not supported");
            }
            kind = SimpleKind.Enum;
        }
        var def = new SimpleDef
        {
            Name = st.QualifiedName.IsEmpty ? null : st.QualifiedName,
            Kind = kind,
            TypeCode = tc,
            PreserveWhitespace = tc is XmlTypeCode.String,
            CsNamespace = "",
        };
        (def.MinValue, def.MaxValue) = BuiltInRange(tc);
        // The most derived facet of each kind wins: facets were collected from the most derived type upward.
        bool seenMin = false, seenMax = false, seenLen = false, seenMinLen = false, seenMaxLen = false, seenEnum = false;
        XmlSchemaType? enumOwner = null;
        for (XmlSchemaSimpleType? t = st; t is not null; t = t.BaseXmlSchemaType as XmlSchemaSimpleType)
        {
            if (t.Content is not XmlSchemaSimpleTypeRestriction r)
            {
                if (t.QualifiedName.Namespace == XmlSchema.Namespace) break;
                continue;
            }
            bool enumHere = false;
            foreach (XmlSchemaFacet f in r.Facets)
            {
                switch (f)
                {
                    case XmlSchemaMinInclusiveFacet when !seenMin: def.MinValue = BigInteger.Parse(f.Value!); break;
                    case XmlSchemaMinExclusiveFacet when !seenMin: def.MinValue = BigInteger.Parse(f.Value!) + 1; break;
                    case XmlSchemaMaxInclusiveFacet when !seenMax: def.MaxValue = BigInteger.Parse(f.Value!); break;
                    case XmlSchemaMaxExclusiveFacet when !seenMax: def.MaxValue = BigInteger.Parse(f.Value!) - 1; break;
                    case XmlSchemaLengthFacet when !seenLen: def.MinLength = def.MaxLength = int.Parse(f.Value!); break;
                    case XmlSchemaMinLengthFacet when !seenMinLen: def.MinLength = int.Parse(f.Value!); break;
                    case XmlSchemaMaxLengthFacet when !seenMaxLen: def.MaxLength = int.Parse(f.Value!); break;
                    case XmlSchemaEnumerationFacet when !seenEnum: def.Enumeration.Add(f.Value!); enumHere = true; break;
                    case XmlSchemaPatternFacet:
                        throw new NotSupportedException($"simple type {st.QualifiedName}: pattern facets (EXI restricted character sets) are not supported yet");
                }
            }
            seenMin |= r.Facets.OfType<XmlSchemaMinInclusiveFacet>().Any() || r.Facets.OfType<XmlSchemaMinExclusiveFacet>().Any();
            seenMax |= r.Facets.OfType<XmlSchemaMaxInclusiveFacet>().Any() || r.Facets.OfType<XmlSchemaMaxExclusiveFacet>().Any();
            seenLen |= r.Facets.OfType<XmlSchemaLengthFacet>().Any();
            seenMinLen |= r.Facets.OfType<XmlSchemaMinLengthFacet>().Any();
            seenMaxLen |= r.Facets.OfType<XmlSchemaMaxLengthFacet>().Any();
            if (enumHere && !seenEnum)
            {
                seenEnum = true;
                enumOwner = t;
            }
            if (t.QualifiedName.Namespace == XmlSchema.Namespace) break;
        }
        if (kind == SimpleKind.Enum)
        {
            var enumName = (enumOwner ?? st).QualifiedName;
            if (enumName.IsEmpty)
            {
                throw new NotSupportedException($"anonymous enumeration under {owner} is not supported");
            }
            def.EnumTypeName = Naming.Pascal(enumName.Name);
            def.CsNamespace = _csNamespace(enumName.Namespace);
            // A restriction of an enumerated type without enumerations of its own shares the C# enum of its base.
            if (!AllEnums.Any(e => e.EnumTypeName == def.EnumTypeName && e.CsNamespace == def.CsNamespace))
            {
                AllEnums.Add(def);
            }
        }
        if (TextRelaxed.TryGetValue(st.QualifiedName, out var relaxed))
        {
            (def.MinLength, def.MaxLength) = relaxed;
        }
        if (!st.QualifiedName.IsEmpty)
        {
            _namedSimple[st.QualifiedName] = def;
        }
        _byObject[st] = def;
        return def;
    }

    /// <summary>
    /// Length facets the standard's text overrides, so the codec accepts what conforming peers send: ISO 15118-20
    /// [V2G20-2495] sends an X448 DHPublicKey as its 56 bytes without filler to the schema's 133 (secp521r1).
    /// </summary>
    private static readonly Dictionary<XmlQualifiedName, (int Min, int Max)> TextRelaxed = new()
    {
        [new XmlQualifiedName("dhPublicKeyType", "urn:iso:std:iso:15118:-20:CommonMessages")] = (56, 133),
    };

    /// <summary>Value range of the built-in integer types.</summary>
    public static (BigInteger?, BigInteger?) BuiltInRange(XmlTypeCode tc) => tc switch
    {
        XmlTypeCode.Byte => (sbyte.MinValue, sbyte.MaxValue),
        XmlTypeCode.UnsignedByte => (byte.MinValue, byte.MaxValue),
        XmlTypeCode.Short => (short.MinValue, short.MaxValue),
        XmlTypeCode.UnsignedShort => (ushort.MinValue, ushort.MaxValue),
        XmlTypeCode.Int => (int.MinValue, int.MaxValue),
        XmlTypeCode.UnsignedInt => (uint.MinValue, uint.MaxValue),
        XmlTypeCode.Long => (long.MinValue, long.MaxValue),
        XmlTypeCode.UnsignedLong => (ulong.MinValue, ulong.MaxValue),
        XmlTypeCode.NonNegativeInteger => (0, null),
        XmlTypeCode.PositiveInteger => (1, null),
        XmlTypeCode.NonPositiveInteger => (null, 0),
        XmlTypeCode.NegativeInteger => (null, -1),
        _ => (null, null),
    };

    private ComplexDef BuildComplex(XmlSchemaComplexType ct, XmlQualifiedName? owner, Func<XmlQualifiedName, XmlSchemaType?> lookup)
    {
        string ns = ct.QualifiedName.IsEmpty ? owner!.Namespace : ct.QualifiedName.Namespace;
        var def = new ComplexDef
        {
            Name = ct.QualifiedName.IsEmpty ? null : ct.QualifiedName,
            ClassName = Naming.Pascal(ct.QualifiedName.IsEmpty ? owner!.Name : ct.QualifiedName.Name),
            CsNamespace = _csNamespace(ns),
            IsAbstract = ct.IsAbstract,
            Mixed = ct.IsMixed,
        };
        if (!ct.QualifiedName.IsEmpty)
        {
            _namedComplex[ct.QualifiedName] = def;
        }
        _byObject[ct] = def;
        AllComplex.Add(def);
        def.Documentation = Documentation(ct.Annotation);

        XmlSchemaParticle? own = ct.Particle;
        switch (ct.ContentModel)
        {
            case XmlSchemaComplexContent { Content: XmlSchemaComplexContentExtension ext }:
                def.Base = (ComplexDef)Resolve(lookup(ext.BaseTypeName) ?? throw new InvalidOperationException($"unknown base {ext.BaseTypeName}"), null, lookup);
                def.Base.Derived.Add(def);
                own = ext.Particle;
                break;
            case XmlSchemaComplexContent { Content: XmlSchemaComplexContentRestriction }:
                throw new NotSupportedException($"{def.Describe()}: complex content restriction is not supported");
            case XmlSchemaSimpleContent { Content: XmlSchemaSimpleContentExtension sext }:
                var baseType = lookup(sext.BaseTypeName) ?? XmlSchemaType.GetBuiltInSimpleType(sext.BaseTypeName)
                    ?? throw new InvalidOperationException($"unknown base {sext.BaseTypeName}");
                if (baseType is XmlSchemaComplexType)
                {
                    throw new NotSupportedException($"{def.Describe()}: simple content derived from a complex type is not supported");
                }
                def.SimpleContent = (SimpleDef)Resolve(baseType, owner ?? ct.QualifiedName, lookup);
                own = null;
                break;
            case XmlSchemaSimpleContent:
                throw new NotSupportedException($"{def.Describe()}: simple content restriction is not supported");
        }

        def.OwnContent = own is null ? null : BuildParticle(own, def, lookup);
        if (def.OwnContent is PGroup { Children.Count: 0 } && own is not null)
        {
            def.OwnContent = null;
        }
        if (def.Base?.Content is { } baseContent)
        {
            def.Content = def.OwnContent is null
                ? baseContent
                : new PGroup { Kind = GroupKind.Sequence, Children = [baseContent, def.OwnContent] };
        }
        else
        {
            def.Content = def.OwnContent;
        }
        if (def.Base?.SimpleContent is not null)
        {
            def.SimpleContent = def.Base.SimpleContent;
        }

        var all = new List<AttrUse>();
        foreach (XmlSchemaAttribute a in ct.AttributeUses.Values)
        {
            all.Add(new AttrUse
            {
                Name = a.QualifiedName,
                Type = (SimpleDef)Resolve(a.AttributeSchemaType!, owner ?? ct.QualifiedName, lookup),
                Required = a.Use == XmlSchemaUse.Required,
            });
        }
        all.Sort((x, y) => Naming.CompareQName(x.Name, y.Name));
        def.AllAttributes = all;
        var inherited = def.Base?.AllAttributes.Select(a => a.Name).ToHashSet() ?? [];
        def.OwnAttributes = all.Where(a => !inherited.Contains(a.Name)).ToList();
        foreach (var a in all)
        {
            a.PropName = Naming.Pascal(a.Name.Name);
        }
        def.AttributeWildcard = ct.AttributeWildcard;
        return def;
    }

    private Particle BuildParticle(XmlSchemaParticle p, ComplexDef owner, Func<XmlQualifiedName, XmlSchemaType?> lookup)
    {
        int min = (int)p.MinOccurs;
        int max = p.MaxOccurs == decimal.MaxValue ? -1 : (int)p.MaxOccurs;
        switch (p)
        {
            case XmlSchemaElement e:
                return new PElement { Decl = Element(e, owner, lookup), Min = min, Max = max };
            case XmlSchemaAny any:
                return new PWildcard { Any = any, Min = min, Max = max };
            case XmlSchemaGroupRef gr:
                var inner = (PGroup)BuildParticle(gr.Particle!, owner, lookup);
                return new PGroup { Kind = inner.Kind, Children = inner.Children, Min = min, Max = max };
            case XmlSchemaGroupBase g:
                return new PGroup
                {
                    Kind = g switch { XmlSchemaSequence => GroupKind.Sequence, XmlSchemaChoice => GroupKind.Choice, _ => GroupKind.All },
                    Children = g.Items.Cast<XmlSchemaParticle>().Select(c => BuildParticle(c, owner, lookup)).ToList(),
                    Min = min,
                    Max = max,
                };
            default:
                throw new NotSupportedException(p.ToString());
        }
    }

    private readonly Dictionary<XmlSchemaElement, ElementDecl> _elements = [];
    private readonly Dictionary<XmlQualifiedName, ElementDecl> _globalElements = [];

    public IReadOnlyDictionary<XmlQualifiedName, ElementDecl> GlobalElements => _globalElements;
    public List<ElementDecl> LocalElements { get; } = [];

    public ElementDecl Element(XmlSchemaElement e, ComplexDef? owner, Func<XmlQualifiedName, XmlSchemaType?> lookup)
    {
        bool isRef = !e.RefName.IsEmpty;
        bool isGlobal = isRef || e.Parent is XmlSchema;
        if (isGlobal && _globalElements.TryGetValue(e.QualifiedName, out var g))
        {
            return g;
        }
        if (!isGlobal && _elements.TryGetValue(e, out var known))
        {
            return known;
        }
        var decl = new ElementDecl
        {
            Name = e.QualifiedName,
            Type = null!,
            IsGlobal = isGlobal,
            IsAbstract = e.IsAbstract,
            IsNillable = e.IsNillable,
            SubstitutionHead = e.SubstitutionGroup.IsEmpty ? null : e.SubstitutionGroup,
        };
        if (isGlobal)
        {
            _globalElements[e.QualifiedName] = decl;
        }
        else
        {
            _elements[e] = decl;
            LocalElements.Add(decl);
        }
        decl.Type = Resolve(e.ElementSchemaType!, e.QualifiedName, lookup);
        return decl;
    }

    private static string? Documentation(XmlSchemaAnnotation? annotation) =>
        annotation?.Items.OfType<XmlSchemaDocumentation>().SelectMany(d => d.Markup ?? []).Select(n => n?.InnerText).FirstOrDefault(t => t is not null);
}

internal static class Naming
{
    public static string Pascal(string name) =>
        name.Length > 0 && char.IsLower(name[0]) ? char.ToUpperInvariant(name[0]) + name[1..] : name;

    public static int CompareQName(XmlQualifiedName a, XmlQualifiedName b)
    {
        int c = string.CompareOrdinal(a.Name, b.Name);
        return c != 0 ? c : string.CompareOrdinal(a.Namespace, b.Namespace);
    }

    public static string Identifier(string value)
    {
        var chars = value.Select(c => char.IsLetterOrDigit(c) || c == '_' ? c : '_').ToArray();
        var id = new string(chars);
        return id.Length == 0 || char.IsDigit(id[0]) ? "_" + id : id;
    }
}
