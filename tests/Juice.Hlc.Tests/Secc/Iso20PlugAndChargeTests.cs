using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Secc;
using Juice.Hlc.Secc.Iso20;
using Juice.Hlc.Security;
using Juice.Hlc.Tests.Security;
using Juice.Hlc.Session;
using Microsoft.Extensions.Time.Testing;
using Org.BouncyCastle.Crypto;

namespace Juice.Hlc.Tests.Secc;

/// <summary>
/// ISO 15118-20 Plug &amp; Charge at the SECC request by request, with both -20 certificate profiles: PnC offered only
/// over TLS 1.3 with the GenChallenge in AuthorizationSetupRes, a signed PnC_AReqAuthorizationMode accepted and handed
/// to the station with the contract, and every refusal with its code: another challenge, a tampered element or
/// signature, another key, a chain from an unknown root, an expired contract, the station's refusal and revocation.
/// </summary>
public sealed class Iso20PlugAndChargeTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly Iso20TestPkis Pkis = new("iso20-pnc", Now.AddDays(-1));

    private sealed class Session(SimpleEvse evse, bool tls = true, IReadOnlyCollection<Org.BouncyCastle.X509.X509Certificate>? roots = null, FakeTimeProvider? time = null)
        : Iso20PncDriver(evse, new PlugAndChargeOptions { ContractRoots = roots ?? [Pkis.P521.MoRoot, Pkis.Ed448.MoRoot] }, time ?? new FakeTimeProvider(Now), tls);

    private static PnC_AReqAuthorizationModeType Mode(byte[] challenge, IReadOnlyList<Org.BouncyCastle.X509.X509Certificate> chain) => new()
    {
        Id = "id1",
        GenChallenge = challenge,
        ContractCertificateChain = new ContractCertificateChainType
        {
            Certificate = chain[0].GetEncoded(),
            SubCertificates = new SubCertificatesType { Certificate = [.. chain.Skip(1).Select(c => c.GetEncoded())] },
        },
    };

    private static AuthorizationReqType Request(PnC_AReqAuthorizationModeType mode) => new()
    {
        Header = null!,
        SelectedAuthorizationService = AuthorizationType.PnC,
        Choice = new AuthorizationReqTypeChoice.PnC_AReqAuthorizationMode(mode),
    };

    private static Juice.Hlc.Exi.XmlDsig.SignatureType Sign(PnC_AReqAuthorizationModeType mode, AsymmetricKeyParameter key) =>
        Iso20Signatures.Sign([(mode.Id, Iso20Signatures.Element("PnC_AReqAuthorizationMode", mode))], key);

    private static byte[] Challenge(AuthorizationSetupResType setup) =>
        Assert.IsType<AuthorizationSetupResTypeChoice.PnC_ASResAuthorizationMode>(setup.Choice).Value.GenChallenge;

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1)]
    [InlineData(PkiAlgorithm.Ed448)]
    public async Task A_signed_contract_is_authorized_and_the_station_gets_it(PkiAlgorithm algorithm)
    {
        AuthorizationRequest? asked = null;
        var evse = new SimpleEvse { Authorize = r => { asked = r; return AuthorizationStatus.Accepted; } };
        var session = new Session(evse);
        var setup = await session.UpToAuthorizationSetup();
        Assert.Equal([AuthorizationType.EIM, AuthorizationType.PnC], setup.AuthorizationServices);
        Assert.True(setup.CertificateInstallationService);   // with PnC, the station forwards installations to its backend
        byte[] challenge = Challenge(setup);
        Assert.Equal(16, challenge.Length);

        var pki = Pkis[algorithm];
        var mode = Mode(challenge, pki.Chain(CertificateRole.Contract));
        var response = Assert.IsType<AuthorizationResType>(await session.Send(Request(mode), Sign(mode, pki[CertificateRole.Contract].Key)));
        Assert.Equal(ResponseCodeType.OK, response.ResponseCode);
        Assert.Equal(ProcessingType.Finished, response.EVSEProcessing);
        Assert.Equal(Iso20SeccState.WaitForServiceDiscoveryReq, session.Secc.State);
        Assert.Equal(IdentificationMode.Contract, asked!.Mode);
        Assert.Equal("DEJUIC000000001", asked.Contract!.Emaid);
        Assert.True(asked.Contract.LocallyValidated);
        Assert.Equal(3, asked.Contract.Chain.Count);
    }

    [Fact]
    public async Task Over_TCP_only_external_identification_is_offered_and_PnC_is_an_invalid_selection()
    {
        var session = new Session(new SimpleEvse(), tls: false);
        var setup = await session.UpToAuthorizationSetup();
        Assert.Equal([AuthorizationType.EIM], setup.AuthorizationServices);
        Assert.IsType<AuthorizationSetupResTypeChoice.EIM_ASResAuthorizationMode>(setup.Choice);
        var mode = Mode(new byte[16], Pkis.P521.Chain(CertificateRole.Contract));
        var response = await session.Send(Request(mode), Sign(mode, Pkis.P521[CertificateRole.Contract].Key));
        Assert.Equal(ResponseCodeType.WARNING_AuthorizationSelectionInvalid, response.ResponseCode);
        Assert.Equal(Iso20SeccState.Ended, session.Secc.State);
    }

    public static TheoryData<string, ResponseCodeType> Refusals => new()
    {
        { "another challenge", ResponseCodeType.WARNING_ChallengeInvalid },
        { "no signature", ResponseCodeType.FAILED_SignatureError },
        { "element changed after signing", ResponseCodeType.FAILED_SignatureError },
        { "signature value changed", ResponseCodeType.FAILED_SignatureError },
        { "signed with another key", ResponseCodeType.FAILED_SignatureError },
        { "signed with the other -20 algorithm", ResponseCodeType.FAILED_SignatureError },
        { "chain from an unknown root", ResponseCodeType.WARNING_CertificateValidationError },
        { "chain out of order", ResponseCodeType.WARNING_CertificateValidationError },
        { "contract expired", ResponseCodeType.WARNING_CertificateExpired },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Each_bad_contract_or_signature_is_refused_with_its_code_and_the_station_is_not_asked(string what, ResponseCodeType expected)
    {
        bool asked = false;
        var time = new FakeTimeProvider(Now);
        var session = new Session(new SimpleEvse { Authorize = _ => { asked = true; return AuthorizationStatus.Accepted; } }, time: time);
        byte[] challenge = Challenge(await session.UpToAuthorizationSetup());
        var pki = Pkis.P521;
        var chain = pki.Chain(CertificateRole.Contract);
        var key = pki[CertificateRole.Contract].Key;
        var foreign = TestPki.Generate(new TestPkiOptions { Seed = "iso20-pnc-foreign", ValidFrom = Now.AddDays(-1), Algorithm = PkiAlgorithm.Secp521r1 });
        var mode = Mode(what == "another challenge" ? new byte[16] : challenge, what switch
        {
            "chain from an unknown root" => foreign.Chain(CertificateRole.Contract),
            "chain out of order" => [chain[0], chain[2], chain[1]],
            _ => chain,
        });
        var signature = what switch
        {
            "no signature" => null,
            "signed with another key" => Sign(mode, Pkis.P521[CertificateRole.MoSubCa2].Key),
            "signed with the other -20 algorithm" => Sign(mode, Pkis.Ed448[CertificateRole.Contract].Key),
            "chain from an unknown root" => Sign(mode, foreign[CertificateRole.Contract].Key),
            _ => Sign(mode, key),
        };
        if (what == "element changed after signing")
        {
            // the element as sent differs from the one signed (its Id, which the Reference follows): the digest differs
            mode.Id = "id2";
            signature!.SignedInfo.Reference[0].URI = "#id2";
        }
        if (what == "signature value changed")
        {
            signature!.SignatureValue.Value[10] ^= 1;
        }
        if (what == "contract expired")
        {
            time.Advance(TimeSpan.FromDays(3 * 365));   // the contract lives two years
        }
        var response = await session.Send(Request(mode), signature);
        Assert.Equal(expected, response.ResponseCode);
        Assert.Equal(Iso20SeccState.Ended, session.Secc.State);
        Assert.False(asked);
    }

    [Theory]
    [InlineData(AuthorizationStatus.Rejected, ResponseCodeType.WARNING_GeneralPnCAuthorizationError)]
    [InlineData(AuthorizationStatus.CertificateRevoked, ResponseCodeType.WARNING_CertificateRevoked)]
    public async Task The_stations_refusal_of_a_valid_contract_has_its_code(AuthorizationStatus decision, ResponseCodeType expected)
    {
        var session = new Session(new SimpleEvse { Authorize = _ => decision });
        byte[] challenge = Challenge(await session.UpToAuthorizationSetup());
        var mode = Mode(challenge, Pkis.Ed448.Chain(CertificateRole.Contract));
        var response = await session.Send(Request(mode), Sign(mode, Pkis.Ed448[CertificateRole.Contract].Key));
        Assert.Equal(expected, response.ResponseCode);
        Assert.Equal(Iso20SeccState.Ended, session.Secc.State);
    }

    [Fact]
    public async Task While_the_station_decides_the_EV_repeats_and_an_unknown_root_goes_to_the_backend_where_allowed()
    {
        int calls = 0;
        AuthorizationRequest? asked = null;
        var evse = new SimpleEvse { Authorize = r => { asked = r; return ++calls < 3 ? AuthorizationStatus.Pending : AuthorizationStatus.Accepted; } };
        var options = new SeccSessionOptions
        {
            IdentificationModes = [IdentificationMode.Contract, IdentificationMode.External],
            PlugAndCharge = new PlugAndChargeOptions { ContractRoots = [Pkis.Ed448.MoRoot], AllowCentralValidation = true },
        };
        var secc = new Iso20SeccSession(evse, V2gProtocol.Iso15118_20Ac, options, new FakeTimeProvider(Now), tls: true);
        byte[] id = new byte[8];
        async Task<V2GResponseType> Send(V2GMessageType request, Juice.Hlc.Exi.XmlDsig.SignatureType? signature = null)
        {
            request.Header = new MessageHeaderType { SessionID = id, TimeStamp = 1, Signature = signature };
            var response = (V2GResponseType)(await secc.HandleAsync(request, CancellationToken.None)).Response;
            id = response.Header.SessionID;
            return response;
        }
        await Send(new SessionSetupReqType { Header = null!, EVCCID = "WMIV1234567890ABCDEX" });
        byte[] challenge = Challenge(Assert.IsType<AuthorizationSetupResType>(await Send(new AuthorizationSetupReqType { Header = null! })));
        // a P-521 contract whose MO root this SECC does not hold: passed on for central validation
        var mode = Mode(challenge, Pkis.P521.Chain(CertificateRole.Contract));
        var signature = Sign(mode, Pkis.P521[CertificateRole.Contract].Key);
        var first = Assert.IsType<AuthorizationResType>(await Send(Request(mode), signature));
        Assert.Equal(ProcessingType.Ongoing, first.EVSEProcessing);
        var second = Assert.IsType<AuthorizationResType>(await Send(Request(mode)));   // a repeat without its signature
        Assert.Equal(ProcessingType.Ongoing, second.EVSEProcessing);
        var third = Assert.IsType<AuthorizationResType>(await Send(Request(mode), signature));
        Assert.Equal(ResponseCodeType.OK, third.ResponseCode);
        Assert.Equal(ProcessingType.Finished, third.EVSEProcessing);
        Assert.False(asked!.Contract!.LocallyValidated);
    }

    private static DC_ChargeLoopReqType Loop() => new()
    {
        Header = null!,
        MeterInfoRequested = false,
        EVPresentVoltage = Rn(400),
        CLReqControlMode = new Dynamic_DC_CLReqControlModeType
        {
            EVTargetEnergyRequest = Rn(20_000), EVMaximumEnergyRequest = Rn(30_000), EVMinimumEnergyRequest = Rn(5_000),
            EVMaximumChargePower = Rn(150_000), EVMinimumChargePower = Rn(100), EVMaximumChargeCurrent = Rn(300), EVMaximumVoltage = Rn(500), EVMinimumVoltage = Rn(200),
        },
    };

    private static RationalNumberType Rn(double value) => Iso20Values.Rn(value);

    /// <summary>A PnC DC session in dynamic control up to its first charging-loop response.</summary>
    private static async Task<(Session Session, DC_ChargeLoopResType First)> ChargingWithContract(SimpleEvse evse, FakeTimeProvider time, TestPki pki)
    {
        var session = new Session(evse, time: time);
        byte[] challenge = Challenge(await session.UpToAuthorizationSetup());
        var mode = Mode(challenge, pki.Chain(CertificateRole.Contract));
        Assert.Equal(ResponseCodeType.OK, (await session.Send(Request(mode), Sign(mode, pki[CertificateRole.Contract].Key))).ResponseCode);
        await session.Send(new ServiceDiscoveryReqType { Header = null! });
        Assert.Equal(ResponseCodeType.OK, (await session.Send(new ServiceSelectionReqType
        {
            Header = null!,
            SelectedEnergyTransferService = new SelectedServiceType { ServiceID = Iso20Values.DcService, ParameterSetID = 2 },
        })).ResponseCode);
        await session.Send(new DC_ChargeParameterDiscoveryReqType
        {
            Header = null!,
            DC_CPDReqEnergyTransferMode = new DC_CPDReqEnergyTransferModeType
            {
                EVMaximumChargePower = Rn(150_000), EVMinimumChargePower = Rn(100), EVMaximumChargeCurrent = Rn(300), EVMinimumChargeCurrent = Rn(1),
                EVMaximumVoltage = Rn(500), EVMinimumVoltage = Rn(200),
            },
        });
        await session.Send(new ScheduleExchangeReqType
        {
            Header = null!,
            MaximumSupportingPoints = 1024,
            Choice = new ScheduleExchangeReqTypeChoice.Dynamic_SEReqControlMode(new Dynamic_SEReqControlModeType
            {
                DepartureTime = 3600, EVTargetEnergyRequest = Rn(20_000), EVMaximumEnergyRequest = Rn(30_000), EVMinimumEnergyRequest = Rn(5_000),
            }),
        });
        await session.Send(new DC_CableCheckReqType { Header = null! });
        await session.Send(new DC_PreChargeReqType { Header = null!, EVProcessing = ProcessingType.Finished, EVPresentVoltage = Rn(400), EVTargetVoltage = Rn(400) });
        Assert.Equal(ResponseCodeType.OK, (await session.Send(new PowerDeliveryReqType { Header = null!, EVProcessing = ProcessingType.Finished, ChargeProgress = ChargeProgressType.Start })).ResponseCode);
        return (session, Assert.IsType<DC_ChargeLoopResType>(await session.Send(Loop())));
    }

    private static MeteringConfirmationReqType Confirmation(byte[] sessionId, MeterInfoType meter) => new()
    {
        Header = null!,
        SignedMeteringData = new SignedMeteringDataType
        {
            Id = "id2",
            SessionID = sessionId,
            MeterInfo = meter,
            Choice = new SignedMeteringDataTypeChoice.Dynamic_SMDTControlMode(new Dynamic_SMDTControlModeType()),
        },
    };

    private static Juice.Hlc.Exi.XmlDsig.SignatureType SignMetering(MeteringConfirmationReqType r, AsymmetricKeyParameter key) =>
        Iso20Signatures.Sign([(r.SignedMeteringData.Id, Iso20Signatures.Element("SignedMeteringData", r.SignedMeteringData))], key);

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1)]
    [InlineData(PkiAlgorithm.Ed448)]
    public async Task The_SECC_asks_for_metering_confirmation_and_keeps_the_signed_reading_as_the_receipt(PkiAlgorithm algorithm)
    {
        var time = new FakeTimeProvider(Now);
        var evse = new SimpleEvse { IsolationTestDuration = TimeSpan.Zero };
        var pki = Pkis[algorithm];
        var (session, first) = await ChargingWithContract(evse, time, pki);
        // the first loop response asks, with the MeterInfo to sign
        Assert.Equal(EvseNotificationType.MeteringConfirmation, first.EVSEStatus!.EVSENotification);
        var meter = Assert.IsType<MeterInfoType>(first.MeterInfo);
        var confirmation = Confirmation(session.Id, meter);
        var answer = await session.Send(confirmation, SignMetering(confirmation, pki[CertificateRole.Contract].Key));
        Assert.Equal(ResponseCodeType.OK, answer.ResponseCode);
        var receipt = Assert.Single(evse.Receipts);
        Assert.Equal("DEJUIC000000001", receipt.Emaid);
        Assert.Equal(meter.MeterID, receipt.MeterId);
        Assert.Equal(algorithm == PkiAlgorithm.Ed448 ? 114 : 132, receipt.SignatureValue.Length);

        // not again until the receipt interval (60 s) has passed
        Assert.Null(Assert.IsType<DC_ChargeLoopResType>(await session.Send(Loop())).EVSEStatus);
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(EvseNotificationType.MeteringConfirmation, Assert.IsType<DC_ChargeLoopResType>(await session.Send(Loop())).EVSEStatus!.EVSENotification);
    }

    [Theory]
    [InlineData("signed by another key")]
    [InlineData("another MeterInfo")]
    [InlineData("another SessionID")]
    [InlineData("no signature")]
    public async Task A_metering_confirmation_that_does_not_prove_the_reading_is_FAILED_MeteringSignatureNotValid(string what)
    {
        var time = new FakeTimeProvider(Now);
        var evse = new SimpleEvse { IsolationTestDuration = TimeSpan.Zero };
        var pki = Pkis.P521;
        var (session, first) = await ChargingWithContract(evse, time, pki);
        var meter = first.MeterInfo!;
        if (what == "another MeterInfo")
        {
            meter = new MeterInfoType { MeterID = meter.MeterID, ChargedEnergyReadingWh = meter.ChargedEnergyReadingWh + 1000 };
        }
        var confirmation = Confirmation(what == "another SessionID" ? new byte[8] : session.Id, meter);
        var signature = what switch
        {
            "no signature" => null,
            "signed by another key" => SignMetering(confirmation, pki[CertificateRole.MoSubCa2].Key),
            _ => SignMetering(confirmation, pki[CertificateRole.Contract].Key),
        };
        var answer = await session.Send(confirmation, signature);
        Assert.Equal(ResponseCodeType.FAILED_MeteringSignatureNotValid, answer.ResponseCode);
        Assert.Equal(Iso20SeccState.Ended, session.Secc.State);
        Assert.Empty(evse.Receipts);
    }
}
