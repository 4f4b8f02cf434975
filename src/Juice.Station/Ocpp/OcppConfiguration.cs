using System.Globalization;
using System.Text.Json;
using Juice.Station.Core;
using Juice.Station.Persistence;

namespace Juice.Station.Ocpp;

/// <summary>The backend connection (configuration section <c>Ocpp</c>; OCPP is off without a URL).</summary>
public sealed class OcppOptions
{
    public const string Section = "Ocpp";

    /// <summary>The central system's URL (ws:// or wss://); the charge box identity is appended as the last path segment.</summary>
    public string? Url { get; set; }

    /// <summary>The charge box identity (OCPP-J: the last path segment and the Basic authentication user).</summary>
    public string ChargeBoxId { get; set; } = "JUICE0000001";

    /// <summary>Password of HTTP Basic authentication (OCPP security profile 1/2); none: no Authorization header.</summary>
    public string? Password { get; set; }

    /// <summary>An http:// proxy the WebSocket to the central system goes through (HTTP CONNECT); none: direct.</summary>
    public string? Proxy { get; set; }

    /// <summary>Keep-alive: seconds between WebSocket pings (OCPP key WebSocketPingInterval; 0: off).</summary>
    public int KeepAliveSeconds { get; set; } = 30;

    /// <summary>Heartbeat interval until the central system sets one in BootNotification.conf.</summary>
    public int HeartbeatSeconds { get; set; } = 300;

    /// <summary>Seconds to establish the WebSocket connection.</summary>
    public int ConnectTimeoutSeconds { get; set; } = 30;

    /// <summary>Seconds to wait for the answer to a call.</summary>
    public int CallTimeoutSeconds { get; set; } = 30;

    /// <summary>Attempts for a transaction message the central system answers with a CALLERROR (OCPP TransactionMessageAttempts).</summary>
    public int TransactionMessageAttempts { get; set; } = 3;

    /// <summary>Seconds between those attempts, multiplied by the attempt (OCPP TransactionMessageRetryInterval).</summary>
    public int TransactionMessageRetrySeconds { get; set; } = 20;

    /// <summary>TLS strictness: true checks the server's certificate chain and name; false accepts any certificate.</summary>
    public bool TlsStrict { get; set; } = true;

    /// <summary>A PEM certificate (the central system's, or its CA) trusted in addition to the system's roots.</summary>
    public string? TrustedCertificate { get; set; }

    public int ReconnectMinSeconds { get; set; } = 2;

    public int ReconnectMaxSeconds { get; set; } = 300;

    /// <summary>Largest message accepted from the central system; a larger one is dropped with a log line.</summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    public bool Enabled => !string.IsNullOrWhiteSpace(Url);

    public Uri Endpoint => new(Url!.TrimEnd('/') + "/" + Uri.EscapeDataString(ChargeBoxId));

    public IEnumerable<string> Validate()
    {
        if (!Enabled)
        {
            yield break;
        }
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var u) || u.Scheme is not ("ws" or "wss"))
        {
            yield return $"Ocpp:Url '{Url}' must be a ws:// or wss:// URL";
        }
        if (string.IsNullOrWhiteSpace(ChargeBoxId) || ChargeBoxId.Length > 48)
        {
            yield return "Ocpp:ChargeBoxId must be 1 to 48 characters";
        }
        if (TransactionMessageAttempts is < 1 or > 20)
        {
            yield return "Ocpp:TransactionMessageAttempts must be 1 to 20";
        }
        if (TrustedCertificate is { Length: > 0 } path && !File.Exists(path))
        {
            yield return $"Ocpp:TrustedCertificate '{path}' does not exist";
        }
    }
}

/// <summary>The result of ChangeConfiguration (OCPP 1.6 ConfigurationStatus).</summary>
public enum ConfigurationStatus
{
    Accepted,
    Rejected,
    RebootRequired,
    NotSupported,
}

/// <summary>
/// The OCPP configuration keys (GetConfiguration / ChangeConfiguration): the standard keys of the profiles offered
/// (Core, LocalAuthListManagement, SmartCharging, RemoteTrigger) and the station's own. Keys that mirror an operator
/// setting (AuthorizeRemoteTxRequests, ConnectionTimeOut, AutoChargeEnabled, …) read and write that setting; the
/// others are kept in the database.
/// </summary>
public sealed class OcppConfiguration
{
    private const string StoreKey = "ocpp.configuration";
    public const string MeasurandsSupported = "Energy.Active.Import.Register,Power.Active.Import,Power.Offered,Current.Import,Current.Offered,Voltage,SoC";

    private readonly StationDatabase _db;
    private readonly SettingsStore _settings;
    private readonly OcppOptions _options;
    private readonly StationOptions _station;
    private readonly object _gate = new();
    private System.Collections.Concurrent.ConcurrentDictionary<string, string>? _loaded;
    private readonly List<Key> _keys;

    /// <summary>One key: its name, whether it is read-only, how it reads and how it takes a new value.</summary>
    public sealed record Key(string Name, bool ReadOnly, Func<string> Read, Func<string, ConfigurationStatus>? Write = null);

    public OcppConfiguration(StationDatabase db, SettingsStore settings, OcppOptions options, StationOptions station)
    {
        _db = db;
        _settings = settings;
        _options = options;
        _station = station;
        _keys =
        [
            Stored("AllowOfflineTxForUnknownId", "false", Boolean),
            Stored("AuthorizationCacheEnabled", "true", Boolean),
            Setting("AuthorizeRemoteTxRequests", s => Bool(s.SendAuthorizeForRemoteStart), (s, v) => s with { SendAuthorizeForRemoteStart = bool.Parse(v) }, Boolean),
            Stored("ClockAlignedDataInterval", "0", v => Int(v, 0, 86_400)),
            Setting("ConnectionTimeOut", s => s.VehicleConnectionTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
                (s, v) => s with { VehicleConnectionTimeoutSeconds = int.Parse(v, CultureInfo.InvariantCulture) }, v => Int(v, 1, 3600)),
            ReadOnly("ConnectorPhaseRotation", () => "Unknown"),
            ReadOnly("GetConfigurationMaxKeys", () => "50"),
            Stored("HeartbeatInterval", _options.HeartbeatSeconds.ToString(CultureInfo.InvariantCulture), v => Int(v, 1, 86_400)),
            Stored("LocalAuthorizeOffline", "true", Boolean),
            Stored("LocalPreAuthorize", "false", Boolean),
            Stored("MeterValuesAlignedData", "Energy.Active.Import.Register", Measurands),
            Stored("MeterValuesSampledData", "Energy.Active.Import.Register,Power.Active.Import,Current.Offered", Measurands),
            Stored("MeterValueSampleInterval", "60", v => Int(v, 0, 86_400)),
            ReadOnly("NumberOfConnectors", () => _station.Connectors.ToString(CultureInfo.InvariantCulture)),
            Stored("ResetRetries", "1", v => Int(v, 0, 10)),
            Stored("StopTransactionOnEVSideDisconnect", "true", v => v == "true" ? null : "this station always stops a transaction when the cable is unplugged"),
            Stored("StopTransactionOnInvalidId", "true", Boolean),
            Stored("StopTxnAlignedData", "", Measurands),
            Stored("StopTxnSampledData", "Energy.Active.Import.Register", Measurands),
            ReadOnly("SupportedFeatureProfiles", () => "Core,LocalAuthListManagement,SmartCharging,RemoteTrigger"),
            ReadOnly("SupportedFeatureProfilesMaxLength", () => "4"),
            Stored("TransactionMessageAttempts", _options.TransactionMessageAttempts.ToString(CultureInfo.InvariantCulture), v => Int(v, 1, 20)),
            Stored("TransactionMessageRetryInterval", _options.TransactionMessageRetrySeconds.ToString(CultureInfo.InvariantCulture), v => Int(v, 1, 3600)),
            Stored("UnlockConnectorOnEVSideDisconnect", "true", Boolean),
            Stored("WebSocketPingInterval", _options.KeepAliveSeconds.ToString(CultureInfo.InvariantCulture), v => Int(v, 0, 3600)),
            Stored("LocalAuthListEnabled", "true", Boolean),
            ReadOnly("LocalAuthListMaxLength", () => "10000"),
            ReadOnly("SendLocalListMaxLength", () => "1000"),
            ReadOnly("ChargeProfileMaxStackLevel", () => "10"),
            ReadOnly("ChargingScheduleAllowedChargingRateUnit", () => "Current,Power"),
            ReadOnly("ChargingScheduleMaxPeriods", () => "24"),
            ReadOnly("MaxChargingProfilesInstalled", () => "20"),
            ReadOnly("MeterValuesSupportedMeasurands", () => MeasurandsSupported),
            // the ISO 15118 extension (the keys of the OCA application note and libocpp's PnC profile)
            Setting("ISO15118PnCEnabled", s => Bool(s.Iso15118 == Iso15118Mode.OnWithPlugAndCharge),
                (s, v) => s with { Iso15118 = bool.Parse(v) ? Iso15118Mode.OnWithPlugAndCharge : s.Iso15118 == Iso15118Mode.Off ? Iso15118Mode.Off : Iso15118Mode.On }, Boolean),
            Stored("CentralContractValidationAllowed", "true", Boolean),
            Stored("ContractValidationOffline", "true", Boolean),
            Stored("CertSigningWaitMinimum", "60", v => Int(v, 1, 86_400)),
            Stored("CertSigningRepeatTimes", "3", v => Int(v, 0, 100)),
            // the station's own: Autocharge (the name Monta proposed for OCPP 1.6) and its idTag prefix
            Setting("AutoChargeEnabled", s => Bool(s.Autocharge), (s, v) => s with { Autocharge = bool.Parse(v) }, Boolean),
            Setting("AutoChargeIdTagPrefix", s => s.AutochargePrefix, (s, v) => s with { AutochargePrefix = v }, v => v.Length <= 8 && !v.Any(char.IsWhiteSpace) ? null : "at most 8 characters, no spaces"),
            Setting("FreeChargingEnabled", s => Bool(s.FreeCharging), (s, v) => s with { FreeCharging = bool.Parse(v) }, Boolean),
        ];
    }

    public IReadOnlyList<Key> Keys => _keys;

    public Key? Find(string name) => _keys.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.OrdinalIgnoreCase));

    public ConfigurationStatus Change(string name, string value) => Find(name) switch
    {
        null => ConfigurationStatus.NotSupported,
        { ReadOnly: true } => ConfigurationStatus.Rejected,
        { } key => key.Write!(value),
    };

    public string Value(string name) => Find(name)!.Read();

    public bool Flag(string name) => Value(name) == "true";

    public int Number(string name) => int.Parse(Value(name), CultureInfo.InvariantCulture);

    public IReadOnlyList<string> List(string name) => [.. Value(name).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static string Bool(bool b) => b ? "true" : "false";

    private static string? Boolean(string v) => v is "true" or "false" ? null : "true or false";

    private static string? Int(string v, int min, int max) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max ? null : $"an integer from {min} to {max}";

    private static string? Measurands(string v) =>
        v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).All(m => MeasurandsSupported.Split(',').Contains(m)) ? null : "a list of " + MeasurandsSupported;

    private Key ReadOnly(string name, Func<string> read) => new(name, true, read);

    private Key Stored(string name, string fallback, Func<string, string?> check) => new(name, false,
        () => StoredKeys.TryGetValue(name, out var v) ? v : fallback,
        v =>
        {
            v = Normalize(v);
            if (check(v) is not null)
            {
                return ConfigurationStatus.Rejected;
            }
            StoredKeys[name] = v;
            Save();
            return ConfigurationStatus.Accepted;
        });

    private Key Setting(string name, Func<OperatorSettings, string> read, Func<OperatorSettings, string, OperatorSettings> write, Func<string, string?> check) => new(name, false,
        () => read(_settings.Current),
        v =>
        {
            v = Normalize(v);
            if (check(v) is not null)
            {
                return ConfigurationStatus.Rejected;
            }
            var changed = write(_settings.Current, v);
            if (changed.Validate(_station.MaxCurrent).Count > 0)
            {
                return ConfigurationStatus.Rejected;
            }
            _settings.Save(changed);
            return ConfigurationStatus.Accepted;
        });

    /// <summary>Booleans in any case; lists without spaces.</summary>
    private static string Normalize(string v)
    {
        string t = v.Trim();
        return t.Equals("true", StringComparison.OrdinalIgnoreCase) ? "true" : t.Equals("false", StringComparison.OrdinalIgnoreCase) ? "false" : t;
    }

    /// <summary>The stored keys, read on first use (after the database was migrated).</summary>
    private System.Collections.Concurrent.ConcurrentDictionary<string, string> StoredKeys =>
        _loaded ?? Interlocked.CompareExchange(ref _loaded, Load(), null) ?? _loaded!;

    private System.Collections.Concurrent.ConcurrentDictionary<string, string> Load() => _db.Read(cmd =>
    {
        var json = cmd.With("SELECT value FROM settings WHERE key = $k", ("$k", StoreKey)).ExecuteScalar() as string;
        return new System.Collections.Concurrent.ConcurrentDictionary<string, string>(
            json is null ? [] : JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [], StringComparer.Ordinal);
    });

    private void Save()
    {
        string json;
        lock (_gate)
        {
            json = JsonSerializer.Serialize(new SortedDictionary<string, string>(StoredKeys, StringComparer.Ordinal));
        }
        _db.Write(cmd => cmd.With("INSERT INTO settings (key, value) VALUES ($k, $v) ON CONFLICT (key) DO UPDATE SET value = excluded.value", ("$k", StoreKey), ("$v", json)).ExecuteNonQuery());
    }

    /// <summary>The version of the local authorization list (GetLocalListVersion); 0: no list.</summary>
    public int LocalListVersion
    {
        get => StoredKeys.TryGetValue("$localListVersion", out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : 0;
        set
        {
            StoredKeys["$localListVersion"] = value.ToString(CultureInfo.InvariantCulture);
            Save();
        }
    }
}
