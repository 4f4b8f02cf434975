using System.Net;
using System.Net.Sockets;
using Juice.Hlc.Exi.AppHandshake;
using ResponseCodeType = Juice.Hlc.Exi.Iso2.ResponseCodeType;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;
using Juice.Hlc.V2gtp;
using Microsoft.Extensions.Time.Testing;
using static Juice.Hlc.Tests.Secc.Iso2Requests;

namespace Juice.Hlc.Tests.Secc;

/// <summary>
/// A raw peer that misbehaves against the SECC behind a real TCP server: the SECC answers as the standard says,
/// stops the energy transfer, hears how the session ended, and serves the next EV.
/// </summary>
public sealed class MisbehavingPeerTests
{
    private static (V2gTcpServer Server, SimpleEvse Evse, IPEndPoint EndPoint) StartSecc(TimeProvider? time = null)
    {
        var evse = new SimpleEvse(time);
        var server = new V2gTcpServer(new V2gTcpServerOptions { Port = 0 }, new SeccConnectionHandler(evse, time: time).RunAsync, time: time);
        server.Start();
        return (server, evse, new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
    }

    private static async Task<V2G_Message> Exchange(V2gtpConnection ev, V2G_Message request)
    {
        await ev.WriteAsync(V2gtpPayloadType.Exi, Iso2Exi.Encode(request));
        var answer = await ev.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return Iso2Exi.Decode(answer!.Value.Payload);
    }

    private static async Task Handshake(V2gtpConnection ev)
    {
        await ev.WriteAsync(V2gtpPayloadType.Exi, AppHandshakeExi.EncodeSupportedAppProtocolReq(AppProtocolNegotiation.Offer([AppProtocolVersion.Iso2])));
        var answer = AppHandshakeExi.DecodeSupportedAppProtocolRes((await ev.ReadAsync())!.Value.Payload);
        Assert.Equal(Juice.Hlc.Exi.AppHandshake.ResponseCodeType.OK_SuccessfulNegotiation, answer.ResponseCode);
    }

    /// <summary>Handshake and the session up to charging (DC, energy flowing); returns the SessionID.</summary>
    private static async Task<byte[]> UpToCharging(V2gtpConnection ev)
    {
        await Handshake(ev);
        byte[] id = (await Exchange(ev, Message(null, SessionSetup()))).Header.SessionID;
        foreach (var body in new BodyBaseType[]
        {
            new ServiceDiscoveryReqType(), PaymentServiceSelection(), new AuthorizationReqType(), DcChargeParameterDiscovery(),
            new CableCheckReqType { DC_EVStatus = EvStatus() }, PreCharge(), PowerDelivery(ChargeProgressType.Start), CurrentDemand(50),
        })
        {
            await Exchange(ev, Message(id, body));
        }
        return id;
    }

    private static async Task AssertClosed(V2gtpConnection ev) => Assert.Null(await ev.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));

    private static async Task AssertServesTheNextEv(IPEndPoint endpoint)
    {
        await using var next = await V2gTcpClient.ConnectAsync(endpoint);
        await Handshake(next);
        var setup = await Exchange(next, Message(null, SessionSetup()));
        Assert.Equal(ResponseCodeType.OK_NewSessionEstablished, ((SessionSetupResType)setup.Body.BodyElement!).ResponseCode);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(20);
        }
        Assert.True(condition());
    }

    [Fact]
    public async Task A_wrong_SessionID_mid_charge_is_answered_FAILED_UnknownSession_and_the_energy_stops()
    {
        var (server, evse, endpoint) = StartSecc();
        await using var _ = server;
        await using (var ev = await V2gTcpClient.ConnectAsync(endpoint))
        {
            await UpToCharging(ev);
            Assert.True(evse.EnergyTransferOn);
            var reply = await Exchange(ev, Message([9, 9, 9, 9, 9, 9, 9, 9], CurrentDemand(51)));
            Assert.Equal(ResponseCodeType.FAILED_UnknownSession, ((CurrentDemandResType)reply.Body.BodyElement!).ResponseCode);
            await AssertClosed(ev);
        }
        await WaitFor(() => evse.Ended is not null);
        Assert.False(evse.EnergyTransferOn);
        Assert.Equal(SessionEndReason.Error, evse.Ended);
        Assert.True(evse.ReadMeter().EnergyWh >= 0);
        await AssertServesTheNextEv(endpoint);
    }

    [Fact]
    public async Task An_out_of_order_request_is_answered_FAILED_SequenceError_in_its_own_response_type()
    {
        var (server, evse, endpoint) = StartSecc();
        await using var _ = server;
        await using (var ev = await V2gTcpClient.ConnectAsync(endpoint))
        {
            byte[] id = await UpToCharging(ev);
            var reply = await Exchange(ev, Message(id, new CableCheckReqType { DC_EVStatus = EvStatus() }));
            Assert.Equal(ResponseCodeType.FAILED_SequenceError, ((CableCheckResType)reply.Body.BodyElement!).ResponseCode);   // [V2G2-538]
            await AssertClosed(ev);
        }
        await WaitFor(() => evse.Ended is not null);
        Assert.False(evse.EnergyTransferOn);
        await AssertServesTheNextEv(endpoint);
    }

    [Theory]
    [InlineData("02fd800100000001")]   // wrong protocol version
    [InlineData("01fe123400000001")]   // unknown payload type
    [InlineData("01fe80017fffffff")]   // a 2 GB payload announced
    public async Task A_bad_V2GTP_header_mid_charge_closes_the_connection_and_stops_the_energy(string header)
    {
        var (server, evse, endpoint) = StartSecc();
        await using var _ = server;
        using (var raw = new TcpClient(AddressFamily.InterNetworkV6))
        {
            await raw.ConnectAsync(endpoint);
            var ev = new V2gtpConnection(raw.GetStream());
            await UpToCharging(ev);
            await raw.GetStream().WriteAsync(Convert.FromHexString(header));
            var buffer = new byte[64];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.Equal(0, await raw.GetStream().ReadAsync(buffer, timeout.Token));   // closed, nothing buffered for 2 GB
        }
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(SessionEndReason.Error, evse.Ended);
        Assert.False(evse.EnergyTransferOn);
        await AssertServesTheNextEv(endpoint);
    }

    [Fact]
    public async Task A_half_open_connection_that_never_speaks_is_closed_after_the_communication_setup_time()
    {
        var time = new FakeTimeProvider();
        var (server, _, endpoint) = StartSecc(time);
        await using var __ = server;
        using var raw = new TcpClient(AddressFamily.InterNetworkV6);
        await raw.ConnectAsync(endpoint);
        var read = raw.GetStream().ReadAsync(new byte[16]).AsTask();
        await Task.Delay(200);
        time.Advance(TimeSpan.FromSeconds(17));
        await Task.Delay(200);
        Assert.False(read.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));   // V2G_SECC_CommunicationSetup_Performance_Time = 18 s [V2G2-716]
        Assert.Equal(0, await read.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_peer_that_stops_inside_a_frame_is_cut_off_after_the_partial_frame_timeout()
    {
        var time = new FakeTimeProvider();
        var (server, evse, endpoint) = StartSecc(time);
        await using var _ = server;
        using var raw = new TcpClient(AddressFamily.InterNetworkV6);
        await raw.ConnectAsync(endpoint);
        var ev = new V2gtpConnection(raw.GetStream());
        await Handshake(ev);
        await Exchange(ev, Message(null, SessionSetup()));
        await raw.GetStream().WriteAsync(Convert.FromHexString("01fe8001000000108098"));   // 16 bytes announced, 2 sent
        var read = raw.GetStream().ReadAsync(new byte[16]).AsTask();
        for (int i = 0; i < 100 && !read.IsCompleted; i++)
        {
            await Task.Delay(20);
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        Assert.Equal(0, await read.WaitAsync(TimeSpan.FromSeconds(10)));
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(SessionEndReason.Error, evse.Ended);
    }

    [Fact]
    public async Task A_second_EV_while_the_charging_point_is_in_use_is_turned_away()
    {
        var (server, evse, endpoint) = StartSecc();
        await using var _ = server;
        await using var first = await V2gTcpClient.ConnectAsync(endpoint);
        await UpToCharging(first);
        // another EV has another address (IPv4 loopback on the dual-mode server): a connection from the same address
        // is the same EV coming back, which takes over (SeccConnectionHoldingTests)
        await using (var second = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, endpoint.Port)))
        {
            await second.WriteAsync(V2gtpPayloadType.Exi, AppHandshakeExi.EncodeSupportedAppProtocolReq(AppProtocolNegotiation.Offer([AppProtocolVersion.Iso2])));
            await AssertClosed(second);
        }
        Assert.True(evse.EnergyTransferOn);   // the first session is untouched
    }

    [Fact]
    public async Task A_paused_session_is_resumed_on_a_new_connection()
    {
        var (server, evse, endpoint) = StartSecc();
        await using var _ = server;
        byte[] paused;
        await using (var ev = await V2gTcpClient.ConnectAsync(endpoint))
        {
            paused = await UpToCharging(ev);
            await Exchange(ev, Message(paused, PowerDelivery(ChargeProgressType.Stop)));
            await Exchange(ev, Message(paused, new WeldingDetectionReqType { DC_EVStatus = EvStatus() }));
            await Exchange(ev, Message(paused, new SessionStopReqType { ChargingSession = ChargingSessionType.Pause }));
            await AssertClosed(ev);
        }
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(SessionEndReason.EvPaused, evse.Ended);
        await using var again = await V2gTcpClient.ConnectAsync(endpoint);
        await Handshake(again);
        var setup = await Exchange(again, Message(paused, SessionSetup()));
        Assert.Equal(ResponseCodeType.OK_OldSessionJoined, ((SessionSetupResType)setup.Body.BodyElement!).ResponseCode);
        Assert.Equal(paused, setup.Header.SessionID);
    }
}
