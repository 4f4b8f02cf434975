using System.Net.Http.Json;
using System.Text.Json;
using Juice.Station.Core;
using Juice.Station.Ocpp;
using Microsoft.Extensions.DependencyInjection;
using static Juice.Station.Tests.Ocpp.OcppConnectionTests;

namespace Juice.Station.Tests.Ocpp;

/// <summary>
/// The offline queue: StartTransaction, StopTransaction and transaction MeterValues are stored before they are
/// sent, and reach the central system in order, with the central system's transaction ids, after a backend outage,
/// after a station restart and after a station killed with SIGKILL.
/// </summary>
public sealed class OcppOfflineTests
{
    /// <summary>The transaction messages a central system received, in the order they arrived: (action, transactionId or -1, params).</summary>
    private static List<(string Action, int Tx, JsonElement Params)> TransactionMessages(Csms csms) =>
        [.. csms.Calls().Where(c => c.GetProperty("action").GetString() is "StartTransaction" or "StopTransaction" or "MeterValues")
            .Where(c => c.GetProperty("action").GetString() != "MeterValues" || c.GetProperty("params").TryGetProperty("transactionId", out _))
            .Select(c =>
            {
                var p = c.GetProperty("params");
                string action = c.GetProperty("action").GetString()!;
                int tx = action == "StartTransaction" ? c.GetProperty("result").GetProperty("transactionId").GetInt32() : p.GetProperty("transactionId").GetInt32();
                return (action, tx, p);
            })];

    [Fact]
    public async Task A_backend_outage_during_a_session_loses_nothing_and_the_queue_is_delivered_in_order_with_the_transaction_ids_fixed_up()
    {
        int port = Csms.FreePort();
        var first = await Csms.StartAsync(port);
        await first.Set("defaultAuthorize", "Accepted");
        await using var station = await TestStation.StartAsync(null, Backend(first));
        var queue = station.App.Services.GetRequiredService<TransactionQueue>();
        var backend = station.App.Services.GetRequiredService<IOcppBackend>();
        station.Whitelist("04A1B2C3D4E501");
        station.Whitelist("04A1B2C3D4E502");
        await first.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        Assert.Equal("Accepted", (await first.Call("ChangeConfiguration", new { key = "MeterValueSampleInterval", value = "1" })).GetProperty("status").GetString());

        // transaction A starts online: the central system calls it 1000
        await station.Station.PresentIdAsync(1, new IdToken("04A1B2C3D4E501", IdSource.Rfid));
        station.Station.SetVehicleState(1, CpState.C);
        Assert.Equal(1000, TransactionIdOf(await first.WaitForCall("StartTransaction")));
        await first.WaitForCall("MeterValues", p => p.TryGetProperty("transactionId", out _));

        await first.KillAsync();   // the backend goes down
        await TestStation.WaitFor(() => !backend.Online, "the station to notice the outage");
        await TestStation.WaitFor(() => queue.Count >= 2, "meter values to queue up");
        station.Station.StopTransaction(1, StopReason.Local);   // A ends offline
        station.Station.SetVehicleState(1, CpState.A);
        var b = await station.Station.PresentIdAsync(1, new IdToken("04A1B2C3D4E502", IdSource.Rfid));   // B starts and ends offline
        Assert.True(b.Accepted, b.Reason);
        station.Station.SetVehicleState(1, CpState.C);
        long localB = station.Station.Snapshot(1).Transaction!.Id;
        await TestStation.WaitFor(() => queue.All().Count(m => m.Action == "MeterValues" && m.LocalTransaction == localB) >= 2, "meter values of B");
        station.Station.StopTransaction(1, StopReason.Local);
        var queued = queue.All();
        Assert.Equal(["StopTransaction", "StartTransaction", "StopTransaction"], queued.Where(m => m.Action != "MeterValues").Select(m => m.Action).ToArray());
        var state = await station.Get<JsonElement>("/api/ocpp");
        Assert.Equal(queued.Count, state.GetProperty("state").GetProperty("queuedMessages").GetInt32());
        Assert.False(state.GetProperty("state").GetProperty("connected").GetBoolean());
        var outageEnded = DateTimeOffset.UtcNow;

        await using var second = await Csms.StartAsync(port, firstTransaction: 2000);   // back, on the same address
        await second.Set("defaultAuthorize", "Accepted");
        await second.WaitForCall("StopTransaction", n: 2, seconds: 30);
        await TestStation.WaitFor(() => queue.Count == 0, "the queue to empty");

        var delivered = TransactionMessages(second);
        Assert.Equal(queued.Count, delivered.Count);   // every message, once
        Assert.Equal(queued.Select(m => m.Action), delivered.Select(m => m.Action));   // in the order they were made
        int stopA = delivered.FindIndex(m => m.Action == "StopTransaction");
        Assert.All(delivered.Take(stopA + 1), m => Assert.Equal(1000, m.Tx));   // A keeps the id of the first central system
        Assert.Equal("Local", delivered[stopA].Params.GetProperty("reason").GetString());
        Assert.All(delivered.Skip(stopA + 1), m => Assert.Equal(2000, m.Tx));   // B gets the id its late StartTransaction was given
        foreach (var m in delivered.Where(m => m.Action == "MeterValues"))
        {
            var at = DateTimeOffset.Parse(m.Params.GetProperty("meterValue")[0].GetProperty("timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(at < outageEnded, "a queued sample keeps the time it was taken");
        }
        var history = await station.Get<JsonElement>("/api/history");
        Assert.Equal([2000, 1000], history.EnumerateArray().Select(s => s.GetProperty("ocppTransactionId").GetInt32()).ToArray());
        Assert.Empty(first.Violations);
        Assert.Empty(second.Violations);
        await first.DisposeAsync();
    }

    private static int TransactionIdOf(JsonElement startCall) => startCall.GetProperty("result").GetProperty("transactionId").GetInt32();

    [Fact]
    public async Task A_station_killed_with_SIGKILL_and_restarted_delivers_every_queued_message_and_the_PowerLoss_stop_once()
    {
        using var dir = new TempDir();
        string db = dir.File("juice.db");
        int port = Csms.FreePort();
        var first = await Csms.StartAsync(port);
        await first.Set("defaultAuthorize", "Accepted");
        string[] args = ["--Ocpp:Url=ws://127.0.0.1:" + port, "--Ocpp:ChargeBoxId=JUICE-T1", "--Ocpp:ReconnectMinSeconds=1", "--Ocpp:ReconnectMaxSeconds=2"];
        long lastMeter;
        {
            await using var station = await StationProcess.StartAsync(db, args);
            Assert.True((await station.Http.PutAsJsonAsync("/api/ocpp/configuration/MeterValueSampleInterval", new { value = "1" })).IsSuccessStatusCode);
            Assert.True((await station.Http.PostAsJsonAsync("/api/whitelists/local", new { id = "04A1B2C3D4E503" })).IsSuccessStatusCode);
            await first.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
            await station.Http.PostAsJsonAsync("/api/connectors/1/rfid", new { idTag = "04A1B2C3D4E503" });
            await station.Http.PostAsJsonAsync("/api/connectors/1/vehicle", new { state = "C" });
            Assert.Equal(1000, TransactionIdOf(await first.WaitForCall("StartTransaction")));
            await first.KillAsync();   // the backend goes down; samples queue up
            await Task.Delay(3000);
            var queued = await station.Http.GetFromJsonAsync<JsonElement>("/api/ocpp");
            Assert.True(queued.GetProperty("state").GetProperty("queuedMessages").GetInt32() >= 2, queued.GetRawText());
            lastMeter = (long)(await station.Http.GetFromJsonAsync<JsonElement>("/api/connectors/1")).GetProperty("meter").GetProperty("totalEnergyWh").GetDouble();
            await station.KillAsync();   // a power cut in the middle of the session
        }
        int queuedBefore;
        {
            // the station comes back with the backend still down: the open transaction is closed as PowerLoss, into the queue
            await using var station = await StationProcess.StartAsync(db, args);
            var state = await station.Http.GetFromJsonAsync<JsonElement>("/api/ocpp");
            var actions = state.GetProperty("queue").EnumerateArray().Select(m => m.GetProperty("action").GetString()).ToList();
            Assert.Equal("StopTransaction", actions[^1]);
            Assert.DoesNotContain("StartTransaction", actions);
            Assert.True(actions.Count(a => a == "MeterValues") >= 2);
            queuedBefore = actions.Count;
            await station.StopAsync();   // and an orderly restart on top
        }
        await using (var station = await StationProcess.StartAsync(db, args))
        {
            await using var second = await Csms.StartAsync(port, firstTransaction: 5000);
            var stop = await second.WaitForCall("StopTransaction");
            await TestStation.WaitFor(() => station.Http.GetFromJsonAsync<JsonElement>("/api/ocpp").Result.GetProperty("state").GetProperty("queuedMessages").GetInt32() == 0, "the queue to empty");
            var delivered = TransactionMessages(second);
            Assert.Equal(queuedBefore, delivered.Count);
            Assert.All(delivered, m => Assert.Equal(1000, m.Tx));   // the id from before the kill, read back from the database
            Assert.Equal("StopTransaction", delivered[^1].Action);
            Assert.Single(delivered, m => m.Action == "StopTransaction");
            Assert.Equal("PowerLoss", stop.GetProperty("params").GetProperty("reason").GetString());
            Assert.InRange(stop.GetProperty("params").GetProperty("meterStop").GetInt64(), lastMeter - 50, lastMeter + 50);
            Assert.Empty(second.Violations);
        }
        Assert.Empty(first.Violations);
        await first.DisposeAsync();
    }

    [Fact]
    public async Task A_transaction_message_the_central_system_refuses_is_tried_TransactionMessageAttempts_times_and_then_given_up()
    {
        await using var csms = await Csms.StartAsync();
        await csms.Set("defaultAuthorize", "Accepted");
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        var queue = station.App.Services.GetRequiredService<TransactionQueue>();
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        Assert.Equal("Accepted", (await csms.Call("ChangeConfiguration", new { key = "TransactionMessageAttempts", value = "2" })).GetProperty("status").GetString());
        Assert.Equal("Accepted", (await csms.Call("ChangeConfiguration", new { key = "TransactionMessageRetryInterval", value = "1" })).GetProperty("status").GetString());

        // a StartTransaction that does not fit the schema of OCPP 1.6 is refused by the central system with a CALLERROR
        queue.Enqueue("StartTransaction", """{"connectorId":1,"idTag":"THIS-ID-TAG-IS-FAR-TOO-LONG","meterStart":0,"timestamp":"2026-01-01T00:00:00.000Z"}""", 99);
        queue.Enqueue("StopTransaction", """{"transactionId":99,"meterStop":5,"timestamp":"2026-01-01T00:10:00.000Z"}""", 99);
        await TestStation.WaitFor(() => queue.Count == 0, "the refused messages to be given up", seconds: 30);
        Assert.Empty(csms.Calls("StartTransaction"));   // never accepted
        Assert.Empty(csms.Calls("StopTransaction"));   // its stop has no transaction id to refer to: dropped, not sent
        Assert.Equal(2, csms.Violations.Count);   // the two attempts, both refused by ocpp-rpc's strict validation
    }
}
