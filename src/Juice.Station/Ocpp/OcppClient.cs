using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Juice.Station.Authorization;
using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station.Ocpp;

/// <summary>The answer of a DataTransfer (OCPP 1.6 DataTransferStatus and the data string).</summary>
public sealed record DataTransferResult(string Status, string? Data = null);

/// <summary>Answers the central system's DataTransfer calls of one vendorId (the Plug &amp; Charge dialects register here).</summary>
public interface IDataTransferHandler
{
    string VendorId { get; }

    Task<DataTransferResult> HandleAsync(string? messageId, string? data, CancellationToken cancellationToken);
}

/// <summary>What the rest of the station may ask of the backend connection.</summary>
public interface IOcppBackend
{
    bool Online { get; }

    /// <summary>A DataTransfer to the central system; throws <see cref="OcppOfflineException"/> or <see cref="OcppCallException"/>.</summary>
    Task<DataTransferResult> DataTransferAsync(string vendorId, string? messageId, string? data, CancellationToken cancellationToken);
}

/// <summary>Connection state for the operator (BACKEND page).</summary>
public sealed record OcppState(bool Enabled, bool Connected, string Registration, DateTimeOffset? Since, string? LastError, int QueuedMessages);

/// <summary>
/// The station as an OCPP 1.6J charge point (OCPP 1.6 edition 2 with the JSON transport): a WebSocket with the
/// subprotocol ocpp1.6 to {Ocpp:Url}/{ChargeBoxId}, HTTP Basic authentication, ws or wss; BootNotification (and
/// its Pending and Rejected paths), Heartbeat, StatusNotification for every status change, Authorize,
/// StartTransaction/StopTransaction/MeterValues through the persistent <see cref="TransactionQueue"/>, and every
/// call of the central system answered with its CALLRESULT or a CALLERROR. It reconnects with exponential backoff
/// and jitter. One call of its own is in flight at a time (OCPP-J §4.1.1).
/// </summary>
internal sealed partial class OcppClient : BackgroundService, IBackendAuthorizer, IOcppBackend
{
    private readonly OcppOptions _options;
    private readonly StationOptions _stationOptions;
    private readonly ChargingStation _station;
    private readonly SettingsStore _settings;
    private readonly WhitelistStore _whitelists;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<IDataTransferHandler> _dataTransfer;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly SemaphoreSlim _callGate = new(1, 1);
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly SemaphoreSlim _queueSignal = new(0);
    private readonly SemaphoreSlim _statusSignal = new(0);
    private readonly ConcurrentDictionary<int, (ConnectorStatus Status, string ErrorCode)> _reported = new();
    private readonly ConcurrentDictionary<int, Availability> _scheduledAvailability = new();
    private readonly ConcurrentDictionary<int, ChargingProfile> _remoteStartProfiles = new();
    private readonly Dictionary<int, double?> _appliedLimits = [];
    private ClientWebSocket? _ws;
    private volatile bool _connected;
    private volatile bool _accepted;
    private string _registration = "Disconnected";
    private DateTimeOffset? _since;
    private string? _lastError;
    private CancellationTokenSource? _connection;

    public OcppClient(IOptions<OcppOptions> options, IOptions<StationOptions> stationOptions, ChargingStation station, SettingsStore settings, WhitelistStore whitelists,
        StationDatabase db, OcppConfiguration configuration, TransactionQueue queue, BackendLink link, TimeProvider time, ILogger<OcppClient> logger,
        IEnumerable<IDataTransferHandler> dataTransfer)
    {
        _options = options.Value;
        _stationOptions = stationOptions.Value;
        _station = station;
        _settings = settings;
        _whitelists = whitelists;
        _time = time;
        _logger = logger;
        _dataTransfer = [.. dataTransfer];
        Configuration = configuration;
        Queue = queue;
        Profiles = new ChargingProfiles(db, _stationOptions.NominalVoltage, _stationOptions.Phases);
        if (_options.Enabled)
        {
            link.Backend = this;
        }
    }

    public OcppConfiguration Configuration { get; }

    public TransactionQueue Queue { get; }

    public ChargingProfiles Profiles { get; }

    public bool Configured => _options.Enabled;

    public bool Online => _connected && _accepted;

    public BackendPolicy Policy => new(Configuration.Flag("LocalAuthListEnabled"), Configuration.Flag("AuthorizationCacheEnabled"),
        Configuration.Flag("LocalPreAuthorize"), Configuration.Flag("LocalAuthorizeOffline"), Configuration.Flag("AllowOfflineTxForUnknownId"),
        Configuration.Flag("ContractValidationOffline"), Configuration.Flag("CentralContractValidationAllowed"));

    public OcppState State => new(_options.Enabled, _connected, _registration, _since, _lastError, _options.Enabled ? Queue.Count : 0);

    // ---- lifetime ----

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            Log.Off(_logger);
            return;
        }
        _station.Changed += OnChanged;
        _station.TransactionStarted += OnTransactionStarted;
        _station.SessionFinished += OnSessionFinished;
        Queue.Enqueued += () => _queueSignal.Release();
        var loops = new[]
        {
            Task.Run(() => QueuePumpAsync(stoppingToken), CancellationToken.None),
            Task.Run(() => StatusLoopAsync(stoppingToken), CancellationToken.None),
            Task.Run(() => HeartbeatLoopAsync(stoppingToken), CancellationToken.None),
            Task.Run(() => SamplingLoopAsync(stoppingToken), CancellationToken.None),
            Task.Run(() => SmartChargingLoopAsync(stoppingToken), CancellationToken.None),
        };
        int attempt = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ConnectAsync(stoppingToken).ConfigureAwait(false);
                attempt = 0;
                await RunConnectionAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException or OperationCanceledException or OcppCallException or OcppOfflineException or InvalidOperationException)
            {
                _lastError = e.Message;
                Log.ConnectionFailed(_logger, _options.Endpoint.ToString(), e.Message);
            }
            Disconnected();
            var delay = Backoff(attempt++);
            Log.Reconnecting(_logger, delay.TotalSeconds);
            try
            {
                await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        Disconnected();
        _station.Changed -= OnChanged;
        _station.TransactionStarted -= OnTransactionStarted;
        _station.SessionFinished -= OnSessionFinished;
        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    /// <summary>Exponential backoff from the minimum to the maximum, with ±50 % jitter so that stations do not reconnect in step.</summary>
    private TimeSpan Backoff(int attempt)
    {
        double seconds = Math.Min(_options.ReconnectMaxSeconds, _options.ReconnectMinSeconds * Math.Pow(2, Math.Min(attempt, 16)));
        return TimeSpan.FromSeconds(seconds * (0.5 + Random.Shared.NextDouble()));
    }

    private async Task ConnectAsync(CancellationToken ct)
    {
        var ws = new ClientWebSocket();
        ws.Options.AddSubProtocol("ocpp1.6");
        int ping = Configuration.Number("WebSocketPingInterval");
        ws.Options.KeepAliveInterval = ping > 0 ? TimeSpan.FromSeconds(ping) : Timeout.InfiniteTimeSpan;
        if (!string.IsNullOrEmpty(_options.Password))
        {
            // OCPP-J security profile 1/2: HTTP Basic with the charge box identity as the user
            string basic = Convert.ToBase64String(Encoding.UTF8.GetBytes(_options.ChargeBoxId + ":" + _options.Password));
            ws.Options.SetRequestHeader("Authorization", "Basic " + basic);
        }
        if (_options.Endpoint.Scheme == "wss")
        {
            ws.Options.RemoteCertificateValidationCallback = ValidateServerCertificate;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds));
        try
        {
            await ws.ConnectAsync(_options.Endpoint, timeout.Token).ConfigureAwait(false);
        }
        catch
        {
            ws.Dispose();
            throw;
        }
        if (ws.SubProtocol != "ocpp1.6")
        {
            ws.Dispose();
            throw new InvalidOperationException($"the central system did not agree on the subprotocol ocpp1.6 (it chose '{ws.SubProtocol}')");
        }
        _ws = ws;
        _connected = true;
        _since = _time.GetUtcNow();
        _registration = "Connected";
        Log.Connected(_logger, _options.Endpoint.ToString());
    }

    /// <summary>wss: strict checks the chain (system roots plus Ocpp:TrustedCertificate) and the host name; not strict accepts any.</summary>
    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (!_options.TlsStrict)
        {
            if (errors != SslPolicyErrors.None)
            {
                Log.TlsNotStrict(_logger, errors.ToString());
            }
            return true;
        }
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (certificate is not null && _options.TrustedCertificate is { Length: > 0 } path && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0)
        {
            using var trusted = X509CertificateLoader.LoadCertificateFromFile(path);
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.Add(trusted);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var leaf = new X509Certificate2(certificate);
            if (custom.Build(leaf) || leaf.Thumbprint == trusted.Thumbprint)
            {
                return true;
            }
        }
        Log.TlsRefused(_logger, errors.ToString());
        return false;
    }

    private async Task RunConnectionAsync(CancellationToken ct)
    {
        using var connection = _connection = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var receive = Task.Run(() => ReceiveLoopAsync(connection.Token), CancellationToken.None);
        var boot = Task.Run(() => BootLoopAsync(connection.Token), CancellationToken.None);
        await receive.ConfigureAwait(false);
        await connection.CancelAsync().ConfigureAwait(false);
        try
        {
            await boot.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or OcppOfflineException or WebSocketException)
        {
        }
    }

    private void Disconnected()
    {
        _connected = false;
        _accepted = false;
        _registration = "Disconnected";
        foreach (var (_, pending) in _pending)
        {
            pending.TrySetException(new OcppOfflineException("the connection to the central system was lost"));
        }
        _pending.Clear();
        _reported.Clear();
        var ws = _ws;
        _ws = null;
        ws?.Dispose();
    }

    /// <summary>BootNotification until the central system accepts; Pending and Rejected are repeated after its interval.</summary>
    private async Task BootLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var result = await CallAsync("BootNotification", BootPayload(), ct, requireAccepted: false).ConfigureAwait(false);
            string status = result!["status"]!.GetValue<string>();
            int interval = result["interval"]!.GetValue<int>();
            _registration = status;
            Log.Boot(_logger, status, interval);
            if (status == "Accepted")
            {
                if (interval > 0)
                {
                    Configuration.Change("HeartbeatInterval", interval.ToString(CultureInfo.InvariantCulture));
                }
                _accepted = true;
                _statusSignal.Release();
                _queueSignal.Release();
                return;
            }
            // Pending: the central system may configure the station meanwhile; Rejected: no other message is sent
            await Task.Delay(TimeSpan.FromSeconds(interval > 0 ? interval : _options.HeartbeatSeconds), _time, ct).ConfigureAwait(false);
        }
    }

    private JsonObject BootPayload()
    {
        var p = new JsonObject
        {
            ["chargePointVendor"] = Clip(_stationOptions.Vendor, 20),
            ["chargePointModel"] = Clip(_stationOptions.Model, 20),
            ["chargePointSerialNumber"] = Clip(_stationOptions.SerialNumber, 25),
            ["chargeBoxSerialNumber"] = Clip(_stationOptions.SerialNumber, 25),
            ["firmwareVersion"] = Clip("juice-" + (typeof(OcppClient).Assembly.GetName().Version?.ToString(3) ?? "0"), 50),
            ["meterType"] = "simulated",
            ["meterSerialNumber"] = Clip(_station.Snapshot(1).Meter.MeterId, 25),
        };
        return p;
    }

    private static string Clip(string s, int max) => s.Length <= max ? s : s[..max];

    // ---- framing ----

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        var ws = _ws!;
        var buffer = new byte[16 * 1024];
        var message = new MemoryStream();
        while (!ct.IsCancellationRequested && ws.State == WebSocketState.Open)
        {
            message.SetLength(0);
            bool oversize = false;
            WebSocketReceiveResult result;
            do
            {
                try
                {
                    result = await ws.ReceiveAsync(buffer, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
                {
                    _lastError = e.Message;
                    return;
                }
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Log.Closed(_logger, result.CloseStatus?.ToString() ?? "none", result.CloseStatusDescription ?? "");
                    try
                    {
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is WebSocketException or IOException)
                    {
                    }
                    return;
                }
                if (message.Length + result.Count > _options.MaxMessageBytes)
                {
                    oversize = true;   // read the rest and drop it: the connection survives
                }
                else
                {
                    message.Write(buffer, 0, result.Count);
                }
            }
            while (!result.EndOfMessage);
            if (oversize)
            {
                Log.Oversize(_logger, _options.MaxMessageBytes);
                continue;
            }
            if (result.MessageType != WebSocketMessageType.Text)
            {
                Log.Dropped(_logger, "a binary message (OCPP-J uses text frames)");
                continue;
            }
            string text;
            try
            {
                text = new UTF8Encoding(false, true).GetString(message.GetBuffer(), 0, (int)message.Length);
            }
            catch (DecoderFallbackException)
            {
                Log.Dropped(_logger, "text that is not UTF-8");
                continue;
            }
            Dispatch(text, ct);
        }
    }

    private void Dispatch(string text, CancellationToken ct)
    {
        var frame = OcppFrame.Parse(text, out string? error);
        if (frame is null)
        {
            Log.Dropped(_logger, error!);   // no message id to answer: dropped with a log line
            return;
        }
        switch (frame.Type)
        {
            case OcppFrame.Call when error is not null:
                _ = SendAsync(new OcppFrame(OcppFrame.CallError, frame.Id, null, new JsonObject(), OcppErrorCode.FormationViolation, error), ct);
                break;
            case OcppFrame.Call:
                _ = Task.Run(() => AnswerAsync(frame, ct), CancellationToken.None);
                break;
            case OcppFrame.CallResult when _pending.TryRemove(frame.Id, out var tcs):
                tcs.TrySetResult(frame.Payload);
                break;
            case OcppFrame.CallError when _pending.TryRemove(frame.Id, out var tcs):
                tcs.TrySetException(new OcppCallException(frame.ErrorCode ?? OcppErrorCode.GenericError, frame.ErrorDescription ?? "", frame.Payload));
                break;
            default:
                Log.Dropped(_logger, $"an answer to an unknown call {frame.Id}");
                break;
        }
    }

    private async Task SendAsync(OcppFrame frame, CancellationToken ct)
    {
        var ws = _ws ?? throw new OcppOfflineException("not connected to the central system");
        byte[] bytes = Encoding.UTF8.GetBytes(frame.Serialize());
        await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await ws.SendAsync(bytes, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            throw new OcppOfflineException("sending to the central system failed: " + e.Message);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>One call to the central system; its answer (checked against the response's shape) or an exception.</summary>
    private async Task<JsonNode?> CallAsync(string action, JsonObject payload, CancellationToken ct, bool requireAccepted = true)
    {
        if (!_connected || (requireAccepted && !_accepted))
        {
            throw new OcppOfflineException(_connected ? $"the central system has not accepted the station ({_registration})" : "not connected to the central system");
        }
        await _callGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            string id = Guid.NewGuid().ToString("N");
            var tcs = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[id] = tcs;
            await SendAsync(new OcppFrame(OcppFrame.Call, id, action, payload), ct).ConfigureAwait(false);
            JsonNode? result;
            try
            {
                result = await tcs.Task.WaitAsync(TimeSpan.FromSeconds(_options.CallTimeoutSeconds), _time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _pending.TryRemove(id, out _);
                throw new OcppOfflineException($"no answer to {action} within {_options.CallTimeoutSeconds} s");
            }
            if (OcppShapes.Responses.TryGetValue(action, out var shape) && shape.Check(result, action + ".conf") is { } problem)
            {
                Log.BadAnswer(_logger, action, problem.Message);
                throw new OcppCallException(problem.Code, "the central system's answer does not fit its schema: " + problem.Message);
            }
            return result;
        }
        finally
        {
            _callGate.Release();
        }
    }

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
                    Add(measurand, s.SignalledCurrentA * _stationOptions.Phases * _stationOptions.NominalVoltage, "W");
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

    // ---- IOcppBackend ----

    public async Task<DataTransferResult> DataTransferAsync(string vendorId, string? messageId, string? data, CancellationToken cancellationToken)
    {
        var payload = new JsonObject { ["vendorId"] = vendorId };
        if (messageId is not null)
        {
            payload["messageId"] = messageId;
        }
        if (data is not null)
        {
            payload["data"] = data;
        }
        var result = await CallAsync("DataTransfer", payload, cancellationToken).ConfigureAwait(false);
        return new DataTransferResult(result!["status"]!.GetValue<string>(), (string?)result["data"]);
    }

    public override void Dispose()
    {
        _ws?.Dispose();
        _callGate.Dispose();
        _sendLock.Dispose();
        _queueSignal.Dispose();
        _statusSignal.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "OCPP is off (no Ocpp:Url)")]
        public static partial void Off(ILogger logger);

        [LoggerMessage(2, LogLevel.Information, "OCPP connected to {Endpoint}")]
        public static partial void Connected(ILogger logger, string endpoint);

        [LoggerMessage(3, LogLevel.Warning, "OCPP connection to {Endpoint} failed or ended: {Reason}")]
        public static partial void ConnectionFailed(ILogger logger, string endpoint, string reason);

        [LoggerMessage(4, LogLevel.Information, "OCPP: reconnecting in {Seconds:0.0} s")]
        public static partial void Reconnecting(ILogger logger, double seconds);

        [LoggerMessage(5, LogLevel.Information, "OCPP BootNotification: {Status}, interval {Interval} s")]
        public static partial void Boot(ILogger logger, string status, int interval);

        [LoggerMessage(6, LogLevel.Warning, "OCPP: dropped a message from the central system: {Reason}")]
        public static partial void Dropped(ILogger logger, string reason);

        [LoggerMessage(7, LogLevel.Warning, "OCPP: dropped a message larger than {Max} bytes")]
        public static partial void Oversize(ILogger logger, int max);

        [LoggerMessage(8, LogLevel.Warning, "OCPP: {Action} refused with {Code}: {Reason}")]
        public static partial void Refused(ILogger logger, string action, string code, string reason);

        [LoggerMessage(9, LogLevel.Error, "OCPP: handling {Action} failed: {Reason}")]
        public static partial void HandlerFailed(ILogger logger, string action, string reason);

        [LoggerMessage(10, LogLevel.Warning, "OCPP: the answer to {Action} was lost: {Reason}")]
        public static partial void AnswerLost(ILogger logger, string action, string reason);

        [LoggerMessage(11, LogLevel.Warning, "OCPP: the answer to {Action} does not fit its schema: {Reason}")]
        public static partial void BadAnswer(ILogger logger, string action, string reason);

        [LoggerMessage(12, LogLevel.Information, "OCPP: StatusNotification not sent: {Reason}")]
        public static partial void StatusFailed(ILogger logger, string reason);

        [LoggerMessage(13, LogLevel.Warning, "OCPP: {Action} of transaction {Local} has no transaction id of the central system: dropped")]
        public static partial void Orphan(ILogger logger, string action, long local);

        [LoggerMessage(14, LogLevel.Information, "OCPP: transaction {Local} is {Remote} at the central system, idTagInfo {Status}")]
        public static partial void TransactionAccepted(ILogger logger, long local, int remote, string status);

        [LoggerMessage(15, LogLevel.Error, "OCPP: {Action} given up after {Attempts} attempts: {Reason}")]
        public static partial void GivenUp(ILogger logger, string action, int attempts, string reason);

        [LoggerMessage(16, LogLevel.Warning, "OCPP: {Action} refused (attempt {Attempts}), trying again: {Reason}")]
        public static partial void Retry(ILogger logger, string action, int attempts, string reason);

        [LoggerMessage(17, LogLevel.Error, "OCPP: the transaction queue failed: {Reason}")]
        public static partial void QueueFailed(ILogger logger, string reason);

        [LoggerMessage(18, LogLevel.Information, "OCPP: Heartbeat not sent: {Reason}")]
        public static partial void HeartbeatFailed(ILogger logger, string reason);

        [LoggerMessage(19, LogLevel.Information, "OCPP: MeterValues not sent: {Reason}")]
        public static partial void MeterValuesFailed(ILogger logger, string reason);

        [LoggerMessage(20, LogLevel.Information, "OCPP: charging profiles give connector {Connector} {Limit}")]
        public static partial void ProfileLimit(ILogger logger, int connector, string limit);

        [LoggerMessage(21, LogLevel.Warning, "OCPP: charging profile {Id} refused: {Reason}")]
        public static partial void ProfileRefused(ILogger logger, int id, string reason);

        [LoggerMessage(22, LogLevel.Information, "OCPP: local list ({Kind}) version {Version}: {Added} entries set, {Removed} removed")]
        public static partial void LocalList(ILogger logger, string kind, int version, int added, int removed);

        [LoggerMessage(23, LogLevel.Information, "OCPP: RemoteStartTransaction for {IdTag} not started: {Reason}")]
        public static partial void RemoteStartRefused(ILogger logger, string idTag, string reason);

        [LoggerMessage(24, LogLevel.Warning, "OCPP: TriggerMessage {Message} failed: {Reason}")]
        public static partial void TriggerFailed(ILogger logger, string message, string reason);

        [LoggerMessage(25, LogLevel.Warning, "OCPP: {Type} reset: transactions stopped, the connection starts over")]
        public static partial void Reset(ILogger logger, string type);

        [LoggerMessage(26, LogLevel.Information, "OCPP: the central system closed the connection ({Status} {Description})")]
        public static partial void Closed(ILogger logger, string status, string description);

        [LoggerMessage(27, LogLevel.Warning, "OCPP: TLS not strict: accepting a server certificate with {Errors}")]
        public static partial void TlsNotStrict(ILogger logger, string errors);

        [LoggerMessage(28, LogLevel.Error, "OCPP: the central system's certificate is refused ({Errors}); set Ocpp:TrustedCertificate or Ocpp:TlsStrict=false")]
        public static partial void TlsRefused(ILogger logger, string errors);

        [LoggerMessage(29, LogLevel.Debug, "OCPP: answered {Action}: {Result}")]
        public static partial void Answered(ILogger logger, string action, string result);
    }
}
