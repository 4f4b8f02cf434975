using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Juice.Station.Tests.Pnc;

/// <summary>
/// ISO 15118-20 over TLS 1.3 at the station, every part a process: the PKIs from <c>juice certs generate</c> (the -2 one
/// and the -20 ones beside it), the station with Plug &amp; Charge on (so its TLS server runs; -20 is not allowed over
/// plain TCP), and <c>juice ev --protocol iso20 --tls --pki DIR</c> with each -20 certificate profile. The same TLS port
/// serves an ISO 15118-2 car with TLS 1.2 and the -2 certificate, and a -20 car that offers only TLS 1.2 is not given -20.
/// </summary>
public sealed class Iso20TlsEndToEndTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-iso20-tls-").FullName;
    private StationProcess _station = null!;

    private string Pki => Path.Combine(_dir, "pki");

    public async Task InitializeAsync()
    {
        var (code, output) = await PlugAndChargeEndToEndTests.RunJuice("certs", "generate", "--out", Pki, "--seed", "iso20-tls-e2e");
        Assert.True(code == 0, output);
        Assert.Contains("ISO 15118-20 PKI (secp521r1)", output);
        Assert.Contains("ISO 15118-20 PKI (ed448)", output);
        string db = Path.Combine(_dir, "juice.db");
        string[] args = ["--Pnc:Pki=" + Pki];
        await using (var first = await StationProcess.StartAsync(db, args))
        {
            Assert.True((await first.Http.PutAsJsonAsync("/api/settings", new { iso15118 = "OnWithPlugAndCharge", freeCharging = true })).IsSuccessStatusCode);
            await first.StopAsync();
        }
        _station = await StationProcess.StartAsync(db, args);
        Assert.NotEqual(0, _station.TlsPort);
        // the operator sees both -20 SECC certificates beside the -2 one
        var pnc = await _station.Http.GetFromJsonAsync<JsonElement>("/api/pnc");
        Assert.Equal(["ed448", "secp521r1"], pnc.GetProperty("iso20Secc").EnumerateArray().Select(x => x.GetProperty("algorithm").GetString()!).Order());
        Assert.NotEqual(JsonValueKind.Null, pnc.GetProperty("secc").ValueKind);
    }

    public async Task DisposeAsync()
    {
        await _station.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<(int Code, string Output)> Ev(params string[] args) =>
        Juice.Hlc.Tests.ChildProcess.JuiceAsync(["ev", "--host", "::1", "--port", _station.TlsPort.ToString(CultureInfo.InvariantCulture), "--message-timeout", "15",
            "--tls", "--pki", Pki, "--duration", "1", "--interval-ms", "100", .. args]);

    [Theory]
    [InlineData("secp521r1", "dc")]
    [InlineData("ed448", "ac")]
    public async Task A_ISO_15118_20_car_charges_over_TLS_1_3_with_each_certificate_profile_and_shows_its_vehicle_certificate(string algorithm, string energy)
    {
        var (code, output) = await Ev("--protocol", "iso20", "--energy", energy, "--tls-algorithm", algorithm);
        Assert.True(code == 0, output);
        Assert.Contains("TLS: Aes256GcmSha384 (TLS 1.3)", output);
        Assert.Contains($"key {algorithm}", output);
        Assert.Contains("vehicle certificate CN=JUICEVEHICLE00001", output);
        Assert.Contains(energy == "ac" ? "(Iso15118_20Ac)" : "(Iso15118_20Dc)", output);
        await _station.WaitForLog("TLS 1.3 handshake done, cipher suite Aes256GcmSha384, vehicle certificate CN=JUICEVEHICLE00001");
        var history = await _station.Http.GetFromJsonAsync<JsonElement>("/api/history");
        Assert.Single(history.EnumerateArray());
    }

    [Fact]
    public async Task The_same_port_gives_an_ISO_15118_2_car_TLS_1_2_and_a_car_offering_both_families_TLS_1_3_with_ISO_15118_20()
    {
        var (code, output) = await Ev("--protocol", "iso2", "--energy", "ac");
        Assert.True(code == 0, output);
        Assert.Contains("TLS: EcdheEcdsaAes128CbcSha256 (TLS 1.2)", output);
        Assert.Contains("key secp256r1", output);

        (code, output) = await Ev("--protocol", "iso20,iso2", "--energy", "dc");
        Assert.True(code == 0, output);
        Assert.Contains("(TLS 1.3)", output);
        Assert.Contains("(Iso15118_20Dc)", output);
    }

    [Fact]
    public async Task A_ISO_15118_20_car_that_offers_only_TLS_1_2_is_not_given_ISO_15118_20()
    {
        // [V2G20-2458]: -20 only over TLS 1.3; over TLS 1.2 the SECC leaves -20 out of the negotiation
        var (code, output) = await Ev("--protocol", "iso20", "--energy", "dc", "--tls-version", "1.2");
        Assert.Equal(1, code);
        Assert.Contains("(TLS 1.2)", output);
        Assert.Contains("Failed_NoNegotiation", output);

        // offering -2 as well, it charges with -2
        (code, output) = await Ev("--protocol", "iso20,iso2", "--energy", "dc", "--tls-version", "1.2");
        Assert.True(code == 0, output);
        Assert.Contains("(Iso15118_2)", output);
    }

    [Fact]
    public async Task Without_a_backend_no_certificate_installation_is_offered_to_a_car_with_only_its_OEM_certificate()
    {
        var (code, output) = await Ev("--protocol", "iso20", "--energy", "dc", "--pnc", "--oem-only");
        Assert.Equal(1, code);
        Assert.Contains("the EV has no -20 contract and the charger offers no certificate installation", output);
    }
}
