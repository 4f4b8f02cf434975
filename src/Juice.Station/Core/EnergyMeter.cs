namespace Juice.Station.Core;

/// <summary>Values per phase (L1, L2, L3).</summary>
public readonly record struct Phases(double L1, double L2, double L3)
{
    public double Sum => L1 + L2 + L3;
}

/// <summary>
/// One reading of a connector's meter: energy taken from the grid in Wh since the meter's start, power W, current A
/// and voltage V (power and current negative while a bidirectional EV feeds in), and the energy fed back in Wh.
/// </summary>
public sealed record MeterValues(string MeterId, Phases EnergyWh, Phases PowerW, Phases CurrentA, Phases VoltageV, DateTimeOffset At, double ExportedEnergyWh = 0)
{
    public double TotalEnergyWh => EnergyWh.Sum;

    public double TotalPowerW => PowerW.Sum;
}

/// <summary>
/// A connector's energy meter. The station reads it whenever it needs values; a real meter (Modbus RTU, S0, …)
/// implements this; <see cref="SimulatedMeter"/> stands in without hardware.
/// </summary>
public interface IEnergyMeter
{
    MeterValues Read();
}

/// <summary>
/// A meter that integrates the power the charging core says flows: per phase current × voltage while the relay is
/// closed, or a DC power (energy counted on the AC side, split over the three phases). A negative power (an EV
/// feeding in) counts in the export register. Time from the injected clock.
/// </summary>
public sealed class SimulatedMeter(string meterId, TimeProvider time, double nominalVoltage = 230) : IEnergyMeter
{
    private readonly object _gate = new();
    private Phases _energy;
    private double _exported;
    private Phases _current;
    private double _dcPowerW;
    private long _since = time.GetTimestamp();

    /// <summary>The AC currents flowing now (zero when the relay is open; negative while the EV feeds in).</summary>
    public void SetCurrents(Phases current)
    {
        lock (_gate)
        {
            Accumulate();
            _current = current;
            _dcPowerW = 0;
        }
    }

    /// <summary>A DC charger's output power now (the meter counts it on the three AC input phases; negative: fed back).</summary>
    public void SetDcPower(double watts)
    {
        lock (_gate)
        {
            Accumulate();
            _dcPowerW = watts;
            double perPhase = _dcPowerW / 3 / nominalVoltage;
            _current = new Phases(perPhase, perPhase, perPhase);
        }
    }

    public MeterValues Read()
    {
        lock (_gate)
        {
            Accumulate();
            var power = Power();
            return new MeterValues(meterId, _energy, power, _current, new Phases(nominalVoltage, nominalVoltage, nominalVoltage), time.GetUtcNow(), _exported);
        }
    }

    private Phases Power() => new(_current.L1 * nominalVoltage, _current.L2 * nominalVoltage, _current.L3 * nominalVoltage);

    private void Accumulate()
    {
        long now = time.GetTimestamp();
        double hours = time.GetElapsedTime(_since, now).TotalHours;
        _since = now;
        var p = Power();
        _energy = new Phases(_energy.L1 + Math.Max(0, p.L1) * hours, _energy.L2 + Math.Max(0, p.L2) * hours, _energy.L3 + Math.Max(0, p.L3) * hours);
        _exported += (Math.Max(0, -p.L1) + Math.Max(0, -p.L2) + Math.Max(0, -p.L3)) * hours;
    }
}
