using System.Globalization;

namespace Juice.Station.Energy;

/// <summary>The phases of the grid connection a load draws from (L1, L2, L3 of the sub-distribution).</summary>
[Flags]
public enum GridPhases
{
    None = 0,
    L1 = 1,
    L2 = 2,
    L3 = 4,
    All = L1 | L2 | L3,
}

/// <summary>A current per grid phase, A.</summary>
public readonly record struct PhaseCurrents(double L1, double L2, double L3)
{
    public static readonly PhaseCurrents Zero = new(0, 0, 0);

    public static PhaseCurrents Same(double amps) => new(amps, amps, amps);

    public double this[int phase] => phase switch { 0 => L1, 1 => L2, 2 => L3, _ => throw new ArgumentOutOfRangeException(nameof(phase)) };

    [System.Text.Json.Serialization.JsonIgnore]
    public double Max => Math.Max(L1, Math.Max(L2, L3));

    [System.Text.Json.Serialization.JsonIgnore]
    public double Min => Math.Min(L1, Math.Min(L2, L3));

    /// <summary>Each phase the smaller of the two.</summary>
    public PhaseCurrents Lower(PhaseCurrents other) => new(Math.Min(L1, other.L1), Math.Min(L2, other.L2), Math.Min(L3, other.L3));

    public PhaseCurrents Plus(PhaseCurrents other) => new(L1 + other.L1, L2 + other.L2, L3 + other.L3);

    public PhaseCurrents NotBelowZero() => new(Math.Max(0, L1), Math.Max(0, L2), Math.Max(0, L3));

    /// <summary><paramref name="amps"/> on each phase of <paramref name="phases"/>, 0 on the others.</summary>
    public static PhaseCurrents On(GridPhases phases, double amps) =>
        new(phases.HasFlag(GridPhases.L1) ? amps : 0, phases.HasFlag(GridPhases.L2) ? amps : 0, phases.HasFlag(GridPhases.L3) ? amps : 0);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{L1:0.#}/{L2:0.#}/{L3:0.#} A");
}

/// <summary>
/// How a station's terminals are wired to the grid phases (the installation's phase rotation): the grid phase of the
/// station's L1, L2 and L3. A single-phase EV draws from the station's L1, so stations wired with rotated phases
/// spread single-phase EVs over the grid phases.
/// </summary>
public readonly record struct PhaseRotation(int First, int Second, int Third)
{
    /// <summary>L1 on L1, L2 on L2, L3 on L3.</summary>
    public static readonly PhaseRotation Standard = new(0, 1, 2);

    /// <summary>The manual's notation: "L1L2L3", "L2L3L1", "L3L1L2" (or with the two last swapped: "L1L3L2", …).</summary>
    public static bool TryParse(string? text, out PhaseRotation rotation)
    {
        rotation = Standard;
        if (text is not { Length: 6 } t || t[0] != 'L' || t[2] != 'L' || t[4] != 'L')
        {
            return false;
        }
        int a = t[1] - '1', b = t[3] - '1', c = t[5] - '1';
        if (a is < 0 or > 2 || b is < 0 or > 2 || c is < 0 or > 2 || a == b || b == c || a == c)
        {
            return false;
        }
        rotation = new(a, b, c);
        return true;
    }

    /// <summary>The grid phases an EV draws from that uses <paramref name="stationPhases"/> (1 or 3) of the station's terminals.</summary>
    public GridPhases Grid(int stationPhases) => stationPhases >= 3 ? GridPhases.All : (GridPhases)(1 << First);

    public override string ToString() => $"L{First + 1}L{Second + 1}L{Third + 1}";
}
