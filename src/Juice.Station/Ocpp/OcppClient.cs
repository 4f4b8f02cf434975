using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
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
        if (_options.Proxy is { Length: > 0 } proxy)
        {
            ws.Options.Proxy = new System.Net.WebProxy(proxy);   // the manual's "Websockets proxy"
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
