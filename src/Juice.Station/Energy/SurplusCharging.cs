using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Energy;

/// <summary>
/// Surplus charging from the grid meter: every reading of <see cref="GridMeter"/> goes through the
/// <see cref="SurplusController"/> and its decision is the station's "PV surplus" limit; without a fresh reading the
/// station pauses (Pv) or charges the minimum (MinPv). Each change of the decision's state is logged with its inputs.
/// </summary>
public sealed partial class SurplusCharging(ChargingStation station, SettingsStore settings, GridMeter meter, TimeProvider time, ILogger<SurplusCharging> logger) : BackgroundService
{
    private readonly SurplusController _controller = new(time);
    private readonly object _gate = new();
    private SurplusDecision? _last;

    /// <summary>The last decision (null: surplus charging off or no reading yet).</summary>
    public SurplusDecision? Decision
    {
        get
        {
            lock (_gate)
            {
                return _last;
            }
        }
    }

    /// <summary>Decides on one reading (the service calls it for each; public for the tests' fake clock).</summary>
    public SurplusDecision Apply(GridReading? reading)
    {
        var s = settings.Current;
        var c = station.Snapshot(1);
        int phases = c.Phases;
        SurplusDecision decision;
        lock (_gate)
        {
            decision = s.SurplusMode == SurplusMode.Off ? new SurplusDecision(null, 0, 0, "off", "surplus charging is off")
                : reading is null ? new SurplusDecision(s.SurplusMode == SurplusMode.MinPv ? SurplusController.MinimumCurrent : 0, 0, 0, "no meter", "no fresh reading of the grid meter")
                : _controller.Decide(s.SurplusMode, reading.PowerW, station.Connectors.Sum(x => station.Snapshot(x.Id).Meter.TotalPowerW), phases, station.Options.NominalVoltage,
                    station.Options.MaxCurrent, TimeSpan.FromSeconds(s.SurplusStartSeconds), TimeSpan.FromSeconds(s.SurplusStopSeconds), TimeSpan.FromMinutes(s.SurplusMinimumCycleMinutes));
            if (_last?.State != decision.State)
            {
                Log.Decided(logger, decision.State, decision.LimitA ?? -1, decision.SurplusW, decision.GridW, decision.Reason);
            }
            _last = decision;
        }
        station.SetLimit(LimitSources.Surplus, decision.LimitA);
        return decision;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        void OnRead(GridReading r) => Apply(r);
        meter.Read += OnRead;
        try
        {
            // a meter that stops answering: decide without it every few seconds
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(5), time, stoppingToken);
                if (meter.Fresh is null)
                {
                    Apply(null);
                }
                else if (settings.Current.SurplusMode == SurplusMode.Off && Decision?.LimitA is not null)
                {
                    Apply(meter.Fresh);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            meter.Read -= OnRead;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "PV surplus: {State} at {Amps} A (surplus {SurplusW:0} W, grid {GridW:0} W): {Reason}")]
        public static partial void Decided(ILogger logger, string state, double amps, double surplusW, double gridW, string reason);
    }
}
