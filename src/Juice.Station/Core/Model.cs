namespace Juice.Station.Core;

/// <summary>IEC 61851-1 control pilot states (Annex A): A no vehicle, B connected, C charging, D charging with ventilation, E/F error.</summary>
public enum CpState
{
    A = 1,
    B = 2,
    C = 3,
    D = 4,
    E = 5,
    F = 6,
}

/// <summary>Whether a connector may be used (OCPP 1.6 AvailabilityType; Modbus 124).</summary>
public enum Availability
{
    Operative,
    Inoperative,
}

/// <summary>The connector's status as OCPP 1.6 names it (ChargePointStatus); Modbus 104 encodes it.</summary>
public enum ConnectorStatus
{
    Available,
    Preparing,
    Charging,
    SuspendedEVSE,
    SuspendedEV,
    Finishing,
    Reserved,
    Unavailable,
    Faulted,
}

/// <summary>Why a transaction stopped (OCPP 1.6 Reason).</summary>
public enum StopReason
{
    Local,
    Remote,
    EVDisconnected,
    EmergencyStop,
    HardReset,
    SoftReset,
    PowerLoss,
    DeAuthorized,
    UnlockCommand,
    Reboot,
    Other,

    /// <summary>ISO 15118 / DIN: the EV ended the session itself (PowerDelivery Stop, SessionStop Terminate).</summary>
    EVStopped,

    /// <summary>ISO 15118: the EV paused the session (SessionStop Pause) and did not come back to resume it in time.</summary>
    EVPaused,

    /// <summary>ISO 15118 / DIN: the session ended on a protocol error (a FAILED response, an undecodable message).</summary>
    Error,

    /// <summary>ISO 15118 / DIN: the EV sent no request within the standard's timer.</summary>
    Timeout,

    /// <summary>ISO 15118 / DIN: the EV's connection broke off without a SessionStop.</summary>
    ConnectionLost,

    /// <summary>
    /// The connector was set unavailable (Modbus 124, OCPP ChangeAvailability, the operator) while an ISO 15118 / DIN
    /// session ran: the station asked the EV to stop, and it ended its session. Neither the car nor the user did.
    /// </summary>
    Unavailable,
}

/// <summary>The history's stop reasons as OCPP 1.6 carries them (StopTransaction.req reason).</summary>
public static class StopReasons
{
    /// <summary>
    /// OCPP 1.6 knows the first eleven values; the ISO 15118 ends map to the nearest: the EV's own normal end is a
    /// regular termination at the charge point (Local), a broken connection the car gone (EVDisconnected), the rest
    /// Other. The history keeps the precise reason.
    /// </summary>
    public static string Ocpp16(this StopReason reason) => reason switch
    {
        StopReason.EVStopped or StopReason.Unavailable => nameof(StopReason.Local),
        StopReason.ConnectionLost => nameof(StopReason.EVDisconnected),
        StopReason.EVPaused or StopReason.Error or StopReason.Timeout => nameof(StopReason.Other),
        _ => reason.ToString(),
    };
}

/// <summary>How an identity reached the station.</summary>
public enum IdSource
{
    /// <summary>An RFID card at the reader (or a user id written over Modbus, which has the same effect).</summary>
    Rfid,

    /// <summary>The EVCCID/MAC of an ISO 15118 EV (Autocharge).</summary>
    Autocharge,

    /// <summary>The configured tag of free charging.</summary>
    FreeCharging,

    /// <summary>The digital authorization input (whitelist entry INPUT_AUTH).</summary>
    InputAuth,

    /// <summary>A user id written over Modbus (1110–1119).</summary>
    Modbus,

    /// <summary>Started by the backend (OCPP RemoteStartTransaction).</summary>
    Remote,

    /// <summary>Plug &amp; Charge: the eMAID of a contract certificate.</summary>
    Contract,
}

/// <summary>An identity that asks to charge: the id tag as sent to OCPP, and where it came from.</summary>
public sealed record IdToken(string Value, IdSource Source);

/// <summary>Relay (contactor) state as Modbus 140 reports it: 0 off, 1 three phases, 5 one phase.</summary>
public enum RelayState
{
    Off = 0,
    ThreePhases = 1,
    OnePhase = 5,
}

/// <summary>A transaction in progress on a connector.</summary>
/// <remarks><paramref name="ExportStartWh"/>: the meter's exported-energy register at the start (bidirectional power).</remarks>
public sealed record OpenTransaction(long Id, int Connector, IdToken IdTag, DateTimeOffset Start, double MeterStartWh, double ExportStartWh = 0);

/// <summary>
/// A finished charging session, as the history keeps it: energy taken from the grid (the import register's
/// difference) and, with bidirectional power, <paramref name="ExportedWh"/> fed back to it.
/// </summary>
public sealed record ChargingSession(long Id, int Connector, string IdTag, IdSource Source, DateTimeOffset Start, DateTimeOffset Stop,
    double MeterStartWh, double MeterStopWh, StopReason Reason, int? OcppTransactionId = null, string? Contract = null, double ExportedWh = 0)
{
    public double EnergyWh => Math.Max(0, MeterStopWh - MeterStartWh);

    public TimeSpan Duration => Stop - Start;
}

/// <summary>The outcome of an authorization, with the rule that decided it (for the log and the operator).</summary>
public sealed record AuthorizationDecision(bool Accepted, IdToken? IdTag, string Reason)
{
    /// <summary>Undecided yet (waiting for a card or the backend).</summary>
    public bool Pending { get; init; }

    /// <summary>Plug &amp; Charge: the backend's certificate status of a refused contract (CertificateRevoked, CertificateExpired), or null.</summary>
    public string? CertificateStatus { get; init; }

    public static AuthorizationDecision Accept(IdToken tag, string reason) => new(true, tag, reason);

    public static AuthorizationDecision Reject(IdToken? tag, string reason) => new(false, tag, reason);

    public static AuthorizationDecision Wait(IdToken? tag, string reason) => new(false, tag, reason) { Pending = true };
}
