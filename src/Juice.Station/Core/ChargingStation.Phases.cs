using Juice.Hlc.Secc;

namespace Juice.Station.Core;

/// <summary>
/// Phase switching (Station:PhaseSwitching): a 3-phase station whose contactors can also connect one phase. A switch
/// happens only while no current flows (the contactors open): switching under load wears them and an EV may fault.
/// </summary>
public sealed partial class ChargingStation
{
    /// <summary>The phases a connector charges on now: 1 where the station is wired or switched to one, or the EV says it takes one.</summary>
    private int PhasesOf(Connector c) =>
        _options.Phases == 1 || c.SwitchedPhases == 1 || c.EvNeeds?.Mode == EnergyTransfer.AcSinglePhase ? 1 : 3;

    /// <summary>
    /// Switches the connector's contactors to <paramref name="phases"/> (1 or 3). Refused (false) where the station
    /// cannot switch (Station:PhaseSwitching off, or wired for one phase) or while current flows — the caller pauses
    /// the EV first; true when the connector uses that many phases afterwards.
    /// </summary>
    public bool SwitchPhases(int connector, int phases)
    {
        if (phases is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(phases), phases, "1 or 3");
        }
        lock (_gate)
        {
            var c = Connector(connector);
            if ((c.SwitchedPhases ?? _options.Phases) == phases)
            {
                return true;
            }
            if (!_options.PhaseSwitching || _options.Phases != 3 || c.Relay != RelayState.Off)
            {
                return false;
            }
        }
        bool done = false;
        Mutate(connector, c =>
        {
            // checked again in the same hold of the lock as the switch; a real meter must also see no current
            var measured = c.Meter.Read().CurrentA;
            if (c.Relay == RelayState.Off && Math.Max(measured.L1, Math.Max(measured.L2, measured.L3)) < 1)
            {
                c.SwitchedPhases = phases;
                done = true;
            }
        });
        if (done)
        {
            Log.PhasesSwitched(_logger, connector, phases);
        }
        return done;
    }
}
