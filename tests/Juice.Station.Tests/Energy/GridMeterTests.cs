using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Juice.Station.Core;
using Juice.Station.Energy.Dlm;
using Juice.Station.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace Juice.Station.Tests.Energy;

/// <summary>
/// External Meter Support against a real Modbus TCP meter: Debian's pymodbus serving an SDM630 register map
/// (tests/peers/grid-meter.py). The meter reads the building's other loads plus what the station's EV draws now.
/// </summary>
public sealed class GridMeterTests : IAsyncLifetime
{
    private readonly int _meterPort = FreePort();
    private Process _meter = null!;
    private TestStation _station = null!;
    private double _others;
    private double _pvW;

    internal static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static string Peers() => Path.Combine(Juice.Hlc.Tests.Vectors.RepositoryRoot, "tests", "peers");

    /// <summary>tests/peers/grid-meter.py on <paramref name="port"/>, once it listens.</summary>
    internal static async Task<Process> StartMeter(int port, string map)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(Peers(), "grid-meter.py"), port.ToString(CultureInfo.InvariantCulture), map })
        {
            psi.ArgumentList.Add(a);
        }
        var meter = Process.Start(psi)!;
        meter.ErrorDataReceived += (_, _) => { };
        meter.BeginErrorReadLine();
        Assert.Equal("ready", await meter.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        return meter;
    }

    public async Task InitializeAsync()
    {
        _meter = await StartMeter(_meterPort, "sdm630");
        _ = Task.Run(async () => { while (await _meter.StandardOutput.ReadLineAsync() is not null) { } });

        _station = await TestStation.StartAsync(null, "--GridMeter:Address=127.0.0.1:" + _meterPort, "--GridMeter:PollSeconds=0.2", "--GridMeter:StaleSeconds=2",
            "--Dlm:MeterHoldSeconds=1", "--Dlm:StationId=master");
        // the meter measures the other loads plus the EV's current as the station's meter sees it, at every change
        _station.Station.Changed += _ => Meter();
        _station.Configure(s => s with
        {
            FreeCharging = true, DlmMode = DlmMode.MasterWithInternalSlave, DlmExternalMeter = true, DlmDisconnectedLimit = 6,
            DlmSubDistributionL1 = 32, DlmSubDistributionL2 = 32, DlmSubDistributionL3 = 32,
        });
    }

    private void Meter()
    {
        var ev = _station.Station.Snapshot(1).Meter.CurrentA;
        lock (_meter)
        {
            if (!_meter.HasExited)
            {
                double l1 = _others + ev.L1, l2 = _others + ev.L2, l3 = _others + ev.L3;
                _meter.StandardInput.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{l1} {l2} {l3} {(l1 + l2 + l3) * 230 - _pvW}"));
                _meter.StandardInput.Flush();
            }
        }
    }

    public async Task DisposeAsync()
    {
        await _station.DisposeAsync();
        _station.DeleteFiles();
        if (!_meter.HasExited)
        {
            _meter.Kill();
        }
        _meter.Dispose();
    }

    private double Signalled => _station.Station.Snapshot(1).SignalledCurrentA;

    [Fact]
    public async Task Surplus_charging_starts_on_the_export_follows_it_and_pauses_when_it_is_gone()
    {
        _station.Configure(s => s with
        {
            DlmMode = DlmMode.Disabled, DlmExternalMeter = false,
            SurplusMode = Juice.Station.Energy.SurplusMode.Pv, SurplusStartSeconds = 1, SurplusStopSeconds = 2, SurplusMinimumCycleMinutes = 0,
        });
        _station.Station.SetVehicleState(1, CpState.C);
        Meter();
        // (DLM, switched off above, lets go of its limit when its loop restarts)
        await TestStation.WaitFor(() => Signalled == 0 && _station.Station.Snapshot(1).LimitReason == LimitSources.Surplus, "paused by the surplus: no export");

        _pvW = 6000;   // the sun comes out: 6 kW fed in
        Meter();
        await TestStation.WaitFor(() => Signalled == 8, "8 A from 6000 W on three phases (8 x 690 W = 5520 W)");
        var surplus = _station.App.Services.GetRequiredService<Juice.Station.Energy.SurplusCharging>();
        Assert.Equal("charging", surplus.Decision!.State);
        Assert.InRange(surplus.Decision.SurplusW, 5900, 6100);

        _pvW = 0;   // gone: the minimum for the stop delay, then paused
        Meter();
        await TestStation.WaitFor(() => Signalled == 0, "paused after the stop delay");
        Assert.Equal("paused", surplus.Decision!.State);
    }

    [Fact]
    public async Task A_SunSpec_meter_is_found_by_its_models_and_read_with_its_scale_factors()
    {
        int port = FreePort();
        using var sunspec = await StartMeter(port, "sunspec");
        try
        {
            sunspec.StandardInput.WriteLine("12.34 5.5 0 -4560");   // feeding in 4.56 kW
            sunspec.StandardInput.Flush();
            Assert.StartsWith("set", await sunspec.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
            var meter = new Juice.Station.Energy.GridMeter(Microsoft.Extensions.Options.Options.Create(new Juice.Station.Energy.GridMeterOptions
            {
                Address = "127.0.0.1:" + port, Map = "sunspec", PollSeconds = 0.2,
            }), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<Juice.Station.Energy.GridMeter>.Instance);
            var read = new TaskCompletionSource<Juice.Station.Energy.GridReading>(TaskCreationOptions.RunContinuationsAsynchronously);
            meter.Read += r => read.TrySetResult(r);
            await meter.StartAsync(CancellationToken.None);
            var reading = await read.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await meter.StopAsync(CancellationToken.None);
            Assert.Equal(12.34, reading.Currents.L1, 6);
            Assert.Equal(5.5, reading.Currents.L2, 6);
            Assert.Equal(0, reading.Currents.L3, 6);
            Assert.Equal(-4560, reading.PowerW, 6);
            Assert.Null(meter.Problem);
        }
        finally
        {
            sunspec.Kill();
        }
    }

    [Fact]
    public async Task Other_loads_on_the_grid_meter_lower_what_the_EV_gets_and_a_silent_meter_leaves_only_the_disconnected_limit()
    {
        var dlm = _station.App.Services.GetRequiredService<DlmService>();
        _station.Station.SetVehicleState(1, CpState.C);
        Meter();
        await TestStation.WaitFor(() => Signalled == 32, "32 A with no other loads");

        _others = 20;   // an oven and a heat pump: 20 A per phase besides the EV
        Meter();
        await TestStation.WaitFor(() => Signalled == 12, "32 A - 20 A of other loads = 12 A");
        Assert.Equal(LimitSources.Dlm, _station.Station.Snapshot(1).LimitReason);
        await TestStation.WaitFor(() => dlm.OtherLoads is { L1: >= 19.9 and <= 20.1 }, "the other loads as the master counts them");

        _others = 5;
        Meter();
        await TestStation.WaitFor(() => Signalled == 27, "27 A once the other loads stayed at 5 A");

        // the meter goes silent: after GridMeter:StaleSeconds only the Disconnected Limit is distributed
        lock (_meter)
        {
            _meter.Kill();
            _meter.WaitForExit();
        }
        await TestStation.WaitFor(() => Signalled == 6, "the disconnected limit without a meter reading");
        Assert.Null(dlm.OtherLoads);
    }
}
