namespace Juice.Station.Energy.Semp;

/// <summary>"SMA charging mode" of the LOAD MANAGEMENT page.</summary>
public enum SmaChargingMode
{
    /// <summary>Surplus charging: the Home Manager switches the EV on and recommends its power (optional energy, from PV).</summary>
    Surplus,

    /// <summary>Immediate charging: the EV charges at once with the station's full current; the Home Manager is told the energy is needed (not optional) and its recommendations are not followed.</summary>
    Immediate,
}

/// <summary>
/// The SEMP gateway's configuration (<c>Semp:*</c>); the SMA interface itself is switched on LOAD MANAGEMENT. The
/// defaults are where the Sunny Home Manager and evcc look: port 8888, base path /SimpleEnergyManagementProtocol,
/// SSDP on 239.255.255.250:1900.
/// </summary>
public sealed class SempOptions
{
    public const string Section = "Semp";
    public const string BasePath = "/SimpleEnergyManagementProtocol";

    /// <summary>The address the SEMP web service listens on (0.0.0.0: every interface, so a Home Manager on the LAN reaches it).</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The SEMP web service's TCP port (0: any free one, for tests).</summary>
    public int Port { get; set; } = 8888;

    /// <summary>The host name or address put into the SSDP LOCATION and the description's server (default: the SSDP interface, or the listen address, or the first LAN address).</summary>
    public string? AdvertisedHost { get; set; }

    /// <summary>The SMA vendor number in the device id F-&lt;vendor&gt;-&lt;serial&gt;-00: 8 hex digits.</summary>
    public string VendorId { get; set; } = "4A554943";

    /// <summary>The device serial in the device id: 12 hex digits (default: derived from Station:SerialNumber, stable).</summary>
    public string? DeviceSerial { get; set; }

    /// <summary>SSDP multicast group and port (UPnP 1.0).</summary>
    public string SsdpAddress { get; set; } = "239.255.255.250";

    public int SsdpPort { get; set; } = 1900;

    /// <summary>The IPv4 address of the interface SSDP uses (default: the system's choice); 127.0.0.1 keeps discovery on the host.</summary>
    public string? SsdpInterface { get; set; }

    /// <summary>Re-announcement interval, s; the announcements' max-age is twice that (1800 s by default).</summary>
    public int AnnounceSeconds { get; set; } = 900;

    /// <summary>Switch SSDP off (a Home Manager configured with the address) — the web service keeps running.</summary>
    public bool DisableSsdp { get; set; }

    public IEnumerable<string> Validate()
    {
        if (Port is < 0 or > 65535)
        {
            yield return "Semp:Port must be 0 to 65535";
        }
        if (SsdpPort is < 1 or > 65535)
        {
            yield return "Semp:SsdpPort must be 1 to 65535";
        }
        if (!System.Net.IPAddress.TryParse(Address, out _))
        {
            yield return $"Semp:Address '{Address}' is not an IP address";
        }
        if (!System.Net.IPAddress.TryParse(SsdpAddress, out _))
        {
            yield return $"Semp:SsdpAddress '{SsdpAddress}' is not an IP address";
        }
        if (SsdpInterface is { } i && !System.Net.IPAddress.TryParse(i, out _))
        {
            yield return $"Semp:SsdpInterface '{i}' is not an IPv4 address";
        }
        if (VendorId is not { Length: 8 } || !VendorId.All(Uri.IsHexDigit))
        {
            yield return "Semp:VendorId must be 8 hex digits";
        }
        if (DeviceSerial is { } d && (d.Length != 12 || !d.All(Uri.IsHexDigit)))
        {
            yield return "Semp:DeviceSerial must be 12 hex digits";
        }
        if (AnnounceSeconds is < 1 or > 86400)
        {
            yield return "Semp:AnnounceSeconds must be 1 to 86400";
        }
    }
}
