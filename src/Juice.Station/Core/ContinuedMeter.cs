namespace Juice.Station.Core;

/// <summary>The meter totals kept from a previous run: energy per phase and the energy fed back, in Wh.</summary>
public sealed record MeterTotals(Phases EnergyWh, double ExportedWh);

/// <summary>
/// A connector's meter as the station reports it (Modbus 200-205 and 218, OCPP meter values, transactions): the
/// inner meter's totals continued from the last run's (a simulated meter starts at 0 again, a replaced meter at its
/// own count) and never decreasing — where the inner meter reads less than was reported before, the difference is
/// added from then on. The baseline is read at the first reading (the database is migrated by then).
/// </summary>
public sealed class ContinuedMeter(IEnergyMeter inner, Func<MeterTotals?> baseline) : IEnergyMeter
{
    private readonly object _gate = new();
    private MeterTotals? _reported;
    private Phases _offset;
    private double _exportOffset;
    private bool _started;

    /// <summary>The meter it continues (the simulated meter the charging core drives, or a real one).</summary>
    public IEnergyMeter Inner => inner;

    public MeterValues Read()
    {
        var v = inner.Read();
        lock (_gate)
        {
            if (!_started)
            {
                _reported = baseline();
                _started = true;
            }
            if (_reported is { } last)
            {
                // raise the offset wherever the inner total fell below what was reported
                _offset = new Phases(Raise(_offset.L1, v.EnergyWh.L1, last.EnergyWh.L1), Raise(_offset.L2, v.EnergyWh.L2, last.EnergyWh.L2), Raise(_offset.L3, v.EnergyWh.L3, last.EnergyWh.L3));
                _exportOffset = Raise(_exportOffset, v.ExportedEnergyWh, last.ExportedWh);
            }
            var energy = new Phases(v.EnergyWh.L1 + _offset.L1, v.EnergyWh.L2 + _offset.L2, v.EnergyWh.L3 + _offset.L3);
            double exported = v.ExportedEnergyWh + _exportOffset;
            _reported = new MeterTotals(energy, exported);
            return v with { EnergyWh = energy, ExportedEnergyWh = exported };
        }
    }

    /// <summary>The totals last reported (what is kept for the next run), or null before the first reading.</summary>
    public MeterTotals? Reported
    {
        get
        {
            lock (_gate)
            {
                return _reported;
            }
        }
    }

    private static double Raise(double offset, double inner, double reported) => inner + offset < reported ? reported - inner : offset;
}
