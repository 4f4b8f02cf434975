using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Juice.Station.Tests.Energy;

/// <summary>
/// Three double station processes on loopback in one DLM network, each with a `juice ev` session on connector 1
/// (ISO 15118-2 AC on three phases, ISO 15118-2 AC on one phase, DIN 70121 DC) and basic cars on connector 2: the
/// manual's 63 A shared by five cars and a sixth joining, load shedding on and off with `juice input`, the master
/// killed with SIGKILL (the slaves at the Disconnected Limit within Dlm:MasterTimeoutSeconds), the master back.
/// </summary>
public sealed class DlmProcessTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-dlm-").FullName;
    private readonly int _port = Random.Shared.Next(20_000, 60_000);
    private readonly int _net = Random.Shared.Next(100, 60_000);
    private readonly List<StationProcess> _stations = [];
    private readonly List<Process> _evs = [];

    private async Task<StationProcess> Start(string id, string mode)
    {
        var station = await StationProcess.StartAsync(Path.Combine(_dir, id + ".db"), Args(id));
        _stations.Add(station);
        var put = await station.Http.PutAsJsonAsync("/api/settings", new
        {
            freeCharging = true, dlmMode = mode, dlmNetworkId = _net, dlmDisconnectedLimit = 6,
            dlmSubDistributionL1 = 63, dlmSubDistributionL2 = 63, dlmSubDistributionL3 = 63,
            // load shedding: the energy supplier's signal (active high here) takes 27 A per phase
            dlmExternalInput = true, externalInputActiveLow = false, dlmExternalInputOffsetL1 = -27, dlmExternalInputOffsetL2 = -27, dlmExternalInputOffsetL3 = -27,
        });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        return station;
    }

    private string[] Args(string id) =>
        ["--Dlm:Port=" + _port, "--Dlm:MasterPort=0", "--Dlm:DiscoveryAddress=127.255.255.255", "--Dlm:StationId=" + id, "--Station:Connectors=2"];

    private static async Task<JsonObject> Connector(StationProcess s, int connector = 1) =>
        (await s.Http.GetFromJsonAsync<JsonObject>("/api/status"))!["connectors"]![connector - 1]!.AsObject();

    private static async Task Plug(StationProcess s, int connector, string state) =>
        Assert.True((await s.Http.PostAsJsonAsync($"/api/connectors/{connector}/vehicle", new { state })).IsSuccessStatusCode);

    private static async Task<bool> All(IEnumerable<(StationProcess Station, int Connector)> cars, double amps)
    {
        foreach (var (s, c) in cars)
        {
            if (await Current(s, c) != amps)
            {
                return false;
            }
        }
        return true;
    }

    private static async Task Until(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(seconds), "timed out waiting for " + what);
            await Task.Delay(200);
        }
    }

    private static async Task<double> Current(StationProcess s, int connector = 1) => (double)(await Connector(s, connector))["signalledCurrentA"]!;

    [Fact]
    public async Task Three_stations_with_real_sessions_share_63_A_shed_load_and_survive_their_master_killed_with_sigkill()
    {
        var master = await Start("master", "MasterWithInternalSlave");
        var a = await Start("slave-a", "SlaveAutoDiscovery");
        var b = await Start("slave-b", "SlaveAutoDiscovery");
        await a.WaitForLog("DLM: following the master master");
        await b.WaitForLog("DLM: following the master master");

        _evs.Add(master.StartEv("--protocol", "iso2", "--energy", "ac", "--phases", "3", "--max-current", "32", "--duration", "300"));
        _evs.Add(a.StartEv("--protocol", "iso2", "--energy", "ac", "--phases", "1", "--max-current", "32", "--duration", "300"));
        _evs.Add(b.StartEv("--protocol", "din", "--energy", "dc", "--duration", "300"));
        await Until(async () => (await Connector(master))["status"]!.ToString() == "Charging" && (await Connector(a))["status"]!.ToString() == "Charging"
            && (await Connector(b))["status"]!.ToString() == "Charging", "three sessions charging");
        await Plug(master, 2, "C");
        await Plug(a, 2, "C");

        // the manual's 63 A: five cars, all on grid L1 (the one-phase car too), 12.6 A each
        var five = new[] { (master, 1), (master, 2), (a, 1), (a, 2), (b, 1) };
        await Until(() => All(five, 12.6), "12.6 A for each of five cars");
        var lm = (await master.Http.GetFromJsonAsync<JsonObject>("/api/load-management"))!;
        Assert.Equal(2, (int)lm["master"]!["slavesConnected"]!);
        Assert.True((double)lm["master"]!["applied"]!["l1"]! <= 63);
        Assert.Equal("DLM assignment", (await Connector(a))["limitReason"]!.ToString());

        // a sixth car joins: 10.5 A each
        await Plug(b, 2, "C");
        var six = five.Append((b, 2)).ToArray();
        await Until(() => All(six, 10.5), "10.5 A for each of six cars");

        // load shedding at the master (juice input, as an installer would): 63 - 27 = 36 A, 6 A each; and off again
        string[] input = ["--url", $"http://127.0.0.1:{master.ApiPort}", "--password", TestStation.Password];
        var (code, output) = await Juice.Hlc.Tests.ChildProcess.JuiceAsync(["input", "high", .. input]);
        Assert.True(code == 0, output);
        Assert.Contains("load shedding active, used by DLM", output);
        await Until(() => All(six, 6), "6 A each while the load is shed");
        (code, output) = await Juice.Hlc.Tests.ChildProcess.JuiceAsync(["input", "low", .. input]);
        Assert.True(code == 0, output);
        await Until(() => All(six, 10.5), "10.5 A each after the shedding");

        // the master dies: within the master timeout (10 s, checked every second) the slaves hold their cars at 6 A
        var killed = Stopwatch.StartNew();
        await master.KillAsync();
        var slaves = new[] { (a, 1), (a, 2), (b, 1), (b, 2) };
        await Until(() => All(slaves, 6), "the disconnected limit", seconds: 40);
        var fell = killed.Elapsed;
        Assert.True(fell < TimeSpan.FromSeconds(20), $"the slaves fell to the disconnected limit after {fell.TotalSeconds:0.0} s (documented: 10 s)");
        Assert.Equal("DLM disconnected limit (no master)", (await Connector(a))["limitReason"]!.ToString());
        Assert.Contains("no word from the master master", a.Log);

        // the master comes back on its database: the slaves follow it and share the 63 A among their four cars
        var back = await StationProcess.StartAsync(Path.Combine(_dir, "master.db"), Args("master"));
        _stations.Add(back);
        await Until(() => All(slaves, 15.7), "15.7 A each under the returned master");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"DLM process test: the slaves at the disconnected limit {fell.TotalSeconds:0.0} s after SIGKILL"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var ev in _evs)
        {
            if (!ev.HasExited)
            {
                ev.Kill(entireProcessTree: true);
            }
            ev.Dispose();
        }
        foreach (var s in _stations)
        {
            await s.DisposeAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }
}
