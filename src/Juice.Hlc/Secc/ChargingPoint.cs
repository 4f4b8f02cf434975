namespace Juice.Hlc.Secc;

/// <summary>Energy transfer the charging point can deliver; the SECC maps it to each protocol's modes.</summary>
[Flags]
public enum EnergyTransfer
{
    None = 0,
    AcSinglePhase = 1,
    AcThreePhase = 2,
    Dc = 4,
}

/// <summary>What the station decides about an EV that asks to charge.</summary>
public enum AuthorizationStatus
{
    /// <summary>Not decided yet: the SECC answers "Ongoing" and asks again.</summary>
    Pending,
    Accepted,
    Rejected,
}

/// <summary>What the station asks of a running session (sent to the EV as the EVSE notification).</summary>
public enum EvseRequest
{
    None,
    StopCharging,
    Renegotiate,
}

/// <summary>Why a session ended.</summary>
public enum SessionEndReason
{
    EvStopped,
    EvPaused,
    Error,
    Timeout,
    ConnectionLost,
}

/// <summary>The EV as the SECC sees it: the EVCCID (a MAC in ISO 15118-2, up to 8 bytes in DIN 70121).</summary>
public sealed record EvIdentity(byte[] Evccid)
{
    public string EvccidHex => Convert.ToHexString(Evccid);
}

/// <summary>What the EV asked for in charge parameter discovery, in SI units (null where the EV did not say).</summary>
public sealed record EvNeeds(
    EnergyTransfer Mode,
    double? EnergyRequestWh,
    DateTimeOffset? Departure,
    double? MaxCurrentA,
    double? MinCurrentA,
    double? MaxVoltageV,
    double? MaxPowerW,
    int? StateOfCharge);

/// <summary>The limits the charging point offers now; a maximum current of 0 pauses charging.</summary>
public sealed record EvseLimits(double MaxCurrentA, double MaxPowerW, double NominalVoltageV, double MaxVoltageV, double MinCurrentA = 0, double MinVoltageV = 50);

/// <summary>A meter reading: energy in Wh since the meter's start, and the present power, voltage and current.</summary>
public sealed record MeterReading(string MeterId, double EnergyWh, double PowerW, double VoltageV, double CurrentA);

/// <summary>
/// The charger-facing interface of the SECC. It knows no protocol version: DIN 70121 and ISO 15118-2 sessions map
/// their messages onto it. The station's charging core implements it; <see cref="SimpleEvse"/> serves tests and demos.
/// </summary>
public interface IChargingPoint
{
    string EvseId { get; }

    EnergyTransfer Supported { get; }

    EvseLimits Limits { get; }

    /// <summary>What the station wants of the running session; polled once per message cycle.</summary>
    EvseRequest Request { get; }

    void SessionStarted(EvIdentity ev);

    ValueTask<AuthorizationStatus> AuthorizeAsync(EvIdentity ev, CancellationToken cancellationToken);

    void EvNeedsChanged(EvNeeds needs);

    /// <summary>Closes (true) or opens (false) the contactors; DC: the EV's target voltage and current apply.</summary>
    ValueTask SetEnergyTransferAsync(bool on, CancellationToken cancellationToken);

    /// <summary>DC: the EV's present request (target voltage and current) during pre-charge and current demand.</summary>
    void DcTarget(double voltageV, double currentA);

    MeterReading ReadMeter();

    void SessionEnded(SessionEndReason reason);
}
