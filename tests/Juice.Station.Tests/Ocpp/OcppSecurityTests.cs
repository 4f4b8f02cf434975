using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using static Juice.Station.Tests.Ocpp.OcppConnectionTests;

namespace Juice.Station.Tests.Ocpp;

/// <summary>
/// OCPP-J security profiles 1 and 2 against the real central system: HTTP Basic authentication with the charge box
/// identity and password, and wss with the TLS strictness setting.
/// </summary>
public sealed class OcppSecurityTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A self-signed server certificate for 127.0.0.1 (PEM files for node).</summary>
    private (string Cert, string Key) ServerCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=csms.test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        string certPath = _dir.File("csms.pem"), keyPath = _dir.File("csms.key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    [Fact]
    public async Task With_TLS_strict_the_station_connects_over_wss_to_a_server_whose_certificate_it_trusts()
    {
        var tls = ServerCertificate();
        await using var csms = await Csms.StartAsync(tls: tls);
        Assert.StartsWith("wss://", csms.Url);
        await using var station = await TestStation.StartAsync(null, Backend(csms, "--Ocpp:TrustedCertificate=" + tls.Cert));
        await csms.WaitForCall("StatusNotification");
        Assert.Empty(csms.Violations);
        _ = station;
    }

    [Fact]
    public async Task With_TLS_strict_an_untrusted_certificate_is_refused_and_without_strictness_it_is_accepted()
    {
        var tls = ServerCertificate();
        await using var csms = await Csms.StartAsync(tls: tls);
        await using (var strict = await TestStation.StartAsync(null, Backend(csms)))
        {
            await TestStation.WaitFor(() => strict.Get<JsonElement>("/api/ocpp").Result.GetProperty("state").GetProperty("lastError").GetString() is { Length: > 0 },
                "the refused connection");
            await Task.Delay(1500);
            Assert.Equal(0, csms.Connections);   // never got as far as the WebSocket
        }
        await using var lenient = await TestStation.StartAsync(null, Backend(csms, "--Ocpp:TlsStrict=false"));
        await csms.WaitForCall("BootNotification");
        Assert.Equal(1, csms.Connections);
    }

    [Fact]
    public async Task HTTP_Basic_authentication_sends_the_charge_box_identity_and_password_and_a_wrong_password_is_refused_and_retried()
    {
        await using var csms = await Csms.StartAsync(password: "s3cret-pass");
        await using (var wrong = await TestStation.StartAsync(null, Backend(csms, "--Ocpp:Password=not-the-one")))
        {
            await csms.WaitFor(_ => csms.Events.Count(e => e.GetProperty("event").GetString() == "refused") >= 2, "two refused attempts (backoff and retry)");
            Assert.Equal(0, csms.Connections);
        }
        await using var right = await TestStation.StartAsync(null, Backend(csms, "--Ocpp:Password=s3cret-pass"));
        var connected = await csms.WaitFor(e => e.GetProperty("event").GetString() == "connected", "the connection");
        Assert.Equal("JUICE-T1", connected.GetProperty("identity").GetString());
        Assert.Equal("s3cret-pass", connected.GetProperty("password").GetString());
        await csms.WaitForCall("BootNotification");
    }

    [Fact]
    public async Task A_configuration_the_station_cannot_use_stops_it_at_start_with_the_reason()
    {
        var e = await Assert.ThrowsAnyAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            TestStation.StartAsync(null, "--Ocpp:Url=http://example.invalid/ocpp", "--Ocpp:TrustedCertificate=/no/such.pem"));
        Assert.Contains("Ocpp:Url 'http://example.invalid/ocpp' must be a ws:// or wss:// URL", e.Message);
        Assert.Contains("Ocpp:TrustedCertificate '/no/such.pem' does not exist", e.Message);
    }
}
