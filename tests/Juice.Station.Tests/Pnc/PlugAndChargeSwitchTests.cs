using System.Net;
using System.Net.Http.Json;
using Juice.Hlc.Evcc;
using Juice.Hlc.Secc;
using Juice.Hlc.Security;
using Juice.Hlc.Transport;
using Juice.Station.Hlc;
using Microsoft.Extensions.DependencyInjection;

namespace Juice.Station.Tests.Pnc;

/// <summary>
/// "15118 Configuration" applies without a restart: Plug &amp; Charge on starts the TLS server (a car charges over
/// it at once), off stops it, Off stops the SECC and On starts it again.
/// </summary>
public sealed class PlugAndChargeSwitchTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-pnc-switch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task Put(TestStation station, string mode)
    {
        var response = await station.Http.PutAsJsonAsync("/api/settings", new { iso15118 = mode });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await station.App.Services.GetRequiredService<SeccHostedService>().Applied;
    }

    [Fact]
    public async Task Switching_Plug_and_Charge_starts_and_stops_the_TLS_server_without_a_restart()
    {
        string pkiDir = Path.Combine(_dir, "pki");
        var pki = TestPki.Generate(new TestPkiOptions { Seed = "switch" });
        pki.Write(pkiDir);
        await using var station = await TestStation.StartAsync(Path.Combine(_dir, "station"), "--Pnc:Pki=" + pkiDir);
        station.Configure(s => s with { FreeCharging = true });
        var secc = station.App.Services.GetRequiredService<SeccHostedService>();
        Assert.NotNull(secc.EndPoint);
        Assert.Null(secc.TlsEndPoint);

        await Put(station, "OnWithPlugAndCharge");
        var tls = Assert.IsType<IPEndPoint>(secc.TlsEndPoint);
        await using (var connection = await V2gTcpClient.ConnectAsync(tls, streamFactory: async (s, ct) => await V2gTls.ConnectAsync(s, [pki.V2gRoot], DateTimeOffset.UtcNow, ct)))
        {
            var options = new EvOptions
            {
                Energy = EnergyTransfer.AcThreePhase, Duration = TimeSpan.FromMilliseconds(300), LoopInterval = TimeSpan.FromMilliseconds(50), MessageTimeout = TimeSpan.FromSeconds(15),
                PlugAndCharge = new EvPlugAndCharge
                {
                    ContractChain = pki.Chain(CertificateRole.Contract),
                    ContractKey = pki[CertificateRole.Contract].PrivateKey,
                    V2gRoots = [pki.V2gRoot],
                },
            };
            var result = await new EvClient(options).RunAsync(connection, null, CancellationToken.None);
            Assert.True(result.Completed, result.Reason);
            Assert.NotNull(result.Emaid);
        }

        await Put(station, "On");
        Assert.Null(secc.TlsEndPoint);
        Assert.NotNull(secc.EndPoint);
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(async () =>
        {
            using var socket = new System.Net.Sockets.Socket(tls.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(tls);
        });

        await Put(station, "Off");
        Assert.Null(secc.EndPoint);
        await Put(station, "On");
        Assert.NotNull(secc.EndPoint);
    }
}
