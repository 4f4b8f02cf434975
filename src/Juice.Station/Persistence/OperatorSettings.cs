using System.Text.Json;
using System.Text.Json.Serialization;

namespace Juice.Station.Persistence;

/// <summary>The ISO 15118 setting of the manual's AUTHORIZATION page ("15118 Configuration").</summary>
public enum Iso15118Mode
{
    Off,
    On,
    OnWithPlugAndCharge,
}

/// <summary>
/// The settings an operator changes at run time (the manual's AUTHORIZATION, LOAD MANAGEMENT and Modbus pages),
/// kept in the database; infrastructure (ports, paths, hardware limits) comes from configuration. Immutable: a
/// change is a new instance, validated and stored in one transaction.
/// </summary>
public sealed partial record OperatorSettings
{
    /// <summary>Free charging: every vehicle charges without authorization, under <see cref="FreeChargingIdTag"/>.</summary>
    public bool FreeCharging { get; init; }

    /// <summary>The id tag of free-charging sessions (history, OCPP).</summary>
    public string FreeChargingIdTag { get; init; } = "FREECHARGING";

    /// <summary>When the backend cannot be asked (offline, timeout), allow charging instead of refusing.</summary>
    public bool IfInDoubtAllowCharging { get; init; }

    /// <summary>
    /// Seconds an authorization waits for its vehicle (card first, then plug) and a plugged vehicle waits for an
    /// authorization (an ISO 15118 EV is refused when nothing authorizes it in this time).
    /// </summary>
    public int VehicleConnectionTimeoutSeconds { get; init; } = 45;

    /// <summary>OCPP: send Authorize for the id tag of a RemoteStartTransaction before starting.</summary>
    public bool SendAuthorizeForRemoteStart { get; init; } = true;

    public Iso15118Mode Iso15118 { get; init; } = Iso15118Mode.On;

    /// <summary>"OCPP 1.6 extension for 15118 certificate installation": the DataTransfer dialect (OCA, Ebee, hastobe).</summary>
    public string CertificateInstallationDialect { get; init; } = "OCA";

    /// <summary>Log every V2G message (decoded) at information level.</summary>
    public bool ExtraLogging { get; init; }

    /// <summary>Autocharge: the EVCCID of an ISO 15118 EV that chose external identification is its identity.</summary>
    public bool Autocharge { get; init; }

    /// <summary>
    /// Autocharge identity from SLAC: the EV's MAC learned in SLAC matching is the identity instead of the EVCCID the
    /// EV sends in the session (for cars that send none, zeros, or not their MAC). Only over the PLC path (Slac:Interface).
    /// </summary>
    public bool AutochargeUseSlacMac { get; init; }

    /// <summary>"EVCCID or EV's MAC address prefix for OCPP authorization": idTag = prefix + upper-case hex.</summary>
    public string AutochargePrefix { get; init; } = "VID:";

    /// <summary>BACKEND: the central system's URL (ws:// or wss://; "" = OCPP off; null = the configured Ocpp:Url). After a restart.</summary>
    public string? OcppUrl { get; init; }

    /// <summary>BACKEND: ChargeBox identity (null = the configured Ocpp:ChargeBoxId). After a restart.</summary>
    public string? OcppChargeBoxId { get; init; }

    /// <summary>BACKEND: HTTP Basic password for the central system ("" = none; null = the configured Ocpp:Password). After a restart.</summary>
    public string? OcppPassword { get; init; }

    /// <summary>BACKEND: "Websockets proxy", an http:// proxy the WebSocket goes through (CONNECT; "" = direct; null = the configured Ocpp:Proxy). After a restart.</summary>
    public string? OcppProxy { get; init; }

    /// <summary>
    /// HLC 15118: bidirectional power. The SECC offers ISO 15118-20 AC_BPT and DC_BPT, and EVs may feed energy back
    /// within <see cref="MaxDischargeCurrent"/> (their own plan in scheduled control; the HEMS request of Modbus 1020
    /// in dynamic control). Off: the EVs charge only.
    /// </summary>
    public bool Bidirectional { get; init; }

    /// <summary>HLC 15118: the most an EV may feed back, A per phase (null: the hardware limit).</summary>
    public double? MaxDischargeCurrent { get; init; }

    /// <summary>
    /// HLC 15118: the protocols offered to EVs, in the order of preference, comma separated (iso20, iso2, din; null:
    /// the configured Secc:Protocols). Applies to the next connection.
    /// </summary>
    public string? HlcProtocols { get; init; }

    /// <summary>Operator current limit, A per phase (null: the hardware limit).</summary>
    public double? OperatorCurrentLimit { get; init; }

    public bool ModbusEnabled { get; init; } = true;

    /// <summary>Modbus TCP port chosen by the operator (null: the configured Modbus:Port); takes effect after a restart.</summary>
    public int? ModbusPort { get; init; }

    /// <summary>Modbus: a user id written to 1110–1119 starts or stops a transaction.</summary>
    public bool ModbusAllowStartStop { get; init; }

    /// <summary>Modbus: the user id of the session is readable in 720–729.</summary>
    public bool ModbusAllowUidDisclose { get; init; }

    /// <summary>Modbus 131: current (A) while the Modbus master is silent past <see cref="ModbusCommunicationTimeout"/>.</summary>
    public ushort ModbusSafeCurrent { get; init; } = 6;

    /// <summary>Modbus 132: seconds of silence of the Modbus master before the safe current applies (0: never).</summary>
    public ushort ModbusCommunicationTimeout { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    /// <summary>
    /// These settings with <paramref name="changes"/> (JSON names, any case) applied, and what is wrong with the
    /// changes, all at once: a key that is no setting (with the nearest one), a value of the wrong type (with what the
    /// setting takes: the choices of a choice), then the rules of <see cref="Validate"/> for the rest.
    /// </summary>
    public (OperatorSettings Proposed, Dictionary<string, string> Errors) With(System.Text.Json.Nodes.JsonObject changes, double hardwareLimit)
    {
        var errors = new Dictionary<string, string>();
        var merged = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        var properties = typeof(OperatorSettings).GetProperties().ToDictionary(p => Json.PropertyNamingPolicy?.ConvertName(p.Name) ?? p.Name, p => p.PropertyType, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in changes)
        {
            string? name = merged.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));
            if (name is null || !properties.TryGetValue(name, out var type))
            {
                string? nearest = StationConfiguration.Nearest(key, merged.Select(p => p.Key));
                errors[key] = "no such setting" + (nearest is null ? "" : $"; did you mean {nearest}?");
                continue;
            }
            try
            {
                _ = value is null ? null : JsonSerializer.Deserialize(value, type, Json);
                if (value is null && type.IsValueType && Nullable.GetUnderlyingType(type) is null)
                {
                    throw new JsonException();
                }
                merged[name] = value?.DeepClone();
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                errors[name] = Takes(type);
            }
        }
        var proposed = JsonSerializer.Deserialize<OperatorSettings>(merged, Json)!;
        foreach (var (field, problem) in proposed.Validate(hardwareLimit))
        {
            if (!errors.Keys.Any(k => string.Equals(k, field, StringComparison.OrdinalIgnoreCase)))
            {
                errors[field] = problem;
            }
        }
        return (proposed, errors);
    }

    /// <summary>What a setting of <paramref name="type"/> takes, for a value of the wrong type.</summary>
    private static string Takes(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        string takes = t switch
        {
            _ when t.IsEnum => "one of " + string.Join(", ", Enum.GetNames(t)),
            _ when t == typeof(bool) => "true or false",
            _ when t == typeof(int) || t == typeof(ushort) || t == typeof(long) => "a whole number",
            _ when t == typeof(double) || t == typeof(decimal) => "a number",
            _ when t == typeof(string) => "text",
            _ => "a value of another type",
        };
        return Nullable.GetUnderlyingType(type) is not null || type == typeof(string) ? takes + " (or null)" : takes;
    }

    /// <summary>Checks every field; returns the problems by field name (empty: valid).</summary>
    public Dictionary<string, string> Validate(double hardwareLimit)
    {
        var errors = new Dictionary<string, string>();
        if (string.IsNullOrWhiteSpace(FreeChargingIdTag) || FreeChargingIdTag.Length > 20)
        {
            errors[nameof(FreeChargingIdTag)] = "1 to 20 characters (an OCPP idTag)";
        }
        if (VehicleConnectionTimeoutSeconds is < 1 or > 3600)
        {
            errors[nameof(VehicleConnectionTimeoutSeconds)] = "between 1 and 3600 seconds";
        }
        if (CertificateInstallationDialect is not ("OCA" or "Ebee" or "hastobe"))
        {
            errors[nameof(CertificateInstallationDialect)] = "one of OCA, Ebee, hastobe";
        }
        if (AutochargePrefix.Length > 8 || AutochargePrefix.Any(char.IsWhiteSpace))
        {
            errors[nameof(AutochargePrefix)] = "at most 8 characters without spaces (VID: + 12 hex digits must fit the 20 characters of an idTag)";
        }
        if (MaxDischargeCurrent is { } d && (d < 0 || d > hardwareLimit))
        {
            errors[nameof(MaxDischargeCurrent)] = $"between 0 and the hardware limit of {hardwareLimit:0} A";
        }
        if (HlcProtocols is { } protocols)
        {
            try
            {
                Juice.Hlc.Session.AppProtocolVersion.ParseList(protocols);
            }
            catch (FormatException e)
            {
                errors[nameof(HlcProtocols)] = e.Message;
            }
        }
        if (OperatorCurrentLimit is { } l && (l < 0 || l > hardwareLimit))
        {
            errors[nameof(OperatorCurrentLimit)] = $"between 0 and the hardware limit of {hardwareLimit:0} A";
        }
        if (OcppUrl is { Length: > 0 } url && (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("ws" or "wss")))
        {
            errors[nameof(OcppUrl)] = "a ws:// or wss:// URL of the central system (empty: OCPP off)";
        }
        if (OcppChargeBoxId is { } box && (box.Length is 0 or > 48 || box.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#')))
        {
            errors[nameof(OcppChargeBoxId)] = "1 to 48 characters without spaces, / ? or # (the last segment of the URL)";
        }
        if (OcppProxy is { Length: > 0 } proxy && (!Uri.TryCreate(proxy, UriKind.Absolute, out var proxyUri) || proxyUri.Scheme != "http"))
        {
            errors[nameof(OcppProxy)] = "an http:// proxy URL such as http://proxy.example:3128 (empty: direct)";
        }
        if (OcppPassword is { Length: > 40 })
        {
            errors[nameof(OcppPassword)] = "at most 40 characters (OCPP 1.6 AuthorizationKey)";
        }
        if (ModbusPort is { } p && p is < 1 or > 65535)
        {
            errors[nameof(ModbusPort)] = "a TCP port, 1 to 65535";
        }
        if (ModbusSafeCurrent > hardwareLimit)
        {
            errors[nameof(ModbusSafeCurrent)] = $"between 0 and the hardware limit of {hardwareLimit:0} A";
        }
        if (ModbusCommunicationTimeout > 3600)
        {
            errors[nameof(ModbusCommunicationTimeout)] = "0 (off) to 3600 seconds";
        }
        ValidateLoadManagement(errors, hardwareLimit);
        return errors;
    }
}

/// <summary>The operator settings in the database (one JSON row), with a change event.</summary>
public sealed class SettingsStore(StationDatabase database)
{
    private const string Key = "operator";
    private OperatorSettings? _current;

    public event Action<OperatorSettings>? Changed;

    public OperatorSettings Current => _current ??= Load();

    private OperatorSettings Load() => database.Read(cmd =>
    {
        var json = cmd.With("SELECT value FROM settings WHERE key = $key", ("$key", Key)).ExecuteScalar() as string;
        return json is null ? new OperatorSettings() : JsonSerializer.Deserialize<OperatorSettings>(json, OperatorSettings.Json) ?? new OperatorSettings();
    });

    /// <summary>Stores the settings (one transaction) and tells the listeners.</summary>
    public void Save(OperatorSettings settings)
    {
        string json = JsonSerializer.Serialize(settings, OperatorSettings.Json);
        database.Write(cmd => cmd.With("INSERT INTO settings (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            ("$key", Key), ("$value", json)).ExecuteNonQuery());
        _current = settings;
        Changed?.Invoke(settings);
    }

    public void Update(Func<OperatorSettings, OperatorSettings> change) => Save(change(Current));
}
