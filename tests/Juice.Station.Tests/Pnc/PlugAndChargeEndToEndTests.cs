using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Juice.Hlc.Security;
using Org.BouncyCastle.Crypto.Parameters;

namespace Juice.Station.Tests.Pnc;

/// <summary>
/// Plug &amp; Charge end to end, every part a process: the test PKI from <c>juice certs generate</c>, <c>juice backend</c>
/// as the OCPP central system and certificate provisioning service, the station with Plug &amp; Charge on, and
/// <c>juice ev --pnc</c>. A car with only its OEM provisioning certificate gets its contract installed through the
/// backend, charges with it and signs metering receipts; expired, foreign, tampered and revoked contracts are refused
/// with their codes; the SECC certificate is renewed through SignCertificate / CertificateSigned.
/// </summary>
public sealed class PlugAndChargeEndToEndTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-pnc-e2e-").FullName;
    private BackendProcess _backend = null!;
    private StationProcess _station = null!;

    private string Pki => Path.Combine(_dir, "pki");

    private static string Juice => Path.Combine(AppContext.BaseDirectory, "juice.dll");

    internal static async Task<(int Code, string Output)> RunJuice(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Juice);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (p.ExitCode, (await stdout + await stderr).Replace('\r', '\n'));
    }

    public async Task InitializeAsync()
    {
        var (code, output) = await RunJuice("certs", "generate", "--out", Pki, "--seed", "pnc-e2e");
        Assert.True(code == 0, output);
        _backend = await BackendProcess.StartAsync("--pki", Pki, "--revoke", "DEJUIC000000666");
        string db = Path.Combine(_dir, "juice.db");
        string[] args = ["--Pnc:Pki=" + Pki, "--Pnc:ReceiptIntervalSeconds=1", "--Ocpp:Url=" + _backend.Url, "--Ocpp:ChargeBoxId=JUICE-PNC"];
        await using (var first = await StationProcess.StartAsync(db, args))
        {
            // "15118 Configuration: On (With PlugNCharge)" takes effect at the next start
            Assert.True((await first.Http.PutAsJsonAsync("/api/settings", new { iso15118 = "OnWithPlugAndCharge" })).IsSuccessStatusCode);
            await first.StopAsync();
        }
        _station = await StationProcess.StartAsync(db, args);
        Assert.NotEqual(0, _station.TlsPort);
        await _backend.WaitFor(e => e.GetProperty("event").GetString() == "call" && e.GetProperty("action").GetString() == "StatusNotification", "the station's boot");
    }

    public async Task DisposeAsync()
    {
        await _station.DisposeAsync();
        await _backend.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<(int Code, string Output)> Ev(params string[] args) =>
        RunJuice(["ev", "--pnc", "--host", "::1", "--port", _station.TlsPort.ToString(CultureInfo.InvariantCulture), "--energy", "ac", "--duration", "2",
            "--interval-ms", "100", "--message-timeout", "15", .. args]);

    [Fact]
    public async Task A_car_with_only_an_OEM_provisioning_certificate_gets_its_contract_through_the_backend_charges_and_signs_receipts()
    {
        string store = Path.Combine(_dir, "car");
        var (code, output) = await Ev("--pki", Pki, "--oem-only", "--contract-store", store);
        Assert.True(code == 0, output);
        Assert.Contains("TLS: EcdheEcdsaAes128CbcSha256", output);
        Assert.Contains("Plug & Charge: contract DEJUIC000000001 (installed in this session)", output);
        Assert.Matches("[1-9][0-9]* metering receipts signed", output);

        // the backend saw the installation and the contract authorization; the transaction carries the eMAID
        var provisioning = await _backend.WaitFor(e => e.GetProperty("event").GetString() == "provisioning", "the provisioning");
        Assert.True(provisioning.GetProperty("ok").GetBoolean(), provisioning.GetRawText());
        var authorize = await _backend.WaitFor(e => e.GetProperty("event").GetString() == "pnc" && e.GetProperty("messageId").GetString() == "Authorize", "the contract Authorize");
        Assert.Equal("DEJUIC000000001", authorize.GetProperty("request").GetProperty("idToken").GetProperty("idToken").GetString());
        Assert.Equal("eMAID", authorize.GetProperty("request").GetProperty("idToken").GetProperty("type").GetString());
        var start = await _backend.WaitFor(e => e.GetProperty("event").GetString() == "call" && e.GetProperty("action").GetString() == "StartTransaction", "StartTransaction");
        Assert.Equal("DEJUIC000000001", start.GetProperty("params").GetProperty("idTag").GetString());

        var history = await _station.Http.GetFromJsonAsync<JsonElement>("/api/history");
        var session = Assert.Single(history.EnumerateArray());
        Assert.Equal("DEJUIC000000001", session.GetProperty("idTag").GetString());
        Assert.Equal("Contract", session.GetProperty("source").GetString());
        var receipts = await _station.Http.GetFromJsonAsync<JsonElement>($"/api/history/{session.GetProperty("id").GetInt64()}/receipts");
        Assert.True(receipts.GetArrayLength() >= 1);
        Assert.Equal(128, receipts[0].GetProperty("signature").GetString()!.Length);   // r‖s, hex

        // the next session uses the stored contract: no installation
        var (again, second) = await Ev("--pki", Pki, "--oem-only", "--contract-store", store);
        Assert.True(again == 0, second);
        Assert.Contains("Plug & Charge: contract DEJUIC000000001, ", second);
    }

    private Task<(int Code, string Output)> Iso20Ev(params string[] args) =>
        RunJuice(["ev", "--pnc", "--protocol", "iso20", "--host", "::1", "--port", _station.TlsPort.ToString(CultureInfo.InvariantCulture), "--duration", "1",
            "--interval-ms", "100", "--message-timeout", "15", .. args]);

    [Theory]
    [InlineData("secp521r1", "dc")]
    [InlineData("ed448", "ac")]
    public async Task An_ISO_15118_20_car_charges_with_its_contract_over_TLS_1_3_and_the_backend_authorizes_the_eMAID(string algorithm, string energy)
    {
        // the station took the -20 certificates from the iso20-* folders of Pnc:Pki, the backend its -20 MO roots from --pki
        var (code, output) = await Iso20Ev("--pki", Pki, "--tls-algorithm", algorithm, "--energy", energy);
        Assert.True(code == 0, output);
        Assert.Contains("(TLS 1.3)", output);
        Assert.Contains($"key {algorithm}", output);
        Assert.Contains("Plug & Charge: contract DEJUIC000000001", output);
        Assert.Contains(energy == "ac" ? "(Iso15118_20Ac)" : "(Iso15118_20Dc)", output);
        var authorize = await _backend.WaitFor(e => e.GetProperty("event").GetString() == "pnc" && e.GetProperty("messageId").GetString() == "Authorize", "the contract Authorize");
        Assert.Equal("DEJUIC000000001", authorize.GetProperty("request").GetProperty("idToken").GetProperty("idToken").GetString());
        var history = await _station.Http.GetFromJsonAsync<JsonElement>("/api/history");
        var session = Assert.Single(history.EnumerateArray());
        Assert.Equal("DEJUIC000000001", session.GetProperty("idTag").GetString());
        Assert.Equal("Contract", session.GetProperty("source").GetString());
        // metering confirmation beside the charging loop: the signed readings are the transaction's receipts
        Assert.Matches("[1-9][0-9]* metering receipts signed", output);
        var receipts = await _station.Http.GetFromJsonAsync<JsonElement>($"/api/history/{session.GetProperty("id").GetInt64()}/receipts");
        Assert.True(receipts.GetArrayLength() >= 1);
        Assert.Equal(algorithm == "ed448" ? 228 : 264, receipts[0].GetProperty("signature").GetString()!.Length);   // Ed448 114 bytes, P-521 r‖s 132 bytes, hex
    }

    [Theory]
    [InlineData("secp521r1", "ac")]
    [InlineData("ed448", "dc")]
    public async Task An_ISO_15118_20_car_with_only_its_OEM_provisioning_certificate_gets_a_contract_through_the_backend_and_charges_with_it(string algorithm, string energy)
    {
        string store = Path.Combine(_dir, "car20-" + algorithm);
        var (code, output) = await Iso20Ev("--pki", Pki, "--tls-algorithm", algorithm, "--energy", energy, "--oem-only", "--contract-store", store);
        Assert.True(code == 0, output);
        Assert.Contains("(TLS 1.3)", output);
        Assert.Contains("Plug & Charge: contract DEJUIC000000001 (installed in this session)", output);
        Assert.Matches("[1-9][0-9]* metering receipts signed", output);

        // the station forwarded the EV's request with the -20 schema; the backend issued a contract of the EV's algorithm
        var request = await _backend.WaitFor(e => e.GetProperty("event").GetString() == "pnc" && e.GetProperty("messageId").GetString() == "Get15118EVCertificate", "Get15118EVCertificate");
        Assert.Equal("urn:iso:std:iso:15118:-20:CommonMessages", request.GetProperty("request").GetProperty("iso15118SchemaVersion").GetString());
        var provisioning = await _backend.WaitFor(e => e.GetProperty("event").GetString() == "provisioning", "the provisioning");
        Assert.True(provisioning.GetProperty("ok").GetBoolean(), provisioning.GetRawText());
        Assert.Contains($"({algorithm})", provisioning.GetProperty("detail").GetString());
        var history = await _station.Http.GetFromJsonAsync<JsonElement>("/api/history");
        var session = Assert.Single(history.EnumerateArray());
        Assert.Equal("DEJUIC000000001", session.GetProperty("idTag").GetString());
        Assert.Equal("Contract", session.GetProperty("source").GetString());

        // the contract was kept: the next session authorizes with it, without an installation
        Assert.Equal(algorithm, PkiKeys.Of(PkiKeys.ReadPrivateKeyPem(File.ReadAllText(Path.Combine(store, "iso20-contract.key.pem")))).Name());
        (code, output) = await Iso20Ev("--pki", Pki, "--tls-algorithm", algorithm, "--energy", energy, "--oem-only", "--contract-store", store);
        Assert.True(code == 0, output);
        Assert.Contains("Plug & Charge: contract DEJUIC000000001, ", output);
    }

    [Fact]
    public async Task ISO_15118_20_contracts_revoked_expired_tampered_or_from_an_unknown_MO_are_refused_with_their_codes()
    {
        // the same seed gives the same CAs: a contract for a revoked eMAID from the station's own -20 MO
        string revokedDir = Path.Combine(_dir, "revoked");
        Assert.Equal(0, (await RunJuice("certs", "generate", "--out", revokedDir, "--seed", "pnc-e2e", "--emaid", "DEJUIC000000666")).Code);
        string p521 = Path.Combine(revokedDir, "iso20-secp521r1");
        var (code, output) = await Iso20Ev("--pki", Pki, "--tls-algorithm", "secp521r1", "--energy", "dc",
            "--contract-chain", Path.Combine(p521, "contract-chain.pem"), "--contract-key", Path.Combine(p521, "contract.key.pem"));
        Assert.True(code == 1, output);
        Assert.Contains("AuthorizationReq with WARNING_CertificateRevoked", output);

        // an expired contract of the same MO (the same seed, issued years ago: two years' validity are over), presented
        // anyway (a car would install a new one where the charger offers installation)
        string oldDir = Path.Combine(_dir, "expired20");
        Assert.Equal(0, (await RunJuice("certs", "generate", "--out", oldDir, "--seed", "pnc-e2e", "--valid-from", "2020-01-01")).Code);
        string old521 = Path.Combine(oldDir, "iso20-secp521r1");
        (code, output) = await Iso20Ev("--pki", Pki, "--tls-algorithm", "secp521r1", "--energy", "dc", "--present-expired",
            "--contract-chain", Path.Combine(old521, "contract-chain.pem"), "--contract-key", Path.Combine(old521, "contract.key.pem"));
        Assert.True(code == 1, output);
        Assert.Contains("AuthorizationReq with WARNING_CertificateExpired", output);

        // a tampered contract certificate (a byte of its signature changed)
        string own521 = Path.Combine(Pki, "iso20-secp521r1");
        var chain = V2gCertificates.ParsePem(File.ReadAllText(Path.Combine(own521, "contract-chain.pem")));
        byte[] leaf = chain[0].GetEncoded();
        leaf[^6] ^= 0x01;
        string tampered = Path.Combine(_dir, "tampered20-chain.pem");
        File.WriteAllText(tampered, Pem.Encode("CERTIFICATE", leaf) + V2gCertificates.ToPem(chain.Skip(1)));
        (code, output) = await Iso20Ev("--pki", Pki, "--tls-algorithm", "secp521r1", "--energy", "dc",
            "--contract-chain", tampered, "--contract-key", Path.Combine(own521, "contract.key.pem"));
        Assert.True(code == 1, output);
        Assert.Contains("AuthorizationReq with WARNING_CertificateValidationError", output);

        // a contract of another MO: validated centrally, and the backend refuses its chain
        string foreignDir = Path.Combine(_dir, "foreign20");
        Assert.Equal(0, (await RunJuice("certs", "generate", "--out", foreignDir, "--seed", "pnc-e2e-foreign")).Code);
        string ed448 = Path.Combine(foreignDir, "iso20-ed448");
        (code, output) = await Iso20Ev("--pki", Pki, "--tls-algorithm", "ed448", "--energy", "ac",
            "--contract-chain", Path.Combine(ed448, "contract-chain.pem"), "--contract-key", Path.Combine(ed448, "contract.key.pem"));
        Assert.True(code == 1, output);
        Assert.Contains("AuthorizationReq with WARNING_GeneralPnCAuthorizationError", output);
        Assert.Empty((await _station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray());
    }

    /// <summary>Writes a contract chain and key for <paramref name="emaid"/>, issued by the MO Sub-CA 2 of <paramref name="pki"/>.</summary>
    private (string Chain, string Key) ContractFiles(TestPki pki, string emaid, DateTimeOffset notBefore, TimeSpan validity, bool tamper = false)
    {
        var pair = V2gKeys.FromSeed("e2e-" + emaid, notBefore.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        var cert = V2gCertificates.Issue(CertificateRole.Contract, emaid, pki.Options.Organization, pki.Options.Country, (ECPublicKeyParameters)pair.Public,
            pki[CertificateRole.MoSubCa2], null, notBefore, validity);
        byte[] der = cert.GetEncoded();
        if (tamper)
        {
            der[^6] ^= 0x01;   // the certificate's signature
        }
        string chain = Path.Combine(_dir, emaid + (tamper ? "-tampered" : "") + "-chain.pem");
        File.WriteAllText(chain, Pem.Encode("CERTIFICATE", der) + V2gCertificates.ToPem(pki.Chain(CertificateRole.MoSubCa2)));
        string key = Path.Combine(_dir, emaid + ".key.pem");
        File.WriteAllText(key, V2gKeys.Pkcs8Pem((ECPrivateKeyParameters)pair.Private));
        return (chain, key);
    }

    [Fact]
    public async Task Expired_foreign_tampered_and_revoked_contracts_are_refused_with_their_codes()
    {
        var pki = TestPki.Load(Pki);
        string root = Path.Combine(Pki, "v2g-root.pem");

        var (expired, expiredKey) = ContractFiles(pki, "DEJUIC000000500", DateTimeOffset.UtcNow.AddDays(-60), TimeSpan.FromDays(30));
        var (code, output) = await Ev("--contract-chain", expired, "--contract-key", expiredKey, "--v2g-root", root, "--present-expired");
        Assert.Equal(1, code);
        Assert.Contains("PaymentDetailsReq with FAILED_CertificateExpired", output);

        var (tampered, tamperedKey) = ContractFiles(pki, "DEJUIC000000501", DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromDays(30), tamper: true);
        (code, output) = await Ev("--contract-chain", tampered, "--contract-key", tamperedKey, "--v2g-root", root);
        Assert.Equal(1, code);
        Assert.Contains("PaymentDetailsReq with FAILED_CertChainError", output);

        var (revoked, revokedKey) = ContractFiles(pki, "DEJUIC000000666", DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromDays(30));
        (code, output) = await Ev("--contract-chain", revoked, "--contract-key", revokedKey, "--v2g-root", root);
        Assert.Equal(1, code);
        Assert.Contains("AuthorizationReq with FAILED_CertificateRevoked", output);

        // a contract of another MO root: not installed here, so validated centrally, and the backend refuses the chain
        string foreignDir = Path.Combine(_dir, "foreign");
        Assert.Equal(0, (await RunJuice("certs", "generate", "--out", foreignDir, "--seed", "pnc-e2e-foreign")).Code);
        (code, output) = await Ev("--contract-chain", Path.Combine(foreignDir, "contract-chain.pem"), "--contract-key", Path.Combine(foreignDir, "contract.key.pem"), "--v2g-root", root);
        Assert.Equal(1, code);
        Assert.Contains("AuthorizationReq with FAILED", output);
        Assert.Contains("contract refused by the backend (Invalid)", _station.Log);

        Assert.Empty((await _station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray());
    }

    [Fact]
    public async Task The_SECC_certificate_is_renewed_through_SignCertificate_and_CertificateSigned_and_the_next_car_sees_the_new_one()
    {
        string before = (await _station.Http.GetFromJsonAsync<JsonElement>("/api/pnc")).GetProperty("secc").GetProperty("sha256").GetString()!;
        var (code, output) = await Ev("--pki", Pki);
        Assert.True(code == 0, output);
        Assert.Contains($"(SHA-256 {before})", output);

        await _backend.Send(new { cmd = "renew-secc" });   // the backend's TriggerMessage(SignV2GCertificate)
        var signed = await _backend.WaitFor(e => e.GetProperty("event").GetString() == "pncCall" && e.GetProperty("messageId").GetString() == "CertificateSigned", "CertificateSigned");
        Assert.Equal("{\"status\":\"Accepted\"}", signed.GetProperty("response").GetProperty("data").GetString());
        string after = (await _station.Http.GetFromJsonAsync<JsonElement>("/api/pnc")).GetProperty("secc").GetProperty("sha256").GetString()!;
        Assert.NotEqual(before, after);
        var csr = await _backend.WaitFor(e => e.GetProperty("event").GetString() == "pnc" && e.GetProperty("messageId").GetString() == "SignCertificate", "SignCertificate");
        Assert.Equal("V2GCertificate", csr.GetProperty("request").GetProperty("certificateType").GetString());

        (code, output) = await Ev("--pki", Pki);
        Assert.True(code == 0, output);
        Assert.Contains($"(SHA-256 {after})", output);

        // GetCertificateStatus: the issuer's OCSP answer through the backend, good until the backend revokes the serial
        async Task<string> Status() => (await (await _station.Http.PostAsync("/api/pnc/secc-certificate/status", null)).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("status").GetString()!;
        Assert.Equal("good", await Status());
        string serial = (await _station.Http.GetFromJsonAsync<JsonElement>("/api/pnc")).GetProperty("secc").GetProperty("serial").GetString()!;
        await _backend.Send(new { cmd = "revoke", emaid = serial });
        await Task.Delay(300);
        Assert.Equal("revoked", await Status());
    }
}

/// <summary><c>juice backend</c> as a process on a free port; its JSON event lines and its stdin commands.</summary>
internal sealed class BackendProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<JsonElement> _events = [];
    private readonly TaskCompletionSource<string> _url = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder _other = new();

    private BackendProcess(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "juice.dll"));
        psi.ArgumentList.Add("backend");
        psi.ArgumentList.Add("--port");
        psi.ArgumentList.Add("0");
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Line(e.Data);
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_other)
            {
                _other.AppendLine(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Url { get; private set; } = "";

    private void Line(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return;
        }
        try
        {
            var e = JsonDocument.Parse(line).RootElement.Clone();
            lock (_events)
            {
                _events.Add(e);
            }
            if (e.GetProperty("event").GetString() == "listening")
            {
                _url.TrySetResult(e.GetProperty("url").GetString()!);
            }
        }
        catch (JsonException)
        {
            lock (_other)
            {
                _other.AppendLine(line);
            }
        }
    }

    public static async Task<BackendProcess> StartAsync(params string[] args)
    {
        var b = new BackendProcess(args);
        try
        {
            b.Url = await b._url.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException("juice backend did not start: " + b._other);
        }
        return b;
    }

    public IReadOnlyList<JsonElement> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public async Task<JsonElement> WaitFor(Func<JsonElement, bool> match, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (Events.FirstOrDefault(match) is { ValueKind: JsonValueKind.Object } e)
            {
                return e;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"timed out waiting for {what}:\n{string.Join('\n', Events.TakeLast(20).Select(e => e.GetRawText()))}\n{_other}");
    }

    public async Task Send(object command)
    {
        await _process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(command));
        await _process.StandardInput.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
