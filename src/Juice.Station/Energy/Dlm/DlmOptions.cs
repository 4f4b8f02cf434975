namespace Juice.Station.Energy.Dlm;

/// <summary>
/// Configuration section <c>Dlm</c>: the network side of dynamic load management (the roles and limits are the
/// LOAD MANAGEMENT page's operator settings). Times are the ones the README documents.
/// </summary>
public sealed class DlmOptions
{
    public const string Section = "Dlm";

    /// <summary>UDP port of the discovery announcements (every slave listens on it).</summary>
    public int Port { get; set; } = DlmEndpoint.DefaultPort;

    /// <summary>UDP port on which a master takes its slaves' reports (0: any free port, announced in the discovery).</summary>
    public int MasterPort { get; set; } = DlmEndpoint.DefaultPort + 1;

    /// <summary>Where a master sends its announcements: the LAN's broadcast address (a test on one host: 127.255.255.255).</summary>
    public string DiscoveryAddress { get; set; } = "255.255.255.255";

    /// <summary>This station's name in the DLM network (null: Station:SerialNumber).</summary>
    public string? StationId { get; set; }

    /// <summary>Seconds between a master's announcements.</summary>
    public double AnnounceSeconds { get; set; } = 2;

    /// <summary>Seconds between a slave's reports (a change is reported at once).</summary>
    public double ReportSeconds { get; set; } = 2;

    /// <summary>A slave without an assignment for this long has lost its master: its connectors fall to the Disconnected Limit.</summary>
    public double MasterTimeoutSeconds { get; set; } = 10;

    /// <summary>A master without a slave's report for this long counts the slave as lost (its EVs at the Disconnected Limit).</summary>
    public double SlaveTimeoutSeconds { get; set; } = 10;

    /// <summary>Minutes a master keeps a lost slave's EVs reserved at the Disconnected Limit before it forgets the slave.</summary>
    public double ForgetSlaveMinutes { get; set; } = 10;

    /// <summary>Minutes an EV charges while others wait below the Minimum Current Limit before it goes to the back of the queue.</summary>
    public double RotationMinutes { get; set; } = 30;

    /// <summary>External Meter Support: the other loads count with their highest value of this many seconds (lower at once, raise when they stay low).</summary>
    public double MeterHoldSeconds { get; set; } = 5;

    /// <summary>Seconds an EV may hold current without drawing any before DLM counts it as idle (see Allow EV Wakeup).</summary>
    public double IdleSeconds { get; set; } = 60;
}
