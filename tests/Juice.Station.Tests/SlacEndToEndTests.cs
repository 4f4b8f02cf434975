using System.Net.Http.Json;
using System.Text.Json;
using Juice.Tests;

namespace Juice.Station.Tests;

/// <summary>
/// The PLC path end to end, as processes in network namespaces the test creates: the station in one (its SLAC on the
/// interface of its "modem"), <c>juice plc-sim</c> in another playing the two modems and the line, the EV simulator
/// in a third. The test is the cable: it sets the control pilot state through the operator API (reached on a Unix
/// socket). Plug in → SLAC → SDP over the link → ISO 15118-2 session → unplug.
/// </summary>
public sealed class SlacEndToEndTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly NetworkLab _lab = new();
    private readonly string _data = Directory.CreateTempSubdirectory("juice-slac-e2e-").FullName;
    private readonly string _station;
    private readonly string _plc;

    public SlacEndToEndTests()
    {
        _station = _lab.Namespace("st");
        _plc = _lab.Namespace("plc");
    }

    private string Database => Path.Combine(_data, "juice.db");

    /// <summary>A car on link <paramref name="n"/>: its namespace, the station's interface stN and the EV's ev0 (MAC ...:EE:0n), an emulator between.</summary>
    private async Task<(string Ns, LabProcess Sim)> CarOnLinkAsync(int n, params string[] simOptions)
    {
        string ev = _lab.Namespace("ev" + n);
        _lab.Link(_station, "st" + n, _plc, "pa" + n, $"02:00:00:00:e5:0{n}", bridgeB: true);
        _lab.Link(ev, "ev0", _plc, "pb" + n, $"02:00:00:00:ee:0{n}", bridgeB: true);
        var sim = _lab.StartJuice(_plc, ["plc-sim", "--evse", "pa" + n, "--ev", "pb" + n, .. simOptions]);
        await sim.WaitForLineAsync("PLC emulator up", Patience);
        return (ev, sim);
    }

    private Task<StationProcess> StartStationAsync(params string[] args) =>
        StationProcess.StartInNamespaceAsync(_station, Database, Path.Combine(_data, "api.sock"), ["--Secc:Address=::", .. args]);

    private Task<(int Code, string Output)> ChargeAsync(string evNs, params string[] args) =>
        _lab.RunJuiceAsync(evNs, TimeSpan.FromMinutes(2), ["ev", "--interface", "ev0", "--slac", "--protocol", "iso2", "--energy", "ac",
            "--interval-ms", "50", "--message-timeout", "15", .. args]);

    private static async Task PlugAsync(StationProcess station, int connector, string state) =>
        (await station.Http.PostAsJsonAsync($"/api/connectors/{connector}/vehicle", new { state })).EnsureSuccessStatusCode();

    private static async Task<JsonElement> SlacLinkAsync(StationProcess station, int connector) =>
        (await station.Http.GetFromJsonAsync<JsonElement>("/api/slac")).EnumerateArray().FirstOrDefault(l => l.GetProperty("connector").GetInt32() == connector);

    private static async Task<string?> SlacStateAsync(StationProcess station, int connector) =>
        await SlacLinkAsync(station, connector) is { ValueKind: JsonValueKind.Object } link ? link.GetProperty("state").GetString() : null;

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException(what);
            }
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_car_that_sends_no_EVCCID_charges_by_Autocharge_with_the_MAC_SLAC_saw()
    {
        var (ev, sim) = await CarOnLinkAsync(1);
        await using var station = await StartStationAsync("--Slac:Interface=st1");
        (await station.Http.PutAsJsonAsync("/api/settings", new { autocharge = true, autochargeUseSlacMac = true })).EnsureSuccessStatusCode();
        (await station.Http.PostAsJsonAsync("/api/whitelists/local", new { id = "02:00:00:00:EE:01", label = "car on the PLC link" })).EnsureSuccessStatusCode();
        await UntilAsync(async () => await SlacStateAsync(station, 1) == "WaitingForPlug", "SLAC link ready");

        await PlugAsync(station, 1, "B");
        var (code, output) = await ChargeAsync(ev, "--evccid", "000000000000", "--duration", "1");   // a car whose EVCCID says nothing
        Assert.True(code == 0, output + station.Log);
        Assert.Contains("SLAC: matched EVSE 02:00:00:00:e5:01", output);
        Assert.Contains("SDP: SECC at [fe80::", output);
        Assert.Contains("session ended normally", output);
        Assert.Contains("(Iso15118_2)", output);
        Assert.Contains("Connector 1: SLAC matched the EV with MAC 02000000EE01", station.Log);
        Assert.Contains("logical network formed: True", sim.Output);

        var session = Assert.Single((await station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray());
        Assert.Equal("VID:02000000EE01", session.GetProperty("idTag").GetString());
        Assert.Equal("Autocharge", session.GetProperty("source").GetString());
        Assert.True(session.GetProperty("energyWh").GetDouble() > 0);
        var link = await SlacLinkAsync(station, 1);
        Assert.Equal("Matched", link.GetProperty("state").GetString());

        // unplugged: the EVSE leaves the network with a new key and waits for the next car
        await PlugAsync(station, 1, "A");
        await UntilAsync(async () => await SlacStateAsync(station, 1) == "WaitingForPlug", "a new network key after unplugging");
        Assert.Contains("EV 02000000EE01 left", station.Log);
        Assert.Contains("logical network formed: False", sim.Output[sim.Output.LastIndexOf("EVSE modem got network key", StringComparison.Ordinal)..]);
    }

    [Fact]
    public async Task Two_cars_on_the_two_links_of_a_double_station_charge_at_once_each_on_its_connector()
    {
        var (ev1, _) = await CarOnLinkAsync(1);
        var (ev2, _) = await CarOnLinkAsync(2);
        await using var station = await StartStationAsync("--Station:Connectors=2", "--Slac:Links:0:Interface=st1", "--Slac:Links:0:Connector=1",
            "--Slac:Links:1:Interface=st2", "--Slac:Links:1:Connector=2");
        (await station.Http.PutAsJsonAsync("/api/settings", new { autocharge = true })).EnsureSuccessStatusCode();
        foreach (var mac in new[] { "02000000EE01", "02000000EE02" })
        {
            (await station.Http.PostAsJsonAsync("/api/whitelists/local", new { id = mac, label = "car" })).EnsureSuccessStatusCode();
        }
        await UntilAsync(async () => (await station.Http.GetFromJsonAsync<JsonElement>("/api/slac")).EnumerateArray().Count(l => l.GetProperty("state").GetString() == "WaitingForPlug") == 2,
            "both SLAC links ready");
        await PlugAsync(station, 1, "B");
        await PlugAsync(station, 2, "B");
        var first = ChargeAsync(ev1, "--evccid", "02000000EE01", "--duration", "2");
        var second = ChargeAsync(ev2, "--evccid", "02000000EE02", "--duration", "2");
        foreach (var (code, output) in await Task.WhenAll(first, second))
        {
            Assert.True(code == 0, output + station.Log);
            Assert.Contains("session ended normally", output);
        }
        var sessions = (await station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray()
            .ToDictionary(s => s.GetProperty("connector").GetInt32(), s => s.GetProperty("idTag").GetString());
        Assert.Equal("VID:02000000EE01", sessions[1]);
        Assert.Equal("VID:02000000EE02", sessions[2]);
        Assert.Contains("Connector 1: SLAC matched the EV with MAC 02000000EE01", station.Log);
        Assert.Contains("Connector 2: SLAC matched the EV with MAC 02000000EE02", station.Log);
    }

    [Fact]
    public async Task A_car_hearing_the_station_too_weakly_is_not_matched_and_never_reaches_the_SECC()
    {
        var (ev, _) = await CarOnLinkAsync(1, "--attenuation", "60");
        await using var station = await StartStationAsync("--Slac:Interface=st1", "--Slac:InitTimeoutSeconds=3");
        await UntilAsync(async () => await SlacStateAsync(station, 1) == "WaitingForPlug", "SLAC link ready");
        await PlugAsync(station, 1, "B");
        var (code, output) = await ChargeAsync(ev, "--duration", "1");
        Assert.Equal(1, code);
        Assert.Contains("above the threshold of 40 dB: not matched", output);
        Assert.DoesNotContain("SDP: SECC at", output);
        Assert.Equal("Matching", await SlacStateAsync(station, 1));
        Assert.DoesNotContain("SLAC matched the EV", station.Log);
    }

    [Fact]
    public async Task A_modem_that_never_answers_SET_KEY_is_reported_clearly_and_the_station_keeps_running()
    {
        await CarOnLinkAsync(1, "--silent-evse-modem");
        await using var station = await StartStationAsync("--Slac:Interface=st1", "--Slac:ModemRetrySeconds=1");
        await UntilAsync(async () => await SlacStateAsync(station, 1) == "ModemError", "the modem error reported");
        var link = await SlacLinkAsync(station, 1);
        Assert.Contains("does not answer CM_SET_KEY", link.GetProperty("problem").GetString());
        Assert.Contains("SLAC on st1 (connector 1): the PLC modem does not answer CM_SET_KEY", station.Log);
        (await station.Http.GetAsync("/api/status")).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task An_interface_that_is_not_there_is_reported_and_tried_again_while_the_station_runs()
    {
        await using var station = await StartStationAsync("--Slac:Interface=nosuch0", "--Slac:ModemRetrySeconds=1");
        await UntilAsync(async () => await SlacStateAsync(station, 1) == "Error", "the missing interface reported");
        Assert.Contains("no network interface 'nosuch0'", (await SlacLinkAsync(station, 1)).GetProperty("problem").GetString());
        Assert.Contains("SLAC on nosuch0 (connector 1) has no link: no network interface 'nosuch0'; trying again", station.Log);
        Assert.Contains("SDP on interface nosuch0 not started: network interface 'nosuch0' not found", station.Log);
        (await station.Http.GetAsync("/api/status")).EnsureSuccessStatusCode();
    }

    public void Dispose()
    {
        _lab.Dispose();
        Directory.Delete(_data, recursive: true);
    }
}
