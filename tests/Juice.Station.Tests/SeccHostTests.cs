using System.Net;
using Juice.Hlc.Evcc;
using Juice.Hlc.Transport;
using Microsoft.Extensions.Hosting;

namespace Juice.Station.Tests;

public sealed class SeccHostTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("juice-station-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task An_EV_charges_at_the_station_started_with_a_configured_port()
    {
        int port = FreePort();
        var builder = Host.CreateApplicationBuilder(["--Station:DataDirectory=" + _data, "--Secc:Port=" + port]);
        builder.AddStation();
        using var host = builder.Build();
        await host.StartAsync();
        await using (var connection = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, port)))
        {
            var result = await new EvClient(new EvOptions { Duration = TimeSpan.FromMilliseconds(200), LoopInterval = TimeSpan.FromMilliseconds(20), MessageTimeout = TimeSpan.FromSeconds(15) })
                .RunAsync(connection, null, CancellationToken.None);
            Assert.True(result.Completed);
        }
        await host.StopAsync();
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.IPv6Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
