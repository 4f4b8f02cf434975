using Juice.Hlc.Exi.Din;
using Juice.Hlc.Secc;
using Juice.Hlc.Secc.Din;

namespace Juice.Hlc.Tests.Secc;

public sealed class DinSeccSessionTests
{
    private static ResponseCodeType Code(V2G_Message response) =>
        (ResponseCodeType)response.Body.BodyElement!.GetType().GetProperty("ResponseCode")!.GetValue(response.Body.BodyElement)!;

    private static List<string> Lines(string dir) =>
        File.ReadAllLines(Path.Combine(Vectors.Shared, "vectors", "sessions", "din70121_dc_eim_josev", "exi.txt"))
            .Where(l => l.StartsWith(dir, StringComparison.Ordinal)).Skip(1).Select(l => l.Split(' ')[1]).ToList();

    [Fact]
    public async Task The_requests_of_a_captured_DIN_DC_session_get_valid_responses_in_order()
    {
        var evse = new SimpleEvse { DcLimits = new EvseLimits(MaxCurrentA: 300, MaxPowerW: 10_000, NominalVoltageV: 400, MaxVoltageV: 600, MinCurrentA: 1, MinVoltageV: 50) };
        var secc = new DinSeccSession(evse);
        var recorded = Lines("se->ev").Select(h => DinExi.Decode(Convert.FromHexString(h)).Body.BodyElement!.GetType()).ToList();
        var requests = Lines("ev->se").Select(h => DinExi.Decode(Convert.FromHexString(h))).ToList();
        for (int i = 0; i < requests.Count; i++)
        {
            if (secc.SessionId is { } id)
            {
                requests[i].Header.SessionID = id;
            }
            var reply = await secc.HandleAsync(requests[i], default);
            Assert.Equal(recorded[i], reply.Response.Body.BodyElement!.GetType());
            Assert.StartsWith("OK", Code(reply.Response).ToString());
            Assert.Equal(i == requests.Count - 1 ? SeccNext.Close : SeccNext.Continue, reply.Next);
            DinExi.Decode(DinExi.Encode(reply.Response));
        }
        Assert.Equal(DinSeccState.Ended, secc.State);
        Assert.False(evse.EnergyTransferOn);
        Assert.Equal("02000000E7CC", evse.Ev!.EvccidHex);
    }

    [Fact]
    public async Task A_DIN_request_out_of_sequence_is_FAILED_SequenceError()
    {
        var secc = new DinSeccSession(new SimpleEvse());
        var requests = Lines("ev->se").Select(h => DinExi.Decode(Convert.FromHexString(h))).ToList();
        await secc.HandleAsync(requests[0], default);                       // SessionSetupReq
        var cableCheck = requests.First(r => r.Body.BodyElement is CableCheckReqType);
        cableCheck.Header.SessionID = secc.SessionId!;
        var reply = await secc.HandleAsync(cableCheck, default);
        Assert.Equal(ResponseCodeType.FAILED_SequenceError, Code(reply.Response));
        Assert.IsType<CableCheckResType>(reply.Response.Body.BodyElement);
        Assert.Equal(SeccNext.Close, reply.Next);
    }

    [Fact]
    public async Task An_AC_only_station_refuses_DIN_at_service_discovery()
    {
        var secc = new DinSeccSession(new SimpleEvse { Supported = EnergyTransfer.AcThreePhase });
        var requests = Lines("ev->se").Select(h => DinExi.Decode(Convert.FromHexString(h))).ToList();
        await secc.HandleAsync(requests[0], default);
        requests[1].Header.SessionID = secc.SessionId!;
        var reply = await secc.HandleAsync(requests[1], default);
        Assert.Equal(ResponseCodeType.FAILED, Code(reply.Response));
    }
}
