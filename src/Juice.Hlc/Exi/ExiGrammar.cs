namespace Juice.Hlc.Exi;

/// <summary>
/// One schema-informed EXI grammar (EXI 1.0 §8.5.4), normalized, with event codes assigned and the undeclared
/// productions of non-strict mode (§8.5.4.4.1) accounted for. Built by the generator; the tables are data.
/// </summary>
/// <remarks>
/// State <c>s</c> has <see cref="Count1"/>[s] first-level productions coded in <see cref="Width1"/>[s] bits; code
/// <c>Count1[s]</c> escapes to the second level (which always exists when strict is false), coded in
/// <see cref="Width2"/>[s] bits. <see cref="Encode"/>[s * TerminalCount + t] is <c>(next &lt;&lt; 12) | code</c> or -1.
/// </remarks>
public sealed class ExiGrammar
{
    public const int CodeMask = 0xFFF;
    public const int NextShift = 12;

    /// <summary>Decoder action for EE reached through the second level.</summary>
    public const int EmptyContentEnd = -1;

    /// <summary>Decoder action 0 is always EE (first level).</summary>
    public const int EndElement = 0;

    public ExiGrammar(
        string name,
        string[] terminals,
        byte[] width1,
        ushort[] count1,
        byte[] width2,
        bool[] secondLevelEndElement,
        bool[] startTag,
        int[] encode,
        int[] decodeOffset,
        short[] decodeAction,
        int[] decodeNext)
    {
        Name = name;
        Terminals = terminals;
        TerminalCount = terminals.Length;
        Width1 = width1;
        Count1 = count1;
        Width2 = width2;
        SecondLevelEndElement = secondLevelEndElement;
        StartTag = startTag;
        Encode = encode;
        DecodeOffset = decodeOffset;
        DecodeAction = decodeAction;
        DecodeNext = decodeNext;
        States = new StateInfo[width1.Length];
        for (int s = 0; s < States.Length; s++)
        {
            States[s] = new StateInfo(width1[s], count1[s], decodeOffset[s]);
        }
        Productions = new int[decodeAction.Length];
        for (int i = 0; i < Productions.Length; i++)
        {
            Productions[i] = (decodeNext[i] << 16) | (ushort)decodeAction[i];
        }
    }

    /// <summary>What the decoder needs of a state, packed for one load.</summary>
    public readonly record struct StateInfo(byte Width1, ushort Count1, int Offset);

    /// <summary>Per state, packed: first-level width and count, offset into <see cref="Productions"/>.</summary>
    public StateInfo[] States { get; }

    /// <summary>Decoder productions in event-code order per state: <c>(next &lt;&lt; 16) | action</c>.</summary>
    public int[] Productions { get; }

    public string Name { get; }
    public string[] Terminals { get; }
    public int TerminalCount { get; }
    public byte[] Width1 { get; }
    public ushort[] Count1 { get; }
    public byte[] Width2 { get; }
    public bool[] SecondLevelEndElement { get; }
    public bool[] StartTag { get; }
    public int[] Encode { get; }
    public int[] DecodeOffset { get; }
    public short[] DecodeAction { get; }
    public int[] DecodeNext { get; }

    public int StateCount => Width1.Length;

    internal InvalidOperationException NotAllowed(int state, int terminal)
    {
        bool anyState = false;
        for (int s = 0; s < StateCount && !anyState; s++)
        {
            anyState = Encode[s * TerminalCount + terminal] >= 0;
        }
        string hint = Terminals[terminal] == "EE"
            ? "required content is missing"
            : anyState ? "out of order, missing a required item before it, or more occurrences than maxOccurs allows" : "never allowed";
        return new InvalidOperationException($"{Name}: {Terminals[terminal]} is not allowed here ({hint}; grammar state {state})");
    }

    /// <summary>Names the undeclared production with second-level code <paramref name="code"/> (EXI §8.5.4.4.1).</summary>
    public string DescribeSecondLevel(int state, int code)
    {
        var names = new List<string>();
        if (SecondLevelEndElement[state])
        {
            names.Add("EE");
        }
        if (state == 0)
        {
            names.Add("AT(xsi:type)");
            names.Add("AT(xsi:nil)");
        }
        if (StartTag[state])
        {
            names.Add("AT(*)");
            names.Add("AT [untyped value]");
        }
        names.Add("SE(*)");
        names.Add("CH [untyped value]");
        return code < names.Count ? names[code] : "undefined";
    }
}
