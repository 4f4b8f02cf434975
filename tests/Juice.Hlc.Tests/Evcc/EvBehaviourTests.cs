using System.Net;
using Juice.Hlc.Evcc;
using Juice.Hlc.Exi.Din;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;

namespace Juice.Hlc.Tests.Evcc;

/// <summary>Our EV against our SECC: pause and resume, the seeded deterministic mode, and the shape of the sequence.</summary>
public sealed class EvBehaviourTests
{
    private static readonly TimeSpan Patient = TimeSpan.FromSeconds(15);

    private static V2gTcpServer StartSecc(out SimpleEvse evse)
    {
        var point = new SimpleEvse();
        evse = point;
        var server = new V2gTcpServer(new V2gTcpServerOptions { Port = 0 }, new SeccConnectionHandler(point).RunAsync);
        server.Start();
        return server;
    }

    private static async Task<(EvResult Result, List<string> Requests)> Run(V2gTcpServer server, EvOptions options)
    {
        var requests = new List<string>();
        await using var connection = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
        var result = await new EvClient(options with { MessageTimeout = Patient }, trace: (dir, hex) => { if (dir == "ev->se") requests.Add(hex); })
            .RunAsync(connection, null, CancellationToken.None);
        return (result, requests);
    }

    [Fact]
    public async Task A_paused_session_is_resumed_by_the_EV_with_its_SessionID()
    {
        await using var server = StartSecc(out var evse);
        var options = new EvOptions { Energy = EnergyTransfer.AcThreePhase, LoopInterval = TimeSpan.FromMilliseconds(10), Duration = TimeSpan.FromMilliseconds(100) };
        var (paused, _) = await Run(server, options with { Pause = true });
        Assert.Contains("paused", paused.Reason);
        for (int i = 0; i < 250 && evse.Ended is null; i++)
        {
            await Task.Delay(20);
        }
        Assert.Equal(SessionEndReason.EvPaused, evse.Ended);
        var (resumed, _) = await Run(server, options with { ResumeSessionId = paused.SessionId });
        Assert.True(resumed.Resumed);
        Assert.Equal(paused.SessionId, resumed.SessionId);
    }

    /// <summary>The request bodies of a session, without the SessionID the charger gave (random per session).</summary>
    private static List<string> Bodies(List<string> requests) =>
        [.. requests.Skip(1).Select(h =>
        {
            var m = Iso2Exi.Decode(Convert.FromHexString(h));
            m.Header.SessionID = new byte[8];
            return Convert.ToHexString(Iso2Exi.Encode(m));
        })];

    [Fact]
    public async Task The_seeded_mode_sends_the_same_requests_on_every_run()
    {
        await using var server = StartSecc(out _);
        var options = new EvOptions { Energy = EnergyTransfer.Dc, Seed = 7, LoopInterval = TimeSpan.FromMilliseconds(5), Duration = TimeSpan.FromSeconds(1), BatteryCapacityWh = 5_000 };
        var (first, a) = await Run(server, options);
        var (second, b) = await Run(server, options);
        Assert.Equal(Bodies(a), Bodies(b));
        Assert.Equal(first.EnergyWh, second.EnergyWh);
        Assert.Equal(first.Soc, second.Soc);
        // simulated time: 1 s at 5 ms per loop message is 200 CurrentDemandReq, however long the run took
        Assert.Equal(200, Bodies(a).Count(h => Iso2Exi.Decode(Convert.FromHexString(h)).Body.BodyElement is Juice.Hlc.Exi.Iso2.CurrentDemandReqType));
    }

    /// <summary>The request types of a session with repeated loop requests collapsed: the "shape" of the sequence.</summary>
    private static List<string> Shape(IEnumerable<string> names)
    {
        var shape = new List<string>();
        foreach (var name in names)
        {
            if (shape.Count == 0 || shape[^1] != name)
            {
                shape.Add(name);
            }
        }
        return shape;
    }

    private static IEnumerable<string> CapturedRequestTypes(string session, Func<byte[], string> name) =>
        File.ReadAllLines(Path.Combine(Vectors.Shared, "vectors", "sessions", session, "exi.txt"))
            .Where(l => l.StartsWith("ev->se", StringComparison.Ordinal)).Skip(1).Select(l => name(Convert.FromHexString(l.Split(' ')[1])));

    [Fact]
    public async Task Our_EV_sends_the_request_sequence_of_the_captured_ISO_15118_2_AC_session()
    {
        await using var server = StartSecc(out _);
        var (_, requests) = await Run(server, new EvOptions { Energy = EnergyTransfer.AcThreePhase, LoopInterval = TimeSpan.FromMilliseconds(10), Duration = TimeSpan.FromMilliseconds(100) });
        static string Name(byte[] exi) => Iso2Exi.Decode(exi).Body.BodyElement!.GetType().Name;
        var ours = Shape(requests.Skip(1).Select(h => Name(Convert.FromHexString(h))));
        var theirs = Shape(CapturedRequestTypes("iso15118-2_ac_eim_josev", Name));
        Assert.Equal(theirs, ours);
    }

    [Fact]
    public async Task Our_EV_sends_the_request_sequence_of_the_captured_DIN_DC_session()
    {
        await using var server = StartSecc(out _);
        var (_, requests) = await Run(server, new EvOptions { Protocols = [AppProtocolVersion.Din], Energy = EnergyTransfer.Dc, LoopInterval = TimeSpan.FromMilliseconds(10), Duration = TimeSpan.FromMilliseconds(100) });
        static string Name(byte[] exi) => DinExi.Decode(exi).Body.BodyElement!.GetType().Name;
        var ours = Shape(requests.Skip(1).Select(h => Name(Convert.FromHexString(h))));
        var theirs = Shape(CapturedRequestTypes("din70121_dc_eim_josev", Name));
        Assert.Equal(theirs, ours);
    }
}
