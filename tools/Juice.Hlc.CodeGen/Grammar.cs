using System.Xml;

namespace Juice.Hlc.CodeGen;

// Stage 2b: schema-informed EXI grammars (EXI 1.0 §8.5.4), built literally: proto-grammars from attribute uses
// and particles (§8.5.4.1, with one copy of a term per occurrence up to maxOccurs), normalized by epsilon
// elimination and merging of duplicate terminals (§8.5.4.2, i.e. a subset construction), event codes assigned
// (§8.5.4.3), and the second-level productions of strict = false counted (§8.5.4.4.1) with the V2G fidelity
// options (no NS, CM, PI, ER, SC).

internal enum TermKind { AT = 0, ATUri = 1, ATAny = 2, SE = 3, SEUri = 4, SEAny = 5, EE = 6, CH = 7, CHMixed = 8 }

internal sealed record Terminal(TermKind Kind, XmlQualifiedName? Name, int Leaf, int Member, Particle? Particle, AttrUse? Attribute, string Label)
{
    /// <summary>Identity of the terminal symbol for duplicate elimination (§8.5.4.2.2).</summary>
    public string SymbolKey => Kind switch
    {
        TermKind.AT or TermKind.SE => $"{(int)Kind}|{{{Name!.Namespace}}}{Name.Name}",
        TermKind.SEUri or TermKind.ATUri => $"{(int)Kind}|{Name!.Namespace}",
        _ => ((int)Kind).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

internal sealed class GrammarState
{
    public required bool StartTag { get; init; }
    public List<(int Terminal, int Next, int Action)> Productions { get; } = [];   // in event-code order
    public int Count1 => Productions.Count;
    public bool HasEE { get; set; }
    public int Width1 => SimpleDef.Bits(Count1 + 1);
    public int Count2(bool initial) => (HasEE ? 0 : 1) + (initial ? 2 : 0) + (StartTag ? 2 : 0) + 2;
}

/// <summary>A decoder action: the terminal matched and, for leaves inside containers, which containers start anew.</summary>
internal sealed record GrammarAction(int Terminal, int NewFrom);

internal sealed class BuiltGrammar
{
    public required string Name { get; init; }
    public required List<Terminal> Terminals { get; init; }
    public required List<GrammarState> States { get; init; }
    public required List<GrammarAction> Actions { get; init; }
}

internal sealed class GrammarBuilder
{
    private sealed class NState
    {
        public readonly List<(int Term, int To)> Edges = [];
        public readonly List<int> Eps = [];
        public bool Accept;
        public MContainer? Marker;
        public bool Content;
    }

    private readonly List<NState> _n = [];
    private readonly List<Terminal> _terms = [];
    private readonly Dictionary<(Particle?, int, TermKind, AttrUse?), int> _termIds = [];
    private readonly IReadOnlyDictionary<Particle, MContainer> _containers;
    private readonly Dictionary<Particle, int> _leafIndex = [];
    private bool _inContent;

    private GrammarBuilder(IReadOnlyDictionary<Particle, MContainer> containers) => _containers = containers;

    private int New()
    {
        _n.Add(new NState { Content = _inContent });
        return _n.Count - 1;
    }

    private int Term(TermKind kind, Particle? p, int member, AttrUse? attr, XmlQualifiedName? name, string label)
    {
        var key = (p, member, kind, attr);
        if (!_termIds.TryGetValue(key, out int id))
        {
            id = _terms.Count;
            _terms.Add(new Terminal(kind, name, p is null ? -1 : _leafIndex[p], member, p, attr, label));
            _termIds[key] = id;
        }
        return id;
    }

    private readonly record struct Frag(int Start, List<int> Accepts);

    private Frag Concat(Frag a, Frag b)
    {
        foreach (int s in a.Accepts)
        {
            _n[s].Accept = false;
            _n[s].Eps.Add(b.Start);
        }
        return new Frag(a.Start, b.Accepts);
    }

    private Frag Empty()
    {
        int s = New();
        _n[s].Accept = true;
        return new Frag(s, [s]);
    }

    private Frag TermOf(Particle p)
    {
        switch (p)
        {
            case PElement e:
            {
                int s0 = New(), s1 = New();
                for (int m = 0; m < e.Members.Count; m++)
                {
                    var decl = e.Members[m];
                    _n[s0].Edges.Add((Term(TermKind.SE, e, m, null, decl.Name, $"SE({decl.Name.Name})"), s1));
                }
                _n[s1].Accept = true;
                return new Frag(s0, [s1]);
            }
            case PWildcard w:
            {
                int s0 = New(), s1 = New();
                string ns = w.Any.Namespace ?? "##any";
                if (ns is not ("##any" or "##other"))
                {
                    throw new NotSupportedException($"wildcard namespace constraint '{ns}' is not supported");
                }
                _n[s0].Edges.Add((Term(TermKind.SEAny, w, 0, null, null, "SE(*)"), s1));
                _n[s1].Accept = true;
                return new Frag(s0, [s1]);
            }
            case PGroup { Kind: GroupKind.Sequence } g:
            {
                if (g.Children.Count == 0)
                {
                    return Empty();
                }
                Frag f = ParticleOf(g.Children[0]);
                for (int i = 1; i < g.Children.Count; i++)
                {
                    f = Concat(f, ParticleOf(g.Children[i]));
                }
                return f;
            }
            case PGroup { Kind: GroupKind.Choice } g:
            {
                if (g.Children.Count == 0)
                {
                    return Empty();
                }
                int s0 = New();
                var accepts = new List<int>();
                foreach (var c in g.Children)
                {
                    var f = ParticleOf(c);
                    _n[s0].Eps.Add(f.Start);
                    accepts.AddRange(f.Accepts);
                }
                return new Frag(s0, accepts);
            }
            default:
                throw new NotSupportedException("xs:all");
        }
    }

    /// <summary>EXI §8.5.4.1.5: {min occurs} required copies, then optional copies or one looping copy.</summary>
    private Frag ParticleOf(Particle p)
    {
        if (p.Max == 0)
        {
            return Empty();
        }
        _containers.TryGetValue(p, out var marker);
        var copies = new List<Frag>();
        Frag Copy()
        {
            var f = TermOf(p);
            if (marker is not null)
            {
                _n[f.Start].Marker = marker;
            }
            return f;
        }
        for (int i = 0; i < p.Min; i++)
        {
            copies.Add(Copy());
        }
        if (p.Max == -1)
        {
            var g = Copy();
            foreach (int a in g.Accepts)
            {
                _n[a].Accept = false;
                if (a != g.Start)
                {
                    _n[a].Eps.Add(g.Start);
                }
            }
            _n[g.Start].Accept = true;
            copies.Add(new Frag(g.Start, [g.Start]));
        }
        else if (p.Max > p.Min)
        {
            // Optional copies G_min..G_max-1. The spec makes each copy's start accept and chains them, so
            // (a?)(a?)...: skipping one copy then taking a later one is a second path to the same state. Letting
            // a skip jump to the end of the chain accepts the same language with the same first sets and EE
            // in every state (so the same event codes), without position sets that grow with maxOccurs.
            int end = New();
            _n[end].Accept = true;
            var optional = new List<Frag>();
            for (int i = p.Min; i < p.Max; i++)
            {
                optional.Add(Copy());
            }
            for (int i = 0; i < optional.Count; i++)
            {
                int next = i + 1 < optional.Count ? optional[i + 1].Start : end;
                foreach (int a in optional[i].Accepts)
                {
                    _n[a].Accept = false;
                    _n[a].Eps.Add(next);
                }
                _n[optional[i].Start].Eps.Add(end);
            }
            copies.Add(new Frag(optional[0].Start, [end]));
        }
        Frag result = copies[0];
        for (int i = 1; i < copies.Count; i++)
        {
            result = Concat(result, copies[i]);
        }
        return result;
    }

    private static void IndexLeaves(Particle? p, Dictionary<Particle, int> into)
    {
        switch (p)
        {
            case PElement or PWildcard:
                into[p] = into.Count;
                break;
            case PGroup g:
                foreach (var c in g.Children)
                {
                    IndexLeaves(c, into);
                }
                break;
        }
    }

    /// <summary>Builds the type grammar Type_i of a complex type (§8.5.4.1.3.2), normalized and coded.</summary>
    public static BuiltGrammar ForComplex(ComplexDef def, IReadOnlyDictionary<Particle, MContainer> containers,
        Dictionary<Particle, (MNode Slot, MAlt? Alt, List<MContainer> Chain)> locations)
    {
        var b = new GrammarBuilder(containers);
        IndexLeaves(def.Content, b._leafIndex);
        Frag? type = null;
        foreach (var a in def.AllAttributes)
        {
            int s0 = b.New(), s1 = b.New();
            b._n[s0].Edges.Add((b.Term(TermKind.AT, null, 0, a, a.Name, $"AT({a.Name.Name})"), s1));
            b._n[s1].Accept = true;
            b._n[s0].Accept = !a.Required;
            var f = new Frag(s0, a.Required ? [s1] : [s0, s1]);
            type = type is null ? f : b.Concat(type.Value, f);
        }
        if (def.AttributeWildcard is not null)
        {
            throw new NotSupportedException($"{def.Describe()}: attribute wildcards are not supported");
        }
        type ??= b.Empty();
        b._inContent = true;
        int firstContent = b._n.Count;
        Frag content;
        if (def.SimpleContent is not null)
        {
            int s0 = b.New(), s1 = b.New();
            b._n[s0].Edges.Add((b.Term(TermKind.CH, null, 0, null, null, "CH"), s1));
            b._n[s1].Accept = true;
            content = new Frag(s0, [s1]);
        }
        else if (def.Content is not null)
        {
            content = b.ParticleOf(def.Content);
        }
        else
        {
            content = b.Empty();
        }
        if (def.Mixed)
        {
            int ch = b.Term(TermKind.CHMixed, null, 0, null, null, "CH [untyped]");
            for (int i = firstContent; i < b._n.Count; i++)
            {
                b._n[i].Edges.Add((ch, i));
            }
        }
        var whole = b.Concat(type.Value, content);
        return b.Normalize(def.ClassName, whole.Start, locations);
    }

    /// <summary>The grammar of every simple type (§8.5.4.1.3.1): Type_0: CH Type_1; Type_1: EE.</summary>
    public static BuiltGrammar ForSimple()
    {
        var b = new GrammarBuilder(new Dictionary<Particle, MContainer>());
        b._inContent = true;
        int s0 = b.New(), s1 = b.New();
        b._n[s0].Edges.Add((b.Term(TermKind.CH, null, 0, null, null, "CH"), s1));
        b._n[s1].Accept = true;
        return b.Normalize("simple type", s0, []);
    }

    private BuiltGrammar Normalize(string name, int start, Dictionary<Particle, (MNode Slot, MAlt? Alt, List<MContainer> Chain)> locations)
    {
        var states = new List<GrammarState>();
        var keys = new Dictionary<string, int>();
        var sets = new List<(int[] Set, bool StartTag)>();
        int eeTerm = Term(TermKind.EE, null, 0, null, null, "EE");
        var actions = new List<GrammarAction> { new(eeTerm, -1) };  // action 0 = EE
        var actionIds = new Dictionary<GrammarAction, int>();

        int Intern(int[] set, bool startTag)
        {
            string key = (startTag ? "S:" : "C:") + string.Join(',', set);
            if (!keys.TryGetValue(key, out int id))
            {
                id = states.Count;
                keys[key] = id;
                states.Add(new GrammarState { StartTag = startTag });
                sets.Add((set, startTag));
            }
            return id;
        }

        Intern([start], true);
        var containerIndex = new Dictionary<MContainer, int>();
        foreach (var c in locations.Values.SelectMany(l => l.Chain).Distinct())
        {
            containerIndex[c] = containerIndex.Count;
        }
        if (containerIndex.Count > 62)
        {
            throw new NotSupportedException($"{name}: too many nested groups");
        }

        for (int si = 0; si < states.Count; si++)
        {
            var (set, startTag) = sets[si];
            var state = states[si];
            // symbol key -> (terminal, targets, best action)
            var found = new Dictionary<string, (int Term, SortedSet<int> To, int NewFrom)>();
            foreach (int q in set)
            {
                var seen = new HashSet<(int, ulong)>();
                var stack = new Stack<(int Node, ulong Mask)>();
                stack.Push((q, 0));
                while (stack.Count > 0)
                {
                    var (node, mask) = stack.Pop();
                    var ns = _n[node];
                    if (ns.Marker is not null)
                    {
                        mask |= 1UL << containerIndex[ns.Marker];
                    }
                    if (!seen.Add((node, mask)))
                    {
                        continue;
                    }
                    if (ns.Accept)
                    {
                        state.HasEE = true;
                    }
                    foreach (var (term, to) in ns.Edges)
                    {
                        var t = _terms[term];
                        int newFrom = int.MaxValue;
                        if (t.Particle is not null && locations.TryGetValue(t.Particle, out var loc))
                        {
                            for (int k = 0; k < loc.Chain.Count; k++)
                            {
                                if ((mask & (1UL << containerIndex[loc.Chain[k]])) != 0)
                                {
                                    newFrom = k;
                                    break;
                                }
                            }
                        }
                        string sym = t.SymbolKey;
                        if (found.TryGetValue(sym, out var prev))
                        {
                            if (prev.Term != term)
                            {
                                throw new NotSupportedException($"{name}: {t.Label} matches two different particles in one state (not deterministic)");
                            }
                            prev.To.Add(to);
                            found[sym] = (term, prev.To, Math.Max(prev.NewFrom, newFrom));
                        }
                        else
                        {
                            found[sym] = (term, [to], newFrom);
                        }
                    }
                    foreach (int e in ns.Eps)
                    {
                        stack.Push((e, mask));
                    }
                }
            }
            // EXI §8.5.4.3: AT(qname) by local name then uri, AT(uri:*), AT(*), SE(qname) in schema order,
            // SE(uri:*), SE(*), EE, CH.
            var ordered = found.Values.OrderBy(v => _terms[v.Term], TerminalOrder.Instance).ToList();
            int eePosition = ordered.Count(v => (int)_terms[v.Term].Kind < (int)TermKind.EE);
            foreach (var (term, to, newFrom) in ordered)
            {
                var t = _terms[term];
                bool nextStartTag = startTag && t.Kind is TermKind.AT or TermKind.ATUri or TermKind.ATAny;
                int next = Intern([.. to], nextStartTag);
                var action = new GrammarAction(term, newFrom == int.MaxValue ? -1 : newFrom);
                if (!actionIds.TryGetValue(action, out int aid))
                {
                    aid = actions.Count;
                    actions.Add(action);
                    actionIds[action] = aid;
                }
                state.Productions.Add((term, next, aid));
            }
            if (state.HasEE)
            {
                // EE takes its place between SE and CH productions.
                state.Productions.Insert(eePosition, (eeTerm, 0, 0));
            }
        }
        return new BuiltGrammar { Name = name, Terminals = _terms, States = states, Actions = actions };
    }

    private sealed class TerminalOrder : IComparer<Terminal>
    {
        public static readonly TerminalOrder Instance = new();

        public int Compare(Terminal? x, Terminal? y)
        {
            int c = ((int)x!.Kind).CompareTo((int)y!.Kind);
            if (c != 0)
            {
                return c;
            }
            return x.Kind switch
            {
                TermKind.AT => Naming.CompareQName(x.Name!, y.Name!),
                TermKind.ATUri => string.CompareOrdinal(x.Name!.Namespace, y.Name!.Namespace),
                _ => x.Leaf != y.Leaf ? x.Leaf.CompareTo(y.Leaf) : x.Member.CompareTo(y.Member),
            };
        }
    }
}
