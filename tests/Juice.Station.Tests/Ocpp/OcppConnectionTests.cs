using System.Text.Json;
using Juice.Station.Core;

namespace Juice.Station.Tests.Ocpp;

/// <summary>
/// The station's OCPP 1.6J connection against a real central system (ocpp-rpc in strict mode): the WebSocket and its
/// authentication, the boot paths, heartbeat and status, the configuration keys, and what it does with malformed
/// frames. Every test ends with ocpp-rpc having refused none of the station's messages.
/// </summary>
public sealed class OcppConnectionTests
{
    internal static string[] Backend(Csms csms, params string[] more) =>
        ["--Ocpp:Url=" + csms.Url, "--Ocpp:ChargeBoxId=JUICE-T1", "--Ocpp:ReconnectMinSeconds=1", "--Ocpp:ReconnectMaxSeconds=2", .. more];

    internal static string Status(JsonElement call) => call.GetProperty("params").GetProperty("status").GetString()!;

    internal static int ConnectorOf(JsonElement call) => call.GetProperty("params").GetProperty("connectorId").GetInt32();

    [Fact]
    public async Task The_station_connects_with_ocpp16_boots_reports_every_connector_and_sends_heartbeats_at_the_interval_the_central_system_gives()
    {
        await using var csms = await Csms.StartAsync();
        await csms.Set("interval", 1);
        await using var station = await TestStation.StartAsync(null, Backend(csms));

        var connected = await csms.WaitFor(e => e.GetProperty("event").GetString() == "connected", "the station to connect");
        Assert.Equal("JUICE-T1", connected.GetProperty("identity").GetString());
        Assert.Equal("ocpp1.6", connected.GetProperty("protocol").GetString());
        var boot = (await csms.WaitForCall("BootNotification")).GetProperty("params");
        Assert.Equal("Juice", boot.GetProperty("chargePointVendor").GetString());
        Assert.Equal("JUICE-CC613-SIM", boot.GetProperty("chargePointModel").GetString());
        var station0 = await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 0);
        var connector1 = await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        Assert.Equal("Available", Status(station0));
        Assert.Equal("Available", Status(connector1));
        Assert.Equal("NoError", connector1.GetProperty("params").GetProperty("errorCode").GetString());
        await csms.WaitForCall("Heartbeat", n: 2, seconds: 10);
        Assert.Equal("1", (await csms.Call("GetConfiguration", new { key = new[] { "HeartbeatInterval" } })).GetProperty("configurationKey")[0].GetProperty("value").GetString());

        var state = await station.Get<JsonElement>("/api/ocpp");
        Assert.True(state.GetProperty("state").GetProperty("connected").GetBoolean());
        Assert.Equal("Accepted", state.GetProperty("state").GetProperty("registration").GetString());
        Assert.Empty(csms.Violations);
    }

    [Fact]
    public async Task Pending_repeats_the_boot_and_sends_nothing_else_but_answers_the_central_system_and_Rejected_waits_its_interval()
    {
        await using var csms = await Csms.StartAsync();
        await csms.Set("boot", "Pending");
        await csms.Set("interval", 1);
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        await csms.WaitForCall("BootNotification", n: 2, seconds: 15);
        // while pending the central system may configure the station [OCPP 1.6 §4.2]
        Assert.Equal("Accepted", (await csms.Call("ChangeConfiguration", new { key = "MeterValueSampleInterval", value = "5" })).GetProperty("status").GetString());
        Assert.Empty(csms.Calls("StatusNotification"));
        Assert.Empty(csms.Calls("Heartbeat"));

        await csms.Set("boot", "Rejected");
        await csms.Set("interval", 2);
        var rejected = await csms.WaitFor(e => e.GetProperty("event").GetString() == "call" && e.GetProperty("action").GetString() == "BootNotification"
            && e.GetProperty("result").GetProperty("status").GetString() == "Rejected", "a rejected boot");
        int boots = csms.Calls("BootNotification").Count;
        await Task.Delay(1000);
        Assert.Equal(boots, csms.Calls("BootNotification").Count);   // Rejected: quiet for the interval of 2 s
        await csms.Set("boot", "Accepted");
        await csms.WaitForCall("StatusNotification", seconds: 15);
        Assert.Equal("5", (await csms.Call("GetConfiguration", new { key = new[] { "MeterValueSampleInterval" } })).GetProperty("configurationKey")[0].GetProperty("value").GetString());
        Assert.Empty(csms.Violations);
        _ = rejected;
        _ = station;
    }

    [Fact]
    public async Task GetConfiguration_lists_the_standard_keys_and_ours_and_ChangeConfiguration_validates_and_reaches_the_operator_settings()
    {
        await using var csms = await Csms.StartAsync();
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        await csms.WaitForCall("StatusNotification");

        var all = await csms.Call("GetConfiguration", new { });
        var keys = all.GetProperty("configurationKey").EnumerateArray().ToDictionary(k => k.GetProperty("key").GetString()!, k => k);
        foreach (var k in new[] { "HeartbeatInterval", "MeterValueSampleInterval", "MeterValuesSampledData", "NumberOfConnectors", "LocalAuthorizeOffline",
            "LocalPreAuthorize", "AllowOfflineTxForUnknownId", "AuthorizationCacheEnabled", "SupportedFeatureProfiles", "LocalAuthListEnabled",
            "ChargeProfileMaxStackLevel", "AutoChargeEnabled", "AutoChargeIdTagPrefix", "FreeChargingEnabled", "ConnectionTimeOut" })
        {
            Assert.True(keys.ContainsKey(k), k);
        }
        Assert.True(keys["NumberOfConnectors"].GetProperty("readonly").GetBoolean());
        Assert.Equal("1", keys["NumberOfConnectors"].GetProperty("value").GetString());

        var some = await csms.Call("GetConfiguration", new { key = new[] { "AutoChargeEnabled", "NoSuchKey" } });
        Assert.Equal("false", some.GetProperty("configurationKey")[0].GetProperty("value").GetString());
        Assert.Equal("NoSuchKey", some.GetProperty("unknownKey")[0].GetString());

        async Task<string> Change(string key, string value) => (await csms.Call("ChangeConfiguration", new { key, value })).GetProperty("status").GetString()!;
        Assert.Equal("Accepted", await Change("AutoChargeEnabled", "TRUE"));
        Assert.True(station.Settings.Current.Autocharge);   // the operator setting it mirrors
        Assert.Equal("Accepted", await Change("ConnectionTimeOut", "50"));
        Assert.Equal(50, station.Settings.Current.VehicleConnectionTimeoutSeconds);
        Assert.Equal("Rejected", await Change("ConnectionTimeOut", "soon"));
        Assert.Equal("Rejected", await Change("NumberOfConnectors", "2"));
        Assert.Equal("Rejected", await Change("MeterValuesSampledData", "Temperature"));
        Assert.Equal("NotSupported", await Change("NoSuchKey", "1"));
        Assert.Empty(csms.Violations);
    }

    [Fact]
    public async Task Malformed_frames_get_a_CallError_or_a_logged_drop_and_the_connection_survives()
    {
        await using var csms = await Csms.StartAsync();
        await using var station = await TestStation.StartAsync(null, Backend(csms, "--Ocpp:MaxMessageBytes=65536"));
        await csms.WaitForCall("StatusNotification");

        async Task<JsonElement> Answer(string raw, string id)
        {
            await csms.Raw(raw);
            string text = await WaitForAnswer(csms, id);
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        await csms.Raw("this is not JSON");   // no id to answer: dropped with a log line
        await csms.Raw("{\"not\":\"a frame\"}");
        await csms.Raw("[2,\"big\",\"DataTransfer\",{\"vendorId\":\"x\",\"data\":\"" + new string('x', 100_000) + "\"}]");   // oversize: dropped

        var unknown = await Answer("[2,\"u1\",\"MakeCoffee\",{}]", "u1");
        Assert.Equal(4, unknown[0].GetInt32());
        Assert.Equal("NotImplemented", unknown[2].GetString());
        var type = await Answer("[2,\"t1\",\"ChangeConfiguration\",{\"key\":5,\"value\":\"x\"}]", "t1");
        Assert.Equal("TypeConstraintViolation", type[2].GetString());
        var missing = await Answer("[2,\"m1\",\"RemoteStopTransaction\",{}]", "m1");
        Assert.Equal("OccurrenceConstraintViolation", missing[2].GetString());
        var extra = await Answer("[2,\"f1\",\"ClearCache\",{\"please\":true}]", "f1");
        Assert.Equal("FormationViolation", extra[2].GetString());
        var value = await Answer("[2,\"p1\",\"Reset\",{\"type\":\"Gentle\"}]", "p1");
        Assert.Equal("PropertyConstraintViolation", value[2].GetString());
        var payload = await Answer("[2,\"a1\",\"ClearCache\",[]]", "a1");
        Assert.Equal("FormationViolation", payload[2].GetString());
        var reservation = await Answer("[2,\"r1\",\"ReserveNow\",{}]", "r1");
        Assert.Equal("NotSupported", reservation[2].GetString());

        // still the same connection, still answering
        Assert.Equal("Accepted", (await csms.Call("ClearCache", new { })).GetProperty("status").GetString());
        Assert.Equal(1, csms.Connections);
        Assert.Empty(csms.Violations);
        _ = station;
    }

    /// <summary>The station's CALLRESULT or CALLERROR for the central system's message id.</summary>
    internal static async Task<string> WaitForAnswer(Csms csms, string id)
    {
        for (int i = 0; i < 500; i++)
        {
            foreach (var text in csms.Received)
            {
                var e = JsonDocument.Parse(text).RootElement;
                if (e[0].GetInt32() is 3 or 4 && e[1].GetString() == id)
                {
                    return text;
                }
            }
            await Task.Delay(20);
        }
        throw new TimeoutException("no answer to " + id);
    }

    [Fact]
    public async Task A_central_system_that_closes_the_connection_is_reconnected_to_and_booted_again()
    {
        await using var csms = await Csms.StartAsync();
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        // the whole first report (connector 1 after 0) before the close, so that the second one is the reconnection's
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        await csms.CloseConnection();
        await csms.WaitForConnection(2, seconds: 20);
        await csms.WaitForCall("BootNotification", n: 2);
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1, n: 2);   // everything reported again
        Assert.Empty(csms.Violations);
        _ = station;
    }

    [Fact]
    public async Task ChangeAvailability_makes_a_connector_Unavailable_and_Operative_again()
    {
        await using var csms = await Csms.StartAsync();
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        Assert.Equal("Accepted", (await csms.Call("ChangeAvailability", new { connectorId = 1, type = "Inoperative" })).GetProperty("status").GetString());
        Assert.Equal(ConnectorStatus.Unavailable, station.Station.Snapshot(1).Status);
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1 && p.GetProperty("status").GetString() == "Unavailable");
        Assert.Equal("Accepted", (await csms.Call("ChangeAvailability", new { connectorId = 0, type = "Operative" })).GetProperty("status").GetString());
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1 && p.GetProperty("status").GetString() == "Available", n: 2);
        Assert.Equal("Rejected", (await csms.Call("ChangeAvailability", new { connectorId = 7, type = "Operative" })).GetProperty("status").GetString());
        Assert.Equal("Unlocked", (await csms.Call("UnlockConnector", new { connectorId = 1 })).GetProperty("status").GetString());
        Assert.Empty(csms.Violations);
    }

    [Fact]
    public async Task TriggerMessage_sends_what_was_asked_for_after_its_answer()
    {
        await using var csms = await Csms.StartAsync();
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        Assert.Equal("Accepted", (await csms.Call("TriggerMessage", new { requestedMessage = "Heartbeat" })).GetProperty("status").GetString());
        await csms.WaitForCall("Heartbeat");
        Assert.Equal("Accepted", (await csms.Call("TriggerMessage", new { requestedMessage = "StatusNotification", connectorId = 1 })).GetProperty("status").GetString());
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1, n: 2);
        Assert.Equal("Accepted", (await csms.Call("TriggerMessage", new { requestedMessage = "MeterValues", connectorId = 1 })).GetProperty("status").GetString());
        var meter = await csms.WaitForCall("MeterValues");
        Assert.Equal("Trigger", meter.GetProperty("params").GetProperty("meterValue")[0].GetProperty("sampledValue")[0].GetProperty("context").GetString());
        Assert.Equal("Accepted", (await csms.Call("TriggerMessage", new { requestedMessage = "BootNotification" })).GetProperty("status").GetString());
        await csms.WaitForCall("BootNotification", n: 2);
        Assert.Equal("Rejected", (await csms.Call("TriggerMessage", new { requestedMessage = "Heartbeat", connectorId = 9 })).GetProperty("status").GetString());
        Assert.Empty(csms.Violations);
        _ = station;
    }
}
