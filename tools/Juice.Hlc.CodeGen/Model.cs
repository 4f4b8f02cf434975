namespace Juice.Hlc.CodeGen;

// Stage 2a: how a content particle tree maps onto C# members. Sequences of cardinality one are flattened into
// their owner; choices become tagged types; repeated groups become lists of item classes; substitution groups
// become a property of the head's type whose runtime type selects the element.

internal enum Card { One, Optional, List }

internal abstract class MNode;

internal sealed class MElement : MNode
{
    public required PElement Leaf { get; init; }
    public required Card Card { get; init; }
    public required string Prop { get; set; }
}

internal sealed class MWildcard : MNode
{
    public required PWildcard Leaf { get; init; }
}

internal sealed class MChoice : MNode
{
    public required PGroup Group { get; init; }
    public required Card Card { get; set; }
    public required string Prop { get; set; }
    public required string ClassName { get; init; }
    public List<MAlt> Alts { get; } = [];

    /// <summary>The particle whose occurrences the list holds: the choice, or the repeated sequence around it.</summary>
    public Particle? Occurs { get; set; }
}

internal sealed class MAlt
{
    public required MChoice Choice { get; init; }
    public PElement? Leaf { get; init; }
    public PWildcard? Wildcard { get; init; }
    public MContainer? Container { get; init; }
    public required string ClassName { get; set; }
}

internal sealed class MGroupList : MNode
{
    public required MContainer Item { get; init; }
    public required string Prop { get; set; }
}

/// <summary>A model object that is created while decoding when the stream enters its particle: a list item or a choice alternative that is a group.</summary>
internal sealed class MContainer
{
    public required string ClassName { get; init; }   // full C# name relative to the namespace
    public required Particle Particle { get; init; }   // copies of this particle's term are instances
    public List<MNode> Members { get; } = [];
    public object? Owner { get; set; }                 // MGroupList or MAlt
}

internal sealed class ModelBuilder
{
    private readonly Dictionary<ComplexDef, List<MNode>> _own = [];
    private readonly Dictionary<Particle, MContainer> _containers = [];

    public IReadOnlyDictionary<Particle, MContainer> Containers => _containers;

    public List<MNode> Own(ComplexDef def)
    {
        if (_own.TryGetValue(def, out var known))
        {
            return known;
        }
        var members = new List<MNode>();
        _own[def] = members;
        var names = new Namer(def.ClassName, def.AllAttributes.Select(a => a.PropName).Concat(def.Base is null ? [] : AllNames(def.Base)));
        if (def.OwnContent is { } content)
        {
            Walk(content, false, members, def.ClassName, names);
        }
        return members;
    }

    private IEnumerable<string> AllNames(ComplexDef def) =>
        Own(def).Select(NameOf).Concat(def.Base is null ? [] : AllNames(def.Base));

    private static string NameOf(MNode n) => n switch
    {
        MElement e => e.Prop,
        MChoice c => c.Prop,
        MGroupList g => g.Prop,
        _ => "",
    };

    /// <summary>All members of a type in content order: those of its base first.</summary>
    public List<MNode> All(ComplexDef def) => def.Base is null ? Own(def) : [.. All(def.Base), .. Own(def)];

    private sealed class Namer(string owner, IEnumerable<string> taken)
    {
        private readonly HashSet<string> _taken = [owner, .. taken];
        private int _choices;
        private int _items;

        public string Unique(string wanted)
        {
            string name = wanted;
            for (int i = 2; !_taken.Add(name); i++)
            {
                name = wanted + i;
            }
            return name;
        }

        public string NextChoice() => ++_choices == 1 ? "Choice" : "Choice" + _choices;
        public string NextItem() => ++_items == 1 ? "Item" : "Item" + _items;
    }

    private void Walk(Particle p, bool optional, List<MNode> into, string owner, Namer names)
    {
        switch (p)
        {
            case PElement e:
                into.Add(new MElement
                {
                    Leaf = e,
                    Card = e.Repeats ? Card.List : e.Min == 0 || optional ? Card.Optional : Card.One,
                    Prop = names.Unique(Naming.Pascal(e.Decl.Name.Name)),
                });
                break;
            case PWildcard w:
                into.Add(new MWildcard { Leaf = w });
                break;
            case PGroup { Kind: GroupKind.Sequence } g when !g.Repeats:
                foreach (var c in g.Children)
                {
                    Walk(c, optional || g.Min == 0, into, owner, names);
                }
                break;
            case PGroup { Kind: GroupKind.Sequence, Children: [PGroup { Kind: GroupKind.Choice, Min: 1, Max: 1 } inner] } g:
                // (choice)+ written as a repeated sequence around one choice: a list of tagged items.
                AddChoice(inner, Card.List, into, owner, names);
                ((MChoice)into[^1]).Occurs = g;
                break;
            case PGroup { Kind: GroupKind.Sequence } g:
                string itemClass = owner + names.NextItem();
                var item = new MContainer { ClassName = itemClass, Particle = g };
                _containers[g] = item;
                var itemNames = new Namer(itemClass, []);
                foreach (var c in g.Children)
                {
                    Walk(c, false, item.Members, itemClass, itemNames);
                }
                var list = new MGroupList { Item = item, Prop = names.Unique("Items") };
                item.Owner = list;
                into.Add(list);
                break;
            case PGroup { Kind: GroupKind.Choice } g:
                AddChoice(g, g.Repeats ? Card.List : g.Min == 0 || optional ? Card.Optional : Card.One, into, owner, names);
                break;
            default:
                throw new NotSupportedException($"{owner}: xs:all groups are not supported");
        }
    }

    private void AddChoice(PGroup g, Card card, List<MNode> into, string owner, Namer names)
    {
        string cls = owner + names.NextChoice();
        bool nullableAlt = false;
        var choice = new MChoice
        {
            Group = g,
            Card = card,
            ClassName = cls,
            Prop = "",
        };
        var altNames = new Namer(cls, []);
        int seq = 0;
        foreach (var c in Flatten(g))
        {
            nullableAlt |= c.Min == 0;
            switch (c)
            {
                case PElement { Max: 1 } e:
                    choice.Alts.Add(new MAlt { Choice = choice, Leaf = e, ClassName = altNames.Unique(Naming.Pascal(e.Decl.Name.Name)) });
                    break;
                case PWildcard { Max: 1 } w:
                    choice.Alts.Add(new MAlt { Choice = choice, Wildcard = w, ClassName = altNames.Unique("Any") });
                    break;
                default:
                    string altClass = altNames.Unique(c is PGroup { Kind: GroupKind.Sequence } ? "Sequence" + ++seq : "Group" + ++seq);
                    var container = new MContainer { ClassName = cls + "." + altClass, Particle = c };
                    _containers[c] = container;
                    var inner = new Namer(altClass, []);
                    if (c is PGroup { Kind: GroupKind.Sequence, Max: 1 } sg)
                    {
                        foreach (var cc in sg.Children)
                        {
                            Walk(cc, false, container.Members, cls + altClass, inner);
                        }
                    }
                    else
                    {
                        Walk(c, false, container.Members, cls + altClass, inner);
                    }
                    var alt = new MAlt { Choice = choice, Container = container, ClassName = altClass };
                    container.Owner = alt;
                    choice.Alts.Add(alt);
                    break;
            }
        }
        if (nullableAlt && choice.Card == Card.One)
        {
            choice.Card = Card.Optional;
        }
        choice.Prop = names.Unique(choice.Card == Card.List ? "Items" : "Choice");
        into.Add(choice);
    }

    /// <summary>Alternatives of a choice, with nested single choices merged in.</summary>
    private static IEnumerable<Particle> Flatten(PGroup choice)
    {
        foreach (var c in choice.Children)
        {
            if (c is PGroup { Kind: GroupKind.Choice, Min: 1, Max: 1 } inner)
            {
                foreach (var cc in Flatten(inner))
                {
                    yield return cc;
                }
            }
            else
            {
                yield return c;
            }
        }
    }

    /// <summary>For each leaf particle: the chain of containers from the outermost to the innermost that hold it.</summary>
    public static void Locate(IEnumerable<MNode> members, List<MContainer> chain, Dictionary<Particle, (MNode Slot, MAlt? Alt, List<MContainer> Chain)> into)
    {
        foreach (var m in members)
        {
            switch (m)
            {
                case MElement e:
                    into[e.Leaf] = (e, null, [.. chain]);
                    break;
                case MWildcard w:
                    into[w.Leaf] = (w, null, [.. chain]);
                    break;
                case MGroupList g:
                    chain.Add(g.Item);
                    Locate(g.Item.Members, chain, into);
                    chain.RemoveAt(chain.Count - 1);
                    break;
                case MChoice c:
                    foreach (var a in c.Alts)
                    {
                        if (a.Leaf is not null)
                        {
                            into[a.Leaf] = (c, a, [.. chain]);
                        }
                        else if (a.Wildcard is not null)
                        {
                            into[a.Wildcard] = (c, a, [.. chain]);
                        }
                        else
                        {
                            chain.Add(a.Container!);
                            Locate(a.Container!.Members, chain, into);
                            chain.RemoveAt(chain.Count - 1);
                        }
                    }
                    break;
            }
        }
    }
}
