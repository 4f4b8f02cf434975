using System.Net;
using Juice.Hlc.Replay;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Tests.Replay;

/// <summary>Replays of the captured sessions of shared/vectors/sessions, both roles, over loopback TCP.</summary>
public sealed class ReplayTests
{
    public static TheoryData<string> Captures => new(Directory.GetDirectories(Path.Combine(Vectors.Shared, "vectors", "sessions")).Select(Path.GetFileName).Order()!);

    private static string CaptureFile(string session, string file = "exi.txt") => Path.Combine(Vectors.Shared, "vectors", "sessions", session, file);

    private static ReplayScript Script(string session, string file = "exi.txt") => ReplayScript.From(CapturedSession.ParseText(File.ReadAllText(CaptureFile(session, file))));

    private static readonly EvReplayOptions Fast = new() { RepeatInterval = TimeSpan.FromMilliseconds(10), MessageTimeout = TimeSpan.FromSeconds(15) };

    [Theory]
    [MemberData(nameof(Captures))]
    public void Every_shared_capture_reads_as_a_script_in_both_text_forms(string session)
    {
        var script = Script(session);
        int lines = File.ReadAllLines(CaptureFile(session)).Count(l => l.Length > 0);
        Assert.Equal((lines - 2) / 2, script.Exchanges.Count);
        Assert.Equal("SessionStopReq", script.Exchanges[^1].Request.Name);
        // v2gtp.txt keeps the V2GTP header: the same messages, and the -20 payload types pick the grammar
        var framed = CapturedSession.ParseText(File.ReadAllText(CaptureFile(session, "v2gtp.txt")));
        var plain = CapturedSession.ParseText(File.ReadAllText(CaptureFile(session)));
        Assert.Equal(plain.Messages.Select(m => Convert.ToHexString(m.Exi)), framed.Messages.Select(m => Convert.ToHexString(m.Exi)));
        Assert.All(framed.Messages, m => Assert.NotNull(m.PayloadType));
        var fromFrames = ReplayScript.From(framed);
        Assert.Equal(script.Exchanges.Select(e => e.Request.Codec.Name + e.Request.Name), fromFrames.Exchanges.Select(e => e.Request.Codec.Name + e.Request.Name));
    }

    [Fact]
    public void A_juice_log_reads_as_a_capture_and_a_SECC_log_gives_its_first_EV()
    {
        var exi = File.ReadAllLines(CaptureFile("iso15118-2_ac_eim_josev")).Where(l => l.Length > 0).ToList();
        string evLog = string.Join("\n", exi.Select(l => $"<!-- {l} -->\n<v2gci_d:V2G_Message>\n  <x/>\n</v2gci_d:V2G_Message>"));
        Assert.Equal(exi.Count, CapturedSession.ParseText(evLog).Messages.Count);
        string seccLog = string.Join("\n", exi.SelectMany(l => new[] { $"<!-- [::1]:5000 {l} -->", $"<!-- [::1]:5001 {l} -->" }));
        var first = CapturedSession.ParseText(seccLog);
        Assert.Equal(exi.Count, first.Messages.Count);
        Assert.Throws<FormatException>(() => CapturedSession.ParseText("ev->se 8000\nsomething else"));
        Assert.Throws<FormatException>(() => CapturedSession.ParseText("se->ev 80400040"));   // no request first
    }

    /// <summary>Both sides from the same capture: the car gets exactly the charger's captured answers and reaches SessionStop.</summary>
    [Theory]
    [MemberData(nameof(Captures))]
    public async Task The_captured_car_against_the_captured_charger_reaches_SessionStop(string session)
    {
        var script = Script(session);
        var seccReport = new StringWriter();
        var seccResult = new TaskCompletionSource<ReplayResult>();
        await using var server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback },
            async (connection, _, ct) => seccResult.TrySetResult(await new SeccReplay(script, seccReport).RunAsync(connection, ct)));
        server.Start();
        var evReport = new StringWriter();
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        var ev = await new EvReplay(script, evReport, Fast).RunAsync(connection, CancellationToken.None);
        Assert.True(ev.Completed, evReport.ToString());
        var secc = await seccResult.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(secc.Completed, seccReport.ToString());
        Assert.Equal(0, secc.ExchangesWithDifferences);   // the car sent exactly what it sent before (SessionID, time stamps aside)
        // every exchange once, but one DIN / ISO-2 pre-charge: this charger reaches the car's target voltage at once
        // (a -20 car says itself when its pre-charge is done, and is played as captured)
        int preCharges = script.Exchanges.Count(e => e.Request.Name == "PreChargeReq");
        Assert.Equal(1 + script.Exchanges.Count - preCharges + Math.Min(preCharges, 1), secc.Exchanges);
        // the charger answers as captured except where it follows the car: pre-charge reaches the car's target at once
        Assert.All(evReport.ToString().Split('\n').Where(l => l.Contains("differs", StringComparison.Ordinal)), l => Assert.Contains("PreChargeRes", l));
        Assert.Contains("session stopped: OK", evReport.ToString());
    }

    [Theory]
    [InlineData("din70121_dc_eim_josev")]
    [InlineData("iso15118-2_ac_eim_josev")]
    public async Task Against_our_SECC_the_car_of_each_capture_charges_to_SessionStop_and_waits_as_long_as_the_charger_needs(string session)
    {
        int asked = 0;   // this charger decides at the fourth request, later than the captured one
        var evse = new SimpleEvse { Authorize = _ => Interlocked.Increment(ref asked) < 4 ? AuthorizationStatus.Pending : AuthorizationStatus.Accepted };
        await using var server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback }, new SeccConnectionHandler(evse).RunAsync);
        server.Start();
        var report = new StringWriter();
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        var result = await new EvReplay(Script(session), report, Fast).RunAsync(connection, CancellationToken.None);
        Assert.True(result.Completed, report.ToString());
        string text = report.ToString();
        Assert.Matches(@"(Authorization|ContractAuthentication)Req \(repeated\) -> \w+Res OK, Ongoing", text);   // repeated as long as this charger needed
        Assert.Contains("SessionSetupRes OK_NewSessionEstablished — differs from captured message 4:", text);   // another EVSEID, named
        Assert.Contains("session stopped: OK", text);
        for (int i = 0; i < 500 && evse.Ended is null; i++)
        {
            await Task.Delay(20);   // the SECC books the end after its SessionStopRes is out
        }
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
    }

    [Fact]
    public async Task A_charger_that_asks_to_stop_ends_the_captured_charging_loop_there_and_the_car_stops_cleanly()
    {
        var evse = new SimpleEvse { Request = EvseRequest.StopCharging };
        await using var server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback }, new SeccConnectionHandler(evse).RunAsync);
        server.Start();
        var report = new StringWriter();
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        var result = await new EvReplay(Script("iso15118-2_ac_eim_josev"), report, Fast).RunAsync(connection, CancellationToken.None);
        Assert.True(result.Completed, report.ToString());
        Assert.Contains("the charger asks for StopCharging: the loop ends here, 9 captured loop requests skipped", report.ToString());
        Assert.Equal(1, report.ToString().Split('\n').Count(l => l.Contains("ChargingStatusReq ->", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_charger_that_refuses_the_car_is_reported_with_its_ResponseCode_and_the_replay_fails()
    {
        var evse = new SimpleEvse { Authorize = _ => AuthorizationStatus.Rejected };
        await using var server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback }, new SeccConnectionHandler(evse).RunAsync);
        server.Start();
        var report = new StringWriter();
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        var result = await new EvReplay(Script("iso15118-2_ac_eim_josev"), report, Fast).RunAsync(connection, CancellationToken.None);
        Assert.False(result.Completed);
        Assert.Contains("AuthorizationRes: FAILED", result.Failure);
        Assert.Contains("AuthorizationReq -> AuthorizationRes FAILED", report.ToString());
    }

    [Theory]
    [InlineData("iso15118-20_ac_eim_josev")]
    [InlineData("iso15118-20_dc_eim_josev")]
    public async Task A_charger_without_the_captured_protocol_is_reported_at_the_handshake(string session)
    {
        await using var server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback }, new SeccConnectionHandler(new SimpleEvse()).RunAsync);
        server.Start();
        var report = new StringWriter();
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        var result = await new EvReplay(Script(session), report, Fast).RunAsync(connection, CancellationToken.None);
        Assert.False(result.Completed);
        Assert.Contains("supportedAppProtocolRes Failed_NoNegotiation", report.ToString());
        Assert.Contains("the charger selected none of the offered protocols", result.Failure);
    }

    [Fact]
    public async Task An_EV_that_does_not_offer_the_captured_protocol_gets_Failed_NoNegotiation()
    {
        var script = Script("iso15118-2_ac_eim_josev");
        var report = new StringWriter();
        var done = new TaskCompletionSource<ReplayResult>();
        await using var server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback },
            async (connection, _, ct) => done.TrySetResult(await new SeccReplay(script, report).RunAsync(connection, ct)));
        server.Start();
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        var offer = AppProtocolNegotiation.Offer([AppProtocolVersion.Din]);
        await connection.WriteAsync(V2gtpPayloadType.Exi, Juice.Hlc.Exi.AppHandshake.AppHandshakeExi.EncodeSupportedAppProtocolReq(offer));
        var answer = await connection.ReadAsync();
        var response = Juice.Hlc.Exi.AppHandshake.AppHandshakeExi.DecodeSupportedAppProtocolRes(answer!.Value.Payload);
        Assert.Equal(Juice.Hlc.Exi.AppHandshake.ResponseCodeType.Failed_NoNegotiation, response.ResponseCode);
        var result = await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(result.Completed);
        Assert.Contains("does not offer urn:iso:15118:2:2013:MsgDef", result.Failure);
    }
}
