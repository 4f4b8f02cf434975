using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using System.Xml.Schema;
using Juice.Station.Api;
using Juice.Station.Core;
using Juice.Station.Energy;
using Juice.Station.Energy.Semp;
using Microsoft.Extensions.DependencyInjection;

namespace Juice.Station.Tests.Energy.Semp;

/// <summary>
/// A Sunny Home Manager played over real SSDP (multicast on the loopback interface) and HTTP: it finds the station,
/// reads its documents (checked against the SEMP schema), switches and sets the EV's power, and goes silent.
/// </summary>
public sealed class SempTests : IAsyncLifetime
{
    private static readonly XNamespace Semp = SempMessages.Semp;
    private static readonly XNamespace Upnp = SempMessages.Upnp;
    private static readonly XNamespace Service = SempMessages.SempService;
    private static readonly IPAddress Group = IPAddress.Parse("239.255.255.250");

    private readonly int _ssdpPort = Random.Shared.Next(20_000, 60_000);
    private readonly List<string> _notifications = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private TestStation _station = null!;
    private Socket _listener = null!;
    private CancellationTokenSource _stop = new();
    private Task _listening = Task.CompletedTask;

    private SempService Sma => _station.App.Services.GetRequiredService<SempService>();

    public async Task InitializeAsync()
    {
        // the Home Manager listens to the SSDP group before the station switches its SMA interface on
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(new IPEndPoint(IPAddress.Any, _ssdpPort));
        _listener.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(Group, IPAddress.Loopback));
        _listening = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            while (!_stop.IsCancellationRequested)
            {
                var r = await _listener.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                string text = Encoding.ASCII.GetString(buffer, 0, r.ReceivedBytes);
                if (text.StartsWith("NOTIFY", StringComparison.Ordinal))
                {
                    lock (_notifications)
                    {
                        _notifications.Add(text);
                    }
                }
            }
        });
        _station = await TestStation.StartAsync(null, "--Semp:SsdpPort=" + _ssdpPort, "--Station:PhaseSwitching=true");
        _station.Configure(s => s with { FreeCharging = true, SmaInterface = true });
        await TestStation.WaitFor(() => Sma.Url is not null, "the SEMP web service");
    }

    public async Task DisposeAsync()
    {
        await _station.DisposeAsync();
        _station.DeleteFiles();
        await _stop.CancelAsync();
        await _listening.ContinueWith(_ => { }, TaskScheduler.Default);
        _listener.Dispose();
        _http.Dispose();
    }

    private static Dictionary<string, string> Headers(string message) => message.Split("\r\n").Skip(1).Where(l => l.Contains(':'))
        .GroupBy(l => l[..l.IndexOf(':')].Trim(), StringComparer.OrdinalIgnoreCase)
        .ToDictionary(g => g.Key, g => g.First()[(g.First().IndexOf(':') + 1)..].Trim(), StringComparer.OrdinalIgnoreCase);

    private List<Dictionary<string, string>> Notifications(string nts)
    {
        lock (_notifications)
        {
            return [.. _notifications.Select(Headers).Where(h => h.GetValueOrDefault("NTS") == nts)];
        }
    }

    /// <summary>An M-SEARCH to the group, as a Home Manager sends it; the unicast answers within <paramref name="seconds"/>.</summary>
    private async Task<List<Dictionary<string, string>>> Search(string st, int seconds = 5)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, IPAddress.Loopback.GetAddressBytes());
        string search = $"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: {st}\r\n\r\n";
        await socket.SendToAsync(Encoding.ASCII.GetBytes(search), SocketFlags.None, new IPEndPoint(Group, _ssdpPort));
        var answers = new List<Dictionary<string, string>>();
        var buffer = new byte[4096];
        using var window = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            while (true)
            {
                var r = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), window.Token);
                string text = Encoding.ASCII.GetString(buffer, 0, r.ReceivedBytes);
                Assert.StartsWith("HTTP/1.1 200 OK", text);
                answers.Add(Headers(text));
                if (st != "ssdp:all" || answers.Count == 3)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        return answers;
    }

    private static XDocument Validated(string xml)
    {
        var schemas = new XmlSchemaSet();
        schemas.Add(SempMessages.Semp.NamespaceName, Path.Combine(AppContext.BaseDirectory, "Energy", "Semp", "semp.xsd"));
        var doc = XDocument.Parse(xml);
        var problems = new List<string>();
        doc.Validate(schemas, (_, e) => problems.Add(e.Message));
        Assert.True(problems.Count == 0, string.Join("; ", problems) + "\n" + xml);
        return doc;
    }

    private async Task<XDocument> Get(string path = "")
    {
        string xml = await _http.GetStringAsync(Sma.Url + path);
        return Validated(xml);
    }

    private async Task<HttpResponseMessage> Control(bool on, int? watts, string? deviceId = null)
    {
        // as evcc's SEMP connection writes it: the power only when on, then the time
        var control = new XElement(Semp + "DeviceControl", new XElement(Semp + "DeviceId", deviceId ?? Sma.DeviceId), new XElement(Semp + "On", on ? "true" : "false"),
            watts is { } w ? new XElement(Semp + "RecommendedPowerConsumption", w) : null,
            new XElement(Semp + "Timestamp", DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        string body = new XDocument(new XElement(Semp + "EM2Device", control)).ToString();
        Validated(body);   // what the Home Manager sends is a valid EM2Device too
        return await _http.PostAsync(Sma.Url + "/", new StringContent(body, Encoding.UTF8, "application/xml"));
    }

    private ConnectorSnapshot Now => _station.Station.Snapshot(1);

    private async Task<int> AveragePower() => int.Parse((await Get("/DeviceStatus")).Root!.Descendants(Semp + "AveragePower").Single().Value, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_Home_Manager_finds_the_gateway_by_SSDP_and_reads_a_valid_EVCharger_device_and_its_planning_while_an_EV_is_connected()
    {
        await TestStation.WaitFor(() => Notifications("ssdp:alive").Select(n => n["NT"]).Distinct().Count() == 3, "the three ssdp:alive announcements");
        var alive = Notifications("ssdp:alive");
        Assert.Equal(new[] { "upnp:rootdevice", "uuid:" + Sma.Uuid, SempMessages.GatewayType }.Order(StringComparer.Ordinal), alive.Select(n => n["NT"]).Distinct().Order(StringComparer.Ordinal));
        Assert.All(alive, n => Assert.Equal("max-age=1800", n["CACHE-CONTROL"]));
        Assert.Contains(alive, n => n["USN"] == $"uuid:{Sma.Uuid}::{SempMessages.GatewayType}");

        var answer = Assert.Single(await Search(SempMessages.GatewayType));
        Assert.Equal(SempMessages.GatewayType, answer["ST"]);
        Assert.Equal($"uuid:{Sma.Uuid}::{SempMessages.GatewayType}", answer["USN"]);
        Assert.Equal(3, (await Search("ssdp:all")).Count);
        Assert.Empty(await Search("urn:schemas-upnp-org:device:MediaRenderer:1", seconds: 2));

        // the description names the SEMP service: where it is and how to talk to it
        var description = XDocument.Parse(await _http.GetStringAsync(answer["LOCATION"]));
        var device = description.Root!.Element(Upnp + "device")!;
        Assert.Equal(SempMessages.GatewayType, device.Element(Upnp + "deviceType")!.Value);
        Assert.Equal("uuid:" + Sma.Uuid, device.Element(Upnp + "UDN")!.Value);
        var service = device.Element(Service + "X_SEMPSERVICE")!;
        Assert.Equal("/SimpleEnergyManagementProtocol", service.Element(Service + "basePath")!.Value);
        Assert.Equal("HTTP/Pull", service.Element(Service + "transport")!.Value);
        Assert.Equal("XML", service.Element(Service + "exchangeFormat")!.Value);
        string baseUrl = service.Element(Service + "server")!.Value + service.Element(Service + "basePath")!.Value;
        Assert.Equal(Sma.Url, baseUrl);

        var doc = Validated(await _http.GetStringAsync(baseUrl));
        var info = doc.Root!.Element(Semp + "DeviceInfo")!;
        Assert.Matches("^F-4A554943-[0-9A-F]{12}-00$", info.Descendants(Semp + "DeviceId").Single().Value);
        Assert.Equal("EVCharger", info.Descendants(Semp + "DeviceType").Single().Value);
        // phase switching: from 6 A on one phase to 32 A on three (what evcc reads as "can switch phases")
        Assert.Equal("1380", info.Descendants(Semp + "MinPowerConsumption").Single().Value);
        Assert.Equal("22080", info.Descendants(Semp + "MaxPowerConsumption").Single().Value);
        Assert.Equal("true", info.Descendants(Semp + "InterruptionsAllowed").Single().Value);
        var status = doc.Root.Element(Semp + "DeviceStatus")!;
        Assert.Equal("true", status.Element(Semp + "EMSignalsAccepted")!.Value);
        Assert.Equal("Off", status.Element(Semp + "Status")!.Value);
        Assert.Null(doc.Root.Element(Semp + "PlanningRequest"));   // no EV

        _station.Station.SetVehicleState(1, CpState.B);
        var planning = (await Get("/PlanningRequest?DeviceId=" + Sma.DeviceId)).Root!;
        var frame = planning.Descendants(Semp + "Timeframe").Single();
        Assert.Equal("0", frame.Element(Semp + "MinEnergy")!.Value);       // surplus charging: optional energy
        Assert.Equal("30000", frame.Element(Semp + "MaxEnergy")!.Value);   // the operator's maximum energy demand
        Assert.Equal("86400", frame.Element(Semp + "LatestEnd")!.Value);
        Assert.Empty((await Get("/DeviceInfo")).Root!.Elements(Semp + "DeviceStatus"));
        Assert.Single((await Get("/DeviceStatus")).Root!.Elements(Semp + "DeviceStatus"));

        _station.Configure(s => s with { SmaChargingMode = SmaChargingMode.Immediate });
        frame = (await Get()).Root!.Descendants(Semp + "Timeframe").Single();
        Assert.Equal("30000", frame.Element(Semp + "MinEnergy")!.Value);   // immediate: all of it is needed

        // bad requests: a clear 400 with the reason
        var unknown = await _http.GetAsync(Sma.Url + "/DeviceInfo?DeviceId=F-00000000-000000000000-00");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("no device", await unknown.Content.ReadAsStringAsync());
        var garbage = await _http.PostAsync(Sma.Url, new StringContent("<EM2Device><DeviceControl>", Encoding.UTF8, "application/xml"));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        Assert.Contains("not XML", await garbage.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await Control(true, 5000, "F-00000000-000000000000-00")).StatusCode);

        // switched off: byebye for each
        _station.Configure(s => s with { SmaInterface = false });
        await TestStation.WaitFor(() => Notifications("ssdp:byebye").Count == 3, "three ssdp:byebye");
        await TestStation.WaitFor(() => Sma.Url is null, "the SEMP web service stopped");
    }

    [Fact]
    public async Task Recommendations_set_the_current_switch_phases_only_without_current_and_a_silent_Home_Manager_leaves_the_fallback()
    {
        var history = new List<ConnectorSnapshot>();
        _station.Station.Changed += s =>
        {
            lock (history)
            {
                history.Add(s);
            }
        };
        _station.Station.SetVehicleState(1, CpState.C);
        // no word from the Home Manager yet: the current on connection loss
        await TestStation.WaitFor(() => Now.SignalledCurrentA == 6 && Now.LimitReason == LimitSources.SempLost, "6 A until the Home Manager speaks");

        Assert.True((await Control(true, 1518)).IsSuccessStatusCode);
        await TestStation.WaitFor(() => Now.SignalledCurrentA == 6.6 && Now.Phases == 1, "6.6 A on one phase");
        Assert.Equal(LimitSources.Semp, Now.LimitReason);
        // DeviceStatus: on, and the average power of the last minute from the meter's energy register (1518 W once
        // the samples since the switch are all at 6.6 A on one phase)
        await TestStation.WaitFor(() => AveragePower().Result is > 1490 and < 1530, "the average power at 6.6 A on one phase", seconds: 90);
        Assert.Equal("On", (await Get("/DeviceStatus")).Root!.Descendants(Semp + "Status").Single().Value);
        await using (var modbus = new ModbusTcpClient("127.0.0.1", _station.ModbusEndPoint.Port, 255, TimeSpan.FromSeconds(10)))
        {
            Assert.Equal(5, (await modbus.ReadAsync(3, 140, 1, default))[0]);   // register 140: one phase
            Assert.True((await Control(true, 9936)).IsSuccessStatusCode);
            await TestStation.WaitFor(() => Now.SignalledCurrentA == 14.4 && Now.Phases == 3, "14.4 A on three phases");
            Assert.Equal(1, (await modbus.ReadAsync(3, 140, 1, default))[0]);   // three phases
        }
        lock (history)
        {
            // each switch: the first state on the new phase count has no current and open contactors
            var switches = history.Zip(history.Skip(1)).Where(p => p.First.Phases != p.Second.Phases).Select(p => p.Second).ToList();
            Assert.Equal(2, switches.Count);
            Assert.All(switches, s => Assert.Equal((0.0, RelayState.Off), (s.SignalledCurrentA, s.Relay)));
        }

        Assert.True((await Control(true, 0xffff)).IsSuccessStatusCode);   // evcc's heartbeat: no limit, no switch
        await TestStation.WaitFor(() => Now.SignalledCurrentA == 32, "32 A: the hardware limit binds");
        Assert.Equal(3, Now.Phases);
        Assert.True((await Control(false, null)).IsSuccessStatusCode);
        await TestStation.WaitFor(() => Now.SignalledCurrentA == 0 && Now.Status == ConnectorStatus.SuspendedEVSE, "paused by the Home Manager");

        // silence for the "SMA time until connection loss": the fallback current, logged
        _station.Configure(s => s with { SmaConnectionLossSeconds = 1, SmaFallbackCurrent = 8 });
        Assert.True((await Control(true, 6900)).IsSuccessStatusCode);
        await TestStation.WaitFor(() => Now.LimitReason == LimitSources.SempLost && Now.SignalledCurrentA == 8, "8 A after the connection loss");
        Assert.False(Sma.State().Connected);
        Assert.Contains(MemoryLog.Shared.Lines, l => l.Contains("connection lost, charging at most 8 A"));
        _station.Configure(s => s with { SmaConnectionLossSeconds = 600 });   // the Home Manager is back for good
        Assert.True((await Control(true, 6900)).IsSuccessStatusCode);
        Assert.Equal(10, Now.SignalledCurrentA);
        // the operator API (LOAD MANAGEMENT, the dashboard): the Home Manager's state and which limit binds
        var lm = await _station.Get<System.Text.Json.JsonElement>("/api/load-management");
        Assert.True(lm.GetProperty("sma").GetProperty("connected").GetBoolean());
        Assert.Equal("6900 W recommended: 10.0 A on 3 phase(s)", lm.GetProperty("sma").GetProperty("decision").GetProperty("reason").GetString());
        Assert.Equal(LimitSources.Semp, lm.GetProperty("connectors")[0].GetProperty("binding").GetString());
    }

    [Fact]
    public async Task A_running_ISO_15118_session_follows_the_recommendation_in_its_EVSEMaxCurrent()
    {
        await using var ev = await InProcessEv.StartAsync(_station, "02000000AC19");
        await ev.WaitForLimit(6);   // the fallback until the Home Manager speaks
        // the planning asks for what the EV said it needs (less what it got since), until its departure
        var needs = Now.EvNeeds!;
        Assert.NotNull(needs.EnergyRequestWh);
        var frame = (await Get("/PlanningRequest")).Root!.Descendants(Semp + "Timeframe").Single();
        int maxEnergy = int.Parse(frame.Element(Semp + "MaxEnergy")!.Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(maxEnergy, needs.EnergyRequestWh!.Value - Now.SessionEnergyWh - 50, needs.EnergyRequestWh.Value);
        Assert.NotEqual(30000, maxEnergy);
        Assert.InRange(int.Parse(frame.Element(Semp + "LatestEnd")!.Value, System.Globalization.CultureInfo.InvariantCulture), 6900, 7200);   // the EV's 2 h departure
        Assert.True((await Control(true, 6900)).IsSuccessStatusCode);
        await ev.WaitForLimit(10);   // 6900 W over three phases of 230 V
        Assert.True((await Control(true, 9936)).IsSuccessStatusCode);
        await ev.WaitForLimit(14.4);
        Assert.Equal(3, Now.Phases);   // an ISO 15118 EV's phases are its own: no switch
    }
}
