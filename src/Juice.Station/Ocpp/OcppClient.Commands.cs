using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Juice.Station.Authorization;
using Juice.Station.Core;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Ocpp;

/// <summary>The central system's calls to the station, each answered with its CALLRESULT or a CALLERROR.</summary>
internal sealed partial class OcppClient
{
    // ---- the central system's calls ----

    private async Task AnswerAsync(OcppFrame call, CancellationToken ct)
    {
        JsonNode? result;
        string? errorCode = null, errorText = null;
        try
        {
            if (OcppShapes.Unsupported.Contains(call.Action!))
            {
                throw new OcppCallException(OcppErrorCode.NotSupported, $"{call.Action} is not supported by this station");
            }
            if (!OcppShapes.Requests.TryGetValue(call.Action!, out var shape))
            {
                throw new OcppCallException(OcppErrorCode.NotImplemented, $"unknown action {call.Action}");
            }
            if (shape.Check(call.Payload, call.Action!) is { } problem)
            {
                throw new OcppCallException(problem.Code, problem.Message);
            }
            result = await HandleAsync(call.Action!, call.Payload!.AsObject(), ct).ConfigureAwait(false);
            Log.Answered(_logger, call.Action!, result?.ToJsonString() ?? "{}");
        }
        catch (OcppCallException e)
        {
            (errorCode, errorText, result) = (e.Code, e.Description, null);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException or Microsoft.Data.Sqlite.SqliteException)
        {
            Log.HandlerFailed(_logger, call.Action ?? "?", e.Message);
            (errorCode, errorText, result) = (OcppErrorCode.InternalError, e.Message, null);
        }
        try
        {
            if (errorCode is not null)
            {
                Log.Refused(_logger, call.Action ?? "?", errorCode, errorText ?? "");
                await SendAsync(new OcppFrame(OcppFrame.CallError, call.Id, null, new JsonObject(), errorCode, errorText), ct).ConfigureAwait(false);
            }
            else
            {
                await SendAsync(new OcppFrame(OcppFrame.CallResult, call.Id, null, result ?? new JsonObject()), ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OcppOfflineException or OperationCanceledException)
        {
            Log.AnswerLost(_logger, call.Action ?? "?", e.Message);
        }
        if (call.Action == "Reset" && errorCode is null)
        {
            await ResetAsync(call.Payload!["type"]!.GetValue<string>()).ConfigureAwait(false);
        }
    }

    private bool ValidConnector(int id, bool allowZero) => (allowZero && id == 0) || (id >= 1 && id <= _station.Connectors.Count);

    private async Task<JsonNode?> HandleAsync(string action, JsonObject p, CancellationToken ct)
    {
        switch (action)
        {
            case "ChangeAvailability":
            {
                int connector = p["connectorId"]!.GetValue<int>();
                var type = p["type"]!.GetValue<string>() == "Operative" ? Availability.Operative : Availability.Inoperative;
                if (!ValidConnector(connector, allowZero: true))
                {
                    return Status("Rejected");
                }
                bool scheduled = false;
                foreach (var c in _station.Connectors.Where(c => connector == 0 || c.Id == connector))
                {
                    if (type == Availability.Inoperative && _station.Snapshot(c.Id).Transaction is not null)
                    {
                        _scheduledAvailability[c.Id] = type;   // after the transaction
                        scheduled = true;
                    }
                    else
                    {
                        _scheduledAvailability.TryRemove(c.Id, out _);
                        _station.SetAvailability(c.Id, type);
                    }
                }
                return Status(scheduled ? "Scheduled" : "Accepted");
            }
            case "ChangeConfiguration":
            {
                string key = p["key"]!.GetValue<string>();
                return Status(Configuration.Change(key, p["value"]!.GetValue<string>()).ToString());
            }
            case "GetConfiguration":
            {
                var requested = (p["key"] as JsonArray)?.Select(k => k!.GetValue<string>()).ToList();
                var known = new JsonArray();
                var unknown = new JsonArray();
                foreach (var name in requested ?? [.. Configuration.Keys.Select(k => k.Name)])
                {
                    if (Configuration.Find(name) is { } k)
                    {
                        known.Add(new JsonObject { ["key"] = k.Name, ["readonly"] = k.ReadOnly, ["value"] = Clip(k.Read(), 500) });
                    }
                    else
                    {
                        unknown.Add(name);
                    }
                }
                var answer = new JsonObject { ["configurationKey"] = known };
                if (unknown.Count > 0)
                {
                    answer["unknownKey"] = unknown;
                }
                return answer;
            }
            case "ClearCache":
                _whitelists.Clear(WhitelistName.OcppCache);
                return Status("Accepted");
            case "GetLocalListVersion":
                return new JsonObject { ["listVersion"] = Configuration.Flag("LocalAuthListEnabled") ? Configuration.LocalListVersion : -1 };
            case "SendLocalList":
                return SendLocalList(p);
            case "RemoteStartTransaction":
                return RemoteStart(p, ct);
            case "RemoteStopTransaction":
            {
                int remote = p["transactionId"]!.GetValue<int>();
                var local = Queue.LocalId(remote);
                var connector = _station.Connectors.FirstOrDefault(c => _station.Snapshot(c.Id).Transaction?.Id is { } id && id == local);
                return Status(connector is not null && _station.StopTransaction(connector.Id, StopReason.Remote) ? "Accepted" : "Rejected");
            }
            case "Reset":
                return Status("Accepted");
            case "UnlockConnector":
            {
                int connector = p["connectorId"]!.GetValue<int>();
                if (!ValidConnector(connector, allowZero: false))
                {
                    return Status("NotSupported");
                }
                _station.StopTransaction(connector, StopReason.UnlockCommand);
                return Status("Unlocked");   // the simulated cable lock opens at once
            }
            case "TriggerMessage":
                return Trigger(p, ct);
            case "SetChargingProfile":
            {
                int connector = p["connectorId"]!.GetValue<int>();
                var profile = ChargingProfiles.Read(p["csChargingProfiles"]!);
                int? active = ValidConnector(connector, allowZero: false) && _station.Snapshot(connector).Transaction is { } tx ? Queue.RemoteId(tx.Id) ?? -1 : null;
                if (Profiles.Problem(connector, profile, _station.Connectors.Count, active) is { } problem)
                {
                    Log.ProfileRefused(_logger, profile.ChargingProfileId, problem);
                    return Status("Rejected");
                }
                if (!Profiles.Install(connector, profile))
                {
                    return Status("Rejected");
                }
                ApplyProfiles();
                return Status("Accepted");
            }
            case "ClearChargingProfile":
            {
                int removed = Profiles.Clear((int?)p["id"], (int?)p["connectorId"], (string?)p["chargingProfilePurpose"], (int?)p["stackLevel"]);
                ApplyProfiles();
                return Status(removed > 0 ? "Accepted" : "Unknown");
            }
            case "GetCompositeSchedule":
            {
                int connector = p["connectorId"]!.GetValue<int>();
                if (!ValidConnector(connector, allowZero: true))
                {
                    return Status("Rejected");
                }
                string unit = (string?)p["chargingRateUnit"] ?? "A";
                var snapshot = connector == 0 ? null : _station.Snapshot(connector);
                var now = _time.GetUtcNow();
                var schedule = Profiles.Composite(connector, now, p["duration"]!.GetValue<int>(), unit, _stationOptions.MaxCurrent,
                    snapshot?.Transaction is not null, snapshot?.Transaction?.Start, Math.Max(1, _station.Connectors.Count(c => _station.Snapshot(c.Id).Transaction is not null)));
                var periods = new JsonArray([.. schedule.ChargingSchedulePeriod.Select(x =>
                {
                    var o = new JsonObject { ["startPeriod"] = x.StartPeriod, ["limit"] = x.Limit };
                    if (x.NumberPhases is { } n)
                    {
                        o["numberPhases"] = n;
                    }
                    return (JsonNode)o;
                })]);
                return new JsonObject
                {
                    ["status"] = "Accepted",
                    ["connectorId"] = connector,
                    ["scheduleStart"] = OcppTime.Format(now),
                    ["chargingSchedule"] = new JsonObject
                    {
                        ["duration"] = schedule.Duration,
                        ["startSchedule"] = OcppTime.Format(now),
                        ["chargingRateUnit"] = unit,
                        ["chargingSchedulePeriod"] = periods,
                    },
                };
            }
            case "DataTransfer":
            {
                string vendor = p["vendorId"]!.GetValue<string>();
                // the vendorId of a handler may follow a setting (the Plug & Charge dialect): looked up per call
                if (_dataTransfer.FirstOrDefault(h => h.VendorId == vendor) is not { } handler)
                {
                    return Status("UnknownVendorId");
                }
                var r = await handler.HandleAsync((string?)p["messageId"], (string?)p["data"], ct).ConfigureAwait(false);
                var answer = new JsonObject { ["status"] = r.Status };
                if (r.Data is not null)
                {
                    answer["data"] = r.Data;
                }
                return answer;
            }
            default:
                throw new OcppCallException(OcppErrorCode.NotImplemented, $"unknown action {action}");
        }
    }

    private static JsonObject Status(string status) => new() { ["status"] = status };

    /// <summary>SendLocalList: a full list replaces the OCPP whitelist; a differential one adds, changes and (without idTagInfo) removes.</summary>
    private JsonObject SendLocalList(JsonObject p)
    {
        if (!Configuration.Flag("LocalAuthListEnabled"))
        {
            return Status("NotSupported");
        }
        int version = p["listVersion"]!.GetValue<int>();
        bool full = p["updateType"]!.GetValue<string>() == "Full";
        var items = (p["localAuthorizationList"] as JsonArray) ?? [];
        if (items.Count > 1000)
        {
            return Status("Failed");
        }
        if (!full && version <= Configuration.LocalListVersion)
        {
            return Status("VersionMismatch");
        }
        var now = _time.GetUtcNow();
        var entries = new List<WhitelistEntry>();
        var removals = new List<string>();
        foreach (var item in items)
        {
            string idTag = item!["idTag"]!.GetValue<string>();
            if (item["idTagInfo"] is { } info)
            {
                entries.Add(new WhitelistEntry(idTag, WhitelistKind.Rfid, null, "", now, info["status"]!.GetValue<string>(), OcppTime.Parse(info["expiryDate"]), (string?)info["parentIdTag"]));
            }
            else if (full)
            {
                return Status("Failed");   // a full list needs idTagInfo for every entry
            }
            else
            {
                removals.Add(idTag);
            }
        }
        if (full && _whitelists.Count(WhitelistName.Ocpp) + 0 > 10_000)
        {
            return Status("Failed");
        }
        _whitelists.AddAll(WhitelistName.Ocpp, entries, replace: full);
        foreach (var id in removals)
        {
            _whitelists.Remove(WhitelistName.Ocpp, id);
        }
        Configuration.LocalListVersion = version;
        Log.LocalList(_logger, full ? "full" : "differential", version, entries.Count, removals.Count);
        return Status("Accepted");
    }

    private JsonObject RemoteStart(JsonObject p, CancellationToken ct)
    {
        string idTag = p["idTag"]!.GetValue<string>();
        int connector = (int?)p["connectorId"] ?? _station.Connectors.Select(c => _station.Snapshot(c.Id))
            .FirstOrDefault(s => s.Transaction is null && s.Status is ConnectorStatus.Available or ConnectorStatus.Preparing)?.Id ?? 0;
        if (!ValidConnector(connector, allowZero: false))
        {
            return Status("Rejected");
        }
        var s = _station.Snapshot(connector);
        if (s.Transaction is not null || s.Availability == Availability.Inoperative || s.Status == ConnectorStatus.Faulted)
        {
            return Status("Rejected");
        }
        if (p["chargingProfile"] is { } profileNode)
        {
            var profile = ChargingProfiles.Read(profileNode);
            if (profile.ChargingProfilePurpose != "TxProfile")
            {
                return Status("Rejected");
            }
            _remoteStartProfiles[connector] = profile;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                if (_settings.Current.SendAuthorizeForRemoteStart)
                {
                    var answer = await AuthorizeAsync(idTag, ct).ConfigureAwait(false);
                    if (answer.Verdict != BackendVerdict.Accepted)
                    {
                        Log.RemoteStartRefused(_logger, idTag, answer.Detail);
                        _remoteStartProfiles.TryRemove(connector, out _);
                        return;
                    }
                }
                _station.AuthorizeRemote(connector, new IdToken(idTag, IdSource.Remote));
            }
            catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
            {
                Log.RemoteStartRefused(_logger, idTag, e.Message);
            }
        }, CancellationToken.None);
        return Status("Accepted");
    }

    private JsonObject Trigger(JsonObject p, CancellationToken ct)
    {
        string requested = p["requestedMessage"]!.GetValue<string>();
        int? connector = (int?)p["connectorId"];
        if (connector is { } c && !ValidConnector(c, allowZero: true))
        {
            return Status("Rejected");
        }
        _ = Task.Run(async () =>
        {
            await Task.Delay(50, ct).ConfigureAwait(false);   // the answer to TriggerMessage goes first
            try
            {
                switch (requested)
                {
                    case "BootNotification":
                        var boot = await CallAsync("BootNotification", BootPayload(), ct, requireAccepted: false).ConfigureAwait(false);
                        _registration = boot!["status"]!.GetValue<string>();
                        _accepted = _registration == "Accepted";
                        break;
                    case "Heartbeat":
                        await CallAsync("Heartbeat", [], ct).ConfigureAwait(false);
                        break;
                    case "StatusNotification":
                        foreach (var s in _station.Connectors.Where(x => connector is null or 0 || x.Id == connector).Select(x => _station.Snapshot(x.Id)))
                        {
                            var (status, code, info) = StatusOf(s);
                            await ReportAsync(s.Id, status, code, info, ct, force: true).ConfigureAwait(false);
                        }
                        if (connector is null or 0)
                        {
                            await ReportAsync(0, ConnectorStatus.Available, "NoError", null, ct, force: true).ConfigureAwait(false);
                        }
                        break;
                    case "MeterValues":
                        foreach (var s in _station.Connectors.Where(x => connector is null or 0 || x.Id == connector).Select(x => _station.Snapshot(x.Id)))
                        {
                            // the transaction id only once the central system has given one
                            int? remote = s.Transaction is { } tx ? Queue.RemoteId(tx.Id) : null;
                            var payload = MeterValues(s, "Trigger", Configuration.List("MeterValuesSampledData"), withTransaction: false);
                            if (remote is { } id)
                            {
                                payload["transactionId"] = id;
                            }
                            await CallAsync("MeterValues", payload, ct).ConfigureAwait(false);
                        }
                        break;
                    case "DiagnosticsStatusNotification":
                        await CallAsync("DiagnosticsStatusNotification", Status("Idle"), ct).ConfigureAwait(false);
                        break;
                    case "FirmwareStatusNotification":
                        await CallAsync("FirmwareStatusNotification", Status("Idle"), ct).ConfigureAwait(false);
                        break;
                }
            }
            catch (Exception e) when (e is OcppOfflineException or OcppCallException or OperationCanceledException)
            {
                Log.TriggerFailed(_logger, requested, e.Message);
            }
        }, CancellationToken.None);
        return Status("Accepted");
    }

    /// <summary>Reset: transactions stop (SoftReset / HardReset), then the connection starts over with a new BootNotification.</summary>
    private async Task ResetAsync(string type)
    {
        var reason = type == "Hard" ? StopReason.HardReset : StopReason.SoftReset;
        foreach (var c in _station.Connectors)
        {
            _station.StopTransaction(c.Id, reason);
        }
        Log.Reset(_logger, type);
        await Task.Delay(TimeSpan.FromMilliseconds(500), _time).ConfigureAwait(false);   // the stop messages are queued; the answer has gone
        var ws = _ws;
        if (ws is not null)
        {
            try
            {
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "reset", CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
            {
            }
            _connection?.Cancel();
        }
    }
}
