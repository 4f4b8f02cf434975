using Juice.Station.Authorization;
using Juice.Station.Core;
using Juice.Station.Energy;
using Juice.Station.Persistence;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Juice.Station.Tests.Energy;

/// <summary>The station's own load-management limits on a fake clock: load shedding from the external input, the schedule, the backend offline.</summary>
public sealed class LocalLimitsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-limits-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 6, 30, 0, TimeSpan.Zero));
    private readonly StationDatabase _db;
    private readonly SettingsStore _settings;
    private readonly ChargingStation _station;
    private readonly ExternalInput _input = new(Options.Create(new ExternalInputOptions()), NullLogger<ExternalInput>.Instance);
    private readonly BackendLink _backend = new();
    private readonly LocalLimits _limits;

    public LocalLimitsTests()
    {
        _db = new StationDatabase(Options.Create(new DatabaseOptions { Path = Path.Combine(_dir, "juice.db") }));
        _db.Migrate();
        _settings = new SettingsStore(_db);
        var options = Options.Create(new StationOptions { MaxCurrent = 32, TimeZone = "Europe/Berlin" });
        _station = new ChargingStation(options, _settings, new Authorizer(_settings, new WhitelistStore(_db), _time, NullLogger<Authorizer>.Instance),
            new HistoryStore(_db), _time, NullLogger<ChargingStation>.Instance);
        _limits = new LocalLimits(_station, _settings, _input, _backend, _time, options, NullLogger<LocalLimits>.Instance);
        _settings.Update(s => s with { FreeCharging = true });
        _station.SetVehicleState(1, CpState.C);
    }

    public void Dispose()
    {
        _db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ConnectorSnapshot Now() => _station.Snapshot(1);

    [Fact]
    public void Load_shedding_limits_the_current_while_the_input_is_active_with_either_polarity()
    {
        _settings.Update(s => s with { ExternalInputEnabled = true, ExternalInputCurrentLimit = 10, ExternalInputActiveLow = false });
        _limits.Apply();
        Assert.Equal(32, Now().SignalledCurrentA);   // an input never set is not active

        _input.Set(high: true);
        _limits.Apply();
        Assert.Equal(10, Now().SignalledCurrentA);
        Assert.Equal(LimitSources.ExternalInput, Now().LimitReason);

        _input.Set(high: false);
        _limits.Apply();
        Assert.Equal(32, Now().SignalledCurrentA);

        // active low ("normally closed"): the open contact (low) sheds; a limit of 0 stops charging
        _settings.Update(s => s with { ExternalInputActiveLow = true, ExternalInputCurrentLimit = 0 });
        _limits.Apply();
        Assert.Equal(0, Now().SignalledCurrentA);
        Assert.Equal(ConnectorStatus.SuspendedEVSE, Now().Status);
        _input.Set(high: true);
        _limits.Apply();
        Assert.Equal(32, Now().SignalledCurrentA);
    }

    [Fact]
    public void The_manuals_schedule_gives_10_A_from_8_and_the_full_current_from_22_in_the_stations_time_zone()
    {
        _settings.Update(s => s with
        {
            CurrentSchedulerEnabled = true,
            CurrentSchedule = [new CurrentScheduleEntry(8, 10, 10, 10), new CurrentScheduleEntry(22, 63, 63, 63)],
        });
        _limits.Apply();   // 07:30 in Berlin: still the night's entry of 22:00
        Assert.Equal(32, Now().SignalledCurrentA);
        Assert.Equal(LimitSources.Hardware, Now().LimitReason);

        _time.Advance(TimeSpan.FromMinutes(30));   // 08:00 Berlin
        _limits.Apply();
        Assert.Equal(10, Now().SignalledCurrentA);
        Assert.Equal(LimitSources.Schedule, Now().LimitReason);

        _time.Advance(TimeSpan.FromHours(13) + TimeSpan.FromMinutes(59));   // 21:59
        _limits.Apply();
        Assert.Equal(10, Now().SignalledCurrentA);
        _time.Advance(TimeSpan.FromMinutes(1));   // 22:00
        _limits.Apply();
        Assert.Equal(32, Now().SignalledCurrentA);

        _settings.Update(s => s with { CurrentSchedulerEnabled = false });
        _time.Advance(TimeSpan.FromHours(10));   // 08:00 the next day, the scheduler off
        _limits.Apply();
        Assert.Equal(32, Now().SignalledCurrentA);
    }

    [Fact]
    public async Task The_service_applies_the_schedule_when_the_clock_crosses_the_hour()
    {
        _settings.Update(s => s with { CurrentSchedulerEnabled = true, CurrentSchedule = [new CurrentScheduleEntry(8, 12, 12, 12), new CurrentScheduleEntry(22, 63, 63, 63)] });
        var applied = new SemaphoreSlim(0);
        _limits.Applied += () => applied.Release();
        await _limits.StartAsync(CancellationToken.None);
        try
        {
            // the service's first application, then one per tick of its one-second timer on the fake clock
            Assert.True(await applied.WaitAsync(TimeSpan.FromSeconds(30)));
            async Task Tick(TimeSpan by)
            {
                while (applied.CurrentCount > 0)
                {
                    await applied.WaitAsync();
                }
                _time.Advance(by);
                Assert.True(await applied.WaitAsync(TimeSpan.FromSeconds(30)), "the timer applied the limits");
            }
            await Tick(TimeSpan.FromMinutes(29) + TimeSpan.FromSeconds(59));   // 07:59:59 in Berlin
            Assert.Equal(32, Now().SignalledCurrentA);
            await Tick(TimeSpan.FromSeconds(1));   // 08:00:00
            Assert.Equal(12, Now().SignalledCurrentA);
            Assert.Equal(LimitSources.Schedule, Now().LimitReason);
        }
        finally
        {
            await _limits.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void With_the_disconnected_upper_limit_an_offline_backend_holds_the_station_to_the_disconnected_limit()
    {
        var backend = new Backend { Online = true };
        _backend.Backend = backend;
        _settings.Update(s => s with { DisconnectedUpperLimitForSmartCharging = true, DlmDisconnectedLimit = 8 });
        _limits.Apply();
        Assert.Equal(32, Now().SignalledCurrentA);
        backend.Online = false;
        _limits.Apply();
        Assert.Equal(8, Now().SignalledCurrentA);
        Assert.Equal(LimitSources.BackendOffline, Now().LimitReason);
        backend.Online = true;
        _limits.Apply();
        Assert.Equal(32, Now().SignalledCurrentA);
    }

    [Fact]
    public void A_DLM_slave_applies_assignments_in_the_masters_order_and_drops_one_that_arrives_late()
    {
        var slave = new Juice.Station.Energy.Dlm.DlmSlave(_station, new Juice.Station.Energy.Dlm.DlmOptions(), _time, NullLogger.Instance);
        slave.Assigned("master", 5, [new Juice.Station.Energy.Dlm.DlmConnectorAssignment(1, 10)]);
        Assert.Equal(10, Now().SignalledCurrentA);
        slave.Assigned("master", 4, [new Juice.Station.Energy.Dlm.DlmConnectorAssignment(1, 20)]);   // computed before round 5, overtaken on the way
        Assert.Equal(10, Now().SignalledCurrentA);
        slave.Assigned("master", 6, [new Juice.Station.Energy.Dlm.DlmConnectorAssignment(1, 16)]);
        Assert.Equal(16, Now().SignalledCurrentA);
        Assert.Equal(LimitSources.Dlm, Now().LimitReason);
    }

    /// <summary>A backend whose connection the test switches (the OCPP client's state as the station sees it).</summary>
    private sealed class Backend : IBackendAuthorizer
    {
        public bool Configured => true;

        public bool Online { get; set; }

        public BackendPolicy Policy => new();

        public Task<BackendAnswer> AuthorizeAsync(string idTag, CancellationToken cancellationToken) => throw new InvalidOperationException("not asked in these tests");
    }
}
