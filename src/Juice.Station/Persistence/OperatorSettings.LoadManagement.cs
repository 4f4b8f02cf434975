namespace Juice.Station.Persistence;

/// <summary>
/// The role of a station in dynamic load management (the manual's "Dynamic Load Management - DLM Master/Slave"), in
/// the order of the page; the number is Modbus register 600.
/// </summary>
public enum DlmMode
{
    Disabled = 0,

    /// <summary>The master of the DLM network; its own connectors take part as an internal slave.</summary>
    MasterWithInternalSlave = 1,

    /// <summary>The master only: its own connectors are not in the distribution (a controller in the distribution board).</summary>
    MasterStandalone = 2,

    /// <summary>A slave that finds its master by the DLM Network Id (the master's discovery broadcasts).</summary>
    SlaveAutoDiscovery = 3,

    /// <summary>A slave of a master at a configured address (for a master with "Disable Discovery Broadcasting").</summary>
    SlaveFixedMaster = 4,
}

/// <summary>One row of the Maximum Current Scheduler: from this hour (station time zone) on, these currents per phase.</summary>
public sealed record CurrentScheduleEntry(int Hour, double L1, double L2, double L3);

/// <summary>The LOAD MANAGEMENT page: Local (external input), Dynamic Load Management and the Maximum Current Scheduler.</summary>
public sealed partial record OperatorSettings
{
    /// <summary>Local "Energy management from external input": while the input is active the station charges at most <see cref="ExternalInputCurrentLimit"/>.</summary>
    public bool ExternalInputEnabled { get; init; }

    /// <summary>"Current limit for energy management from external input", A per phase (0 stops charging).</summary>
    public double ExternalInputCurrentLimit { get; init; }

    /// <summary>
    /// "External Input 1 Polarity": true = active low ("normally closed": the signal is active while the contact is
    /// open), false = active high ("normally open"). For the Local and the DLM use of the input.
    /// </summary>
    public bool ExternalInputActiveLow { get; init; } = true;

    /// <summary>"Enable Disconnected Upper Limit for SmartCharging": while the OCPP backend is offline, charge at most <see cref="DlmDisconnectedLimit"/>.</summary>
    public bool DisconnectedUpperLimitForSmartCharging { get; init; }

    public DlmMode DlmMode { get; init; }

    /// <summary>"DLM Network Id": a master and its slaves share it; several DLM networks can share a LAN.</summary>
    public int DlmNetworkId { get; init; } = 1;

    /// <summary>Slave with a fixed master: the master's address (host or host:port).</summary>
    public string? DlmMasterAddress { get; init; }

    /// <summary>Master: send no discovery announcements (slaves then need the master's address).</summary>
    public bool DlmDisableDiscoveryBroadcasting { get; init; }

    /// <summary>"DLM Algorithm Sample Rate": seconds between allocation rounds (an event — plug-in, start, stop — allocates at once).</summary>
    public int DlmSampleRateSeconds { get; init; } = 30;

    /// <summary>
    /// "Allow EV Wakeup": an EV that stopped drawing current (full, or its own timer) keeps the minimum current, so it
    /// can start again; off: it gets nothing until it draws again or is plugged in anew, and the others share its part.
    /// </summary>
    public bool DlmAllowEvWakeup { get; init; } = true;

    /// <summary>"EVSE Sub-Distribution Limit (L1/L2/L3)": what the installation's sub-distribution carries for EVs, A (Modbus 610–612).</summary>
    public double DlmSubDistributionL1 { get; init; } = 63;

    public double DlmSubDistributionL2 { get; init; } = 63;

    public double DlmSubDistributionL3 { get; init; } = 63;

    /// <summary>"Operator EVSE Sub-Distribution Limit (L1/L2/L3)": the operator's lower limit, A (Modbus 613–615, writable).</summary>
    public double DlmOperatorSubDistributionL1 { get; init; } = 63;

    public double DlmOperatorSubDistributionL2 { get; init; } = 63;

    public double DlmOperatorSubDistributionL3 { get; init; } = 63;

    /// <summary>"External Input 1 Config" of DLM: while the input is active, the sub-distribution limits change by the offsets.</summary>
    public bool DlmExternalInput { get; init; }

    /// <summary>"Ext. Input 1 Current Offset (L1/L2/L3)", A (negative: less current while the input is active; the manual's example 16 A - 10 A = 6 A).</summary>
    public double DlmExternalInputOffsetL1 { get; init; }

    public double DlmExternalInputOffsetL2 { get; init; }

    public double DlmExternalInputOffsetL3 { get; init; }

    /// <summary>"External Meter Support": the grid meter's other loads (its currents minus the EVs') lower what EVs get (Modbus 620).</summary>
    public bool DlmExternalMeter { get; init; }

    /// <summary>"Current Imbalance Prevention" with the "Current Imbalance Limit" (A between the most and the least loaded phase).</summary>
    public bool DlmImbalancePrevention { get; init; }

    public double DlmImbalanceLimit { get; init; } = 20;

    /// <summary>"Minimum Current Limit": an EV that cannot get this much waits (0 A) in the queue.</summary>
    public double DlmMinimumCurrent { get; init; } = 6;

    /// <summary>"Disconnected Limit": what a slave charges at most while it has no master (and the master while it has no slaves' word).</summary>
    public double DlmDisconnectedLimit { get; init; } = 6;

    /// <summary>"Energy management from external meter": surplus charging from the grid meter (GridMeter:*): Off, Pv (the export only) or MinPv (6 A from the grid plus the export).</summary>
    public Juice.Station.Energy.SurplusMode SurplusMode { get; init; }

    /// <summary>Surplus charging starts when the surplus has reached the minimum charging power for this long, s.</summary>
    public int SurplusStartSeconds { get; init; } = 60;

    /// <summary>Surplus charging pauses when the surplus has stayed below the minimum for this long, s.</summary>
    public int SurplusStopSeconds { get; init; } = 300;

    /// <summary>At most one start of surplus charging in this many minutes (no flapping under passing clouds).</summary>
    public int SurplusMinimumCycleMinutes { get; init; } = 10;

    /// <summary>"SMA Interface (On/Off)": the station as a SEMP device for the SMA Sunny Home Manager (Semp:* in the configuration).</summary>
    public bool SmaInterface { get; init; }

    /// <summary>"SMA charging mode": Surplus (the Home Manager decides, from PV surplus) or Immediate (full current, the Home Manager is only told).</summary>
    public Juice.Station.Energy.Semp.SmaChargingMode SmaChargingMode { get; init; }

    /// <summary>"SMA current on connection loss [A]": what the station charges when the Home Manager has been silent too long.</summary>
    public double SmaFallbackCurrent { get; init; } = 6;

    /// <summary>"SMA time until connection loss [s]": no control message for this long is a lost connection.</summary>
    public int SmaConnectionLossSeconds { get; init; } = 600;

    /// <summary>"SMA maximum energy demand [kWh]": the energy an EV asks of the Home Manager when it does not say what it needs.</summary>
    public double SmaMaxEnergyDemandKwh { get; init; } = 30;

    /// <summary>"Maximum Current Scheduler": the rows of <see cref="CurrentSchedule"/> lower the limits by the hour.</summary>
    public bool CurrentSchedulerEnabled { get; init; }

    public CurrentScheduleEntry[] CurrentSchedule { get; init; } = [];

    private void ValidateLoadManagement(Dictionary<string, string> errors, double hardwareLimit)
    {
        void Amps(string name, double value, double max, string what)
        {
            if (value < 0 || value > max || double.IsNaN(value))
            {
                errors[name] = $"between 0 and {max:0} A ({what})";
            }
        }
        Amps(nameof(ExternalInputCurrentLimit), ExternalInputCurrentLimit, hardwareLimit, "0 stops charging while the input is active; at most the hardware limit");
        if (ExternalInputEnabled && DlmExternalInput)
        {
            errors[nameof(ExternalInputEnabled)] = "the external input is used either here (Local) or by DLM (External Input 1 Config), not both";
        }
        if (!Enum.IsDefined(DlmMode))
        {
            errors[nameof(DlmMode)] = "one of " + string.Join(", ", Enum.GetNames<DlmMode>());
        }
        if (DlmNetworkId is < 0 or > 65535)
        {
            errors[nameof(DlmNetworkId)] = "0 to 65535";
        }
        if (DlmMode == DlmMode.SlaveFixedMaster && !Energy.DlmEndpoint.TryParse(DlmMasterAddress, out _))
        {
            errors[nameof(DlmMasterAddress)] = "the master's address (host or host:port) for a slave with a fixed master";
        }
        if (DlmSampleRateSeconds is < 1 or > 3600)
        {
            errors[nameof(DlmSampleRateSeconds)] = "1 to 3600 seconds";
        }
        foreach (var (name, value) in new[]
        {
            (nameof(DlmSubDistributionL1), DlmSubDistributionL1), (nameof(DlmSubDistributionL2), DlmSubDistributionL2), (nameof(DlmSubDistributionL3), DlmSubDistributionL3),
            (nameof(DlmOperatorSubDistributionL1), DlmOperatorSubDistributionL1), (nameof(DlmOperatorSubDistributionL2), DlmOperatorSubDistributionL2),
            (nameof(DlmOperatorSubDistributionL3), DlmOperatorSubDistributionL3),
        })
        {
            Amps(name, value, 2000, "the current per phase of the sub-distribution");
        }
        foreach (var (name, value) in new[] { (nameof(DlmExternalInputOffsetL1), DlmExternalInputOffsetL1), (nameof(DlmExternalInputOffsetL2), DlmExternalInputOffsetL2), (nameof(DlmExternalInputOffsetL3), DlmExternalInputOffsetL3) })
        {
            if (value is < -2000 or > 2000 || double.IsNaN(value))
            {
                errors[name] = "-2000 to 2000 A (negative: less current while the input is active)";
            }
        }
        Amps(nameof(DlmImbalanceLimit), DlmImbalanceLimit, 2000, "between the most and the least loaded phase");
        if (DlmMinimumCurrent is < 6 or > 32 || double.IsNaN(DlmMinimumCurrent))
        {
            errors[nameof(DlmMinimumCurrent)] = "6 to 32 A (IEC 61851-1: no charging below 6 A)";
        }
        Amps(nameof(DlmDisconnectedLimit), DlmDisconnectedLimit, hardwareLimit, "at most the hardware limit; as low as possible, the manual advises");
        if (!Enum.IsDefined(SurplusMode))
        {
            errors[nameof(SurplusMode)] = "one of " + string.Join(", ", Enum.GetNames<Juice.Station.Energy.SurplusMode>());
        }
        if (SurplusStartSeconds is < 0 or > 3600)
        {
            errors[nameof(SurplusStartSeconds)] = "0 to 3600 seconds";
        }
        if (SurplusStopSeconds is < 0 or > 3600)
        {
            errors[nameof(SurplusStopSeconds)] = "0 to 3600 seconds";
        }
        if (SurplusMinimumCycleMinutes is < 0 or > 240)
        {
            errors[nameof(SurplusMinimumCycleMinutes)] = "0 to 240 minutes";
        }
        if (!Enum.IsDefined(SmaChargingMode))
        {
            errors[nameof(SmaChargingMode)] = "one of " + string.Join(", ", Enum.GetNames<Juice.Station.Energy.Semp.SmaChargingMode>());
        }
        if (SmaFallbackCurrent != 0 && (SmaFallbackCurrent < 6 || SmaFallbackCurrent > hardwareLimit) || double.IsNaN(SmaFallbackCurrent))
        {
            errors[nameof(SmaFallbackCurrent)] = $"0 (pause) or 6 to {hardwareLimit:0} A (at most the hardware limit)";
        }
        if (SmaConnectionLossSeconds is < 1 or > 86400)
        {
            errors[nameof(SmaConnectionLossSeconds)] = "1 to 86400 seconds";
        }
        if (SmaMaxEnergyDemandKwh is < 0.1 or > 1000 || double.IsNaN(SmaMaxEnergyDemandKwh))
        {
            errors[nameof(SmaMaxEnergyDemandKwh)] = "0.1 to 1000 kWh";
        }
        if (CurrentSchedulerEnabled && CurrentSchedule.Length < 2)
        {
            errors[nameof(CurrentSchedule)] = "at least two entries while the Maximum Current Scheduler is on (as the manual says)";
        }
        if (CurrentSchedule.Any(e => e is null || e.Hour is < 0 or > 23 || e.L1 is < 0 or > 2000 || e.L2 is < 0 or > 2000 || e.L3 is < 0 or > 2000))
        {
            errors[nameof(CurrentSchedule)] = "entries of an hour 0 to 23 and currents 0 to 2000 A";
        }
        else if (CurrentSchedule.GroupBy(e => e.Hour).Any(g => g.Count() > 1))
        {
            errors[nameof(CurrentSchedule)] = "one entry per hour";
        }
    }
}
