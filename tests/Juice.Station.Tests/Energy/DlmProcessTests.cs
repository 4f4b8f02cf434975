using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Juice.Station.Tests.Energy;

/// <summary>
/// Three station processes on loopback in one DLM network, each with a `juice ev` session (ISO 15118-2 AC on three
/// phases, ISO 15118-2 AC on one phase, DIN 70121 DC): the master's 32 A shared, the master killed with SIGKILL
/// (the slaves at the Disconnected Limit within Dlm:MasterTimeoutSeconds), the master back (the slaves follow it).
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
        var station = await StationProcess.StartAsync(Path.Combine(_dir, id + ".db"),
            "--Dlm:Port=" + _port, "--Dlm:MasterPort=0", "--Dlm:DiscoveryAddress=127.255.255.255", "--Dlm:StationId=" + id);
        _stations.Add(station);
        var put = await station.Http.PutAsJsonAsync("/api/settings", new
        {
            freeCharging = true, dlmMode = mode, dlmNetworkId = _net, dlmDisconnectedLimit = 6,
            dlmSubDistributionL1 = 32, dlmSubDistributionL2 = 32, dlmSubDistributionL3 = 32,
        });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        return station;
    }

    private static async Task<JsonObject> Connector(StationProcess s) => (await s.Http.GetFromJsonAsync<JsonObject>("/api/status"))!["connectors"]![0]!.AsObject();

    private static async Task Until(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(seconds), "timed out waiting for " + what);
            await Task.Delay(200);
        }
    }

    private static async Task<double> Current(StationProcess s) => (double)(await Connector(s))["signalledCurrentA"]!;

    [Fact]
    public async Task Three_stations_with_real_sessions_share_32_A_and_the_slaves_survive_their_master_killed_with_sigkill()
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

        // L1 carries all three EVs (the one-phase car is on the station's L1 = grid L1): 32 / 3 each
        await Until(async () => await Current(master) == 10.6 && await Current(a) == 10.6 && await Current(b) == 10.6, "10.6 A for each EV");
        var lm = (await master.Http.GetFromJsonAsync<JsonObject>("/api/load-management"))!;
        Assert.Equal(2, (int)lm["master"]!["slavesConnected"]!);
        Assert.True((double)lm["master"]!["applied"]!["l1"]! <= 32);
        Assert.Equal("DLM assignment", (await Connector(a))["limitReason"]!.ToString());

        // the master dies: within the master timeout (10 s, checked every second) the slaves hold their EVs at 6 A
        var killed = Stopwatch.StartNew();
        await master.KillAsync();
        await Until(async () => await Current(a) == 6 && await Current(b) == 6, "the disconnected limit", seconds: 40);
        var fell = killed.Elapsed;
        Assert.True(fell < TimeSpan.FromSeconds(20), $"the slaves fell to the disconnected limit after {fell.TotalSeconds:0.0} s (documented: 10 s)");
        Assert.Equal("DLM disconnected limit (no master)", (await Connector(a))["limitReason"]!.ToString());
        Assert.Contains("no word from the master master", a.Log);

        // the master comes back on its database: the slaves follow it and share the 32 A again (16 A each, no master EV)
        var back = await StationProcess.StartAsync(Path.Combine(_dir, "master.db"),
            "--Dlm:Port=" + _port, "--Dlm:MasterPort=0", "--Dlm:DiscoveryAddress=127.255.255.255", "--Dlm:StationId=master");
        _stations.Add(back);
        await Until(async () => await Current(a) == 16 && await Current(b) == 16, "16 A each under the returned master");
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
