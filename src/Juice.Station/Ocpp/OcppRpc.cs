using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Juice.Station.Ocpp;

/// <summary>
/// OCPP-J RPC error codes (OCPP 1.6 JSON §4.2.3, with the spelling of the 1.6J errata: FormationViolation,
/// OccurrenceConstraintViolation).
/// </summary>
public static class OcppErrorCode
{
    public const string NotImplemented = "NotImplemented";
    public const string NotSupported = "NotSupported";
    public const string InternalError = "InternalError";
    public const string ProtocolError = "ProtocolError";
    public const string SecurityError = "SecurityError";
    public const string FormationViolation = "FormationViolation";
    public const string PropertyConstraintViolation = "PropertyConstraintViolation";
    public const string OccurrenceConstraintViolation = "OccurrenceConstraintViolation";
    public const string TypeConstraintViolation = "TypeConstraintViolation";
    public const string GenericError = "GenericError";
}

/// <summary>A CALLERROR: the error code, its description and details.</summary>
public sealed class OcppCallException(string code, string description, JsonNode? details = null) : Exception($"{code}: {description}")
{
    public string Code { get; } = code;
    public string Description { get; } = description;
    public JsonNode? Details { get; } = details;
}

/// <summary>The backend cannot be reached now (not connected, boot not accepted, or the connection dropped).</summary>
public sealed class OcppOfflineException(string message) : Exception(message);

/// <summary>One OCPP-J frame: CALL [2, id, action, payload], CALLRESULT [3, id, payload], CALLERROR [4, id, code, description, details].</summary>
public sealed record OcppFrame(int Type, string Id, string? Action, JsonNode? Payload, string? ErrorCode = null, string? ErrorDescription = null)
{
    public const int Call = 2, CallResult = 3, CallError = 4;

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.Strict,
    };

    public string Serialize() => Type switch
    {
        Call => new JsonArray(Call, Id, Action, Payload?.DeepClone() ?? new JsonObject()).ToJsonString(),
        CallResult => new JsonArray(CallResult, Id, Payload?.DeepClone() ?? new JsonObject()).ToJsonString(),
        _ => new JsonArray(CallError, Id, ErrorCode, ErrorDescription ?? "", Payload?.DeepClone() ?? new JsonObject()).ToJsonString(),
    };

    /// <summary>
    /// Reads a frame. Returns null (with the reason) for text that is no frame at all; a frame with a readable id
    /// but a bad shape comes back with <paramref name="error"/> set, so that a CALL can still be answered.
    /// </summary>
    public static OcppFrame? Parse(string text, out string? error)
    {
        error = null;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            error = "not JSON: " + e.Message;
            return null;
        }
        if (node is not JsonArray a || a.Count < 3 || a[0] is not JsonValue tv || !tv.TryGetValue(out int type) || a[1] is not JsonValue iv || !iv.TryGetValue(out string? id) || id is null)
        {
            error = "not an OCPP-J frame (an array of message type, id, …)";
            return null;
        }
        switch (type)
        {
            case Call when a.Count == 4 && a[2] is JsonValue av && av.TryGetValue(out string? action):
                if (a[3] is not JsonObject)
                {
                    error = "the payload of a CALL must be a JSON object";
                }
                return new OcppFrame(Call, id, action, a[3]);
            case Call:
                error = "a CALL has four elements: 2, id, action, payload";
                return new OcppFrame(Call, id, null, null);
            case CallResult when a.Count == 3:
                return new OcppFrame(CallResult, id, null, a[2]);
            case CallError when a.Count >= 4:
                return new OcppFrame(CallError, id, null, a.Count > 4 ? a[4] : null, (string?)a[2], a[3]?.GetValue<string>());
            default:
                error = $"message type {type.ToString(CultureInfo.InvariantCulture)} with {a.Count.ToString(CultureInfo.InvariantCulture)} elements";
                return null;
        }
    }
}

/// <summary>
/// The shape of an OCPP 1.6 payload, written down from the standard's JSON schemas for the messages the station
/// receives, and checked before a message is acted on: a violation is answered with the CALLERROR the standard names
/// (a wrong JSON type: TypeConstraintViolation; a missing field or too many items: OccurrenceConstraintViolation; a
/// value out of its enumeration, length or format: PropertyConstraintViolation; an unknown field: FormationViolation).
/// </summary>
public abstract record OcppShape
{
    public static OcppShape Obj(params (string Name, OcppShape Shape, bool Required)[] properties) => new ObjectShape(properties);
    public static readonly OcppShape Int = new IntegerShape();
    public static readonly OcppShape Bool = new BooleanShape();
    public static readonly OcppShape DateTime = new StringShape(null, null, true);
    public static readonly OcppShape Decimal = new NumberShape();
    public static OcppShape Str(int? maxLength = null) => new StringShape(maxLength, null, false);
    public static OcppShape Enum(params string[] values) => new StringShape(null, values, false);
    public static OcppShape Array(OcppShape items, int? maxItems = null) => new ArrayShape(items, maxItems);

    /// <summary>The first violation of this shape in <paramref name="node"/>, or null.</summary>
    public abstract (string Code, string Message)? Check(JsonNode? node, string path);

    private sealed record ObjectShape((string Name, OcppShape Shape, bool Required)[] Properties) : OcppShape
    {
        public override (string Code, string Message)? Check(JsonNode? node, string path)
        {
            if (node is not JsonObject o)
            {
                return (OcppErrorCode.TypeConstraintViolation, $"{path} must be an object");
            }
            foreach (var (name, _) in o)
            {
                if (!Properties.Any(p => p.Name == name))
                {
                    return (OcppErrorCode.FormationViolation, $"{path}.{name} is not a field of this message");
                }
            }
            foreach (var (name, shape, required) in Properties)
            {
                if (!o.TryGetPropertyValue(name, out var value) || value is null)
                {
                    if (required)
                    {
                        return (OcppErrorCode.OccurrenceConstraintViolation, $"{path}.{name} is required");
                    }
                    continue;
                }
                if (shape.Check(value, $"{path}.{name}") is { } problem)
                {
                    return problem;
                }
            }
            return null;
        }
    }

    private sealed record StringShape(int? MaxLength, string[]? Values, bool IsDateTime) : OcppShape
    {
        public override (string Code, string Message)? Check(JsonNode? node, string path)
        {
            if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
            {
                return (OcppErrorCode.TypeConstraintViolation, $"{path} must be a string");
            }
            string s = v.GetValue<string>();
            if (MaxLength is { } max && s.Length > max)
            {
                return (OcppErrorCode.PropertyConstraintViolation, $"{path} is longer than {max} characters");
            }
            if (Values is not null && !Values.Contains(s))
            {
                return (OcppErrorCode.PropertyConstraintViolation, $"{path} '{s}' is none of {string.Join(", ", Values)}");
            }
            if (IsDateTime && !DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _))
            {
                return (OcppErrorCode.PropertyConstraintViolation, $"{path} '{s}' is not a date-time");
            }
            return null;
        }
    }

    private sealed record IntegerShape : OcppShape
    {
        public override (string Code, string Message)? Check(JsonNode? node, string path) =>
            node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out long _)
                ? null
                : (OcppErrorCode.TypeConstraintViolation, $"{path} must be an integer");
    }

    private sealed record NumberShape : OcppShape
    {
        public override (string Code, string Message)? Check(JsonNode? node, string path) =>
            node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
                ? null
                : (OcppErrorCode.TypeConstraintViolation, $"{path} must be a number");
    }

    private sealed record BooleanShape : OcppShape
    {
        public override (string Code, string Message)? Check(JsonNode? node, string path) =>
            node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                ? null
                : (OcppErrorCode.TypeConstraintViolation, $"{path} must be true or false");
    }

    private sealed record ArrayShape(OcppShape Items, int? MaxItems) : OcppShape
    {
        public override (string Code, string Message)? Check(JsonNode? node, string path)
        {
            if (node is not JsonArray a)
            {
                return (OcppErrorCode.TypeConstraintViolation, $"{path} must be an array");
            }
            if (MaxItems is { } max && a.Count > max)
            {
                return (OcppErrorCode.OccurrenceConstraintViolation, $"{path} has more than {max} items");
            }
            for (int i = 0; i < a.Count; i++)
            {
                if (Items.Check(a[i], $"{path}[{i.ToString(CultureInfo.InvariantCulture)}]") is { } problem)
                {
                    return problem;
                }
            }
            return null;
        }
    }
}

/// <summary>The payloads the station receives, in the shapes of the OCPP 1.6 JSON schemas.</summary>
public static class OcppShapes
{
    private static readonly OcppShape IdTagInfo = OcppShape.Obj(
        ("expiryDate", OcppShape.DateTime, false), ("parentIdTag", OcppShape.Str(20), false),
        ("status", OcppShape.Enum("Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"), true));

    public static readonly OcppShape ChargingSchedule = OcppShape.Obj(
        ("duration", OcppShape.Int, false), ("startSchedule", OcppShape.DateTime, false), ("chargingRateUnit", OcppShape.Enum("A", "W"), true),
        ("chargingSchedulePeriod", OcppShape.Array(OcppShape.Obj(("startPeriod", OcppShape.Int, true), ("limit", OcppShape.Decimal, true), ("numberPhases", OcppShape.Int, false))), true),
        ("minChargingRate", OcppShape.Decimal, false));

    public static readonly OcppShape ChargingProfile = OcppShape.Obj(
        ("chargingProfileId", OcppShape.Int, true), ("transactionId", OcppShape.Int, false), ("stackLevel", OcppShape.Int, true),
        ("chargingProfilePurpose", OcppShape.Enum("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"), true),
        ("chargingProfileKind", OcppShape.Enum("Absolute", "Recurring", "Relative"), true), ("recurrencyKind", OcppShape.Enum("Daily", "Weekly"), false),
        ("validFrom", OcppShape.DateTime, false), ("validTo", OcppShape.DateTime, false), ("chargingSchedule", ChargingSchedule, true));

    /// <summary>Requests of the central system, by action.</summary>
    public static readonly IReadOnlyDictionary<string, OcppShape> Requests = new Dictionary<string, OcppShape>
    {
        ["ChangeAvailability"] = OcppShape.Obj(("connectorId", OcppShape.Int, true), ("type", OcppShape.Enum("Inoperative", "Operative"), true)),
        ["ChangeConfiguration"] = OcppShape.Obj(("key", OcppShape.Str(50), true), ("value", OcppShape.Str(500), true)),
        ["ClearCache"] = OcppShape.Obj(),
        ["ClearChargingProfile"] = OcppShape.Obj(("id", OcppShape.Int, false), ("connectorId", OcppShape.Int, false),
            ("chargingProfilePurpose", OcppShape.Enum("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"), false), ("stackLevel", OcppShape.Int, false)),
        ["DataTransfer"] = OcppShape.Obj(("vendorId", OcppShape.Str(255), true), ("messageId", OcppShape.Str(50), false), ("data", OcppShape.Str(), false)),
        ["GetCompositeSchedule"] = OcppShape.Obj(("connectorId", OcppShape.Int, true), ("duration", OcppShape.Int, true), ("chargingRateUnit", OcppShape.Enum("A", "W"), false)),
        ["GetConfiguration"] = OcppShape.Obj(("key", OcppShape.Array(OcppShape.Str(50)), false)),
        ["GetLocalListVersion"] = OcppShape.Obj(),
        ["RemoteStartTransaction"] = OcppShape.Obj(("connectorId", OcppShape.Int, false), ("idTag", OcppShape.Str(20), true), ("chargingProfile", ChargingProfile, false)),
        ["RemoteStopTransaction"] = OcppShape.Obj(("transactionId", OcppShape.Int, true)),
        ["Reset"] = OcppShape.Obj(("type", OcppShape.Enum("Hard", "Soft"), true)),
        ["SendLocalList"] = OcppShape.Obj(("listVersion", OcppShape.Int, true),
            ("localAuthorizationList", OcppShape.Array(OcppShape.Obj(("idTag", OcppShape.Str(20), true), ("idTagInfo", IdTagInfo, false))), false),
            ("updateType", OcppShape.Enum("Differential", "Full"), true)),
        ["SetChargingProfile"] = OcppShape.Obj(("connectorId", OcppShape.Int, true), ("csChargingProfiles", ChargingProfile, true)),
        ["TriggerMessage"] = OcppShape.Obj(("requestedMessage", OcppShape.Enum("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
            "Heartbeat", "MeterValues", "StatusNotification"), true), ("connectorId", OcppShape.Int, false)),
        ["UnlockConnector"] = OcppShape.Obj(("connectorId", OcppShape.Int, true)),
    };

    /// <summary>Actions of OCPP 1.6 that this station knows but does not offer (reservation, firmware, diagnostics): NotSupported.</summary>
    public static readonly IReadOnlySet<string> Unsupported = new HashSet<string> { "CancelReservation", "ReserveNow", "GetDiagnostics", "UpdateFirmware" };

    /// <summary>Responses of the central system to the calls the station makes, by action.</summary>
    public static readonly IReadOnlyDictionary<string, OcppShape> Responses = new Dictionary<string, OcppShape>
    {
        ["Authorize"] = OcppShape.Obj(("idTagInfo", IdTagInfo, true)),
        ["BootNotification"] = OcppShape.Obj(("status", OcppShape.Enum("Accepted", "Pending", "Rejected"), true), ("currentTime", OcppShape.DateTime, true), ("interval", OcppShape.Int, true)),
        ["DataTransfer"] = OcppShape.Obj(("status", OcppShape.Enum("Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId"), true), ("data", OcppShape.Str(), false)),
        ["Heartbeat"] = OcppShape.Obj(("currentTime", OcppShape.DateTime, true)),
        ["StartTransaction"] = OcppShape.Obj(("idTagInfo", IdTagInfo, true), ("transactionId", OcppShape.Int, true)),
        ["StopTransaction"] = OcppShape.Obj(("idTagInfo", IdTagInfo, false)),
        ["StatusNotification"] = OcppShape.Obj(),
        ["MeterValues"] = OcppShape.Obj(),
        ["DiagnosticsStatusNotification"] = OcppShape.Obj(),
        ["FirmwareStatusNotification"] = OcppShape.Obj(),
    };
}

/// <summary>OCPP 1.6 timestamps: UTC, ISO 8601 with milliseconds and Z.</summary>
internal static class OcppTime
{
    public static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    public static DateTimeOffset? Parse(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue(out string? s) && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : null;
}
