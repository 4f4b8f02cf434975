using Juice.Station.Core;
using Juice.Station.Energy.Dlm;
using Juice.Station.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace Juice.Station.Tests.Energy;

/// <summary>
/// Whole stations in-process, talking DLM over UDP on loopback (discovery by broadcast to 127.255.255.255): a master
/// with its internal slave and two slave stations, one basic 3-phase car at each.
/// </summary>
public sealed class DlmNetworkTests : IAsyncLifetime
{
    private readonly int _port = Random.Shared.Next(20_000, 60_000);
    private readonly int _net = Random.Shared.Next(100, 60_000);
    private readonly List<TestStation> _stations = [];
    private readonly List<string> _overloads = [];
    private readonly Dictionary<(int Station, int Connector), double> _signalled = [];

    private string[] Args(string id, double masterTimeout = 3) =>
    [
        "--Dlm:Port=" + _port, "--Dlm:MasterPort=0", "--Dlm:DiscoveryAddress=127.255.255.255", "--Dlm:StationId=" + id,
        "--Dlm:AnnounceSeconds=0.5", "--Dlm:ReportSeconds=0.5", "--Dlm:MasterTimeoutSeconds=" + masterTimeout, "--Dlm:SlaveTimeoutSeconds=2",
    ];

    private async Task<TestStation> Start(string id, DlmMode mode, double subDistribution = 32)
    {
        var station = await TestStation.StartAsync(null, Args(id));
        station.Configure(s => s with
        {
            FreeCharging = true,
            DlmMode = mode,
            DlmNetworkId = _net,
            DlmSubDistributionL1 = subDistribution, DlmSubDistributionL2 = subDistribution, DlmSubDistributionL3 = subDistribution,
            DlmDisconnectedLimit = 6,
        });
        int index = _stations.Count;
        _stations.Add(station);
        // the sum the stations signal, at every change anywhere: never above the sub-distribution limit
        station.Station.Changed += snapshot =>
        {
            lock (_signalled)
            {
                _signalled[(index, snapshot.Id)] = snapshot.SignalledCurrentA;
                double sum = _signalled.Values.Sum();
                if (sum > subDistribution + 1e-6)
                {
                    _overloads.Add($"{sum} A at {string.Join(", ", _signalled.Select(x => $"{x.Key}: {x.Value}"))}");
                }
            }
        };
        return station;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var s in _stations)
        {
            await s.DisposeAsync();
            s.DeleteFiles();
        }
    }

    private static async Task Until(Func<bool> condition, string what, TestStation station, DlmService dlm)
    {
        try
        {
            await TestStation.WaitFor(condition, what);
        }
        catch (Xunit.Sdk.XunitException)
        {
            var snap = station.Station.Snapshot(1);
            var st = dlm.MasterStatus();
            Assert.Fail($"{what}: {snap.Status} {snap.SignalledCurrentA} A by {snap.LimitReason}; master {(st is null ? "none" : string.Join("; ", st.Connectors))} avail {st?.Available}");
        }
    }

    private static double Signalled(TestStation s) => s.Station.Snapshot(1).SignalledCurrentA;

    [Fact]
    public async Task Three_stations_share_the_sub_distribution_fairly_never_above_it_and_fall_to_the_disconnected_limit_without_their_master()
    {
        var master = await Start("master", DlmMode.MasterWithInternalSlave);
        var a = await Start("slave-a", DlmMode.SlaveAutoDiscovery);
        var b = await Start("slave-b", DlmMode.SlaveAutoDiscovery);
        var dlm = master.App.Services.GetRequiredService<DlmService>();
        await TestStation.WaitFor(() => dlm.MasterStatus()?.SlavesConnected == 2, "two slaves at the master");

        master.Station.SetVehicleState(1, CpState.C);
        await Until(() => Signalled(master) == 32, "the master's own car alone: the whole 32 A (its hardware limit)", master, dlm);
        a.Station.SetVehicleState(1, CpState.C);
        await TestStation.WaitFor(() => Signalled(master) == 16 && Signalled(a) == 16, "two cars: 16 A each");
        b.Station.SetVehicleState(1, CpState.C);
        await TestStation.WaitFor(() => Signalled(master) == 10.6 && Signalled(a) == 10.6 && Signalled(b) == 10.6, "three cars: 10.6 A each");
        Assert.Equal(LimitSources.Dlm, a.Station.Snapshot(1).LimitReason);

        a.Station.SetVehicleState(1, CpState.A);
        await TestStation.WaitFor(() => Signalled(master) == 16 && Signalled(b) == 16, "the car at a left: 16 A for the two others");
        var status = dlm.MasterStatus()!;
        Assert.Equal(new Juice.Station.Energy.PhaseCurrents(32, 32, 32), status.Applied);

        lock (_signalled)
        {
            Assert.Empty(_overloads);
        }

        // the master goes: the slaves fall to the Disconnected Limit (6 A) within their master timeout (3 s here)
        await master.DisposeAsync();
        _stations.Remove(master);
        master.DeleteFiles();
        await TestStation.WaitFor(() => Signalled(b) == 6, "slave b at the disconnected limit");
        Assert.Equal(LimitSources.DlmDisconnected, b.Station.Snapshot(1).LimitReason);
    }
}
