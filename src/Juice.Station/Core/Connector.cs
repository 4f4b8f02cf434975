using Juice.Hlc.Secc;

namespace Juice.Station.Core;

/// <summary>
/// One connector of the station and everything the charging core knows about it. The state is changed only by
/// <see cref="ChargingStation"/> under its lock; readers take a <see cref="ConnectorSnapshot"/>.
/// </summary>
public sealed class Connector
{
    internal Connector(int id, string evseId, IEnergyMeter meter)
    {
        Id = id;
        EvseId = evseId;
        Meter = meter;
    }

    public int Id { get; }

    public string EvseId { get; }

    public IEnergyMeter Meter { get; }

    public CpState CpState { get; internal set; } = CpState.A;

    public Availability Availability { get; internal set; } = Availability.Operative;

    public ConnectorStatus Status { get; internal set; } = ConnectorStatus.Available;

    /// <summary>ERROR_CODES_4 bits (Modbus 111–112): bit 1 = vehicle state E, bit 6 = contactor weld, …</summary>
    public uint ErrorCodes { get; internal set; }

    public RelayState Relay { get; internal set; }

    /// <summary>The phases the contactors were switched to (Station:PhaseSwitching; null: as wired).</summary>
    public int? SwitchedPhases { get; internal set; }

    /// <summary>The current signalled to the EV now (A per phase), 0 when paused; and the limit that binds it.</summary>
    public double SignalledCurrentA { get; internal set; }

    public string LimitReason { get; internal set; } = "";

    /// <summary>The station's current limit without the EV's own maximum (what an ISO 15118 EV is offered).</summary>
    internal double OfferedCurrentA { get; set; }

    /// <summary>The ISO 15118 EV connected now, or null (a basic IEC 61851 car or none).</summary>
    public EvIdentity? HlcEv { get; internal set; }

    public EvNeeds? EvNeeds { get; internal set; }

    /// <summary>The identity authorized to charge here (a card before the plug, an accepted EV), and since when.</summary>
    public IdToken? Authorized { get; internal set; }

    internal DateTimeOffset? AuthorizedAt { get; set; }

    public OpenTransaction? Transaction { get; internal set; }

    public ChargingSession? LastSession { get; internal set; }

    /// <summary>A current limit from the backend (OCPP smart charging), A per phase; null: none.</summary>
    public double? ExternalLimitA { get; internal set; }

    internal DateTimeOffset? PluggedAt { get; set; }

    /// <summary>The plug is "virtual": an ISO 15118 EV over TCP without plug sensing; the session's end unplugs it.</summary>
    internal bool VirtualPlug { get; set; }

    internal bool HlcEnergyOn { get; set; }

    internal EvseRequest HlcRequest { get; set; }

    internal double DcVoltage { get; set; }

    internal double DcCurrent { get; set; }

    /// <summary>AC_BPT: the active power the SECC reports for the EV (negative while it feeds in).</summary>
    internal double AcPowerW { get; set; }

    internal double OfferedAtNegotiation { get; set; }

    internal DateTimeOffset? HlcWaitingSince { get; set; }

    internal bool HlcRejected { get; set; }

    /// <summary>The EVCCID of this session was put to the authorizer (Autocharge) already.</summary>
    internal bool HlcIdentityAsked { get; set; }

    internal DateTimeOffset? PausedSince { get; set; }

    /// <summary>Plug &amp; Charge: the eMAID of the contract the EV presented and the SECC verified (kept with the transaction).</summary>
    internal string? Contract { get; set; }

    internal DateTimeOffset? LastProgressWrite { get; set; }

    internal bool HlcAttached { get; set; }

    /// <summary>The host MAC of the EV matched by SLAC on this connector's PLC link, until it is unplugged.</summary>
    internal byte[]? SlacMac { get; set; }

    /// <summary>A transaction has ended since the vehicle was plugged in (status Finishing; free charging waits for the next plug).</summary>
    internal bool FinishedOnThisPlug { get; set; }

    public bool Plugged => CpState is CpState.B or CpState.C or CpState.D;

    public bool Faulted => CpState is CpState.E or CpState.F;
}

/// <summary>A connector as readers see it at one moment (API, Modbus, OCPP, web UI).</summary>
public sealed record ConnectorSnapshot(
    int Id,
    string EvseId,
    CpState CpState,
    Availability Availability,
    ConnectorStatus Status,
    uint ErrorCodes,
    RelayState Relay,
    double SignalledCurrentA,
    string LimitReason,
    bool SmartVehicle,
    string? Evccid,
    EvNeeds? EvNeeds,
    IdToken? Authorized,
    OpenTransaction? Transaction,
    ChargingSession? LastSession,
    MeterValues Meter,
    DateTimeOffset At,
    string? SlacMac = null,
    int Phases = 3)
{
    /// <summary>Energy of the running transaction (or 0).</summary>
    public double SessionEnergyWh => Transaction is { } t ? Math.Max(0, Meter.TotalEnergyWh - t.MeterStartWh) : 0;

    /// <summary>Energy the EV of the running transaction fed back (bidirectional power; or 0).</summary>
    public double SessionExportedWh => Transaction is { } t ? Math.Max(0, Meter.ExportedEnergyWh - t.ExportStartWh) : 0;

    public TimeSpan SessionDuration => Transaction is { } t ? At - t.Start : TimeSpan.Zero;
}
