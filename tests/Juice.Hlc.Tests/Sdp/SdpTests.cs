using System.Net;
using Juice.Hlc.Sdp;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Tests.Sdp;

public sealed class SdpTests
{
    [Fact]
    public void The_captured_request_and_response_parse_and_format_back()
    {
        // shared/vectors/sessions/din70121_dc_eim_josev/sdp.txt
        var request = SdpRequest.TryParse(Convert.FromHexString("1000"));
        Assert.Equal(new SdpRequest(SdpSecurity.NoTls, SdpTransport.Tcp), request);
        byte[] responseBytes = Convert.FromHexString("fe80000000000000000000fffe005ecced651000");
        var response = SdpResponse.TryParse(responseBytes)!.Value;
        Assert.Equal(IPAddress.Parse("fe80::ff:fe00:5ecc"), response.Address);
        Assert.Equal(0xed65, response.Port);
        Assert.Equal(SdpSecurity.NoTls, response.Security);
        Assert.Equal(responseBytes, response.ToBytes());
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("100000")]
    [InlineData("2000")]
    [InlineData("1020")]
    public void Malformed_requests_are_not_requests(string hex) => Assert.Null(SdpRequest.TryParse(Convert.FromHexString(hex)));

    private static SdpServer Server(bool tls = false, bool tcp = true) =>
        new(new SdpServerOptions { Port = 0, AnnouncedAddress = IPAddress.IPv6Loopback, TcpPort = 50123, OffersTls = tls, OffersTcp = tcp });

    [Theory]
    [InlineData(SdpSecurity.NoTls, false, true, SdpSecurity.NoTls)]
    [InlineData(SdpSecurity.Tls, false, true, SdpSecurity.NoTls)]   // TLS asked, not offered: the SECC answers with what it has
    [InlineData(SdpSecurity.Tls, true, true, SdpSecurity.Tls)]
    [InlineData(SdpSecurity.NoTls, true, false, SdpSecurity.Tls)]
    public async Task The_server_answers_with_its_port_and_what_it_offers(SdpSecurity asked, bool tls, bool tcp, SdpSecurity answered)
    {
        await using var server = Server(tls, tcp);
        byte[]? frame = server.Answer(V2gtpFrame.Build(V2gtpPayloadType.SdpRequest, new SdpRequest(asked, SdpTransport.Tcp).ToBytes()), new IPEndPoint(IPAddress.IPv6Loopback, 1));
        var (type, length) = V2gtpFrame.ParseHeader(frame!, 20);
        Assert.Equal(V2gtpPayloadType.SdpResponse, type);
        var response = SdpResponse.TryParse(frame.AsSpan(8, length))!.Value;
        Assert.Equal(50123, response.Port);
        Assert.Equal(answered, response.Security);
    }

    [Fact]
    public async Task A_TLS_server_started_or_stopped_while_running_is_announced_from_then_on()
    {
        await using var server = Server(tls: false);
        SdpResponse Ask() => SdpResponse.TryParse(server.Answer(V2gtpFrame.Build(V2gtpPayloadType.SdpRequest, new SdpRequest(SdpSecurity.Tls, SdpTransport.Tcp).ToBytes()),
            new IPEndPoint(IPAddress.IPv6Loopback, 1)).AsSpan(8))!.Value;
        Assert.Equal((SdpSecurity.NoTls, (ushort)50123), (Ask().Security, Ask().Port));   // no TLS at all: plain TCP
        server.OfferTls(true, 50125);
        Assert.Equal((SdpSecurity.Tls, (ushort)50125), (Ask().Security, Ask().Port));
        server.OfferTls(false);
        Assert.Equal(SdpSecurity.NoTls, Ask().Security);
    }

    [Fact]
    public async Task Disposing_while_the_server_answers_ends_its_loop_quietly()
    {
        // many requests in flight, then dispose: the loop must end without an exception (it used to throw from SendToAsync)
        for (int round = 0; round < 20; round++)
        {
            var server = Server();
            server.Start();
            using var client = new System.Net.Sockets.UdpClient(System.Net.Sockets.AddressFamily.InterNetworkV6);
            byte[] request = V2gtpFrame.Build(V2gtpPayloadType.SdpRequest, new SdpRequest(SdpSecurity.NoTls, SdpTransport.Tcp).ToBytes());
            for (int i = 0; i < 50; i++)
            {
                await client.SendAsync(request, new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
            }
            await server.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(SdpSecurity.Tls, (ushort)50124)]
    [InlineData(SdpSecurity.NoTls, (ushort)50123)]
    public async Task With_a_TLS_server_of_its_own_the_security_byte_selects_the_port_announced(SdpSecurity asked, ushort port)
    {
        await using var server = new SdpServer(new SdpServerOptions { Port = 0, AnnouncedAddress = IPAddress.IPv6Loopback, TcpPort = 50123, OffersTls = true, TlsPort = 50124 });
        byte[]? frame = server.Answer(V2gtpFrame.Build(V2gtpPayloadType.SdpRequest, new SdpRequest(asked, SdpTransport.Tcp).ToBytes()), new IPEndPoint(IPAddress.IPv6Loopback, 1));
        var response = SdpResponse.TryParse(frame.AsSpan(8))!.Value;
        Assert.Equal(asked, response.Security);
        Assert.Equal(port, response.Port);
    }

    [Theory]
    [InlineData("01fe9000")]
    [InlineData("01fe90000000000210")]
    [InlineData("01fe9001000000021000")]
    [InlineData("02fd900000000002" + "1000")]
    public async Task Garbage_is_ignored(string hex)
    {
        await using var server = Server();
        Assert.Null(server.Answer(Convert.FromHexString(hex), new IPEndPoint(IPAddress.IPv6Loopback, 1)));
    }

    [Fact]
    public async Task An_EV_discovers_the_SECC_over_UDP()
    {
        await using var server = Server();
        server.Start();
        var response = await new SdpClient().DiscoverAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port), SdpSecurity.NoTls);
        Assert.Equal(IPAddress.IPv6Loopback, response.Address);
        Assert.Equal(50123, response.Port);
    }

    [Fact]
    public async Task The_EV_repeats_its_request_then_gives_up()
    {
        var client = new SdpClient { Timeout = TimeSpan.FromMilliseconds(30), MaxAttempts = 3 };
        using var silent = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        var target = (IPEndPoint)silent.Client.LocalEndPoint!;
        var discover = client.DiscoverAsync(target, SdpSecurity.NoTls);
        int requests = 0;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (requests < 3 && DateTime.UtcNow < deadline)
        {
            var received = await silent.ReceiveAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
            Assert.Equal("01fe9000000000021000", Convert.ToHexStringLower(received.Buffer));
            requests++;
        }
        Assert.Equal(3, requests);
        await Assert.ThrowsAsync<TimeoutException>(() => discover);
    }
}
