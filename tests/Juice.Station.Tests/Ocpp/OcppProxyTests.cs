using System.Net;
using System.Net.Sockets;
using System.Text;
using Juice.Station.Tests.Pnc;

namespace Juice.Station.Tests.Ocpp;

/// <summary>
/// The manual's "Websockets proxy": with Ocpp:Proxy (or the BACKEND page's field) the station reaches the central
/// system through an HTTP proxy (CONNECT), played here by a small tunnelling proxy on loopback that records what it was
/// asked for; `juice backend` is the central system.
/// </summary>
public sealed class OcppProxyTests : IAsyncDisposable
{
    private readonly TcpListener _proxy = new(IPAddress.Loopback, 0);
    private readonly List<string> _requests = [];
    private readonly CancellationTokenSource _stop = new();

    public OcppProxyTests()
    {
        _proxy.Start();
        _ = ServeAsync();
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _proxy.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            _ = TunnelAsync(client);
        }
    }

    /// <summary>CONNECT host:port → 200, then bytes both ways.</summary>
    private async Task TunnelAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var head = new StringBuilder();
            var one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(one) == 1)
            {
                head.Append((char)one[0]);
            }
            string line = head.ToString().Split("\r\n")[0];
            lock (_requests)
            {
                _requests.Add(line);
            }
            var parts = line.Split(' ');
            if (parts is not ["CONNECT", var target, _])
            {
                await stream.WriteAsync("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
                return;
            }
            int colon = target.LastIndexOf(':');
            using var upstream = new TcpClient();
            await upstream.ConnectAsync(target[..colon].Trim('[', ']'), int.Parse(target[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            await stream.WriteAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray());
            var up = upstream.GetStream();
            await Task.WhenAny(stream.CopyToAsync(up), up.CopyToAsync(stream));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _proxy.Stop();
        _stop.Dispose();
    }

    [Fact]
    public async Task The_station_reaches_its_central_system_through_the_configured_proxy()
    {
        string pki = Directory.CreateTempSubdirectory("juice-proxy-pki-").FullName;
        var (code, output) = await PlugAndChargeEndToEndTests.RunJuice("certs", "generate", "--out", pki, "--seed", "proxy");
        Assert.True(code == 0, output);
        await using var backend = await BackendProcess.StartAsync("--pki", pki);
        int proxyPort = ((IPEndPoint)_proxy.LocalEndpoint).Port;
        await using var station = await TestStation.StartAsync(null, "--Ocpp:Url=" + backend.Url, "--Ocpp:ChargeBoxId=JUICE-PROXY", $"--Ocpp:Proxy=http://127.0.0.1:{proxyPort}");
        await backend.WaitFor(e => e.GetProperty("event").GetString() == "call" && e.GetProperty("action").GetString() == "BootNotification", "the boot through the proxy");
        var backendUri = new Uri(backend.Url);
        lock (_requests)
        {
            Assert.Contains($"CONNECT {backendUri.Host}:{backendUri.Port} HTTP/1.1", _requests);
        }
        var options = await station.Get<System.Text.Json.JsonElement>("/api/ocpp");
        Assert.Equal($"http://127.0.0.1:{proxyPort}", options.GetProperty("proxy").GetString());
        Directory.Delete(pki, recursive: true);
    }
}
