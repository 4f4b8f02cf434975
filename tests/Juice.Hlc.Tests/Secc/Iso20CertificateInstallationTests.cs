using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Secc;
using Juice.Hlc.Secc.Iso20;
using Juice.Hlc.Security;
using Juice.Hlc.Tests.Security;
using Microsoft.Extensions.Time.Testing;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.X509;

namespace Juice.Hlc.Tests.Secc;

/// <summary>
/// ISO 15118-20 CertificateInstallation through the SECC to the provisioning service and back, with both certificate
/// profiles: offered with Plug &amp; Charge, the EV's signed request forwarded as it came with the -20 schema, the
/// CPS's signed response relayed unchanged, the contract opened with the OEM provisioning key and used at once for PnC;
/// and the refusals: a tampered request at the SECC and at the CPS, a foreign OEM chain, V2G roots the CPS does not
/// have, a backend without an answer, an installation where none was offered.
/// </summary>
public sealed class Iso20CertificateInstallationTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly Iso20TestPkis Pkis = new("iso20-install", Now.AddDays(-1));

    private readonly List<CertificateServiceRequest> _forwarded = [];
    private readonly Iso20CertificateProvisioning _cps;
    private readonly SimpleEvse _evse;

    public Iso20CertificateInstallationTests()
    {
        var time = new FakeTimeProvider(Now);
        _cps = new Iso20CertificateProvisioning([Pkis.P521, Pkis.Ed448], time, pcid => pcid == "JUICEPCID00000001" ? "DE-JUI-C00000042" : "DEJUIC000000001");
        _evse = new SimpleEvse
        {
            Authorize = _ => AuthorizationStatus.Accepted,
            CertificateService = request =>
            {
                _forwarded.Add(request);
                var installation = (CertificateInstallationReqType)Iso20CommonExi.DecodeDocument(request.Exi).Value;
                return new CertificateServiceResult(_cps.Install(installation).Exi);
            },
        };
    }

    private Iso20PncDriver Session(bool tls = true, bool verify = true) =>
        new(_evse, new PlugAndChargeOptions { ContractRoots = [Pkis.P521.MoRoot, Pkis.Ed448.MoRoot], VerifyCertificateRequests = verify }, new FakeTimeProvider(Now), tls);

    private static (CertificateInstallationReqType Request, Juice.Hlc.Exi.XmlDsig.SignatureType Signature) Request(IReadOnlyList<X509Certificate> oem, AsymmetricKeyParameter key,
        params X509Certificate[] roots)
    {
        var chain = new SignedCertificateChainType
        {
            Id = "id1",
            Certificate = oem[0].GetEncoded(),
            SubCertificates = new SubCertificatesType { Certificate = [.. oem.Skip(1).Select(c => c.GetEncoded())] },
        };
        var request = new CertificateInstallationReqType
        {
            Header = null!,
            OEMProvisioningCertificateChain = chain,
            ListOfRootCertificateIDs = new ListOfRootCertificateIDsType
            {
                RootCertificateID = [.. roots.Select(V2gCertificates.IssuerSerial).Select(x => new Juice.Hlc.Exi.XmlDsig.X509IssuerSerialType { X509IssuerName = x.IssuerName, X509SerialNumber = x.Serial })],
            },
            MaximumContractCertificateChains = 1,
        };
        return (request, Iso20Signatures.Sign([(chain.Id, Iso20Signatures.Element("OEMProvisioningCertificateChain", chain))], key));
    }

    private static (CertificateInstallationReqType, Juice.Hlc.Exi.XmlDsig.SignatureType) Request(TestPki pki) =>
        Request(pki.Chain(CertificateRole.OemProvisioning), pki[CertificateRole.OemProvisioning].Key, pki.V2gRoot);

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1)]
    [InlineData(PkiAlgorithm.Ed448)]
    public async Task The_EV_gets_a_contract_through_the_backend_opens_its_key_and_authorizes_with_it_at_once(PkiAlgorithm algorithm)
    {
        var pki = Pkis[algorithm];
        var session = Session();
        var setup = await session.UpToAuthorizationSetup();
        Assert.True(setup.CertificateInstallationService);

        var (request, signature) = Request(pki);
        var response = Assert.IsType<CertificateInstallationResType>(await session.Send(request, signature));
        Assert.Equal(ResponseCodeType.OK, response.ResponseCode);
        Assert.Equal(Iso20SeccState.WaitForAuthorizationReq, session.Secc.State);
        Assert.Equal(session.Id, response.Header.SessionID);   // the CPS did not know it: the SECC set it
        Assert.Equal(0, response.RemainingContractCertificateChains);
        var forwarded = Assert.Single(_forwarded);
        Assert.Equal(CertificateAction.Install, forwarded.Action);
        Assert.Equal("urn:iso:std:iso:15118:-20:CommonMessages", forwarded.SchemaNamespace);
        // the EXI the EV gets is the backend's response, only the SessionID put in
        Assert.Equal(Iso20CommonExi.EncodeCertificateInstallationRes(response), session.LastExi);

        // as the EV: the CPS chain leads to the V2G root, its signature covers SignedInstallationData, the key opens
        var cps = CertificateChains.Validate(response.CPSCertificateChain.Certificate, response.CPSCertificateChain.SubCertificates!.Certificate, [pki.V2gRoot], Now, "CPS");
        Assert.True(cps.Valid, cps.Detail);
        var data = response.SignedInstallationData;
        Assert.Equal(SignatureCheck.Valid, Iso20Signatures.Verify(response.Header.Signature, [(data.Id, Iso20Signatures.Element("SignedInstallationData", data))], cps.Leaf!.GetPublicKey()).Result);
        List<X509Certificate> contract = [V2gCertificates.Parse(data.ContractCertificateChain.Certificate), .. data.ContractCertificateChain.SubCertificates.Certificate.Select(b => V2gCertificates.Parse(b))];
        Assert.True(CertificateChains.Validate(contract, [pki.MoRoot], Now, "MO").Valid);
        Assert.Equal("DEJUIC00000042", V2gCertificates.CommonName(contract[0]));   // normalized
        var key = Iso20ContractKeyCipher.Decrypt(new SealedContractKey(data.ECDHCurve, data.DHPublicKey, data.Choice), pki[CertificateRole.OemProvisioning].Key, contract[0], "JUICEPCID00000001");
        Assert.Equal(algorithm, PkiKeys.Of(key));

        // PnC with the new contract in the same session
        var challenge = Assert.IsType<AuthorizationSetupResTypeChoice.PnC_ASResAuthorizationMode>(setup.Choice).Value.GenChallenge;
        var mode = new PnC_AReqAuthorizationModeType
        {
            Id = "id2",
            GenChallenge = challenge,
            ContractCertificateChain = new ContractCertificateChainType { Certificate = contract[0].GetEncoded(), SubCertificates = new SubCertificatesType { Certificate = [.. contract.Skip(1).Select(c => c.GetEncoded())] } },
        };
        var authorization = await session.Send(new AuthorizationReqType
        {
            Header = null!,
            SelectedAuthorizationService = AuthorizationType.PnC,
            Choice = new AuthorizationReqTypeChoice.PnC_AReqAuthorizationMode(mode),
        }, Iso20Signatures.Sign([(mode.Id, Iso20Signatures.Element("PnC_AReqAuthorizationMode", mode))], key));
        Assert.Equal(ResponseCodeType.OK, authorization.ResponseCode);
        Assert.Equal(Iso20SeccState.WaitForServiceDiscoveryReq, session.Secc.State);
    }

    [Fact]
    public async Task A_request_whose_signature_does_not_hold_is_refused_by_the_SECC_and_never_forwarded()
    {
        var session = Session();
        await session.UpToAuthorizationSetup();
        var (request, _) = Request(Pkis.P521);
        var (_, otherSignature) = Request(Pkis.Ed448);
        var response = await session.Send(request, otherSignature);
        Assert.Equal(ResponseCodeType.FAILED_SignatureError, response.ResponseCode);
        Assert.Equal(Iso20SeccState.Ended, session.Secc.State);
        Assert.Empty(_forwarded);
    }

    [Fact]
    public async Task Without_the_SECCs_check_the_provisioning_service_refuses_a_tampered_request_and_the_session_ends()
    {
        var session = Session(verify: false);
        await session.UpToAuthorizationSetup();
        var (request, signature) = Request(Pkis.P521);
        request.OEMProvisioningCertificateChain.SubCertificates!.Certificate.RemoveAt(1);   // the signed element changed after signing
        request.OEMProvisioningCertificateChain.SubCertificates.Certificate.Add(Pkis.P521.Chain(CertificateRole.OemProvisioning)[2].GetEncoded());
        var response = await session.Send(request, signature);
        Assert.Single(_forwarded);
        Assert.Equal(Iso20SeccState.WaitForAuthorizationReq, session.Secc.State);   // same content again: still valid
        Assert.Equal(ResponseCodeType.OK, response.ResponseCode);

        request.OEMProvisioningCertificateChain.Id = "id9";   // the Reference no longer names it
        response = await session.Send(request, signature);
        Assert.Equal(ResponseCodeType.FAILED_SignatureError, response.ResponseCode);
        Assert.Equal(Iso20SeccState.Ended, session.Secc.State);
    }

    [Fact]
    public async Task A_foreign_OEM_chain_or_V2G_roots_the_service_does_not_have_get_a_warning_and_the_EV_may_go_on()
    {
        var foreign = TestPki.Generate(new TestPkiOptions { Seed = "foreign-oem", ValidFrom = Now.AddDays(-1), Algorithm = PkiAlgorithm.Secp521r1, Organization = "Foreign OEM" });
        var session = Session();
        await session.UpToAuthorizationSetup();
        var (request, signature) = Request(foreign);
        var response = await session.Send(request, signature);
        Assert.Equal(ResponseCodeType.WARNING_CertificateValidationError, response.ResponseCode);
        Assert.Equal(Iso20SeccState.WaitForAuthorizationReq, session.Secc.State);

        (request, signature) = Request(Pkis.P521.Chain(CertificateRole.OemProvisioning), Pkis.P521[CertificateRole.OemProvisioning].Key, foreign.V2gRoot);
        response = await session.Send(request, signature);
        Assert.Equal(ResponseCodeType.WARNING_NoCertificateAvailable, response.ResponseCode);

        // external identification still works after both warnings
        var eim = await session.Send(new AuthorizationReqType
        {
            Header = null!,
            SelectedAuthorizationService = AuthorizationType.EIM,
            Choice = new AuthorizationReqTypeChoice.EIM_AReqAuthorizationMode(new EIM_AReqAuthorizationModeType()),
        });
        Assert.Equal(ResponseCodeType.OK, eim.ResponseCode);
    }

    [Fact]
    public async Task Without_a_backend_answer_the_installation_fails_with_FAILED()
    {
        _evse.CertificateService = null;
        var session = Session();
        await session.UpToAuthorizationSetup();
        var (request, signature) = Request(Pkis.Ed448);
        var response = await session.Send(request, signature);
        Assert.Equal(ResponseCodeType.FAILED, response.ResponseCode);
        Assert.Equal(Iso20SeccState.Ended, session.Secc.State);
        // the refusal is a complete message
        Assert.NotEmpty(Iso20CommonExi.EncodeCertificateInstallationRes(Assert.IsType<CertificateInstallationResType>(response)));
    }

    [Fact]
    public async Task Over_TCP_no_installation_is_offered_and_a_request_is_out_of_sequence()
    {
        var session = Session(tls: false);
        var setup = await session.UpToAuthorizationSetup();
        Assert.False(setup.CertificateInstallationService);
        var (request, signature) = Request(Pkis.P521);
        var response = await session.Send(request, signature);
        Assert.Equal(ResponseCodeType.FAILED_SequenceError, response.ResponseCode);
        Assert.Empty(_forwarded);
    }
}
