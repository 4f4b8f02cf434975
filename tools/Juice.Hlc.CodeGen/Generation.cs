using System.Xml;
using System.Xml.Schema;

namespace Juice.Hlc.CodeGen;

/// <summary>One schema set: the XSD whose closure defines an EXI grammar (document and fragment).</summary>
internal sealed record SchemaSetConfig(string Name, string RootXsd, string CsNamespace, string[] MessageElements, string Title);

/// <summary>Runs the three stages over every schema set and returns the files to write (relative path, text).</summary>
internal sealed class Generation
{
    public static readonly Dictionary<string, string> Namespaces = new()
    {
        ["http://www.w3.org/2000/09/xmldsig#"] = "Juice.Hlc.Exi.XmlDsig",
        ["urn:iso:15118:2:2010:AppProtocol"] = "Juice.Hlc.Exi.AppHandshake",
        ["urn:din:70121:2012:MsgDef"] = "Juice.Hlc.Exi.Din",
        ["urn:din:70121:2012:MsgHeader"] = "Juice.Hlc.Exi.Din",
        ["urn:din:70121:2012:MsgBody"] = "Juice.Hlc.Exi.Din",
        ["urn:din:70121:2012:MsgDataTypes"] = "Juice.Hlc.Exi.Din",
        ["urn:iso:15118:2:2013:MsgDef"] = "Juice.Hlc.Exi.Iso2",
        ["urn:iso:15118:2:2013:MsgHeader"] = "Juice.Hlc.Exi.Iso2",
        ["urn:iso:15118:2:2013:MsgBody"] = "Juice.Hlc.Exi.Iso2",
        ["urn:iso:15118:2:2013:MsgDataTypes"] = "Juice.Hlc.Exi.Iso2",
        ["urn:iso:std:iso:15118:-20:CommonTypes"] = "Juice.Hlc.Exi.Iso20",
        ["urn:iso:std:iso:15118:-20:CommonMessages"] = "Juice.Hlc.Exi.Iso20",
        ["urn:iso:std:iso:15118:-20:AC"] = "Juice.Hlc.Exi.Iso20",
        ["urn:iso:std:iso:15118:-20:DC"] = "Juice.Hlc.Exi.Iso20",
        ["urn:iso:std:iso:15118:-20:WPT"] = "Juice.Hlc.Exi.Iso20",
        ["urn:iso:std:iso:15118:-20:ACDP"] = "Juice.Hlc.Exi.Iso20",
    };

    public static readonly Dictionary<string, string> Prefixes = new()
    {
        ["http://www.w3.org/2000/09/xmldsig#"] = "xmlsig",
        ["urn:iso:15118:2:2010:AppProtocol"] = "app",
        ["urn:din:70121:2012:MsgDef"] = "v2gci_d",
        ["urn:din:70121:2012:MsgHeader"] = "v2gci_h",
        ["urn:din:70121:2012:MsgBody"] = "v2gci_b",
        ["urn:din:70121:2012:MsgDataTypes"] = "v2gci_t",
        ["urn:iso:15118:2:2013:MsgDef"] = "v2gci_d",
        ["urn:iso:15118:2:2013:MsgHeader"] = "v2gci_h",
        ["urn:iso:15118:2:2013:MsgBody"] = "v2gci_b",
        ["urn:iso:15118:2:2013:MsgDataTypes"] = "v2gci_t",
        ["urn:iso:std:iso:15118:-20:CommonTypes"] = "ct",
        ["urn:iso:std:iso:15118:-20:CommonMessages"] = "cm",
        ["urn:iso:std:iso:15118:-20:AC"] = "ac",
        ["urn:iso:std:iso:15118:-20:DC"] = "dc",
        ["urn:iso:std:iso:15118:-20:WPT"] = "wpt",
        ["urn:iso:std:iso:15118:-20:ACDP"] = "acdp",
    };

    public static readonly SchemaSetConfig[] Sets =
    [
        new("XmlDsig", "iso2/xmldsig-core-schema.xsd", "Juice.Hlc.Exi.XmlDsig", [], "W3C XML Signature (xmldsig-core-schema.xsd alone, the grammar V2G uses for SignedInfo fragments)"),
        new("AppHandshake", "appHandshake/V2G_CI_AppProtocol.xsd", "Juice.Hlc.Exi.AppHandshake", ["supportedAppProtocolReq", "supportedAppProtocolRes"], "supportedAppProtocol handshake (urn:iso:15118:2:2010:AppProtocol)"),
        new("Din", "din/V2G_CI_MsgDef.xsd", "Juice.Hlc.Exi.Din", ["V2G_Message"], "DIN SPEC 70121:2014 (urn:din:70121:2012:MsgDef)"),
        new("Iso2", "iso2/V2G_CI_MsgDef.xsd", "Juice.Hlc.Exi.Iso2", ["V2G_Message"], "ISO 15118-2:2014 (urn:iso:15118:2:2013:MsgDef)"),
        // ISO 15118-20: one grammar per message schema (with its imports only); the root is the message element itself
        new("Iso20Common", "iso20/V2G_CI_CommonMessages.xsd", "Juice.Hlc.Exi.Iso20", [AllMessages], "ISO 15118-20:2022 common messages (urn:iso:std:iso:15118:-20:CommonMessages)"),
        new("Iso20Ac", "iso20/V2G_CI_AC.xsd", "Juice.Hlc.Exi.Iso20", [AllMessages], "ISO 15118-20:2022 AC messages (urn:iso:std:iso:15118:-20:AC)"),
        new("Iso20Dc", "iso20/V2G_CI_DC.xsd", "Juice.Hlc.Exi.Iso20", [AllMessages], "ISO 15118-20:2022 DC messages (urn:iso:std:iso:15118:-20:DC)"),
        new("Iso20Wpt", "iso20/V2G_CI_WPT.xsd", "Juice.Hlc.Exi.Iso20", [AllMessages], "ISO 15118-20:2022 WPT messages (urn:iso:std:iso:15118:-20:WPT)"),
        new("Iso20Acdp", "iso20/V2G_CI_ACDP.xsd", "Juice.Hlc.Exi.Iso20", [AllMessages], "ISO 15118-20:2022 ACDP messages (urn:iso:std:iso:15118:-20:ACDP)"),
    ];

    /// <summary>In <see cref="SchemaSetConfig.MessageElements"/>: every global Req/Res element of the set's own namespace.</summary>
    public const string AllMessages = "*";

    private readonly string _schemaDir;
    private readonly Registry _registry;
    private readonly ModelBuilder _models = new();
    private readonly Emitter _emitter;
    private readonly Dictionary<string, string> _files = [];
    private readonly HashSet<ComplexDef> _emitted = [];

    public Generation(string schemaDir)
    {
        _schemaDir = schemaDir;
        _registry = new Registry(ns => Namespaces.TryGetValue(ns, out var cs) ? cs : throw new NotSupportedException($"no C# namespace for {ns}"));
        _emitter = new Emitter(this);
    }

    public IReadOnlyDictionary<string, string> Files => _files;

    private static string Folder(string csNamespace) => Emitter.Short(csNamespace);

    public void Run()
    {
        var perSet = new List<(SchemaSetConfig Config, string TargetNamespace, List<ElementDecl> Globals, List<ElementDecl> AllDecls, List<AttrUse> AllAttrs)>();
        var home = new Dictionary<ComplexDef, List<ElementDecl>>();   // the global elements of the first set that reaches a type
        foreach (var cfg in Sets)
        {
            var set = new XmlSchemaSet { XmlResolver = new XmlUrlResolver() };
            set.ValidationEventHandler += (_, e) => throw new InvalidOperationException($"{cfg.RootXsd}: {e.Message}");
            string targetNamespace;
            using (var reader = XmlReader.Create(Path.Combine(_schemaDir, cfg.RootXsd), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = new XmlUrlResolver() }))
            {
                targetNamespace = set.Add(null, reader)?.TargetNamespace ?? "";
            }
            set.Compile();
            XmlSchemaType? Lookup(XmlQualifiedName n) =>
                set.GlobalTypes[n] as XmlSchemaType ?? XmlSchemaType.GetBuiltInSimpleType(n) ?? (XmlSchemaType?)XmlSchemaType.GetBuiltInComplexType(n);

            var globals = new List<ElementDecl>();
            foreach (XmlSchemaElement e in set.GlobalElements.Values)
            {
                globals.Add(_registry.Element(e, null, Lookup));
            }
            var userTypes = set.GlobalTypes.Values.Cast<XmlSchemaType>().Where(t => t.QualifiedName.Namespace != XmlSchema.Namespace).ToList();
            foreach (var t in userTypes)
            {
                _registry.Resolve(t, null, Lookup);
            }
            globals.Sort((a, b) => Naming.CompareQName(a.Name, b.Name));
            // every element declaration of the set, global and local (for the fragment grammar, EXI §8.5.2)
            var reachable = new HashSet<ComplexDef>();
            void Visit(TypeDef t)
            {
                if (t is not ComplexDef c || !reachable.Add(c)) return;
                if (c.Base is not null) Visit(c.Base);
                foreach (var d in c.Derived) Visit(d);
                foreach (var leaf in Leaves(c.Content).OfType<PElement>()) Visit(leaf.Decl.Type);
            }
            foreach (var t in userTypes) Visit(_registry.Resolve(t, null, Lookup));
            foreach (var g in globals) Visit(g.Type);
            var all = new List<ElementDecl>(globals);
            foreach (var c in reachable)
            {
                foreach (var leaf in Leaves(c.Content).OfType<PElement>())
                {
                    if (!all.Contains(leaf.Decl)) all.Add(leaf.Decl);
                }
            }
            var attrs = reachable.SelectMany(c => c.AllAttributes).ToList();
            foreach (XmlSchemaAttribute a in set.GlobalAttributes.Values)
            {
                attrs.Add(new AttrUse { Name = a.QualifiedName, Type = (SimpleDef)_registry.Resolve(a.AttributeSchemaType!, a.QualifiedName, Lookup), Required = false });
            }
            perSet.Add((cfg, targetNamespace, globals, all, attrs));
            foreach (var c in reachable)
            {
                home.TryAdd(c, globals);
            }
        }

        // Substitution sets (EXI §8.5.4.1.6): the element itself and every global element whose chain of
        // {substitution group affiliation} reaches it, sorted by local name, then uri. Only the global elements
        // of the schema set the type belongs to count: ISO 15118-20's AC and DC schemas both extend one head.
        var globalsByName = _registry.GlobalElements;
        foreach (var c in _registry.AllComplex)
        {
            var candidates = home.TryGetValue(c, out var g0) ? g0 : [];
            foreach (var leaf in Leaves(c.Content).OfType<PElement>())
            {
                var set = new List<ElementDecl> { leaf.Decl };
                foreach (var g in candidates)
                {
                    for (var h = g; h.SubstitutionHead is { } head && globalsByName.TryGetValue(head, out var hd); h = hd)
                    {
                        if (hd == leaf.Decl)
                        {
                            set.Add(g);
                            break;
                        }
                    }
                }
                set.Sort((a, b) => Naming.CompareQName(a.Name, b.Name));
                leaf.Members = set;
            }
        }

        foreach (var c in _registry.AllComplex)
        {
            EmitComplex(c);
        }
        foreach (var e in _registry.AllEnums)
        {
            string source = e.Name is null ? "" : $"{{{e.Name.Namespace}}}{e.Name.Name}";
            _files[$"{Folder(e.CsNamespace)}/{e.EnumTypeName}.g.cs"] = Emitter.EmitEnum(e, source);
        }
        foreach (var (cfg, targetNamespace, globals, all, attrs) in perSet)
        {
            _files[$"{Folder(cfg.CsNamespace)}/{cfg.Name}Exi.g.cs"] = new EntryEmitter(_emitter, cfg, targetNamespace, globals, all, attrs).Emit();
        }
        _files["ExiSimpleTypes.g.cs"] = _emitter.EmitSimpleTypes(GrammarBuilder.ForSimple());
    }

    public static IEnumerable<Particle> Leaves(Particle? p)
    {
        switch (p)
        {
            case PElement or PWildcard:
                yield return p;
                break;
            case PGroup g:
                foreach (var c in g.Children)
                {
                    foreach (var l in Leaves(c))
                    {
                        yield return l;
                    }
                }
                break;
        }
    }

    public Dictionary<Particle, (MNode Slot, MAlt? Alt, List<MContainer> Chain)> Locations(ComplexDef c)
    {
        var loc = new Dictionary<Particle, (MNode, MAlt?, List<MContainer>)>();
        ModelBuilder.Locate(_models.All(c), [], loc);
        return loc;
    }

    private void EmitComplex(ComplexDef c)
    {
        if (!_emitted.Add(c))
        {
            return;
        }
        var loc = Locations(c);
        var grammar = GrammarBuilder.ForComplex(c, _models.Containers, loc);
        var ce = new ComplexEmitter(_emitter, _models, c, grammar, loc);
        var w = new SourceWriter();
        w.Line(Emitter.Header.TrimEnd('\n'));
        w.Line($"namespace {c.CsNamespace};");
        w.Line();
        ce.EmitModel(w);
        ce.EmitCodec(w);
        _files[$"{Folder(c.CsNamespace)}/{c.ClassName}.g.cs"] = w.ToString();
    }
}
