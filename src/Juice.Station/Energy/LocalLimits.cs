using Juice.Station.Authorization;
using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station.Energy;

/// <summary>
/// The LOAD MANAGEMENT page's limits of this station alone, as named limits of the charging core: Local "Energy
/// management from external input" (the input's limit while it is active), the Maximum Current Scheduler (on a
/// station that is not a DLM master; a master lowers its sub-distribution limits with it instead) and the
/// disconnected upper limit while the OCPP backend is offline. Applied at once on a change of the input or the
/// settings, and every second (the hour of the schedule, the backend's state).
/// </summary>
public sealed partial class LocalLimits(ChargingStation station, SettingsStore settings, ExternalInput input, BackendLink backend, TimeProvider time,
    IOptions<StationOptions> options, ILogger<LocalLimits> logger) : BackgroundService
{
    private readonly object _gate = new();
    private bool? _shedding;

    /// <summary>The schedule's currents in force now (null: the scheduler is off), for the station and the DLM master.</summary>
    public PhaseCurrents? ScheduleNow()
    {
        var s = settings.Current;
        return s.CurrentSchedulerEnabled ? CurrentSchedule.At(s.CurrentSchedule, time.GetUtcNow(), options.Value.Zone) : null;
    }

    /// <summary>After each application of the limits (the timer's, an input's, a setting's).</summary>
    public event Action? Applied;

    public void Apply()
    {
        var s = settings.Current;
        lock (_gate)
        {
            bool shedding = s.ExternalInputEnabled && input.Active(s.ExternalInputActiveLow);
            if (_shedding != shedding)
            {
                if (shedding)
                {
                    Log.SheddingOn(logger, s.ExternalInputCurrentLimit);
                }
                else if (_shedding is true)
                {
                    Log.SheddingOff(logger);
                }
                _shedding = shedding;
            }
            station.SetLimit(LimitSources.ExternalInput, shedding ? s.ExternalInputCurrentLimit : null);

            double? scheduled = null;
            if (!IsMaster(s.DlmMode) && ScheduleNow() is { } now)
            {
                // the station's own phases: all three, or the grid phase of its L1 when it is wired for one
                var phases = options.Value.Rotation.Grid(options.Value.Phases);
                scheduled = new[] { GridPhases.L1, GridPhases.L2, GridPhases.L3 }.Select((p, i) => phases.HasFlag(p) ? now[i] : double.PositiveInfinity).Min();
            }
            station.SetLimit(LimitSources.Schedule, scheduled);

            bool offline = s.DisconnectedUpperLimitForSmartCharging && backend.Backend is { Configured: true, Online: false };
            station.SetLimit(LimitSources.BackendOffline, offline ? s.DlmDisconnectedLimit : null);
        }
        Applied?.Invoke();
    }

    public static bool IsMaster(DlmMode mode) => mode is DlmMode.MasterWithInternalSlave or DlmMode.MasterStandalone;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        void OnInput(bool? _) => Apply();
        void OnSettings(OperatorSettings _) => Apply();
        input.Changed += OnInput;
        settings.Changed += OnSettings;
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);   // before the first application: no tick is missed after it
            Apply();
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Apply();
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            input.Changed -= OnInput;
            settings.Changed -= OnSettings;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Load shedding: the external input is active, the station charges at most {Amps} A")]
        public static partial void SheddingOn(ILogger logger, double amps);

        [LoggerMessage(2, LogLevel.Information, "Load shedding ended: the external input is inactive")]
        public static partial void SheddingOff(ILogger logger);
    }
}
