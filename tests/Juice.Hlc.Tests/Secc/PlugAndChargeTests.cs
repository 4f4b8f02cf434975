using System.Net;
using Juice.Hlc.Evcc;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Exi.XmlDsig;
using Juice.Hlc.Secc;
using Juice.Hlc.Security;
using Juice.Hlc.Transport;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.X509;

namespace Juice.Hlc.Tests.Secc;

/// <summary>
/// ISO 15118-2 Plug &amp; Charge between our SECC and our EV over TLS: contract authorization with the signed
/// GenChallenge, metering receipts, certificate installation through a provisioning service, and every refusal the
/// standard names, each provoked by tampering with one signed part.
/// </summary>
public sealed class PlugAndChargeTests : IAsyncLifetime
{
    private static readonly DateTimeOffset From = DateTimeOffset.UtcNow.Date.AddDays(-1);
    private static readonly Lazy<TestPki> Shared = new(() => TestPki.Generate(new TestPkiOptions { Seed = "pnc-tests", ValidFrom = From }));
    private static TestPki Pki => Shared.Value;

    private readonly string _store = Directory.CreateTempSubdirectory("juice-contract-").FullName;
    private V2gTcpServer _tls = null!;
    private V2gTcpServer _tcp = null!;
    private SimpleEvse _evse = null!;
    private CertificateProvisioning _cps = null!;

    public Task InitializeAsync()
    {
        _cps = new CertificateProvisioning(Pki);
        _evse = new SimpleEvse
        {
            CertificateService = request =>
            {
                var message = Iso2Exi.Decode(request.Exi);
                var outcome = request.Action == CertificateAction.Install ? _cps.Install(message) : _cps.Update(message);
                return new CertificateServiceResult(Iso2Exi.Encode(Mutate(outcome.Response)));
            },
        };
        var options = new SeccOptions
        {
            Session = new SeccSessionOptions
            {
                IdentificationModes = [IdentificationMode.Contract, IdentificationMode.External],
                PlugAndCharge = new PlugAndChargeOptions { ContractRoots = [Pki.MoRoot], ReceiptInterval = TimeSpan.FromMilliseconds(200) },
            },
        };
        var handler = new SeccConnectionHandler(_evse, options);
        var credentials = new V2gTlsCredentials(Pki.Chain(CertificateRole.Secc), Pki[CertificateRole.Secc].PrivateKey);
        _tls = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback, StreamFactory = async (s, ct) => await V2gTls.AcceptAsync(s, () => credentials, ct) },
            handler.RunAsync);
        _tcp = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback }, handler.RunAsync);
        _tls.Start();
        _tcp.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _tls.DisposeAsync();
        await _tcp.DisposeAsync();
        Directory.Delete(_store, recursive: true);
    }

    /// <summary>Changes the provisioning service's response (a backend that breaks it).</summary>
    private Func<V2G_Message, V2G_Message> Mutate { get; set; } = m => m;

    private EvPlugAndCharge WithContract(IReadOnlyList<X509Certificate>? chain = null, ECPrivateKeyParameters? key = null) => new()
    {
        ContractChain = chain ?? Pki.Chain(CertificateRole.Contract),
        ContractKey = key ?? Pki[CertificateRole.Contract].PrivateKey,
        V2gRoots = [Pki.V2gRoot],
    };

    private EvPlugAndCharge WithOemOnly() => new()
    {
        OemProvisioningChain = Pki.Chain(CertificateRole.OemProvisioning),
        OemProvisioningKey = Pki[CertificateRole.OemProvisioning].PrivateKey,
        V2gRoots = [Pki.V2gRoot],
        MoRoots = [Pki.MoRoot],
        ContractStore = _store,
    };

    private async Task<EvResult> Charge(EvPlugAndCharge pnc, EnergyTransfer energy = EnergyTransfer.AcThreePhase, Func<V2G_Message, V2G_Message>? tamper = null, bool tls = true)
    {
        var options = new EvOptions
        {
            Energy = energy,
            PlugAndCharge = pnc,
            Tamper = tamper,
            Duration = TimeSpan.FromSeconds(1),
            LoopInterval = TimeSpan.FromMilliseconds(50),
            MessageTimeout = TimeSpan.FromSeconds(10),
        };
        var server = tls ? _tls : _tcp;
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint, streamFactory: tls
            ? async (s, ct) => await V2gTls.ConnectAsync(s, pnc.V2gRoots, DateTimeOffset.UtcNow, ct)
            : null);
        return await new EvClient(options).RunAsync(connection, null, CancellationToken.None);
    }

    private async Task<string> Refused(EvPlugAndCharge pnc, Func<V2G_Message, V2G_Message>? tamper = null) =>
        (await Assert.ThrowsAsync<EvSessionException>(() => Charge(pnc, tamper: tamper))).Message;

    [Theory]
    [InlineData(EnergyTransfer.AcThreePhase)]
    [InlineData(EnergyTransfer.Dc)]
    public async Task A_car_with_a_contract_charges_with_no_card_and_signs_metering_receipts(EnergyTransfer energy)
    {
        var result = await Charge(WithContract(), energy);
        Assert.True(result.Completed, result.Reason);
        Assert.Equal("DEJUIC000000001", result.Emaid);
        Assert.False(result.ContractInstalled);
        var request = _evse.LastAuthorization!;
        Assert.Equal(IdentificationMode.Contract, request.Mode);
        Assert.Equal("DEJUIC000000001", request.Contract!.Emaid);
        Assert.Equal(3, request.Contract.Chain.Count);
        Assert.True(result.MeteringReceipts >= 2, $"{result.MeteringReceipts} receipts");   // the first loop response and every 200 ms
        Assert.Equal(result.MeteringReceipts, _evse.Receipts.Count);
        Assert.All(_evse.Receipts, r => Assert.Equal(64, r.SignatureValue.Length));
    }

    [Fact]
    public async Task A_car_with_only_its_OEM_provisioning_certificate_gets_a_contract_installed_and_keeps_it_for_the_next_session()
    {
        var first = await Charge(WithOemOnly());
        Assert.True(first.Completed, first.Reason);
        Assert.True(first.ContractInstalled);
        Assert.Equal("DEJUIC000000001", first.Emaid);
        Assert.True(File.Exists(Path.Combine(_store, "contract-chain.pem")));
        var installed = V2gCertificates.ParsePem(File.ReadAllText(Path.Combine(_store, "contract-chain.pem")));
        Assert.NotEqual(Pki[CertificateRole.Contract].Certificate, installed[0]);   // a new certificate with a new key
        Assert.True(CertificateChains.Validate(installed, [Pki.MoRoot], DateTimeOffset.UtcNow, "MO").Valid);

        var second = await Charge(WithOemOnly());
        Assert.True(second.Completed, second.Reason);
        Assert.False(second.ContractInstalled);   // the stored contract
        Assert.Equal(installed[0].GetEncoded(), _evse.LastAuthorization!.Contract!.Chain[0]);

        var renewed = await Charge(WithOemOnly() with { UpdateContract = true });
        Assert.True(renewed.ContractInstalled);   // CertificateUpdate, signed by the stored contract
        Assert.NotEqual(installed[0], V2gCertificates.ParsePem(File.ReadAllText(Path.Combine(_store, "contract-chain.pem")))[0]);
    }

    [Fact]
    public async Task Without_TLS_the_SECC_offers_no_Plug_and_Charge()
    {
        var e = await Assert.ThrowsAsync<EvSessionException>(() => Charge(WithContract(), tls: false));
        Assert.Contains("offers no Plug & Charge", e.Message);
    }

    private static (IReadOnlyList<X509Certificate> Chain, ECPrivateKeyParameters Key) Contract(TestPki pki, DateTimeOffset notBefore, TimeSpan validity, string emaid = "DEJUIC000000002")
    {
        var pair = V2gKeys.FromSeed("pnc-contract", emaid + notBefore.ToUnixTimeSeconds());
        var cert = V2gCertificates.Issue(CertificateRole.Contract, emaid, "Juice Test PKI", "DE", (ECPublicKeyParameters)pair.Public, pki[CertificateRole.MoSubCa2], null, notBefore, validity);
        return ([cert, .. pki.Chain(CertificateRole.MoSubCa2)], (ECPrivateKeyParameters)pair.Private);
    }

    [Fact]
    public async Task An_expired_or_foreign_contract_is_refused_in_PaymentDetails_with_the_code_of_the_standard()
    {
        var (expired, expiredKey) = Contract(Pki, DateTimeOffset.UtcNow.AddDays(-40), TimeSpan.FromDays(30));
        Assert.Contains("PaymentDetailsReq with FAILED_CertificateExpired", await Refused(WithContract(expired, expiredKey) with { InstallWhenExpired = false }));

        var foreign = TestPki.Generate(new TestPkiOptions { Seed = "pnc-foreign", ValidFrom = From });
        Assert.Contains("PaymentDetailsReq with FAILED_CertChainError", await Refused(WithContract(foreign.Chain(CertificateRole.Contract), foreign[CertificateRole.Contract].PrivateKey)));
    }

    private static V2G_Message When<T>(V2G_Message m, Action<T, MessageHeaderType> change) where T : BodyBaseType
    {
        if (m.Body.BodyElement is T body)
        {
            change(body, m.Header);
        }
        return m;
    }

    [Fact]
    public async Task Every_tampered_signed_part_is_refused_with_its_response_code()
    {
        // PaymentDetailsReq: another eMAID, a changed contract certificate
        Assert.Contains("PaymentDetailsReq with FAILED_CertChainError",
            await Refused(WithContract(), m => When<PaymentDetailsReqType>(m, (r, _) => r.EMAID = "DEJUIC000000099")));
        Assert.Contains("PaymentDetailsReq with FAILED_CertChainError",
            await Refused(WithContract(), m => When<PaymentDetailsReqType>(m, (r, _) => r.ContractSignatureCertChain.Certificate[^3] ^= 1)));
        // AuthorizationReq: another challenge, a broken signature value, a signature by another key, no signature
        Assert.Contains("AuthorizationReq with FAILED_ChallengeInvalid",
            await Refused(WithContract(), m => When<AuthorizationReqType>(m, (r, _) => r.GenChallenge = new byte[16])));
        Assert.Contains("AuthorizationReq with FAILED_SignatureError",
            await Refused(WithContract(), m => When<AuthorizationReqType>(m, (_, h) => h.Signature!.SignatureValue.Value[5] ^= 1)));
        Assert.Contains("AuthorizationReq with FAILED_SignatureError",
            await Refused(WithContract(), m => When<AuthorizationReqType>(m, (r, h) =>
                h.Signature = Iso2Signatures.Sign([("ID1", Iso2Signatures.Body("AuthorizationReq", r))], Pki[CertificateRole.OemProvisioning].PrivateKey))));
        Assert.Contains("AuthorizationReq with FAILED_SignatureError",
            await Refused(WithContract(), m => When<AuthorizationReqType>(m, (_, h) => h.Signature = null)));
        // MeteringReceiptReq: another meter reading, a broken signature
        Assert.Contains("MeteringReceiptReq with FAILED_MeteringSignatureNotValid",
            await Refused(WithContract(), m => When<MeteringReceiptReqType>(m, (r, _) => r.MeterInfo.MeterReading = 999_999)));
        Assert.Contains("MeteringReceiptReq with FAILED_MeteringSignatureNotValid",
            await Refused(WithContract(), m => When<MeteringReceiptReqType>(m, (_, h) => h.Signature!.SignatureValue.Value[0] ^= 1)));
        // CertificateInstallationReq with a broken signature: the SECC refuses to forward it
        Assert.Contains("CertificateInstallationReq with FAILED_SignatureError",
            await Refused(WithOemOnly(), m => When<CertificateInstallationReqType>(m, (_, h) => h.Signature!.SignatureValue.Value[9] ^= 1)));
    }

    [Fact]
    public async Task A_tampered_installation_response_is_refused_by_the_car()
    {
        Mutate = m => When<CertificateInstallationResType>(m, (r, _) => r.ContractSignatureEncryptedPrivateKey.Value[20] ^= 1);
        Assert.Contains("the provisioning service's signature does not hold: DigestMismatch", await Refused(WithOemOnly()));
        Mutate = m => When<CertificateInstallationResType>(m, (_, h) => h.Signature!.SignatureValue.Value[3] ^= 1);
        Assert.Contains("signature does not hold: BadSignature", await Refused(WithOemOnly()));
        Assert.False(File.Exists(Path.Combine(_store, "contract-chain.pem")));
    }

    [Fact]
    public async Task A_contract_the_backend_reports_revoked_or_that_it_refuses_ends_the_session_with_the_code()
    {
        _evse.Authorize = r => r.Mode == IdentificationMode.Contract ? AuthorizationStatus.CertificateRevoked : AuthorizationStatus.Accepted;
        Assert.Contains("AuthorizationReq with FAILED_CertificateRevoked", await Refused(WithContract()));
        _evse.Authorize = _ => AuthorizationStatus.Rejected;
        Assert.Contains("AuthorizationReq with FAILED", await Refused(WithContract()));
    }

    [Fact]
    public async Task Without_a_certificate_service_the_installation_fails_in_its_response()
    {
        _evse.CertificateService = null;
        Assert.Contains("CertificateInstallationReq with FAILED", await Refused(WithOemOnly()));
        // an unknown OEM: the provisioning service refuses it
        _evse.CertificateService = request => new CertificateServiceResult(Iso2Exi.Encode(_cps.Install(Iso2Exi.Decode(request.Exi)).Response));
        var other = TestPki.Generate(new TestPkiOptions { Seed = "pnc-other-oem", ValidFrom = From });
        Assert.Contains("CertificateInstallationReq with FAILED_CertChainError", await Refused(WithOemOnly() with
        {
            OemProvisioningChain = other.Chain(CertificateRole.OemProvisioning),
            OemProvisioningKey = other[CertificateRole.OemProvisioning].PrivateKey,
        }));
    }
}
