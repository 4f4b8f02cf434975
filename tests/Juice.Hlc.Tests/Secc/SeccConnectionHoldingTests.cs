using System.Net;
using System.Net.Sockets;
using Juice.Hlc.Evcc;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;
using Juice.Hlc.V2gtp;
using static Juice.Hlc.Tests.Secc.Iso2Requests;

namespace Juice.Hlc.Tests.Secc;

/// <summary>
/// No connection blocks the charging point before it has done anything: it is bound at its first valid
/// supportedAppProtocolReq, a newer connection of the same EV takes over, and the number of connections is capped.
/// Each case ends with a real EV session that completes.
/// </summary>
public sealed class SeccConnectionHoldingTests
{
    private static readonly TimeSpan Patient = TimeSpan.FromSeconds(15);

    private sealed class Secc : IAsyncDisposable
    {
        public required V2gTcpServer Server { get; init; }
        public required SimpleEvse Evse { get; init; }
        public required SeccConnectionHandler Handler { get; init; }

        public IPEndPoint Loopback6 => new(IPAddress.IPv6Loopback, Server.LocalEndPoint.Port);

        public ValueTask DisposeAsync() => Server.DisposeAsync();
    }

    /// <summary>One charging point, one EV at a time (the station's connector), behind a real TCP server.</summary>
    private static Secc Start(SeccOptions? options = null)
    {
        var evse = new SimpleEvse();
        var handler = new SeccConnectionHandler(evse, options);
        var server = new V2gTcpServer(new V2gTcpServerOptions { Port = 0 }, handler.RunAsync);
        server.Start();
        return new Secc { Server = server, Evse = evse, Handler = handler };
    }

    private static async Task<EvResult> ChargeAsync(IPEndPoint secc)
    {
        await using var connection = await V2gTcpClient.ConnectAsync(secc);
        var options = new EvOptions
        {
            Energy = EnergyTransfer.AcThreePhase, StartSoc = 79.9, TargetSoc = 80, BatteryCapacityWh = 500,
            LoopInterval = TimeSpan.FromMilliseconds(20), MessageTimeout = Patient,
        };
        return await new EvClient(options).RunAsync(connection, null, CancellationToken.None);
    }

    private static async Task<Socket> IdleAsync(IPEndPoint secc)
    {
        var socket = new Socket(secc.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(secc);
        return socket;
    }

    [Fact]
    public async Task An_idle_connection_does_not_turn_the_EV_away()
    {
        await using var secc = Start();
        using var idle = await IdleAsync(secc.Loopback6);
        await WaitFor(() => secc.Handler.OpenConnections == 1);

        var result = await ChargeAsync(secc.Loopback6);

        Assert.True(result.Completed, result.Reason);
        await WaitFor(() => secc.Evse.Ended is not null);   // booked after SessionStopRes is out
        Assert.Equal(SessionEndReason.EvStopped, secc.Evse.Ended);
        await WaitFor(() => secc.Handler.OpenConnections == 1);   // the idle one is left to its own timer
    }

    [Fact]
    public async Task A_half_open_previous_connection_of_the_same_EV_is_taken_over_by_its_new_one()
    {
        await using var secc = Start();
        // the EV's first connection: handshake and SessionSetup, then the link drops without a FIN (half-open)
        await using var old = await V2gTcpClient.ConnectAsync(secc.Loopback6);
        await Exchange(old, AppHandshakeExi.EncodeSupportedAppProtocolReq(AppProtocolNegotiation.Offer([AppProtocolVersion.Iso2])));
        await Exchange(old, Iso2Exi.Encode(Message(null, SessionSetup())));
        Assert.NotNull(secc.Evse.Ev);

        var result = await ChargeAsync(secc.Loopback6);

        Assert.True(result.Completed, result.Reason);
        Assert.Null(await old.ReadAsync().AsTask().WaitAsync(Patient));   // the SECC closed the old connection
        await WaitFor(() => secc.Evse.Ended is not null);
        Assert.Equal(SessionEndReason.EvStopped, secc.Evse.Ended);
    }

    [Fact]
    public async Task Five_hundred_idle_connections_neither_block_the_EV_nor_stay_open_beyond_the_caps()
    {
        var options = new SeccOptions { MaxConnections = 32, MaxConnectionsPerPeer = 8 };
        await using var secc = Start(options);
        var idle = new List<Socket>();
        try
        {
            for (int i = 0; i < 500; i++)
            {
                idle.Add(await IdleAsync(secc.Loopback6));
            }
            await WaitFor(() => secc.Handler.OpenConnections <= options.MaxConnectionsPerPeer);

            var result = await ChargeAsync(secc.Loopback6);

            Assert.True(result.Completed, result.Reason);
            await WaitFor(() => secc.Evse.Ended is not null);
            Assert.Equal(SessionEndReason.EvStopped, secc.Evse.Ended);
            Assert.True(secc.Handler.OpenConnections <= options.MaxConnectionsPerPeer);
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Another_EV_in_a_session_keeps_its_charging_point_and_a_second_one_is_turned_away()
    {
        await using var secc = Start(new SeccOptions { BusyWait = TimeSpan.FromMilliseconds(200) });
        // the first EV over IPv4 (::ffff:127.0.0.1 on the dual-mode server), the second over IPv6: two addresses
        await using var first = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, secc.Server.LocalEndPoint.Port));
        await Exchange(first, AppHandshakeExi.EncodeSupportedAppProtocolReq(AppProtocolNegotiation.Offer([AppProtocolVersion.Iso2])));
        var setup = Iso2Exi.Decode((await Exchange(first, Iso2Exi.Encode(Message(null, SessionSetup())))).Payload);

        await using var second = await V2gTcpClient.ConnectAsync(secc.Loopback6);
        await second.WriteAsync(V2gtpPayloadType.Exi, AppHandshakeExi.EncodeSupportedAppProtocolReq(AppProtocolNegotiation.Offer([AppProtocolVersion.Iso2])));
        Assert.Null(await second.ReadAsync().AsTask().WaitAsync(Patient));   // closed: the point is busy

        // the first session goes on
        var discovery = Iso2Exi.Decode((await Exchange(first, Iso2Exi.Encode(Message(setup.Header.SessionID, new ServiceDiscoveryReqType())))).Payload);
        Assert.Equal(Juice.Hlc.Exi.Iso2.ResponseCodeType.OK, ((ServiceDiscoveryResType)discovery.Body.BodyElement!).ResponseCode);
    }

    [Fact]
    public void The_table_evicts_the_oldest_unbound_connection_and_refuses_when_all_are_bound()
    {
        var table = new SeccConnections(maxTotal: 3, maxPerPeer: 2);
        var a = new IPEndPoint(IPAddress.Parse("fe80::1"), 1000);
        var b = new IPEndPoint(IPAddress.Parse("fe80::2"), 1000);
        var a1 = table.Open(a, out var none)!;
        Assert.Empty(none);
        var a2 = table.Open(a, out _)!;
        table.Bind(a2);
        var a3 = table.Open(a, out var evicted)!;   // a's cap: a1 (unbound, oldest) makes room
        Assert.Same(a1, Assert.Single(evicted));
        Assert.True(a1.Closing.IsCancellationRequested);
        Assert.Equal(SeccConnections.CloseReason.Evicted, a1.Reason);
        a1.Dispose();
        table.Bind(a3);
        Assert.Null(table.Open(a, out _));          // both of a's are bound: refused
        var b1 = table.Open(b, out _)!;
        table.Bind(b1);
        Assert.Null(table.Open(b, out _));          // the total cap of 3, all bound

        // a new handshake of a takes over a's bound connections, never b's
        var taken = table.TakeOver(a2);
        Assert.Same(a3, Assert.Single(taken));
        Assert.Equal(SeccConnections.CloseReason.TakenOver, a3.Reason);
        Assert.False(b1.Closing.IsCancellationRequested);
        Assert.Equal(2, table.Count);
    }

    private static async Task<V2gtpMessage> Exchange(V2gtpConnection ev, byte[] request)
    {
        await ev.WriteAsync(V2gtpPayloadType.Exi, request);
        return (await ev.ReadAsync().AsTask().WaitAsync(Patient))!.Value;
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (int i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(20);
        }
        Assert.True(condition());
    }
}
