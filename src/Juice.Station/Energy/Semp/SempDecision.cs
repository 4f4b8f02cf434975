namespace Juice.Station.Energy.Semp;

/// <summary>What a DeviceControl means for the connector: its current limit (null: none; 0: pause), the phases to switch to (null: as now) and why.</summary>
public sealed record SempDecision(double? LimitA, int? Phases, string Reason)
{
    /// <summary>
    /// Turns the Home Manager's recommendation into a current: power over the phases and the nominal voltage, rounded
    /// down to 0.1 A. Where the station can switch phases, the phase count follows the power as evcc's driver for
    /// this controller expects: a power that only one phase can carry at 6 A or more (1518 W) selects one phase, one
    /// only three phases can carry (9936 W) selects three; where both fit the phases stay as they are. A
    /// recommendation at or above the most the station can take (evcc's 65535 W heartbeat) sets no limit and
    /// switches nothing. Below the minimum on every phase count: pause.
    /// </summary>
    public static SempDecision Of(SempControl control, double voltage, double maxA, int phasesNow, bool canSwitch, double minA = 6)
    {
        if (!control.On)
        {
            return new(0, null, "switched off by the Home Manager");
        }
        double maxPower = (canSwitch ? 3 : phasesNow) * voltage * maxA;
        if (control.RecommendedPowerW is not { } p || p >= maxPower)
        {
            return new(null, null, control.RecommendedPowerW is { } w ? $"{w:0} W recommended, at least the station's {maxPower:0} W: full current" : "on, no power recommended: full current");
        }
        static double Down(double amps) => Math.Floor(amps * 10 + 1e-9) / 10;
        if (!canSwitch)
        {
            double amps = Down(p / (phasesNow * voltage));
            return amps < minA
                ? new(0, null, $"{p:0} W recommended: below {minA:0.#} A on {phasesNow} phase(s), paused")
                : new(Math.Min(amps, maxA), null, $"{p:0} W recommended: {Math.Min(amps, maxA):0.0} A on {phasesNow} phase(s)");
        }
        bool fitsThree = Down(p / (3 * voltage)) >= minA;
        bool fitsOne = Down(p / voltage) >= minA && p / voltage <= maxA;
        if (!fitsThree && !fitsOne)
        {
            return new(0, null, $"{p:0} W recommended: below {minA:0.#} A even on one phase, paused");
        }
        int phases = fitsThree && fitsOne ? phasesNow : fitsThree ? 3 : 1;
        double limit = Math.Min(Down(p / (phases * voltage)), maxA);
        return new(limit, phases, $"{p:0} W recommended: {limit:0.0} A on {phases} phase(s)");
    }
}
