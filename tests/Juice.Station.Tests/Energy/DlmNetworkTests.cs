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
    private readonly List<(DateTimeOffset At, (int Station, int Connector) Key, double Amps)> _history = [];
    private readonly Dictionary<int, double> _limits = [];

    private string[] Args(string id, double masterTimeout = 3) =>
    [
        "--Dlm:Port=" + _port, "--Dlm:MasterPort=0", "--Dlm:DiscoveryAddress=127.255.255.255", "--Dlm:StationId=" + id,
        "--Dlm:AnnounceSeconds=0.5", "--Dlm:ReportSeconds=0.5", "--Dlm:MasterTimeoutSeconds=" + masterTimeout, "--Dlm:SlaveTimeoutSeconds=2",
    ];

    private async Task<TestStation> Start(string id, DlmMode mode, double subDistribution = 32, Func<OperatorSettings, OperatorSettings>? more = null, params string[] args)
    {
        var station = await TestStation.StartAsync(null, [.. Args(id), .. args]);
        station.Configure(s => (more ?? (x => x))(s with
        {
            FreeCharging = true,
            DlmMode = mode,
            DlmNetworkId = _net,
            DlmSubDistributionL1 = subDistribution, DlmSubDistributionL2 = subDistribution, DlmSubDistributionL3 = subDistribution,
            DlmDisconnectedLimit = 6,
        }));
        int index = _stations.Count;
        _stations.Add(station);
        _limits[index] = subDistribution;
        // what each connector with a car may draw, with the instant it became true (the snapshot is taken in the
        // same hold of the station's lock as the change; events of different threads may arrive out of order)
        station.Station.Changed += snapshot =>
        {
            lock (_history)
            {
                _history.Add((snapshot.At, (index, snapshot.Id), snapshot.Transaction is null ? 0 : snapshot.SignalledCurrentA));
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

    private static double Signalled(TestStation s, int connector = 1) => s.Station.Snapshot(connector).SignalledCurrentA;

    /// <summary>At no instant did the cars of all stations together have more than the sub-distribution limit (all cars on every phase).</summary>
    private void NoOverload()
    {
        double limit = _limits.Values.Min();
        lock (_history)
        {
            var now = new Dictionary<(int, int), double>();
            foreach (var (at, key, amps) in _history.OrderBy(h => h.At))
            {
                now[key] = amps;
                double sum = now.Values.Sum();
                Assert.True(sum <= limit + 1e-6, $"{sum} A at {at:HH:mm:ss.ffffff}: {string.Join(", ", now.Select(x => $"{x.Key}: {x.Value}"))}");
            }
        }
    }

    [Fact]
    public async Task The_manuals_63_A_feed_five_cars_and_a_sixth_joining_on_three_double_stations()
    {
        var two = new[] { "--Station:Connectors=2" };
        var master = await Start("master", DlmMode.MasterWithInternalSlave, 63, null, two);
        var a = await Start("slave-a", DlmMode.SlaveAutoDiscovery, 63, null, two);
        var b = await Start("slave-b", DlmMode.SlaveAutoDiscovery, 63, null, two);
        var dlm = master.App.Services.GetRequiredService<DlmService>();
        await TestStation.WaitFor(() => dlm.MasterStatus()?.SlavesConnected == 2, "two slaves at the master");
        var plugs = new[] { (master, 1), (master, 2), (a, 1), (a, 2), (b, 1) };
        foreach (var (s, c) in plugs)
        {
            s.Station.SetVehicleState(c, CpState.C);
        }
        await TestStation.WaitFor(() => plugs.All(p => Signalled(p.Item1, p.Item2) == 12.6), "five cars: 12.6 A each");
        b.Station.SetVehicleState(2, CpState.C);
        await TestStation.WaitFor(() => plugs.Append((b, 2)).All(p => Signalled(p.Item1, p.Item2) == 10.5), "six cars: 10.5 A each");
        Assert.Equal(63, dlm.MasterStatus()!.Applied.L1, 6);
        NoOverload();
    }

    [Fact]
    public async Task Three_single_phase_cars_are_held_to_the_imbalance_limit_on_one_phase_and_charge_fully_when_rotation_spreads_them()
    {
        static OperatorSettings Imbalance(OperatorSettings s) => s with { DlmImbalancePrevention = true, DlmImbalanceLimit = 20 };
        var master = await Start("master", DlmMode.MasterWithInternalSlave, 63, Imbalance, "--Station:Phases=1");
        var a = await Start("slave-a", DlmMode.SlaveAutoDiscovery, 63, Imbalance, "--Station:Phases=1");
        var b = await Start("slave-b", DlmMode.SlaveAutoDiscovery, 63, Imbalance, "--Station:Phases=1");
        var dlm = master.App.Services.GetRequiredService<DlmService>();
        await TestStation.WaitFor(() => dlm.MasterStatus()?.SlavesConnected == 2, "two slaves at the master");
        foreach (var s in new[] { master, a, b })
        {
            s.Station.SetVehicleState(1, CpState.C);
        }
        // all three on grid L1: 20 A of imbalance against L2 and L3 at most, 6.6 A each
        await TestStation.WaitFor(() => new[] { master, a, b }.All(s => Signalled(s) == 6.6), "6.6 A each within the imbalance limit");
        var status = dlm.MasterStatus()!;
        Assert.True(status.Applied.L1 - status.Applied.L2 <= 20, status.Applied.ToString());
        NoOverload();
    }

    [Fact]
    public async Task Rotated_stations_spread_single_phase_cars_over_the_grid_phases()
    {
        static OperatorSettings Imbalance(OperatorSettings s) => s with { DlmImbalancePrevention = true, DlmImbalanceLimit = 20 };
        var master = await Start("master", DlmMode.MasterWithInternalSlave, 63, Imbalance, "--Station:Phases=1", "--Station:PhaseRotation=L1L2L3");
        var a = await Start("slave-a", DlmMode.SlaveAutoDiscovery, 63, Imbalance, "--Station:Phases=1", "--Station:PhaseRotation=L2L3L1");
        var b = await Start("slave-b", DlmMode.SlaveAutoDiscovery, 63, Imbalance, "--Station:Phases=1", "--Station:PhaseRotation=L3L1L2");
        var dlm = master.App.Services.GetRequiredService<DlmService>();
        await TestStation.WaitFor(() => dlm.MasterStatus()?.SlavesConnected == 2, "two slaves at the master");
        foreach (var s in new[] { master, a, b })
        {
            s.Station.SetVehicleState(1, CpState.C);
        }
        await TestStation.WaitFor(() => new[] { master, a, b }.All(s => Signalled(s) == 32), "32 A each (their hardware limit), one per grid phase");
        Assert.Equal(new Juice.Station.Energy.PhaseCurrents(32, 32, 32), dlm.MasterStatus()!.Applied);
    }

    [Fact]
    public async Task Load_shedding_with_DLM_lowers_the_sub_distribution_by_the_offset_as_in_the_manuals_16_A_minus_10_A()
    {
        var master = await Start("master", DlmMode.MasterWithInternalSlave, 16, s => s with
        {
            DlmExternalInput = true, ExternalInputActiveLow = false, DlmExternalInputOffsetL1 = -10, DlmExternalInputOffsetL2 = -10, DlmExternalInputOffsetL3 = -10,
        });
        var dlm = master.App.Services.GetRequiredService<DlmService>();
        master.Station.SetVehicleState(1, CpState.C);
        await TestStation.WaitFor(() => Signalled(master) == 16, "16 A distributed");
        var input = master.App.Services.GetRequiredService<Juice.Station.Energy.ExternalInput>();
        input.Set(high: true);
        await TestStation.WaitFor(() => Signalled(master) == 6, "16 A - 10 A = 6 A while the input is active");
        Assert.Equal(Juice.Station.Energy.PhaseCurrents.Same(6), dlm.MasterStatus()!.Available);
        input.Set(high: false);
        await TestStation.WaitFor(() => Signalled(master) == 16, "16 A again after the shedding");
    }

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

        NoOverload();

        // the master goes: the slaves fall to the Disconnected Limit (6 A) within their master timeout (3 s here)
        await master.DisposeAsync();
        _stations.Remove(master);
        master.DeleteFiles();
        await TestStation.WaitFor(() => Signalled(b) == 6, "slave b at the disconnected limit");
        Assert.Equal(LimitSources.DlmDisconnected, b.Station.Snapshot(1).LimitReason);
    }
}
