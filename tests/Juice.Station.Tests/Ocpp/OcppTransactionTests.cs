using System.Net.Http.Json;
using System.Text.Json;
using Juice.Hlc.Evcc;
using Juice.Station.Core;
using Juice.Station.Ocpp;
using Microsoft.Extensions.DependencyInjection;
using static Juice.Station.Tests.Ocpp.OcppConnectionTests;

namespace Juice.Station.Tests.Ocpp;

/// <summary>
/// Transactions through the backend against a real central system (ocpp-rpc, strict): RFID and Autocharge
/// authorization, remote start and stop, the local list offline, and smart charging of a running ISO 15118 session.
/// </summary>
public sealed class OcppTransactionTests
{
    private const string Card = "04A1B2C3D4E5F6";

    private static int TransactionIdOf(JsonElement startCall) => startCall.GetProperty("result").GetProperty("transactionId").GetInt32();

    [Fact]
    public async Task An_RFID_card_the_backend_accepts_starts_a_transaction_for_juice_ev_with_meter_values_and_a_stop_with_its_reason_and_readings()
    {
        await using var csms = await Csms.StartAsync();
        await csms.Set("authorize", new Dictionary<string, string> { [Card] = "Accepted" });
        using var dir = new TempDir();
        await using var station = await StationProcess.StartAsync(dir.File("juice.db"), Backend(csms));
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        Assert.Equal("Accepted", (await csms.Call("ChangeConfiguration", new { key = "MeterValueSampleInterval", value = "1" })).GetProperty("status").GetString());

        // an ISO 15118-2 AC car without Autocharge waits for a card
        using var ev = station.StartEv("--energy", "ac", "--evccid", "02000000AB11", "--duration", "4", "--interval-ms", "100");
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1 && p.GetProperty("status").GetString() == "Preparing");
        var decision = await (await station.Http.PostAsJsonAsync("/api/connectors/1/rfid", new { idTag = Card })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(decision.GetProperty("accepted").GetBoolean(), decision.GetRawText());
        Assert.Equal("accepted by the backend", decision.GetProperty("reason").GetString());
        Assert.Equal("Accepted", (await csms.WaitForCall("Authorize", p => p.GetProperty("idTag").GetString() == Card)).GetProperty("result").GetProperty("idTagInfo").GetProperty("status").GetString());

        var start = await csms.WaitForCall("StartTransaction");
        Assert.Equal(Card, start.GetProperty("params").GetProperty("idTag").GetString());
        Assert.Equal(1, ConnectorOf(start));
        int tx = TransactionIdOf(start);
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("status").GetString() == "Charging");
        var meter = await csms.WaitForCall("MeterValues", p => p.TryGetProperty("transactionId", out var t) && t.GetInt32() == tx);
        var sampled = meter.GetProperty("params").GetProperty("meterValue")[0].GetProperty("sampledValue").EnumerateArray().ToList();
        Assert.Contains(sampled, v => v.GetProperty("measurand").GetString() == "Energy.Active.Import.Register" && v.GetProperty("context").GetString() == "Sample.Periodic");
        Assert.Contains(sampled, v => v.GetProperty("measurand").GetString() == "Current.Offered");

        await ev.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, ev.ExitCode);
        var stop = (await csms.WaitForCall("StopTransaction")).GetProperty("params");
        Assert.Equal(tx, stop.GetProperty("transactionId").GetInt32());
        Assert.Equal("Local", stop.GetProperty("reason").GetString());   // the EV ended its session (history: EVStopped): a regular termination in OCPP 1.6
        Assert.True(stop.GetProperty("meterStop").GetInt64() > start.GetProperty("params").GetProperty("meterStart").GetInt64());
        var data = stop.GetProperty("transactionData");
        Assert.Equal("Transaction.Begin", data[0].GetProperty("sampledValue")[0].GetProperty("context").GetString());
        Assert.Equal("Transaction.End", data[1].GetProperty("sampledValue")[0].GetProperty("context").GetString());
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1 && p.GetProperty("status").GetString() == "Available", n: 2);

        // the order on the wire: StartTransaction, MeterValues, StopTransaction
        var actions = csms.Calls().Select(c => c.GetProperty("action").GetString()).Where(a => a is "StartTransaction" or "MeterValues" or "StopTransaction").ToList();
        Assert.Equal("StartTransaction", actions[0]);
        Assert.Equal("StopTransaction", actions[^1]);
        var history = await station.Http.GetFromJsonAsync<JsonElement>("/api/history");
        Assert.Equal(tx, history[0].GetProperty("ocppTransactionId").GetInt32());
        Assert.Empty(csms.Violations);
    }

    [Fact]
    public async Task An_Autocharge_tag_the_backend_accepts_charges_and_one_it_rejects_is_refused_after_the_connection_timeout()
    {
        await using var csms = await Csms.StartAsync();
        await csms.Set("authorize", new Dictionary<string, string> { ["VID:02000000AC01"] = "Accepted", ["VID:02000000AC02"] = "Invalid" });
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        // the backend switches Autocharge on (the station's own configuration key) and shortens the connection timeout
        Assert.Equal("Accepted", (await csms.Call("ChangeConfiguration", new { key = "AutoChargeEnabled", value = "true" })).GetProperty("status").GetString());
        Assert.Equal("Accepted", (await csms.Call("ChangeConfiguration", new { key = "ConnectionTimeOut", value = "3" })).GetProperty("status").GetString());

        await using (var accepted = await InProcessEv.StartAsync(station, "02000000AC01", TimeSpan.FromSeconds(2)))
        {
            var result = await accepted.Session.WaitAsync(TimeSpan.FromMinutes(1));
            Assert.True(result.Completed, result.Reason);
        }
        Assert.Single(csms.Calls("Authorize"));
        var start = await csms.WaitForCall("StartTransaction");
        Assert.Equal("VID:02000000AC01", start.GetProperty("params").GetProperty("idTag").GetString());
        await csms.WaitForCall("StopTransaction");

        await using (var rejected = await InProcessEv.StartAsync(station, "02000000AC02", TimeSpan.FromSeconds(2)))
        {
            var failed = await Assert.ThrowsAsync<EvSessionException>(() => rejected.Session.WaitAsync(TimeSpan.FromMinutes(1)));
            Assert.Contains("AuthorizationReq with FAILED", failed.Message);
        }
        var asked = csms.Calls("Authorize").Where(c => c.GetProperty("params").GetProperty("idTag").GetString() == "VID:02000000AC02").ToList();
        Assert.Single(asked);   // asked once, not at every AuthorizationReq of the waiting car
        Assert.Equal("Invalid", asked[0].GetProperty("result").GetProperty("idTagInfo").GetProperty("status").GetString());
        Assert.Single(csms.Calls("StartTransaction"));
        Assert.Empty(csms.Violations);
    }

    [Fact]
    public async Task RemoteStartTransaction_authorizes_the_connector_and_RemoteStopTransaction_stops_it_with_reason_Remote()
    {
        await using var csms = await Csms.StartAsync();
        await csms.Set("authorize", new Dictionary<string, string> { ["REMOTE1"] = "Accepted", ["REMOTE2"] = "Blocked" });
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);

        Assert.Equal("Accepted", (await csms.Call("RemoteStartTransaction", new { connectorId = 1, idTag = "REMOTE1" })).GetProperty("status").GetString());
        await csms.WaitForCall("Authorize", p => p.GetProperty("idTag").GetString() == "REMOTE1");   // AuthorizeRemoteTxRequests is on
        await TestStation.WaitFor(() => station.Station.Snapshot(1).Authorized is not null, "the remote authorization");
        station.Station.SetVehicleState(1, CpState.C);   // a basic IEC 61851 car plugs in
        var start = await csms.WaitForCall("StartTransaction");
        Assert.Equal("REMOTE1", start.GetProperty("params").GetProperty("idTag").GetString());
        int tx = TransactionIdOf(start);
        await TestStation.WaitFor(() => station.Station.Snapshot(1).Transaction is { } t && station.App.Services.GetRequiredService<TransactionQueue>().RemoteId(t.Id) == tx,
            "the transaction id of the central system");

        Assert.Equal("Rejected", (await csms.Call("RemoteStartTransaction", new { connectorId = 1, idTag = "REMOTE1" })).GetProperty("status").GetString());   // busy
        Assert.Equal("Rejected", (await csms.Call("RemoteStopTransaction", new { transactionId = tx + 100 })).GetProperty("status").GetString());
        Assert.Equal("Accepted", (await csms.Call("RemoteStopTransaction", new { transactionId = tx })).GetProperty("status").GetString());
        var stop = (await csms.WaitForCall("StopTransaction")).GetProperty("params");
        Assert.Equal(tx, stop.GetProperty("transactionId").GetInt32());
        Assert.Equal("Remote", stop.GetProperty("reason").GetString());
        Assert.Equal(ConnectorStatus.Finishing, station.Station.Snapshot(1).Status);
        station.Station.SetVehicleState(1, CpState.A);

        // an id the backend blocks is not started
        Assert.Equal("Accepted", (await csms.Call("RemoteStartTransaction", new { idTag = "REMOTE2" })).GetProperty("status").GetString());
        await csms.WaitForCall("Authorize", p => p.GetProperty("idTag").GetString() == "REMOTE2");
        await Task.Delay(300);
        Assert.Null(station.Station.Snapshot(1).Authorized);
        Assert.Empty(csms.Violations);
    }

    [Fact]
    public async Task SendLocalList_fills_the_OCPP_whitelist_which_authorizes_offline_and_GetLocalListVersion_reports_it()
    {
        await using var csms = await Csms.StartAsync();
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        Assert.Equal(0, (await csms.Call("GetLocalListVersion", new { })).GetProperty("listVersion").GetInt32());

        var full = await csms.Call("SendLocalList", new
        {
            listVersion = 3,
            updateType = "Full",
            localAuthorizationList = new object[]
            {
                new { idTag = "LOCAL1", idTagInfo = new { status = "Accepted" } },
                new { idTag = "LOCAL2", idTagInfo = new { status = "Accepted", expiryDate = "2020-01-01T00:00:00Z" } },
                new { idTag = "BLOCK1", idTagInfo = new { status = "Blocked" } },
            },
        });
        Assert.Equal("Accepted", full.GetProperty("status").GetString());
        Assert.Equal("VersionMismatch", (await csms.Call("SendLocalList", new { listVersion = 3, updateType = "Differential", localAuthorizationList = new object[] { new { idTag = "LOCAL3" } } })).GetProperty("status").GetString());
        var differential = await csms.Call("SendLocalList", new
        {
            listVersion = 4,
            updateType = "Differential",
            localAuthorizationList = new object[] { new { idTag = "LOCAL3", idTagInfo = new { status = "Accepted" } }, new { idTag = "LOCAL1" } },
        });
        Assert.Equal("Accepted", differential.GetProperty("status").GetString());
        Assert.Equal(4, (await csms.Call("GetLocalListVersion", new { })).GetProperty("listVersion").GetInt32());
        var list = await station.Get<JsonElement>("/api/whitelists/ocpp");
        Assert.Equal(["BLOCK1", "LOCAL2", "LOCAL3"], list.EnumerateArray().Select(e => e.GetProperty("id").GetString()!).Order().ToArray());

        await csms.KillAsync();   // the backend goes away
        await TestStation.WaitFor(() => !station.App.Services.GetRequiredService<IOcppBackend>().Online, "the station to notice");
        var local3 = await station.Station.PresentIdAsync(1, new IdToken("LOCAL3", IdSource.Rfid));
        Assert.True(local3.Accepted, local3.Reason);
        Assert.Contains("LocalAuthorizeOffline", local3.Reason);
        station.Station.StopTransaction(1, StopReason.Local);
        await station.Station.PresentIdAsync(1, new IdToken("LOCAL3", IdSource.Rfid));   // (a second touch takes the authorization back)
        Assert.False((await station.Station.PresentIdAsync(1, new IdToken("LOCAL1", IdSource.Rfid))).Accepted);   // removed by the differential update
        Assert.Contains("expired", (await station.Station.PresentIdAsync(1, new IdToken("LOCAL2", IdSource.Rfid))).Reason);
        Assert.Contains("Blocked", (await station.Station.PresentIdAsync(1, new IdToken("BLOCK1", IdSource.Rfid))).Reason);
        Assert.Empty(csms.Violations);
    }

    [Fact]
    public async Task A_charging_profile_lowers_the_current_of_a_running_ISO_15118_session_and_clearing_it_restores_the_limit()
    {
        await using var csms = await Csms.StartAsync();
        await csms.Set("defaultAuthorize", "Accepted");
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        station.Configure(s => s with { Autocharge = true });
        station.Whitelist("0200C0FFEE05");
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        await using var ev = await InProcessEv.StartAsync(station, "0200C0FFEE05");
        var start = await csms.WaitForCall("StartTransaction");
        await ev.WaitForLimit(32);

        var profile = new
        {
            connectorId = 1,
            csChargingProfiles = new
            {
                chargingProfileId = 7,
                transactionId = TransactionIdOf(start),
                stackLevel = 1,
                chargingProfilePurpose = "TxProfile",
                chargingProfileKind = "Relative",
                chargingSchedule = new { chargingRateUnit = "A", chargingSchedulePeriod = new[] { new { startPeriod = 0, limit = 10.0 } } },
            },
        };
        Assert.Equal("Accepted", (await csms.Call("SetChargingProfile", profile)).GetProperty("status").GetString());
        await ev.WaitForLimit(10);   // renegotiated by the running session
        Assert.Equal("backend charging profile", station.Station.Snapshot(1).LimitReason);
        var composite = await csms.Call("GetCompositeSchedule", new { connectorId = 1, duration = 600, chargingRateUnit = "A" });
        Assert.Equal("Accepted", composite.GetProperty("status").GetString());
        Assert.Equal(10, composite.GetProperty("chargingSchedule").GetProperty("chargingSchedulePeriod")[0].GetProperty("limit").GetDouble());

        // a station-wide maximum in W binds too (3 × 230 V × 8 A), then clearing the profiles gives the hardware limit back
        var max = new
        {
            connectorId = 0,
            csChargingProfiles = new
            {
                chargingProfileId = 8,
                stackLevel = 0,
                chargingProfilePurpose = "ChargePointMaxProfile",
                chargingProfileKind = "Absolute",
                chargingSchedule = new { chargingRateUnit = "W", startSchedule = "2020-01-01T00:00:00Z", chargingSchedulePeriod = new[] { new { startPeriod = 0, limit = 5520.0 } } },
            },
        };
        Assert.Equal("Accepted", (await csms.Call("SetChargingProfile", max)).GetProperty("status").GetString());
        await ev.WaitForLimit(8);
        Assert.Equal("Accepted", (await csms.Call("ClearChargingProfile", new { })).GetProperty("status").GetString());
        await ev.WaitForLimit(32);
        Assert.Equal("Unknown", (await csms.Call("ClearChargingProfile", new { id = 7 })).GetProperty("status").GetString());

        // a negative limit is a discharge request: accepted for the connector, refused as the station's maximum
        Assert.Equal("Accepted", (await csms.Call("SetChargingProfile", new
        {
            connectorId = 1,
            csChargingProfiles = new
            {
                chargingProfileId = 10, transactionId = TransactionIdOf(start), stackLevel = 2, chargingProfilePurpose = "TxProfile", chargingProfileKind = "Relative",
                chargingSchedule = new { chargingRateUnit = "A", chargingSchedulePeriod = new[] { new { startPeriod = 0, limit = -10.0 } } },
            },
        })).GetProperty("status").GetString());
        var discharging = await csms.Call("GetCompositeSchedule", new { connectorId = 1, duration = 60, chargingRateUnit = "A" });
        Assert.Equal(-10, discharging.GetProperty("chargingSchedule").GetProperty("chargingSchedulePeriod")[0].GetProperty("limit").GetDouble());
        Assert.Equal(0, station.Station.Snapshot(1).SignalledCurrentA);   // an ISO 15118-2 car cannot feed in: it pauses
        Assert.Equal("Rejected", (await csms.Call("SetChargingProfile", new
        {
            connectorId = 0,
            csChargingProfiles = new
            {
                chargingProfileId = 11, stackLevel = 0, chargingProfilePurpose = "ChargePointMaxProfile", chargingProfileKind = "Absolute",
                chargingSchedule = new { chargingRateUnit = "A", startSchedule = "2020-01-01T00:00:00Z", chargingSchedulePeriod = new[] { new { startPeriod = 0, limit = -5.0 } } },
            },
        })).GetProperty("status").GetString());
        Assert.Equal("Accepted", (await csms.Call("ClearChargingProfile", new { id = 10 })).GetProperty("status").GetString());

        // a TxProfile for another transaction is refused
        Assert.Equal("Rejected", (await csms.Call("SetChargingProfile", new
        {
            connectorId = 1,
            csChargingProfiles = new
            {
                chargingProfileId = 9, transactionId = TransactionIdOf(start) + 1, stackLevel = 1, chargingProfilePurpose = "TxProfile", chargingProfileKind = "Relative",
                chargingSchedule = new { chargingRateUnit = "A", chargingSchedulePeriod = new[] { new { startPeriod = 0, limit = 10.0 } } },
            },
        })).GetProperty("status").GetString());
        Assert.Empty(csms.Violations);
    }
}

/// <summary>A temporary folder, deleted with its files.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("juice-ocpp-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
