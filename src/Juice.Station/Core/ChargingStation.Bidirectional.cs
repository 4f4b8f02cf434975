using Juice.Hlc.Secc;

namespace Juice.Station.Core;

/// <summary>
/// Bidirectional power (ISO 15118-20 AC_BPT and DC_BPT): whether the operator allows it, the most a connector takes
/// back, what the HEMS (Modbus 1020, an extension of the register table) and the backend (a negative limit in a
/// charging profile) ask the EVs to feed in, and the power the meter sees while an EV feeds in.
/// </summary>
public sealed partial class ChargingStation
{
    private ushort? _hemsDischargeW;

    /// <summary>The operator allows bidirectional power: the SECC offers the BPT services.</summary>
    internal bool BidirectionalAllowed => _settings.Current.Bidirectional;

    /// <summary>The HEMS discharge request written to Modbus 1020, W (null: never written since start).</summary>
    public ushort? HemsDischargeRequest
    {
        get
        {
            lock (_gate)
            {
                return _hemsDischargeW;
            }
        }
    }

    /// <summary>The HEMS writes Modbus 1020: the power it asks bidirectional EVs in dynamic control to feed in (0: charge).</summary>
    public void SetHemsDischargeRequest(ushort watts)
    {
        lock (_gate)
        {
            _hemsDischargeW = watts;
        }
        EvaluateAll();
    }

    /// <summary>
    /// The most a connector takes back now, W: nothing unless the operator allows bidirectional power and the
    /// connector may run; else the operator's discharge current on the connector's phases (DC: also within the
    /// charger's power).
    /// </summary>
    private double DischargeLimitW(Connector c)
    {
        var s = _settings.Current;
        if (!s.Bidirectional || Paused(c))
        {
            return 0;
        }
        double amps = Math.Min(s.MaxDischargeCurrent ?? _options.MaxCurrent, _options.MaxCurrent);
        double watts = _options.Phases * _options.NominalVoltage * amps;
        return c.EvNeeds?.Mode == EnergyTransfer.Dc ? Math.Min(watts, _options.DcMaxPower) : watts;
    }

    /// <summary>
    /// The discharge limit and request of a connector, as the SECC reads them with the other limits: the larger of the
    /// HEMS request and the backend's (a negative charging-profile limit, A per phase), within the limit.
    /// </summary>
    private (double LimitW, double RequestW) Discharge(Connector c)
    {
        double limit = DischargeLimitW(c);
        double backend = c.ExternalLimitA is < 0 and var amps ? -amps * _options.Phases * _options.NominalVoltage : 0;
        return (limit, limit > 0 ? Math.Min(Math.Max(_hemsDischargeW ?? 0, backend), limit) : 0);
    }

    internal void HlcAcPower(int connector, double watts) => Mutate(connector, c => c.AcPowerW = watts, notify: false);

    /// <summary>The power fed back now (a negative DC or AC power within the discharge limit), or null while the EV takes energy.</summary>
    private double? FedBackW(Connector c)
    {
        double limit = DischargeLimitW(c);
        if (limit <= 0)
        {
            return null;
        }
        double watts = c.EvNeeds?.Mode == EnergyTransfer.Dc ? c.DcVoltage * c.DcCurrent : c.AcPowerW;
        return watts < 0 ? Math.Max(watts, -limit) : null;
    }
}
