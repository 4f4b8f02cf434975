using Juice.Hlc.Secc;
using Juice.Hlc.Session;

namespace Juice.Hlc.Evcc;

/// <summary>The simulated EV: what it offers, asks for and how it behaves.</summary>
public sealed record EvOptions
{
    /// <summary>Protocols offered in supportedAppProtocol, in preference order.</summary>
    public IReadOnlyList<AppProtocolVersion> Protocols { get; init; } = [AppProtocolVersion.Iso2];

    /// <summary>AC (three phase) or DC.</summary>
    public EnergyTransfer Energy { get; init; } = EnergyTransfer.Dc;

    /// <summary>EVCCID: the EV's MAC address in ISO 15118-2.</summary>
    public byte[] Evccid { get; init; } = [0x02, 0x00, 0x00, 0x00, 0xE7, 0xCC];

    public double BatteryCapacityWh { get; init; } = 60_000;
    public double StartSoc { get; init; } = 30;
    public double TargetSoc { get; init; } = 80;
    public double MaxCurrentA { get; init; } = 125;
    public double MaxVoltageV { get; init; } = 420;
    public double MaxPowerW { get; init; } = 50_000;

    /// <summary>DC: the battery voltage the EV asks for in pre-charge and current demand.</summary>
    public double TargetVoltageV { get; init; } = 400;

    /// <summary>Seconds until departure announced in charge parameter discovery.</summary>
    public uint DepartureSeconds { get; init; } = 7200;

    /// <summary>Stop after this long in the charging loop (null: only at the target SoC).</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Pause between charging-loop requests (ChargingStatusReq / CurrentDemandReq).</summary>
    public TimeSpan LoopInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the EV waits for each response (V2G_EVCC_Msg_Timeout).</summary>
    public TimeSpan MessageTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the EV repeats a request answered with EVSEProcessing = Ongoing (V2G_EVCC_Ongoing_Timeout).</summary>
    public TimeSpan OngoingTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Real chargers: go on to PowerDelivery even when the present voltage never reaches the target in PreCharge.</summary>
    public bool SkipPreChargeVoltageCheck { get; init; }

    /// <summary>Pre-charge is done when the present voltage is within this of the target.</summary>
    public double PreChargeToleranceV { get; init; } = 20;
}

/// <summary>Progress of a simulated session, reported once per charging-loop message.</summary>
public sealed record EvProgress(string Step, double Soc, double EnergyWh, double PowerW, double CurrentLimitA);

/// <summary>How a simulated session ended.</summary>
public sealed record EvResult(bool Completed, string Reason, V2gProtocol? Protocol, double Soc, double EnergyWh, int Messages);
