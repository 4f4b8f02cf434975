using System.Net;
using System.Net.Sockets;
using Juice.Hlc.Transport;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Tests.Transport;

public sealed class V2gTcpServerTests
{
    private static async Task Echo(V2gtpConnection c, IPEndPoint remote, CancellationToken ct)
    {
        while (await c.ReadAsync(ct) is { } m)
        {
            await c.WriteAsync(m.PayloadType, m.Payload, ct);
        }
    }

    [Theory]
    [InlineData("::1")]
    [InlineData("127.0.0.1")]
    public async Task An_EV_exchanges_messages_over_IPv6_and_IPv4(string address)
    {
        await using var server = new V2gTcpServer(new V2gTcpServerOptions { Port = 0 }, Echo);
        server.Start();
        await using var ev = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.Parse(address), server.LocalEndPoint.Port));
        for (int i = 0; i < 3; i++)
        {
            await ev.WriteAsync(V2gtpPayloadType.Exi, new byte[] { 0x80, (byte)i });
            Assert.Equal([0x80, (byte)i], (await ev.ReadAsync())!.Value.Payload);
        }
    }

    [Fact]
    public async Task A_peer_sending_a_garbage_header_is_disconnected_and_the_next_EV_is_served()
    {
        await using var server = new V2gTcpServer(new V2gTcpServerOptions { Port = 0 }, Echo);
        server.Start();
        var endpoint = new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port);
        using (var raw = new TcpClient(AddressFamily.InterNetworkV6))
        {
            await raw.ConnectAsync(endpoint);
            var stream = raw.GetStream();
            await stream.WriteAsync(new byte[] { 0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54 });   // "GET / HT"
            var buffer = new byte[16];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            Assert.Equal(0, await stream.ReadAsync(buffer, timeout.Token));   // closed by the server
        }
        await using var ev = await V2gTcpClient.ConnectAsync(endpoint);
        await ev.WriteAsync(V2gtpPayloadType.Exi, new byte[] { 0x80 });
        Assert.Equal([0x80], (await ev.ReadAsync())!.Value.Payload);
    }
}
