using System.Text.Json;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Exi.XmlDsig;
using Juice.Hlc.Secc;
using Juice.Hlc.Security;
using Juice.Station.Authorization;
using Juice.Station.Pnc;
using Juice.Station.Tests.Ocpp;
using Microsoft.Extensions.DependencyInjection;
using static Juice.Station.Tests.Ocpp.OcppConnectionTests;

namespace Juice.Station.Tests.Pnc;

/// <summary>
/// The OCA dialect of the ISO 15118 extension against a third-party check: csms.js validates every inner payload
/// with the OCPP 2.0.1 JSON schemas that ocpp-rpc bundles (the OCA application note carries 2.0.1 messages in
/// DataTransfer), both what the station sends and what it answers.
/// </summary>
public sealed class OcaExtensionTests : IDisposable
{
    private readonly string _pkiDir = Directory.CreateTempSubdirectory("juice-oca-").FullName;
    private readonly TestPki _pki;

    public OcaExtensionTests()
    {
        _pki = TestPki.Generate(new TestPkiOptions { Seed = "oca-tests" });
        _pki.Write(_pkiDir);
    }

    public void Dispose() => Directory.Delete(_pkiDir, recursive: true);

    private static object Data(object inner) => new { status = "Accepted", data = JsonSerializer.Serialize(inner) };

    [Fact]
    public async Task What_the_station_sends_and_answers_in_the_OCA_extension_is_valid_OCPP_2_0_1()
    {
        await using var csms = await Csms.StartAsync();
        await csms.Set("dataTransfer", new Dictionary<string, object>
        {
            [$"{PncDialect.OcaVendorId}/Authorize"] = Data(new { idTokenInfo = new { status = "Accepted" }, certificateStatus = "Accepted" }),
            [$"{PncDialect.OcaVendorId}/Get15118EVCertificate"] = Data(new { status = "Failed" }),
            [$"{PncDialect.OcaVendorId}/SignCertificate"] = Data(new { status = "Accepted" }),
            [$"{PncDialect.OcaVendorId}/GetCertificateStatus"] = Data(new { status = "Failed" }),
        });
        await using var station = await TestStation.StartAsync(null, Backend(csms, "--Pnc:Pki=" + _pkiDir));
        await csms.WaitForCall("StatusNotification");
        var pnc = station.App.Services.GetRequiredService<PncExtension>();

        // charge point → central system
        var contract = _pki.Chain(CertificateRole.Contract).Select(c => c.GetEncoded()).ToList();
        Assert.Equal(ContractVerdict.Accepted, (await pnc.AuthorizeContractAsync("DEJUIC000000001", contract, true, CancellationToken.None)).Verdict);
        var request = new CertificateInstallationReqType
        {
            Id = "ID1",
            OEMProvisioningCert = _pki[CertificateRole.OemProvisioning].Certificate.GetEncoded(),
            ListOfRootCertificateIDs = new ListOfRootCertificateIDsType { RootCertificateID = [new X509IssuerSerialType { X509IssuerName = "CN=V2G Root CA", X509SerialNumber = 1 }] },
        };
        var message = new V2G_Message
        {
            Header = new MessageHeaderType
            {
                SessionID = new byte[8],
                Signature = Iso2Signatures.Sign([("ID1", Iso2Signatures.Body("CertificateInstallationReq", request))], _pki[CertificateRole.OemProvisioning].PrivateKey),
            },
            Body = new BodyType { BodyElement = request },
        };
        var installation = await pnc.CertificateServiceAsync(new CertificateServiceRequest(CertificateAction.Install, Iso2Exi.Encode(message)), CancellationToken.None);
        Assert.Null(installation.Exi);
        Assert.Contains("Failed", installation.Problem);
        Assert.Equal("Accepted", await pnc.RenewSeccCertificateAsync(CancellationToken.None));
        Assert.StartsWith("not answered", await pnc.CheckSeccCertificateAsync(CancellationToken.None));
        await TestStation.WaitFor(() => csms.PncValidations.Count >= 4, "four checked requests");

        // central system → charge point
        var ids = await csms.Pnc("GetInstalledCertificateIds", new { certificateType = new[] { "V2GRootCertificate", "MORootCertificate", "V2GCertificateChain" } });
        Assert.Equal("Accepted", ids.GetProperty("inner").GetProperty("status").GetString());
        var chain = ids.GetProperty("inner").GetProperty("certificateHashDataChain").EnumerateArray().ToList();
        Assert.Equal(["MORootCertificate", "V2GCertificateChain", "V2GRootCertificate"], chain.Select(c => c.GetProperty("certificateType").GetString()!).Order().ToArray());
        var seccEntry = chain.Single(c => c.GetProperty("certificateType").GetString() == "V2GCertificateChain");
        Assert.Equal(2, seccEntry.GetProperty("childCertificateHashData").GetArrayLength());   // the two CPO Sub-CAs
        var moHash = chain.Single(c => c.GetProperty("certificateType").GetString() == "MORootCertificate").GetProperty("certificateHashData");

        var other = TestPki.Generate(new TestPkiOptions { Seed = "oca-other" });
        var install = await csms.Pnc("InstallCertificate", new { certificateType = "MORootCertificate", certificate = V2gCertificates.ToPem([other.MoRoot]) });
        Assert.Equal("Accepted", install.GetProperty("inner").GetProperty("status").GetString());
        Assert.Equal(2, station.App.Services.GetRequiredService<CertificateStore>().Roots(CertificateKind.MORootCertificate).Count);
        var delete = await csms.Pnc("DeleteCertificate", new { certificateHashData = moHash });
        Assert.Equal("Accepted", delete.GetProperty("inner").GetProperty("status").GetString());
        Assert.Equal(other.MoRoot, Assert.Single(station.App.Services.GetRequiredService<CertificateStore>().Roots(CertificateKind.MORootCertificate)));
        var missing = await csms.Pnc("DeleteCertificate", new { certificateHashData = moHash });
        Assert.Equal("NotFound", missing.GetProperty("inner").GetProperty("status").GetString());

        var trigger = await csms.Pnc("TriggerMessage", new { requestedMessage = "SignV2GCertificate" });
        Assert.Equal("Accepted", trigger.GetProperty("inner").GetProperty("status").GetString());
        await TestStation.WaitFor(() => csms.PncValidations.Count(v => v.GetProperty("messageId").GetString() == "SignCertificate") >= 2, "the triggered SignCertificate");

        // a chain that is not for the pending key is refused
        var signed = await csms.Pnc("CertificateSigned", new { certificateChain = V2gCertificates.ToPem(other.Chain(CertificateRole.Secc)), certificateType = "V2GCertificate" });
        Assert.Equal("Rejected", signed.GetProperty("inner").GetProperty("status").GetString());

        foreach (var answer in new[] { ids, install, delete, missing, trigger, signed })
        {
            Assert.True(answer.GetProperty("requestValid").GetProperty("ok").GetBoolean(), answer.GetRawText());
            Assert.True(answer.GetProperty("responseValid").GetProperty("ok").GetBoolean(), answer.GetRawText());
        }
        Assert.All(csms.PncValidations, v => Assert.True(v.GetProperty("ok").GetBoolean(), v.GetRawText()));
        Assert.Empty(csms.Violations);

        var unknown = await csms.Call("DataTransfer", new { vendorId = PncDialect.OcaVendorId, messageId = "GetCertificateStatus", data = "{}" });
        Assert.Equal("UnknownMessageId", unknown.GetProperty("status").GetString());
    }
}
