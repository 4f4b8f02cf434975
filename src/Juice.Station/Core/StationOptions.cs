using System.Globalization;

namespace Juice.Station.Core;

/// <summary>The station's hardware and identity (configuration section <c>Station</c>).</summary>
public sealed class StationOptions
{
    public const string Section = "Station";

    /// <summary>Number of connectors (1, or 2 for a double station).</summary>
    public int Connectors { get; set; } = 1;

    /// <summary>EVSE ID per connector (ISO 15118 EVSEID); default DE*JUI*E0001, DE*JUI*E0002.</summary>
    public string[] EvseIds { get; set; } = [];

    /// <summary>Hardware current limit, A per phase (cable, installation): the ceiling of every limit (Modbus 133).</summary>
    public double MaxCurrent { get; set; } = 32;

    /// <summary>Phases wired to the connector (1 or 3).</summary>
    public int Phases { get; set; } = 3;

    /// <summary>The contactors of a 3-phase station can also connect one phase (switched by the SMA Home Manager, only without current).</summary>
    public bool PhaseSwitching { get; set; }

    public double NominalVoltage { get; set; } = 230;

    /// <summary>
    /// The installation's phase rotation: the grid phases of the station's L1, L2, L3 ("L1L2L3", "L2L3L1", "L3L1L2",
    /// …). Load management counts a single-phase EV on the grid phase of the station's L1.
    /// </summary>
    public string PhaseRotation { get; set; } = "L1L2L3";

    public Juice.Station.Energy.PhaseRotation Rotation => Juice.Station.Energy.PhaseRotation.TryParse(PhaseRotation, out var r) ? r : Juice.Station.Energy.PhaseRotation.Standard;

    /// <summary>What the SECC offers: "ac", "dc" or "ac,dc" (the simulated power electronics can do both).</summary>
    public string EnergyTransfer { get; set; } = "ac,dc";

    public double DcMaxCurrent { get; set; } = 200;
    public double DcMaxPower { get; set; } = 50_000;
    public double DcMaxVoltage { get; set; } = 920;
    public double DcMinCurrent { get; set; } = 1;
    public double DcMinVoltage { get; set; } = 150;

    /// <summary>Seconds the simulated DC isolation test takes (cable check).</summary>
    public double CableCheckSeconds { get; set; }

    /// <summary>Charge point model (Modbus 142–151, OCPP BootNotification).</summary>
    public string Model { get; set; } = "JUICE-CC613-SIM";

    public string Vendor { get; set; } = "Juice";

    public string SerialNumber { get; set; } = "JUICE0000001";

    /// <summary>
    /// Firmware version reported in Modbus 100–101: the level of the Bender register set implemented, so that clients
    /// (evcc, nymea) enable the features of firmware 5.22 and later (218–227, 715–719, 730).
    /// </summary>
    public string FirmwareVersion { get; set; } = "5.33";

    /// <summary>Time zone of the history's CSV dates (IANA or Windows name; default UTC).</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>Minutes a paused ISO 15118 session (no plug sensing) keeps its transaction open for the EV to resume.</summary>
    public double PausedSessionMinutes { get; set; } = 30;

    public string EvseId(int connector) =>
        connector <= EvseIds.Length ? EvseIds[connector - 1] : string.Create(CultureInfo.InvariantCulture, $"DE*JUI*E{connector:D4}");

    public TimeZoneInfo Zone => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);

    /// <summary>Problems with the configuration (checked at start).</summary>
    public IEnumerable<string> Validate()
    {
        if (Connectors is < 1 or > 2)
        {
            yield return "Station:Connectors must be 1 or 2";
        }
        if (MaxCurrent is < 6 or > 80)
        {
            yield return "Station:MaxCurrent must be between 6 and 80 A";
        }
        if (Phases is not (1 or 3))
        {
            yield return "Station:Phases must be 1 or 3";
        }
        if (!Juice.Station.Energy.PhaseRotation.TryParse(PhaseRotation, out _))
        {
            yield return "Station:PhaseRotation must name the grid phases of L1, L2, L3, such as L1L2L3, L2L3L1 or L3L1L2";
        }
        if (!EnergyTransfer.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).All(e => e is "ac" or "dc")
            || EnergyTransfer.Trim().Length == 0)
        {
            yield return "Station:EnergyTransfer must be ac, dc or ac,dc";
        }
        string? zoneError = null;
        try
        {
            _ = Zone;
        }
        catch (TimeZoneNotFoundException)
        {
            zoneError = $"Station:TimeZone '{TimeZone}' is not a known time zone";
        }
        if (zoneError is not null)
        {
            yield return zoneError;
        }
    }
}
