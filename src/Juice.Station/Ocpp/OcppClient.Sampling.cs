using System.Globalization;
using System.Text.Json.Nodes;
using Juice.Station.Core;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Ocpp;

/// <summary>The OCPP client's periodic work: heartbeats, meter values and the smart-charging limits.</summary>
internal sealed partial class OcppClient
{
    // ---- heartbeat, meter values, smart charging ----

    /// <summary>Heartbeat every HeartbeatInterval seconds of an accepted connection (a changed interval counts at once).</summary>
    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        long last = _time.GetTimestamp();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _time, ct).ConfigureAwait(false);
                if (!Online)
                {
                    last = _time.GetTimestamp();
                    continue;
                }
                if (_time.GetElapsedTime(last) >= TimeSpan.FromSeconds(Configuration.Number("HeartbeatInterval")))
                {
                    last = _time.GetTimestamp();
                    await CallAsync("Heartbeat", [], ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is OcppOfflineException or OcppCallException)
            {
                Log.HeartbeatFailed(_logger, e.Message);
            }
        }
    }

    /// <summary>
    /// MeterValues: during a transaction every MeterValueSampleInterval seconds (queued, like the transaction), and
    /// clock-aligned every ClockAlignedDataInterval seconds (sent when online).
    /// </summary>
    private async Task SamplingLoopAsync(CancellationToken ct)
    {
        var lastSample = new Dictionary<int, DateTimeOffset>();
        DateTimeOffset? lastAligned = null;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _time, ct).ConfigureAwait(false);
                var now = _time.GetUtcNow();
                int interval = Configuration.Number("MeterValueSampleInterval");
                foreach (var c in _station.Connectors)
                {
                    var s = _station.Snapshot(c.Id);
                    if (s.Transaction is not { } tx || interval <= 0)
                    {
                        lastSample.Remove(c.Id);
                        continue;
                    }
                    var since = lastSample.TryGetValue(c.Id, out var t) ? t : tx.Start;
                    if (now - since >= TimeSpan.FromSeconds(interval))
                    {
                        lastSample[c.Id] = now;
                        EnqueueMeterValues(s, "Sample.Periodic", Configuration.List("MeterValuesSampledData"));
                    }
                }
                int aligned = Configuration.Number("ClockAlignedDataInterval");
                if (aligned > 0 && Online)
                {
                    long slot = now.ToUnixTimeSeconds() / aligned;
                    if (lastAligned is not { } la || la.ToUnixTimeSeconds() / aligned != slot)
                    {
                        lastAligned = now;
                        foreach (var c in _station.Connectors)
                        {
                            var s = _station.Snapshot(c.Id);
                            await CallAsync("MeterValues", MeterValues(s, "Sample.Clock", Configuration.List("MeterValuesAlignedData"), withTransaction: false), ct).ConfigureAwait(false);
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is OcppOfflineException or OcppCallException)
            {
                Log.MeterValuesFailed(_logger, e.Message);
            }
        }
    }

    private void EnqueueMeterValues(ConnectorSnapshot s, string context, IReadOnlyList<string> measurands) =>
        Queue.Enqueue("MeterValues", MeterValues(s, context, measurands, withTransaction: true).ToJsonString(), s.Transaction!.Id);

    /// <summary>One MeterValues payload of a connector with the given measurands (only those the station measures).</summary>
    private JsonObject MeterValues(ConnectorSnapshot s, string context, IReadOnlyList<string> measurands, bool withTransaction)
    {
        var m = s.Meter;
        var values = new JsonArray();
        void Add(string measurand, double value, string unit, string? phase = null)
        {
            var v = new JsonObject { ["value"] = Number(value), ["context"] = context, ["measurand"] = measurand, ["unit"] = unit };
            if (phase is not null)
            {
                v["phase"] = phase;
            }
            values.Add(v);
        }
        foreach (var measurand in measurands)
        {
            switch (measurand)
            {
                case "Energy.Active.Import.Register":
                    Add(measurand, m.TotalEnergyWh, "Wh");
                    break;
                case "Power.Active.Import":
                    Add(measurand, m.TotalPowerW, "W");
                    break;
                case "Power.Offered":
                    Add(measurand, s.SignalledCurrentA * s.Phases * _stationOptions.NominalVoltage, "W");
                    break;
                case "Current.Import":
                    Add(measurand, m.CurrentA.L1, "A", "L1");
                    Add(measurand, m.CurrentA.L2, "A", "L2");
                    Add(measurand, m.CurrentA.L3, "A", "L3");
                    break;
                case "Current.Offered":
                    Add(measurand, s.SignalledCurrentA, "A");
                    break;
                case "Voltage":
                    Add(measurand, m.VoltageV.L1, "V", "L1-N");
                    Add(measurand, m.VoltageV.L2, "V", "L2-N");
                    Add(measurand, m.VoltageV.L3, "V", "L3-N");
                    break;
                case "SoC" when s.EvNeeds?.StateOfCharge is int soc:
                    Add(measurand, soc, "Percent");
                    break;
            }
        }
        var payload = new JsonObject
        {
            ["connectorId"] = s.Id,
            ["meterValue"] = new JsonArray(new JsonObject { ["timestamp"] = OcppTime.Format(m.At), ["sampledValue"] = values }),
        };
        if (withTransaction && s.Transaction is { } tx)
        {
            payload["transactionId"] = tx.Id;   // the queue puts the central system's id in its place
        }
        return payload;
    }

    /// <summary>Applies the charging profiles' composite limits to the charging core, once a second.</summary>
    private async Task SmartChargingLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _time, ct).ConfigureAwait(false);
                ApplyProfiles();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private void ApplyProfiles()
    {
        var now = _time.GetUtcNow();
        var snapshots = _station.Connectors.Select(c => _station.Snapshot(c.Id)).ToList();
        int sharing = Math.Max(1, snapshots.Count(s => s.Transaction is not null));
        foreach (var s in snapshots)
        {
            double? limit = Profiles.LimitAt(s.Id, now, s.Transaction is not null, s.Transaction?.Start, sharing);
            lock (_appliedLimits)
            {
                if (_appliedLimits.TryGetValue(s.Id, out var applied) && applied == limit)
                {
                    continue;
                }
                _appliedLimits[s.Id] = limit;
            }
            Log.ProfileLimit(_logger, s.Id, limit is { } a ? a.ToString("0.#", CultureInfo.InvariantCulture) + " A" : "no limit");
            _station.SetExternalLimit(s.Id, limit);
        }
    }
}
