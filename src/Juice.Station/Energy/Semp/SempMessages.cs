using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Juice.Station.Energy.Semp;

/// <summary>What the device tells the Home Manager about itself (SEMP DeviceInfo).</summary>
public sealed record SempDeviceInfo(string DeviceId, string Name, string Serial, string Vendor, int MinPowerW, int MaxPowerW, bool InterruptionsAllowed, bool OptionalEnergy);

/// <summary>SEMP DeviceStatus: whether it follows the Home Manager, On/Off, the average power of the last 60 s.</summary>
public sealed record SempDeviceStatus(string DeviceId, bool EmSignalsAccepted, bool On, int AveragePowerW, long Timestamp, int AveragingIntervalS);

/// <summary>One SEMP Timeframe of a PlanningRequest (times in s from now; energies in Wh).</summary>
public sealed record SempTimeframe(string DeviceId, int EarliestStart, int LatestEnd, int MinEnergyWh, int MaxEnergyWh, int MinPowerW, int MaxPowerW);

/// <summary>One SEMP DeviceControl of the Home Manager.</summary>
public sealed record SempControl(string DeviceId, bool On, double? RecommendedPowerW, long? Timestamp);

/// <summary>
/// The SEMP documents (SMA "SEMP Interface", namespace http://www.sma.de/communication/schema/SEMP/v1): Device2EM
/// written, EM2Device read; and the UPnP device description of the gateway that names the SEMP service.
/// </summary>
public static class SempMessages
{
    public static readonly XNamespace Semp = "http://www.sma.de/communication/schema/SEMP/v1";
    public static readonly XNamespace Upnp = "urn:schemas-upnp-org:device-1-0";
    public static readonly XNamespace SempService = "urn:schemas-simple-energy-management-protocol:service-1-0";
    public const string GatewayType = "urn:schemas-simple-energy-management-protocol:device:Gateway:1";

    private static string N(double v) => v.ToString("0", CultureInfo.InvariantCulture);

    private static string B(bool v) => v ? "true" : "false";

    /// <summary>A Device2EM document with whichever parts are given.</summary>
    public static XDocument Device2Em(IEnumerable<SempDeviceInfo> infos, IEnumerable<SempDeviceStatus> statuses, IEnumerable<SempTimeframe> planning)
    {
        var root = new XElement(Semp + "Device2EM");
        foreach (var i in infos)
        {
            root.Add(new XElement(Semp + "DeviceInfo",
                new XElement(Semp + "Identification",
                    new XElement(Semp + "DeviceId", i.DeviceId),
                    new XElement(Semp + "DeviceName", i.Name),
                    new XElement(Semp + "DeviceType", "EVCharger"),
                    new XElement(Semp + "DeviceSerial", i.Serial),
                    new XElement(Semp + "DeviceVendor", i.Vendor)),
                new XElement(Semp + "Characteristics",
                    new XElement(Semp + "MinPowerConsumption", N(i.MinPowerW)),
                    new XElement(Semp + "MaxPowerConsumption", N(i.MaxPowerW))),
                new XElement(Semp + "Capabilities",
                    new XElement(Semp + "CurrentPower", new XElement(Semp + "Method", "Measurement")),
                    new XElement(Semp + "Timestamps", new XElement(Semp + "AbsoluteTimestamps", "false")),
                    new XElement(Semp + "Interruptions", new XElement(Semp + "InterruptionsAllowed", B(i.InterruptionsAllowed))),
                    new XElement(Semp + "Requests", new XElement(Semp + "OptionalEnergy", B(i.OptionalEnergy))))));
        }
        foreach (var s in statuses)
        {
            root.Add(new XElement(Semp + "DeviceStatus",
                new XElement(Semp + "DeviceId", s.DeviceId),
                new XElement(Semp + "EMSignalsAccepted", B(s.EmSignalsAccepted)),
                new XElement(Semp + "Status", s.On ? "On" : "Off"),
                new XElement(Semp + "PowerConsumption",
                    new XElement(Semp + "PowerInfo",
                        new XElement(Semp + "AveragePower", N(s.AveragePowerW)),
                        new XElement(Semp + "Timestamp", s.Timestamp.ToString(CultureInfo.InvariantCulture)),
                        new XElement(Semp + "AveragingInterval", N(s.AveragingIntervalS))))));
        }
        var frames = planning.ToList();
        if (frames.Count > 0)
        {
            root.Add(new XElement(Semp + "PlanningRequest", frames.Select(t => new XElement(Semp + "Timeframe",
                new XElement(Semp + "DeviceId", t.DeviceId),
                new XElement(Semp + "EarliestStart", N(t.EarliestStart)),
                new XElement(Semp + "LatestEnd", N(t.LatestEnd)),
                new XElement(Semp + "MinEnergy", N(t.MinEnergyWh)),
                new XElement(Semp + "MaxEnergy", N(t.MaxEnergyWh)),
                new XElement(Semp + "MaxPowerConsumption", N(t.MaxPowerW)),
                new XElement(Semp + "MinPowerConsumption", N(t.MinPowerW))))));
        }
        return new XDocument(new XDeclaration("1.0", "UTF-8", null), root);
    }

    /// <summary>The UPnP description of the gateway: a root device naming the SEMP service at <paramref name="server"/>.</summary>
    public static XDocument Description(string uuid, string server, string friendlyName, string manufacturer, string model, string serial, string presentationUrl) =>
        new(new XDeclaration("1.0", "UTF-8", null),
            new XElement(Upnp + "root",
                new XAttribute(XNamespace.Xmlns + "semp", SempService.NamespaceName),
                new XElement(Upnp + "specVersion", new XElement(Upnp + "major", "1"), new XElement(Upnp + "minor", "0")),
                new XElement(Upnp + "device",
                    new XElement(Upnp + "deviceType", GatewayType),
                    new XElement(Upnp + "friendlyName", friendlyName),
                    new XElement(Upnp + "manufacturer", manufacturer),
                    new XElement(Upnp + "modelName", model),
                    new XElement(Upnp + "serialNumber", serial),
                    new XElement(Upnp + "UDN", "uuid:" + uuid),
                    new XElement(Upnp + "presentationURL", presentationUrl),
                    new XElement(SempService + "X_SEMPSERVICE",
                        new XElement(SempService + "server", server),
                        new XElement(SempService + "basePath", SempOptions.BasePath),
                        new XElement(SempService + "transport", "HTTP/Pull"),
                        new XElement(SempService + "exchangeFormat", "XML"),
                        new XElement(SempService + "wsVersion", "1.1.5")))));

    /// <summary>
    /// The DeviceControl entries of an EM2Device document, or null with the reason (not XML, not EM2Device, a
    /// control without DeviceId or On, a power that is not a number). DTDs are refused (no entity expansion).
    /// </summary>
    public static IReadOnlyList<SempControl>? ReadControls(Stream body, out string? problem)
    {
        problem = null;
        XDocument doc;
        try
        {
            using var reader = XmlReader.Create(body, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = 1 << 20 });
            doc = XDocument.Load(reader);
        }
        catch (XmlException e)
        {
            problem = "not XML: " + e.Message;
            return null;
        }
        if (doc.Root is not { } root || root.Name.LocalName != "EM2Device")
        {
            problem = $"expected an EM2Device document, got {doc.Root?.Name.LocalName ?? "nothing"}";
            return null;
        }
        var controls = new List<SempControl>();
        foreach (var c in root.Elements().Where(e => e.Name.LocalName == "DeviceControl"))
        {
            string? Value(string name) => c.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value.Trim();
            string? id = Value("DeviceId");
            string? on = Value("On");
            if (string.IsNullOrEmpty(id) || on is not ("true" or "false" or "1" or "0"))
            {
                problem = "a DeviceControl needs its DeviceId and On (true or false)";
                return null;
            }
            double? power = null;
            if (Value("RecommendedPowerConsumption") is { Length: > 0 } p)
            {
                if (!double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) || !double.IsFinite(w) || w < 0)
                {
                    problem = $"RecommendedPowerConsumption '{p}' is not a power in W";
                    return null;
                }
                power = w;
            }
            long? timestamp = long.TryParse(Value("Timestamp"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var t) ? t : null;
            controls.Add(new SempControl(id, on is "true" or "1", power, timestamp));
        }
        return controls;
    }
}
