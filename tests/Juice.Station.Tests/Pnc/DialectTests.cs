using System.Net.Http.Json;
using Juice.Hlc.Evcc;
using Juice.Hlc.Secc;
using Juice.Hlc.Security;
using Juice.Hlc.Transport;
using Juice.Station.Hlc;
using Microsoft.Extensions.DependencyInjection;

namespace Juice.Station.Tests.Pnc;

/// <summary>
/// The other dialects of the ISO 15118 extension: has·to·be (its own field names, hex DER certificates) and Ebee (OCA
/// payloads under a configured vendorId). A car without a contract gets one installed through <c>juice backend</c>
/// speaking the same dialect, and charges with it: an ISO 15118-2 car, then an ISO 15118-20 car over TLS 1.3 (the
/// request forwarded with the -20 schema version).
/// </summary>
public sealed class DialectTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-dialect-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("hastobe", null)]
    [InlineData("Ebee", "com.ebee.test")]
    public async Task A_contract_is_installed_and_authorized_through_a_backend_of_the_same_dialect(string dialect, string? vendorId)
    {
        string pkiDir = Path.Combine(_dir, "pki");
        var pki = TestPki.Generate(new TestPkiOptions { Seed = "dialect-" + dialect });
        pki.Write(pkiDir);
        var pki20 = TestPki.Generate(new TestPkiOptions { Seed = "dialect-" + dialect, Algorithm = PkiAlgorithm.Secp521r1 });
        pki20.Write(Path.Combine(pkiDir, TestPki.Iso20Folder(PkiAlgorithm.Secp521r1)));
        string[] backendArgs = vendorId is null ? ["--pki", pkiDir, "--dialect", dialect] : ["--pki", pkiDir, "--dialect", dialect, "--vendor-id", vendorId];
        await using var backend = await BackendProcess.StartAsync(backendArgs);
        string stationDir = Path.Combine(_dir, "station");
        Directory.CreateDirectory(stationDir);
        string[] args = ["--Pnc:Pki=" + pkiDir, "--Ocpp:Url=" + backend.Url, "--Ocpp:ChargeBoxId=JUICE-" + dialect.ToUpperInvariant(), .. vendorId is null ? Array.Empty<string>() : ["--Pnc:EbeeVendorId=" + vendorId]];
        await using (var first = await TestStation.StartAsync(stationDir, args))
        {
            first.Configure(s => s with { Iso15118 = Juice.Station.Persistence.Iso15118Mode.OnWithPlugAndCharge, CertificateInstallationDialect = dialect });
        }
        await using var station = await TestStation.StartAsync(stationDir, args);
        await backend.WaitFor(e => e.GetProperty("event").GetString() == "call" && e.GetProperty("action").GetString() == "StatusNotification", "the boot");
        var tls = station.App.Services.GetRequiredService<SeccHostedService>().TlsEndPoint!;

        var options = new EvOptions
        {
            Energy = EnergyTransfer.AcThreePhase,
            Duration = TimeSpan.FromSeconds(1),
            LoopInterval = TimeSpan.FromMilliseconds(50),
            MessageTimeout = TimeSpan.FromSeconds(15),
            PlugAndCharge = new EvPlugAndCharge
            {
                OemProvisioningChain = pki.Chain(CertificateRole.OemProvisioning),
                OemProvisioningKey = pki[CertificateRole.OemProvisioning].PrivateKey,
                V2gRoots = [pki.V2gRoot],
                MoRoots = [pki.MoRoot],
            },
        };
        await using var connection = await V2gTcpClient.ConnectAsync(tls, streamFactory: async (s, ct) => await V2gTls.ConnectAsync(s, [pki.V2gRoot], DateTimeOffset.UtcNow, ct));
        var result = await new EvClient(options).RunAsync(connection, null, CancellationToken.None);
        Assert.True(result.Completed, result.Reason);
        Assert.True(result.ContractInstalled);

        var get = await backend.WaitFor(e => e.GetProperty("event").GetString() == "pnc" && e.GetProperty("messageId").GetString() == "Get15118EVCertificate", "Get15118EVCertificate");
        var authorize = await backend.WaitFor(e => e.GetProperty("event").GetString() == "pnc" && e.GetProperty("messageId").GetString() == "Authorize", "Authorize");
        if (dialect == "hastobe")
        {
            Assert.True(get.GetProperty("request").TryGetProperty("15118SchemaVersion", out _));
            Assert.False(get.GetProperty("request").TryGetProperty("action", out _));
            Assert.Equal(3, authorize.GetProperty("request").GetProperty("15118CertificateHashData").GetArrayLength());
        }
        else
        {
            Assert.Equal("Install", get.GetProperty("request").GetProperty("action").GetString());
            Assert.True(authorize.GetProperty("request").TryGetProperty("certificate", out _));
        }
        var history = await station.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/history");
        Assert.Equal("DEJUIC000000001", history[0].GetProperty("idTag").GetString());

        // an ISO 15118-20 car with only its OEM provisioning certificate, over TLS 1.3
        var options20 = options with
        {
            Protocols = [Juice.Hlc.Session.AppProtocolVersion.Iso20Ac],
            PlugAndCharge = new EvPlugAndCharge
            {
                V2gRoots = [],
                Iso20OemProvisioningChain = pki20.Chain(CertificateRole.OemProvisioning),
                Iso20OemProvisioningKey = pki20[CertificateRole.OemProvisioning].Key,
                Iso20V2gRoots = [pki20.V2gRoot],
                Iso20MoRoots = [pki20.MoRoot],
            },
        };
        var client = new V2gTlsClientSetup { V2gRoots = [pki20.V2gRoot], Now = DateTimeOffset.UtcNow, Versions = [V2gTlsVersion.Tls13], Iso20Algorithms = [PkiAlgorithm.Secp521r1] };
        await using var connection20 = await V2gTcpClient.ConnectAsync(tls, streamFactory: async (s, ct) => await V2gTls.ConnectAsync(s, client, ct));
        var result20 = await new EvClient(options20).RunAsync(connection20, null, CancellationToken.None);
        Assert.True(result20.Completed, result20.Reason);
        Assert.True(result20.ContractInstalled);
        string schemaField = dialect == "hastobe" ? "15118SchemaVersion" : "iso15118SchemaVersion";
        await backend.WaitFor(e => e.GetProperty("event").GetString() == "pnc" && e.GetProperty("messageId").GetString() == "Get15118EVCertificate"
            && e.GetProperty("request").GetProperty(schemaField).GetString() == "urn:iso:std:iso:15118:-20:CommonMessages", "the -20 Get15118EVCertificate");
    }
}
