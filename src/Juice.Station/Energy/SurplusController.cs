namespace Juice.Station.Energy;

/// <summary>"Energy management from external meter": off, charging from the export only, or the minimum current from the grid plus the export.</summary>
public enum SurplusMode
{
    Off,
    Pv,
    MinPv,
}

/// <summary>What surplus charging decided, and from what (for the dashboard and the log).</summary>
/// <param name="LimitA">The current it allows (0: paused; null: surplus charging off).</param>
/// <param name="SurplusW">The power the EV could take from the export: what is fed in plus what the EV draws now.</param>
public sealed record SurplusDecision(double? LimitA, double SurplusW, double GridW, string State, string Reason);

/// <summary>
/// Surplus charging from a grid meter, one decision per reading (time injected by the caller's clock):
/// <list type="bullet">
/// <item>the surplus is what the grid meter shows fed in (negative power) plus what the EV draws now;</item>
/// <item>paused → charging when the surplus has reached the minimum charging power (6 A on the EV's phases) without a
/// break for <c>startDelay</c>, and not sooner than <c>minimumCycle</c> after the last start (no flapping);</item>
/// <item>charging: the current follows the surplus in whole amperes: it is lowered as soon as the surplus falls below
/// it and raised only when the surplus has room for a whole ampere more (hysteresis);</item>
/// <item>charging → paused when the surplus has stayed below the minimum for <c>stopDelay</c>; in MinPv the EV goes on at
/// the minimum from the grid instead.</item>
/// </list>
/// </summary>
public sealed class SurplusController(TimeProvider time)
{
    public const double MinimumCurrent = 6;

    private bool _charging;
    private double _current;
    private long? _enoughSince;
    private long? _shortSince;
    private long? _lastStart;

    public int Starts { get; private set; }

    public SurplusDecision Decide(SurplusMode mode, double gridW, double evW, int phases, double voltage, double maxCurrent,
        TimeSpan startDelay, TimeSpan stopDelay, TimeSpan minimumCycle)
    {
        long now = time.GetTimestamp();
        double surplus = evW - gridW;
        double perAmp = Math.Max(1, phases) * voltage;
        double minimumW = MinimumCurrent * perAmp;
        if (mode == SurplusMode.Off)
        {
            _charging = false;
            _enoughSince = _shortSince = null;
            return new SurplusDecision(null, surplus, gridW, "off", "surplus charging is off");
        }
        bool enough = surplus >= minimumW;
        _enoughSince = enough ? _enoughSince ?? now : null;
        _shortSince = enough ? null : _shortSince ?? now;
        double wanted = Math.Clamp(Math.Floor(surplus / perAmp), MinimumCurrent, maxCurrent);
        if (!_charging)
        {
            if (mode == SurplusMode.MinPv)
            {
                Start(now, enough ? wanted : MinimumCurrent);
                return new SurplusDecision(_current, surplus, gridW, "charging", enough ? "the surplus" : "the minimum from the grid (min + PV)");
            }
            if (!enough)
            {
                return new SurplusDecision(0, surplus, gridW, "waiting", $"the surplus is below the minimum of {minimumW:0} W");
            }
            if (time.GetElapsedTime(_enoughSince!.Value, now) < startDelay)
            {
                return new SurplusDecision(0, surplus, gridW, "waiting", $"enough surplus for {time.GetElapsedTime(_enoughSince.Value, now).TotalSeconds:0} of {startDelay.TotalSeconds:0} s");
            }
            if (_lastStart is { } last && time.GetElapsedTime(last, now) < minimumCycle)
            {
                return new SurplusDecision(0, surplus, gridW, "waiting", $"the last start was less than {minimumCycle.TotalMinutes:0} min ago");
            }
            Start(now, wanted);
            return new SurplusDecision(_current, surplus, gridW, "charging", "the surplus");
        }
        if (!enough)
        {
            if (mode == SurplusMode.MinPv)
            {
                _current = MinimumCurrent;
                return new SurplusDecision(_current, surplus, gridW, "charging", "the minimum from the grid (min + PV)");
            }
            if (time.GetElapsedTime(_shortSince!.Value, now) >= stopDelay)
            {
                _charging = false;
                _current = 0;
                return new SurplusDecision(0, surplus, gridW, "paused", $"no surplus for {stopDelay.TotalSeconds:0} s");
            }
            _current = MinimumCurrent;   // hold on at the minimum while the surplus may come back
            return new SurplusDecision(_current, surplus, gridW, "charging", $"the surplus is short since {time.GetElapsedTime(_shortSince.Value, now).TotalSeconds:0} s");
        }
        double raw = surplus / perAmp;
        if (raw < _current || raw >= _current + 1)
        {
            _current = wanted;   // lower at once (no current from the grid), raise by whole amperes only
        }
        return new SurplusDecision(_current, surplus, gridW, "charging", "the surplus");
    }

    private void Start(long now, double amps)
    {
        _charging = true;
        _current = amps;
        _lastStart = now;
        Starts++;
    }
}
