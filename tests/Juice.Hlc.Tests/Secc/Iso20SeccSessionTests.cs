using System.Net;
using Juice.Hlc.Replay;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;

namespace Juice.Hlc.Tests.Secc;

/// <summary>The ISO 15118-20 SECC over loopback TCP (the plain-TCP test mode), driven by the captured -20 sessions of another implementation.</summary>
public sealed class Iso20SeccSessionTests
{
    private static readonly EvReplayOptions Fast = new() { RepeatInterval = TimeSpan.FromMilliseconds(10), MessageTimeout = TimeSpan.FromSeconds(15) };

    private static ReplayScript Script(string session) =>
        ReplayScript.From(CapturedSession.ParseText(File.ReadAllText(Path.Combine(Vectors.Shared, "vectors", "sessions", session, "exi.txt"))));

    private static V2gTcpServer Start(SimpleEvse evse, bool allowPlainTcp = true)
    {
        var options = new SeccOptions
        {
            Protocols = [AppProtocolVersion.Iso20Dc, AppProtocolVersion.Iso20Ac, AppProtocolVersion.Iso2, AppProtocolVersion.Din],
            Iso20AllowPlainTcp = allowPlainTcp,
        };
        var server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback }, new SeccConnectionHandler(evse, options).RunAsync);
        server.Start();
        return server;
    }

    [Theory]
    [InlineData("iso15118-20_ac_eim_josev")]
    [InlineData("iso15118-20_dc_eim_josev")]
    public async Task The_captured_EV_of_another_stack_charges_to_SessionStop_with_the_same_requests(string session)
    {
        int asked = 0;
        var evse = new SimpleEvse
        {
            IsolationTestDuration = TimeSpan.Zero,
            Authorize = _ => Interlocked.Increment(ref asked) < 3 ? AuthorizationStatus.Pending : AuthorizationStatus.Accepted,
        };
        await using var server = Start(evse);
        var report = new StringWriter();
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        var result = await new EvReplay(Script(session), report, Fast).RunAsync(connection, CancellationToken.None);
        Assert.True(result.Completed, report.ToString());
        string text = report.ToString();
        Assert.Contains("AuthorizationReq (repeated) -> AuthorizationRes OK, Ongoing_WaitingForCustomerInteraction", text);
        Assert.Contains("SessionStopReq -> SessionStopRes OK", text);
        for (int i = 0; i < 500 && evse.Ended is null; i++)
        {
            await Task.Delay(20);
        }
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes("WMIV1234567890ABCDEX"), evse.Ev!.Evccid);
    }

    [Fact]
    public async Task Without_the_plain_TCP_test_mode_a_20_EV_is_not_offered_20()
    {
        await using var server = Start(new SimpleEvse(), allowPlainTcp: false);
        var report = new StringWriter();
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        var result = await new EvReplay(Script("iso15118-20_dc_eim_josev"), report, Fast).RunAsync(connection, CancellationToken.None);
        Assert.False(result.Completed);
        Assert.Contains("supportedAppProtocolRes Failed_NoNegotiation", report.ToString());
    }
}
