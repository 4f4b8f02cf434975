using System.Globalization;
using Juice.Station.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Persistence;

/// <summary>The meters' totals per connector in the database (table meter_total), so that they go on from there after a restart.</summary>
public sealed class MeterTotalsStore(StationDatabase database)
{
    public MeterTotals? Load(int connector) => database.Read(cmd =>
    {
        using var r = cmd.With("SELECT l1_wh, l2_wh, l3_wh, exported_wh FROM meter_total WHERE connector = $c", ("$c", connector)).ExecuteReader();
        return r.Read() ? new MeterTotals(new Phases(r.GetDouble(0), r.GetDouble(1), r.GetDouble(2)), r.GetDouble(3)) : null;
    });

    public void Save(int connector, string meterId, MeterTotals totals, DateTimeOffset at) => database.Write(cmd => cmd.With(
        """
        INSERT INTO meter_total (connector, meter_id, l1_wh, l2_wh, l3_wh, exported_wh, at_utc) VALUES ($c, $m, $l1, $l2, $l3, $x, $at)
        ON CONFLICT (connector) DO UPDATE SET meter_id = $m, l1_wh = $l1, l2_wh = $l2, l3_wh = $l3, exported_wh = $x, at_utc = $at
        """,
        ("$c", connector), ("$m", meterId), ("$l1", totals.EnergyWh.L1), ("$l2", totals.EnergyWh.L2), ("$l3", totals.EnergyWh.L3), ("$x", totals.ExportedWh),
        ("$at", Sql.Utc(at))).ExecuteNonQuery());
}

/// <summary>Keeps the meters' totals: every 30 s while they change, and when the station stops.</summary>
internal sealed partial class MeterTotalsKeeper(ChargingStation station, MeterTotalsStore store, TimeProvider time, ILogger<MeterTotalsKeeper> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private readonly Dictionary<int, MeterTotals> _saved = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Save();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Save();
    }

    /// <summary>Reads every connector's meter and keeps the totals that changed.</summary>
    public void Save()
    {
        foreach (var c in station.Connectors)
        {
            try
            {
                var v = c.Meter.Read();
                var totals = new MeterTotals(v.EnergyWh, v.ExportedEnergyWh);
                if (_saved.TryGetValue(c.Id, out var last) && last == totals)
                {
                    continue;
                }
                store.Save(c.Id, v.MeterId, totals, v.At);
                _saved[c.Id] = totals;
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
            {
                Log.NotSaved(logger, c.Id, e.Message);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "The meter totals of connector {Connector} could not be kept: {Reason}")]
        public static partial void NotSaved(ILogger logger, int connector, string reason);
    }
}
