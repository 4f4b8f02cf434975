using System.Net;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;
using Juice.Hlc.V2gtp;
using Microsoft.Extensions.Time.Testing;
using static Juice.Hlc.Tests.Secc.Iso2Requests;

namespace Juice.Hlc.Tests.Secc;

/// <summary>The SECC behind a real TCP server on loopback.</summary>
public sealed class SeccConnectionTests
{
    /// <summary>
    /// A fake clock that knows how many sequence timers (60 s) are armed: the SECC arms its connection's timer for
    /// each read and disarms it when the read ends, so exactly one armed timer means it waits for the next request.
    /// </summary>
    private sealed class ObservedTime : FakeTimeProvider
    {
        private int _armed;

        public int ArmedSequenceTimers => Volatile.Read(ref _armed);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new Counted(base.CreateTimer(callback, state, dueTime, period), this);
            timer.Change(dueTime, period);
            return timer;
        }

        private sealed class Counted(ITimer inner, ObservedTime owner) : ITimer
        {
            private int _counted;

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                bool sequence = dueTime == V2gTimers.Iso15118_2.SeccSequenceTimeout;
                if (sequence && Interlocked.Exchange(ref _counted, 1) == 0)
                {
                    Interlocked.Increment(ref owner._armed);   // counted once registered
                }
                bool changed = inner.Change(dueTime, period);
                if (!sequence && Interlocked.Exchange(ref _counted, 0) == 1)
                {
                    Interlocked.Decrement(ref owner._armed);
                }
                return changed;
            }

            public void Dispose()
            {
                inner.Dispose();
                if (Interlocked.Exchange(ref _counted, 0) == 1)
                {
                    Interlocked.Decrement(ref owner._armed);
                }
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }

    private static (V2gTcpServer Server, SimpleEvse Evse) StartSecc(TimeProvider? time = null)
    {
        var evse = new SimpleEvse(time);
        var server = new V2gTcpServer(new V2gTcpServerOptions { Port = 0 }, new SeccConnectionHandler(evse, time: time).RunAsync, time: time);
        server.Start();
        return (server, evse);
    }

    private static async Task<V2gtpMessage> Exchange(V2gtpConnection ev, byte[] request)
    {
        await ev.WriteAsync(V2gtpPayloadType.Exi, request);
        return (await ev.ReadAsync())!.Value;
    }

    [Fact]
    public async Task A_captured_AC_session_runs_over_TCP_from_the_handshake_to_SessionStop()
    {
        var (server, evse) = StartSecc();
        await using var _ = server;
        await using var ev = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));

        string handshake = File.ReadAllLines(Path.Combine(Vectors.Shared, "vectors", "sessions", "iso15118-2_ac_eim_josev", "exi.txt"))[0].Split(' ')[1];
        var answer = AppHandshakeExi.DecodeSupportedAppProtocolRes((await Exchange(ev, Convert.FromHexString(handshake))).Payload);
        Assert.Equal(Juice.Hlc.Exi.AppHandshake.ResponseCodeType.OK_SuccessfulNegotiation, answer.ResponseCode);

        byte[]? sessionId = null;
        foreach (var request in Iso2SeccSessionTests.CapturedRequests("iso15118-2_ac_eim_josev"))
        {
            if (sessionId is not null)
            {
                request.Header.SessionID = sessionId;
            }
            var response = Iso2Exi.Decode((await Exchange(ev, Iso2Exi.Encode(request))).Payload);
            sessionId = response.Header.SessionID;
            Assert.StartsWith("OK", response.Body.BodyElement!.GetType().GetProperty("ResponseCode")!.GetValue(response.Body.BodyElement)!.ToString());
        }
        Assert.Null(await ev.ReadAsync());   // the SECC closes after SessionStopRes
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
    }

    [Fact]
    public async Task An_EV_that_goes_silent_mid_charge_is_timed_out_energy_stops_and_the_next_EV_is_served()
    {
        var time = new ObservedTime();
        var (server, evse) = StartSecc(time);
        await using var _ = server;
        var endpoint = new IPEndPoint(IPAddress.Loopback, server.LocalEndPoint.Port);
        await using (var ev = await V2gTcpClient.ConnectAsync(endpoint))
        {
            var offer = AppProtocolNegotiation.Offer([AppProtocolVersion.Iso2]);
            await Exchange(ev, AppHandshakeExi.EncodeSupportedAppProtocolReq(offer));
            var setup = Iso2Exi.Decode((await Exchange(ev, Iso2Exi.Encode(Message(null, SessionSetup())))).Payload);
            byte[] id = setup.Header.SessionID;
            await Exchange(ev, Iso2Exi.Encode(Message(id, new ServiceDiscoveryReqType())));
            await Exchange(ev, Iso2Exi.Encode(Message(id, PaymentServiceSelection())));
            await Exchange(ev, Iso2Exi.Encode(Message(id, new AuthorizationReqType())));
            await Exchange(ev, Iso2Exi.Encode(Message(id, DcChargeParameterDiscovery())));
            await Exchange(ev, Iso2Exi.Encode(Message(id, new CableCheckReqType { DC_EVStatus = EvStatus() })));
            await Exchange(ev, Iso2Exi.Encode(Message(id, PreCharge())));
            await Exchange(ev, Iso2Exi.Encode(Message(id, PowerDelivery(ChargeProgressType.Start))));
            await Exchange(ev, Iso2Exi.Encode(Message(id, CurrentDemand(60))));
            Assert.True(evse.EnergyTransferOn);
            // the SECC has answered (the timer of that read is gone); wait until it waits for the next request
            for (int i = 0; i < 500 && time.ArmedSequenceTimers != 1; i++)
            {
                await Task.Delay(20);
            }
            Assert.Equal(1, time.ArmedSequenceTimers);

            // silence: nothing for 59 s is fine, 60 s ends the session (V2G_SECC_Sequence_Timeout)
            var closed = ev.ReadAsync().AsTask();
            time.Advance(TimeSpan.FromSeconds(59));
            await Task.Delay(100);
            Assert.False(closed.IsCompleted);
            time.Advance(TimeSpan.FromSeconds(2));
            Assert.Null(await closed.WaitAsync(TimeSpan.FromSeconds(10)));
            await WaitFor(() => evse.Ended is not null);
            Assert.False(evse.EnergyTransferOn);
            Assert.Equal(SessionEndReason.Timeout, evse.Ended);
        }
        await using var next = await V2gTcpClient.ConnectAsync(endpoint);
        var again = AppHandshakeExi.DecodeSupportedAppProtocolRes((await Exchange(next, AppHandshakeExi.EncodeSupportedAppProtocolReq(AppProtocolNegotiation.Offer([AppProtocolVersion.Iso2])))).Payload);
        Assert.Equal(Juice.Hlc.Exi.AppHandshake.ResponseCodeType.OK_SuccessfulNegotiation, again.ResponseCode);
    }

    [Fact]
    public async Task An_undecodable_request_ends_the_session_with_energy_off()
    {
        var (server, evse) = StartSecc();
        await using var _ = server;
        await using var ev = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
        await Exchange(ev, AppHandshakeExi.EncodeSupportedAppProtocolReq(AppProtocolNegotiation.Offer([AppProtocolVersion.Iso2])));
        await Exchange(ev, Iso2Exi.Encode(Message(null, SessionSetup())));
        await ev.WriteAsync(V2gtpPayloadType.Exi, new byte[] { 0x80, 0xFF, 0xFF });
        Assert.Null(await ev.ReadAsync());
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(SessionEndReason.Error, evse.Ended);
        Assert.False(evse.EnergyTransferOn);
    }

    [Fact]
    public async Task Garbage_before_SessionSetup_closes_the_connection_without_a_session()
    {
        var (server, evse) = StartSecc();
        await using var _ = server;
        await using var ev = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
        await Exchange(ev, AppHandshakeExi.EncodeSupportedAppProtocolReq(AppProtocolNegotiation.Offer([AppProtocolVersion.Iso2])));
        await ev.WriteAsync(V2gtpPayloadType.Exi, new byte[] { 0x80, 0xFF, 0xFF });
        Assert.Null(await ev.ReadAsync());
        Assert.Null(evse.Ev);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(20);
        }
        Assert.True(condition());
    }

}
