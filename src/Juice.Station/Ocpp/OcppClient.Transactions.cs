using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Juice.Station.Authorization;
using Juice.Station.Core;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Ocpp;

/// <summary>The OCPP client's authorization, the station's status reports and the persistent transaction queue.</summary>
internal sealed partial class OcppClient
{
    // ---- authorization ----

    public async Task<BackendAnswer> AuthorizeAsync(string idTag, CancellationToken cancellationToken)
    {
        try
        {
            var result = await CallAsync("Authorize", new JsonObject { ["idTag"] = idTag }, cancellationToken).ConfigureAwait(false);
            var info = result!["idTagInfo"]!;
            Cache(idTag, info);
            string status = info["status"]!.GetValue<string>();
            return new BackendAnswer(status == "Accepted" ? BackendVerdict.Accepted : BackendVerdict.Rejected, status);
        }
        catch (OcppOfflineException e)
        {
            return new BackendAnswer(BackendVerdict.Unreachable, e.Message);
        }
        catch (OcppCallException e)
        {
            return new BackendAnswer(BackendVerdict.Unreachable, "CALLERROR " + e.Code);
        }
    }

    /// <summary>The authorization cache (AuthorizationCacheEnabled): every idTagInfo the central system gives.</summary>
    private void Cache(string idTag, JsonNode info)
    {
        if (!Configuration.Flag("AuthorizationCacheEnabled"))
        {
            return;
        }
        _whitelists.Add(WhitelistName.OcppCache, new WhitelistEntry(idTag, WhitelistKind.Rfid, null, "", _time.GetUtcNow(),
            info["status"]!.GetValue<string>(), OcppTime.Parse(info["expiryDate"]), (string?)info["parentIdTag"]));
    }

    // ---- station events ----

    private void OnChanged(ConnectorSnapshot snapshot) => _statusSignal.Release();

    private static (ConnectorStatus Status, string ErrorCode, string? Info) StatusOf(ConnectorSnapshot c) => c.CpState switch
    {
        CpState.E => (ConnectorStatus.Faulted, "OtherError", "vehicle state E"),
        CpState.F => (ConnectorStatus.Faulted, "InternalError", "vehicle state F"),
        _ => (c.Status, "NoError", null),
    };

    /// <summary>StatusNotification for every connector whose status changed since it was last reported (and all after a boot).</summary>
    private async Task StatusLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _statusSignal.WaitAsync(ct).ConfigureAwait(false);
                if (!Online)
                {
                    continue;
                }
                var snapshots = _station.Connectors.Select(c => _station.Snapshot(c.Id)).ToList();
                var station = snapshots.All(s => s.Status == ConnectorStatus.Unavailable) ? ConnectorStatus.Unavailable : ConnectorStatus.Available;
                await ReportAsync(0, station, "NoError", null, ct).ConfigureAwait(false);
                foreach (var s in snapshots)
                {
                    var (status, code, info) = StatusOf(s);
                    await ReportAsync(s.Id, status, code, info, ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is OcppOfflineException or OcppCallException)
            {
                Log.StatusFailed(_logger, e.Message);
            }
        }
    }

    private async Task ReportAsync(int connector, ConnectorStatus status, string errorCode, string? info, CancellationToken ct, bool force = false)
    {
        if (!force && _reported.TryGetValue(connector, out var last) && last == (status, errorCode))
        {
            return;
        }
        var payload = new JsonObject { ["connectorId"] = connector, ["errorCode"] = errorCode, ["status"] = status.ToString(), ["timestamp"] = OcppTime.Format(_time.GetUtcNow()) };
        if (info is not null)
        {
            payload["info"] = info;
        }
        await CallAsync("StatusNotification", payload, ct).ConfigureAwait(false);
        _reported[connector] = (status, errorCode);
    }

    // StartTransaction and StopTransaction are queued by the OcppTransactionJournal, with the history's own write

    private void OnTransactionStarted(Connector connector, OpenTransaction tx)
    {
        if (_remoteStartProfiles.TryRemove(tx.Connector, out var profile))
        {
            Profiles.Install(tx.Connector, profile with { TransactionId = null });
        }
    }

    private void OnSessionFinished(ChargingSession session)
    {
        Profiles.TransactionEnded(session.Connector);
        if (_scheduledAvailability.TryRemove(session.Connector, out var availability))
        {
            _station.SetAvailability(session.Connector, availability);
        }
    }

    private static string Number(double v) => Math.Round(v, 1).ToString("0.#", CultureInfo.InvariantCulture);

    // ---- the transaction queue ----

    /// <summary>Delivers the queued transaction messages in order while the central system accepts the station.</summary>
    private async Task QueuePumpAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var message = Queue.Oldest();
                if (message is null || !Online)
                {
                    await _queueSignal.WaitAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
                    continue;
                }
                await DeliverAsync(message, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or Microsoft.Data.Sqlite.SqliteException)
            {
                Log.QueueFailed(_logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task DeliverAsync(QueuedMessage message, CancellationToken ct)
    {
        var payload = JsonNode.Parse(message.Payload)!.AsObject();
        if (message.Action != "StartTransaction" && message.LocalTransaction is { } local)
        {
            if (Queue.RemoteId(local) is not { } remote)
            {
                Log.Orphan(_logger, message.Action, local);   // its StartTransaction was given up: nothing to refer to
                Queue.Drop(message);
                return;
            }
            payload["transactionId"] = remote;
        }
        try
        {
            var result = await CallAsync(message.Action, payload, ct).ConfigureAwait(false);
            int? remoteId = null;
            if (message.Action == "StartTransaction")
            {
                remoteId = result!["transactionId"]!.GetValue<int>();
                var info = result["idTagInfo"]!;
                Cache(payload["idTag"]!.GetValue<string>(), info);
                string status = info["status"]!.GetValue<string>();
                Log.TransactionAccepted(_logger, message.LocalTransaction ?? 0, remoteId.Value, status);
                if (status != "Accepted" && Configuration.Flag("StopTransactionOnInvalidId"))
                {
                    int connector = payload["connectorId"]!.GetValue<int>();
                    if (_station.Snapshot(connector).Transaction?.Id == message.LocalTransaction)
                    {
                        _station.StopTransaction(connector, StopReason.DeAuthorized);
                    }
                }
            }
            else if (message.Action == "StopTransaction" && result?["idTagInfo"] is { } stopInfo)
            {
                Cache(payload["idTag"]!.GetValue<string>(), stopInfo);
            }
            Queue.Delivered(message, remoteId);
        }
        catch (OcppCallException e)
        {
            // the central system refused it: a few more attempts, further apart (TransactionMessageAttempts / RetryInterval)
            Queue.Failed(message);
            int attempts = message.Attempts + 1;
            if (attempts >= Configuration.Number("TransactionMessageAttempts"))
            {
                Log.GivenUp(_logger, message.Action, attempts, e.Message);
                Queue.Drop(message);
                return;
            }
            Log.Retry(_logger, message.Action, attempts, e.Message);
            await Task.Delay(TimeSpan.FromSeconds(Configuration.Number("TransactionMessageRetryInterval") * attempts), _time, ct).ConfigureAwait(false);
        }
        catch (OcppOfflineException)
        {
            // offline: kept, and sent after the reconnect (no attempt counted)
        }
    }
}
