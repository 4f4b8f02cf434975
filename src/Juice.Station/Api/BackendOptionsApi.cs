using System.Globalization;
using Juice.Station.Ocpp;

namespace Juice.Station.Api;

/// <summary>
/// The BACKEND page's list of the manual's connection options ("Connection", "OCPP", "Other"): for each, what this
/// station does and where it is set (a configuration key, or an OCPP configuration key the central system and the
/// page change), or why it is not offered. Values are the ones in use.
/// </summary>
public static class BackendOptions
{
    public sealed record Option(string Name, string Value, string? SetBy, string? NotOffered = null);

    public static IReadOnlyList<Option> Of(OcppOptions options, OcppConfiguration configuration)
    {
        string N(string key) => configuration.Number(key).ToString(CultureInfo.InvariantCulture);
        return
        [
            new("OCPP mode", "OCPP-J 1.6 (JSON over WebSocket)", null, "the only mode built: OCPP-S 1.5/1.6 (SOAP) and OCPP 2.0.1 are not"),
            new("WebSockets JSON OCPP URL of the backend", options.Url ?? "(none: OCPP off)", "the field above, or Ocpp:Url"),
            new("OCPP ChargeBoxIdentity", options.ChargeBoxId, "the field above, or Ocpp:ChargeBoxId"),
            new("HTTP Basic Authentication password", string.IsNullOrEmpty(options.Password) ? "(none)" : "(set)", "the field above, or Ocpp:Password"),
            new("Websockets proxy", options.Proxy is { Length: > 0 } proxy ? proxy + " (HTTP CONNECT)" : "(none: direct)", "the field above, or Ocpp:Proxy"),
            new("WebSockets keep-alive interval", N("WebSocketPingInterval") + " s (0: off)", "OCPP key WebSocketPingInterval (below); default Ocpp:KeepAliveSeconds"),
            new("Force Heartbeat request messages", "On: every " + N("HeartbeatInterval") + " s", "OCPP key HeartbeatInterval (below)"),
            new("Send informative StatusNotifications", "On", null, "always on: every connector status change is sent"),
            new("Send error StatusNotifications", "On", null, "always on: a fault is sent with its error code"),
            new("Strategy for StatusNotification state transitions", "Occupied on plug-in (Preparing, Charging, SuspendedEV/EVSE, Finishing)", null, "the OCPP 1.6 transitions as the standard lists them"),
            new("Disallow charging if OCPP queue full", "Off", null, "the queue is kept in the database and has no limit: no message is dropped, so charging is never refused for it"),
            new("Force OCPP connector state to available", "Off", null, "the station reports the state it has (Unavailable only when set so, Modbus 124 or ChangeAvailability)"),
            new("Backend connection timeout", options.ConnectTimeoutSeconds.ToString(CultureInfo.InvariantCulture) + " s", "Ocpp:ConnectTimeoutSeconds"),
            new("Number of transaction message attempts", N("TransactionMessageAttempts"), "OCPP key TransactionMessageAttempts (below); default Ocpp:TransactionMessageAttempts"),
            new("SSL strictness as client", options.TlsStrict ? "Verify the certificate chain and host name" : "Encrypt only - No authentication", "Ocpp:TlsStrict (and Ocpp:TrustedCertificate)"),
            new("TCP watchdog timeout", "by the WebSocket keep-alive", null, "a dead connection is found by the keep-alive pings and the call timeout (Ocpp:CallTimeoutSeconds)"),
            new("Display backend disconnect as error", "Off", null, "the backend's state is shown apart from the connectors (the badge at the top, the Connection card)"),
        ];
    }
}
