using System.Net;
using Juice.Hlc.Evcc;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Secc;
using Juice.Hlc.Security;
using Juice.Hlc.Tests.Security;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;

namespace Juice.Hlc.Tests.Evcc;

/// <summary>
/// Our ISO 15118-20 EV at our SECC over TLS 1.3. Certificate installation, with only the OEM provisioning certificate
/// and the provisioning service behind the SECC's certificate service: the contract is installed, used for PnC and
/// metering confirmation, kept for the next session; a provisioning service that breaks its response is caught by the
/// EV (the signature, and under a valid signature the key's tag or another certificate's key), and nothing is stored
/// then. Signed price schedules: the SECC signs the price schedules of ScheduleExchangeRes with the key of the
/// certificate it showed in TLS, the EV checks them against that certificate, and every change to a signed part, or a
/// signature by another key, is refused.
/// </summary>
public sealed class Iso20PlugAndChargeOverTlsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset From = DateTimeOffset.UtcNow.Date.AddDays(-1);
    private static readonly Iso20TestPkis Pkis = new("iso20-ev-install", From);

    private readonly string _store = Directory.CreateTempSubdirectory("juice-iso20-contract-").FullName;
    private readonly List<object> _sent = [];
    private Iso20CertificateProvisioning _cps = null!;
    private SimpleEvse _evse = null!;
    private V2gTcpServer _server = null!;

    /// <summary>Changes the provisioning service's response (a backend that breaks it).</summary>
    private Action<CertificateInstallationResType, TestPki> _mutate = (_, _) => { };

    public Task InitializeAsync()
    {
        _cps = new Iso20CertificateProvisioning([Pkis.P521, Pkis.Ed448]);
        _evse = new SimpleEvse
        {
            IsolationTestDuration = TimeSpan.Zero,
            CertificateService = request =>
            {
                var installation = (CertificateInstallationReqType)Iso20CommonExi.DecodeDocument(request.Exi).Value;
                var response = _cps.Install(installation).Response;
                _mutate(response, PkiKeys.Of(V2gCertificates.Parse(installation.OEMProvisioningCertificateChain.Certificate).GetPublicKey()) == PkiAlgorithm.Ed448 ? Pkis.Ed448 : Pkis.P521);
                return new CertificateServiceResult(Iso20CommonExi.EncodeCertificateInstallationRes(response));
            },
        };
        var options = new SeccOptions
        {
            Protocols = [AppProtocolVersion.Iso20Dc, AppProtocolVersion.Iso20Ac],
            Trace = (_, direction, codec, exi) =>
            {
                if (direction == "se->ev" && codec == Juice.Hlc.Exi.ExiCodec.Iso20Common)
                {
                    lock (_sent)
                    {
                        _sent.Add(codec.Decode(exi).Value);
                    }
                }
            },
            Session = new SeccSessionOptions
            {
                IdentificationModes = [IdentificationMode.Contract, IdentificationMode.External],
                PlugAndCharge = new PlugAndChargeOptions { ContractRoots = [Pkis.P521.MoRoot, Pkis.Ed448.MoRoot], ReceiptInterval = TimeSpan.FromMilliseconds(100) },
            },
        };
        var setup = new V2gTlsServerSetup
        {
            Iso20 = () => [new V2gTlsCredentials(Pkis.P521.Chain(CertificateRole.Secc), Pkis.P521[CertificateRole.Secc].Key),
                new V2gTlsCredentials(Pkis.Ed448.Chain(CertificateRole.Secc), Pkis.Ed448[CertificateRole.Secc].Key)],
            VehicleRoots = [Pkis.P521.OemRoot, Pkis.Ed448.OemRoot],
        };
        _server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback, StreamFactory = async (s, ct) => await V2gTls.AcceptAsync(s, setup, ct) },
            new SeccConnectionHandler(_evse, options).RunAsync);
        _server.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_store, recursive: true);
    }

    private EvPlugAndCharge OemOnly(PkiAlgorithm algorithm) => new()
    {
        V2gRoots = [],
        Iso20OemProvisioningChain = Pkis[algorithm].Chain(CertificateRole.OemProvisioning),
        Iso20OemProvisioningKey = Pkis[algorithm][CertificateRole.OemProvisioning].Key,
        Iso20V2gRoots = [Pkis[algorithm].V2gRoot],
        Iso20MoRoots = [Pkis[algorithm].MoRoot],
        ContractStore = _store,
    };

    private async Task<EvResult> Charge(PkiAlgorithm algorithm)
    {
        var options = new EvOptions
        {
            Protocols = [AppProtocolVersion.Iso20Dc],
            Energy = EnergyTransfer.Dc,
            PlugAndCharge = OemOnly(algorithm),
            Duration = TimeSpan.FromMilliseconds(600),
            LoopInterval = TimeSpan.FromMilliseconds(50),
            MessageTimeout = TimeSpan.FromSeconds(15),
        };
        var client = new V2gTlsClientSetup
        {
            V2gRoots = [Pkis[algorithm].V2gRoot],
            Now = DateTimeOffset.UtcNow,
            Versions = [V2gTlsVersion.Tls13],
            Iso20Algorithms = [algorithm],
            VehicleCertificate = new V2gTlsCredentials(Pkis[algorithm].Chain(CertificateRole.Vehicle), Pkis[algorithm][CertificateRole.Vehicle].Key),
        };
        await using var connection = await V2gTcpClient.ConnectAsync(_server.LocalEndPoint, streamFactory: async (s, ct) => await V2gTls.ConnectAsync(s, client, ct));
        return await new EvClient(options).RunAsync(connection, null, CancellationToken.None);
    }

    private async Task<string> Refused(PkiAlgorithm algorithm)
    {
        var message = (await Assert.ThrowsAsync<EvSessionException>(() => Charge(algorithm))).Message;
        Assert.False(File.Exists(Path.Combine(_store, "iso20-contract-chain.pem")));
        return message;
    }

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1)]
    [InlineData(PkiAlgorithm.Ed448)]
    public async Task The_EV_installs_its_contract_charges_with_it_and_keeps_it_for_the_next_session(PkiAlgorithm algorithm)
    {
        var first = await Charge(algorithm);
        Assert.True(first.Completed, first.Reason);
        Assert.True(first.ContractInstalled);
        Assert.Equal("DEJUIC000000001", first.Emaid);
        Assert.True(first.MeteringReceipts >= 1, $"{first.MeteringReceipts} metering confirmations");
        var installed = V2gCertificates.ParsePem(File.ReadAllText(Path.Combine(_store, "iso20-contract-chain.pem")));
        Assert.NotEqual(Pkis[algorithm][CertificateRole.Contract].Certificate, installed[0]);   // a new certificate with a new key
        Assert.Equal(algorithm, PkiKeys.Of(installed[0].GetPublicKey()));
        Assert.Equal(installed[0].GetEncoded(), _evse.LastAuthorization!.Contract!.Chain[0]);

        var second = await Charge(algorithm);
        Assert.True(second.Completed, second.Reason);
        Assert.False(second.ContractInstalled);   // the stored contract
        Assert.Equal(installed[0].GetEncoded(), _evse.LastAuthorization!.Contract!.Chain[0]);
    }

    [Fact]
    public async Task A_broken_response_is_refused_by_the_EV_and_nothing_is_stored()
    {
        // a signed element changed: the digest no longer matches
        _mutate = (r, _) => r.SignedInstallationData.DHPublicKey[10] ^= 1;
        Assert.Contains("the provisioning service's signature does not hold: DigestMismatch", await Refused(PkiAlgorithm.Secp521r1));
        _mutate = (r, _) => r.Header.Signature!.SignatureValue.Value[3] ^= 1;
        Assert.Contains("signature does not hold: BadSignature", await Refused(PkiAlgorithm.Ed448));

        // signed again by the CPS after the change: the signature holds, the key does not
        _mutate = (r, pki) =>
        {
            var data = r.SignedInstallationData;
            ((SignedInstallationDataTypeChoice.SECP521_EncryptedPrivateKey)data.Choice).Value[40] ^= 1;
            r.Header.Signature = Iso20Signatures.Sign([(data.Id, Iso20Signatures.Element("SignedInstallationData", data))], pki[CertificateRole.CpsLeaf].Key);
        };
        Assert.Contains("the contract key cannot be used: AES-GCM: the tag does not verify", await Refused(PkiAlgorithm.Secp521r1));

        // a CPS chain from a root the EV did not list
        var foreign = TestPki.Generate(new TestPkiOptions { Seed = "foreign-cps", ValidFrom = From, Algorithm = PkiAlgorithm.Secp521r1, Organization = "Foreign CPS" });
        _mutate = (r, _) =>
        {
            r.CPSCertificateChain = new CertificateChainType
            {
                Certificate = foreign[CertificateRole.CpsLeaf].Certificate.GetEncoded(),
                SubCertificates = new SubCertificatesType { Certificate = [.. foreign.Chain(CertificateRole.CpsLeaf).Skip(1).Select(c => c.GetEncoded())] },
            };
            var data = r.SignedInstallationData;
            r.Header.Signature = Iso20Signatures.Sign([(data.Id, Iso20Signatures.Element("SignedInstallationData", data))], foreign[CertificateRole.CpsLeaf].Key);
        };
        Assert.Contains("the provisioning service's chain is refused: UntrustedRoot", await Refused(PkiAlgorithm.Secp521r1));
    }

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1)]
    [InlineData(PkiAlgorithm.Ed448)]
    public async Task The_SECC_signs_its_price_schedules_with_its_TLS_certificate_and_the_EV_refuses_any_change(PkiAlgorithm algorithm)
    {
        var result = await Charge(algorithm);
        Assert.True(result.Completed, result.Reason);   // the EV checked the signature and went on
        ScheduleExchangeResType response;
        lock (_sent)
        {
            response = _sent.OfType<ScheduleExchangeResType>().Single();
        }
        var tuples = ((ScheduleExchangeResTypeChoice.Scheduled_SEResControlMode)response.Choice).Value.ScheduleTuple;
        var secc = Pkis[algorithm][CertificateRole.Secc].Certificate;
        Assert.NotNull(response.Header.Signature);
        Assert.Equal(Iso20Signatures.MethodsOf(secc.GetPublicKey()).Signature, response.Header.Signature!.SignedInfo.SignatureMethod.Algorithm);
        Assert.Null(Iso20EvSession.PriceSchedulesProblem(response.Header, tuples, secc));

        var schedule = ((ChargingScheduleTypeChoice.PriceLevelSchedule)tuples[0].ChargingSchedule.Choice!).Value;
        string? Changed(Action change, Action undo)
        {
            change();
            try
            {
                return Iso20EvSession.PriceSchedulesProblem(response.Header, tuples, secc);
            }
            finally
            {
                undo();
            }
        }
        var entry = schedule.PriceLevelScheduleEntries.PriceLevelScheduleEntry[0];
        Assert.Contains("DigestMismatch", Changed(() => entry.PriceLevel = 3, () => entry.PriceLevel = 0));
        Assert.Contains("DigestMismatch", Changed(() => entry.Duration++, () => entry.Duration--));
        Assert.Contains("DigestMismatch", Changed(() => schedule.TimeAnchor++, () => schedule.TimeAnchor--));
        Assert.Contains("DigestMismatch", Changed(() => schedule.PriceScheduleID = 9, () => schedule.PriceScheduleID = 1));
        Assert.Contains("DigestMismatch", Changed(() => schedule.NumberOfPriceLevels = 4, () => schedule.NumberOfPriceLevels = 1));
        Assert.NotNull(Changed(() => schedule.Id = "id7", () => schedule.Id = "id1"));   // the Reference no longer names it
        var value = response.Header.Signature.SignatureValue.Value;
        Assert.Contains("BadSignature", Changed(() => value[7] ^= 1, () => value[7] ^= 1));
        Assert.Null(Iso20EvSession.PriceSchedulesProblem(response.Header, tuples, secc));   // every change undone
        // signed by another key: the EV checks against the certificate it saw in TLS
        var other = algorithm == PkiAlgorithm.Ed448 ? Pkis.P521 : Pkis.Ed448;
        Assert.NotNull(Iso20EvSession.PriceSchedulesProblem(response.Header, tuples, other[CertificateRole.Secc].Certificate));
        var foreignSignature = new MessageHeaderType { SessionID = response.Header.SessionID, TimeStamp = 1,
            Signature = Iso20Signatures.Sign(Juice.Hlc.Secc.Iso20.Iso20SeccSession.PriceSchedules(tuples), Pkis[algorithm][CertificateRole.CpsLeaf].Key) };
        Assert.Contains("BadSignature", Iso20EvSession.PriceSchedulesProblem(foreignSignature, tuples, secc));
    }
}
