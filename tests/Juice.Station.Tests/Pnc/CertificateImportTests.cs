using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Juice.Hlc.Security;

namespace Juice.Station.Tests.Pnc;

/// <summary>
/// The operator imports and deletes Plug &amp; Charge certificates (AUTHORIZATION page, POST/DELETE
/// /api/pnc/certificates): roots and SECC chains as PEM or PKCS#12, each checked before it is kept, every refusal
/// naming the field and the reason.
/// </summary>
public sealed class CertificateImportTests : IAsyncLifetime
{
    private static readonly DateTimeOffset From = DateTimeOffset.UtcNow.Date.AddDays(-1);
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-cert-import-").FullName;
    private TestStation _station = null!;
    private TestPki _pki = null!;
    private TestPki _p521 = null!;

    public async Task InitializeAsync()
    {
        _pki = TestPki.Generate(new TestPkiOptions { Seed = "cert-import", ValidFrom = From });
        _pki.Write(Path.Combine(_dir, "pki"));
        _p521 = TestPki.Generate(new TestPkiOptions { Seed = "cert-import", ValidFrom = From, Algorithm = PkiAlgorithm.Secp521r1 });
        _station = await TestStation.StartAsync(Path.Combine(_dir, "station"));
    }

    public async Task DisposeAsync()
    {
        await _station.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Pki(string file) => Path.Combine(_dir, "pki", file);

    private async Task<(HttpStatusCode Status, JsonElement Body)> Upload(object body)
    {
        var r = await _station.Http.PostAsJsonAsync("/api/pnc/certificates", body);
        return (r.StatusCode, await r.Content.ReadFromJsonAsync<JsonElement>());
    }

    [Fact]
    public async Task Roots_and_SECC_chains_are_imported_after_their_checks_and_deleted()
    {
        var pnc = await _station.Get<JsonElement>("/api/pnc");
        Assert.Equal(JsonValueKind.Null, pnc.GetProperty("secc").ValueKind);

        var (status, body) = await Upload(new { kind = "V2GRootCertificate", pem = File.ReadAllText(Pki("v2g-root.pem")) });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("installed").GetInt32());
        Assert.Equal(0, (await Upload(new { kind = "V2GRootCertificate", pem = File.ReadAllText(Pki("v2g-root.pem")) })).Body.GetProperty("installed").GetInt32());   // already there
        Assert.Equal(HttpStatusCode.OK, (await Upload(new { kind = "MORootCertificate", pem = File.ReadAllText(Pki("mo-root.pem")) })).Status);

        // refusals: not a root, no key, another key, a chain from another V2G root, a PKCS#12 with the wrong password, another kind
        (status, body) = await Upload(new { kind = "MORootCertificate", pem = File.ReadAllText(Pki("mo-sub-ca1.pem")) });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("is not a self-signed root", body.GetProperty("errors").GetProperty("pem").GetString());
        (status, body) = await Upload(new { kind = "SeccChain", pem = File.ReadAllText(Pki("secc-chain.pem")) });
        Assert.Contains("needs its private key", body.GetProperty("errors").GetProperty("key").GetString());
        (status, body) = await Upload(new { kind = "SeccChain", pem = File.ReadAllText(Pki("secc-chain.pem")), key = File.ReadAllText(Pki("contract.key.pem")) });
        Assert.Contains("not the first certificate's", body.GetProperty("errors").GetProperty("key").GetString());
        var foreign = TestPki.Generate(new TestPkiOptions { Seed = "another-cpo", ValidFrom = From, Organization = "Another CPO" });
        (status, body) = await Upload(new { kind = "SeccChain", pem = V2gCertificates.ToPem(foreign.Chain(CertificateRole.Secc)), key = PkiKeys.Pkcs8Pem(foreign[CertificateRole.Secc].Key) });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("the chain is refused", body.GetProperty("errors").GetProperty("pem").GetString());
        (status, body) = await Upload(new { kind = "SeccChain", pkcs12 = Convert.ToBase64String(File.ReadAllBytes(Pki("secc.p12"))), password = "wrong" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("(the password?)", body.GetProperty("errors").GetProperty("pkcs12").GetString());
        (status, body) = await Upload(new { kind = "Everything", pem = "" });
        Assert.Contains("one of V2GRootCertificate", body.GetProperty("errors").GetProperty("kind").GetString());

        // the -2 SECC chain from its PKCS#12 file, a -20 one as PEM with its key
        (status, body) = await Upload(new { kind = "SeccChain", pkcs12 = Convert.ToBase64String(File.ReadAllBytes(Pki("secc.p12"))), password = TestPki.Pkcs12Password });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("secp256r1", body.GetProperty("algorithm").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Upload(new { kind = "V2GRootCertificate", pem = V2gCertificates.ToPem([_p521.V2gRoot]) })).Status);
        (status, body) = await Upload(new { kind = "SeccChain", pem = V2gCertificates.ToPem(_p521.Chain(CertificateRole.Secc)), key = PkiKeys.Pkcs8Pem(_p521[CertificateRole.Secc].Key) });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("secp521r1", body.GetProperty("algorithm").GetString());
        pnc = await _station.Get<JsonElement>("/api/pnc");
        Assert.Contains("DE*JUI*E0001", pnc.GetProperty("secc").GetProperty("subject").GetString());
        Assert.Equal("secp521r1", Assert.Single(pnc.GetProperty("iso20Secc").EnumerateArray()).GetProperty("algorithm").GetString());

        // delete the MO root; an unknown fingerprint is a 404
        var mo = pnc.GetProperty("certificates").EnumerateArray().Single(c => c.GetProperty("kind").GetString() == "MORootCertificate");
        Assert.Equal(HttpStatusCode.NoContent, (await _station.Http.DeleteAsync("/api/pnc/certificates/" + mo.GetProperty("sha256").GetString())).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _station.Http.DeleteAsync("/api/pnc/certificates/" + mo.GetProperty("sha256").GetString())).StatusCode);
        pnc = await _station.Get<JsonElement>("/api/pnc");
        Assert.DoesNotContain(pnc.GetProperty("certificates").EnumerateArray(), c => c.GetProperty("kind").GetString() == "MORootCertificate");
    }
}
