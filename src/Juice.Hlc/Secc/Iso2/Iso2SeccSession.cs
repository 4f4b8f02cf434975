using System.Security.Cryptography;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Security;
using Juice.Hlc.Session;
using Org.BouncyCastle.Crypto.Parameters;
using static Juice.Hlc.Secc.Iso2.Iso2Values;

namespace Juice.Hlc.Secc.Iso2;

/// <summary>The ISO 15118-2 SECC states, each named after the request(s) it waits for.</summary>
public enum Iso2SeccState
{
    WaitForSessionSetupReq,
    WaitForServiceDiscoveryReq,
    WaitForServiceDetailOrPaymentServiceSelectionReq,

    /// <summary>Plug &amp; Charge: PaymentDetailsReq, or first a certificate installation or update.</summary>
    WaitForPaymentDetailsReq,
    WaitForAuthorizationReq,
    WaitForChargeParameterDiscoveryReq,
    WaitForCableCheckReq,
    WaitForPreChargeReq,
    WaitForPowerDeliveryReq,
    WaitForChargingStatusReq,
    WaitForCurrentDemandReq,
    WaitForWeldingDetectionReq,
    WaitForSessionStopReq,
    Ended,
}

/// <summary>
/// One ISO 15118-2 session on the SECC side, external identification (EIM) and Plug &amp; Charge (on a TLS
/// connection), AC and DC: takes each decoded request,
/// checks session, sequence and parameters, drives the charging point and returns the response. No I/O: the
/// connection runner reads, writes and runs the sequence timer; the clock for timestamps and the Ongoing limits is
/// injected.
/// </summary>
public sealed class Iso2SeccSession : ISeccSession<V2G_Message>
{
    /// <summary>[V2G2-773]: SAScheduleTupleID 1..255; this SECC offers one tuple.</summary>
    private const byte ScheduleTupleId = 1;

    /// <summary>Table 105: ServiceID 1 is the charge service.</summary>
    private const ushort ChargeServiceId = 1;

    /// <summary>Length of the offered PMaxSchedule (one entry, one day).</summary>
    private const uint ScheduleDuration = 86_400;

    private readonly SeccSessionCore _core;
    private readonly IChargingPoint _cp;
    private EnergyTransfer _mode;
    private bool _charged;

    /// <summary>DC: between a renegotiating ChargeParameterDiscoveryRes and the next PowerDelivery(Start).</summary>
    private bool _renegotiating;
    private double _schedulePowerW;
    private readonly bool _secured;
    private IdentificationMode _payment = IdentificationMode.External;
    private ContractIdentity? _contract;
    private ECPublicKeyParameters? _contractKey;
    private byte[]? _challenge;
    private bool _contractProven;
    private long _lastReceipt;
    private MeterInfoType? _receiptAsked;

    /// <param name="secured">True on a TLS connection: only then is Plug &amp; Charge offered (ISO 15118-2 §7.7.3, §8.4.3.4).</param>
    public Iso2SeccSession(IChargingPoint chargingPoint, SeccSessionOptions? options = null, TimeProvider? time = null, PausedSessions? paused = null, bool secured = false)
    {
        time ??= TimeProvider.System;
        _cp = chargingPoint;
        _secured = secured;
        _core = new SeccSessionCore(chargingPoint, options ?? new SeccSessionOptions(), time, paused ?? new PausedSessions(time), V2gProtocol.Iso15118_2);
    }

    public Iso2SeccState State { get; private set; } = Iso2SeccState.WaitForSessionSetupReq;

    public byte[]? SessionId => _core.HasSession ? _core.SessionId : null;

    public bool Started => State != Iso2SeccState.WaitForSessionSetupReq;

    public string StateName => State.ToString();

    private bool Dc => _mode == EnergyTransfer.Dc;

    /// <summary>The message kind of a request (for the timing table and logs).</summary>
    public V2gMessageKind? KindOf(V2G_Message request) => request.Body.BodyElement switch
    {
        SessionSetupReqType => V2gMessageKind.SessionSetup,
        ServiceDiscoveryReqType => V2gMessageKind.ServiceDiscovery,
        ServiceDetailReqType => V2gMessageKind.ServiceDetail,
        PaymentServiceSelectionReqType => V2gMessageKind.PaymentServiceSelection,
        PaymentDetailsReqType => V2gMessageKind.PaymentDetails,
        AuthorizationReqType => V2gMessageKind.Authorization,
        ChargeParameterDiscoveryReqType => V2gMessageKind.ChargeParameterDiscovery,
        CableCheckReqType => V2gMessageKind.CableCheck,
        PreChargeReqType => V2gMessageKind.PreCharge,
        PowerDeliveryReqType => V2gMessageKind.PowerDelivery,
        ChargingStatusReqType => V2gMessageKind.ChargingStatus,
        CurrentDemandReqType => V2gMessageKind.CurrentDemand,
        MeteringReceiptReqType => V2gMessageKind.MeteringReceipt,
        WeldingDetectionReqType => V2gMessageKind.WeldingDetection,
        SessionStopReqType => V2gMessageKind.SessionStop,
        CertificateInstallationReqType => V2gMessageKind.CertificateInstallation,
        CertificateUpdateReqType => V2gMessageKind.CertificateUpdate,
        _ => null,
    };

    /// <summary>Requests accepted in a state (ISO 15118-2:2014 §8.8.2 and the message sequence of Figures 107/108).</summary>
    private static bool Expected(Iso2SeccState state, BodyBaseType request) => (state, request) switch
    {
        (Iso2SeccState.WaitForSessionSetupReq, SessionSetupReqType) => true,
        (Iso2SeccState.WaitForServiceDiscoveryReq, ServiceDiscoveryReqType) => true,
        // [V2G2-545]: after ServiceDiscoveryRes, ServiceDetailReq (any number) or PaymentServiceSelectionReq
        (Iso2SeccState.WaitForServiceDetailOrPaymentServiceSelectionReq, ServiceDetailReqType or PaymentServiceSelectionReqType) => true,
        // [V2G2-550]/[V2G2-551]: with Contract, PaymentDetailsReq, after an optional certificate installation or update
        (Iso2SeccState.WaitForPaymentDetailsReq, PaymentDetailsReqType or CertificateInstallationReqType or CertificateUpdateReqType) => true,
        (Iso2SeccState.WaitForAuthorizationReq, AuthorizationReqType) => true,
        (Iso2SeccState.WaitForChargeParameterDiscoveryReq, ChargeParameterDiscoveryReqType) => true,
        (Iso2SeccState.WaitForCableCheckReq, CableCheckReqType) => true,
        // [V2G2-587]: PreChargeReq repeats until the EV is content; an EV whose own check is slower repeats CableCheckReq
        (Iso2SeccState.WaitForPreChargeReq, CableCheckReqType or PreChargeReqType or PowerDeliveryReqType) => true,
        (Iso2SeccState.WaitForPowerDeliveryReq, PowerDeliveryReqType or ChargeParameterDiscoveryReqType) => true,
        // [V2G2-575]/[V2G2-576]: the AC charging loop and its end
        // [V2G2-575]/[V2G2-576]: with MeteringReceiptReq where the SECC asked for a receipt
        (Iso2SeccState.WaitForChargingStatusReq, ChargingStatusReqType or PowerDeliveryReqType or MeteringReceiptReqType) => true,
        (Iso2SeccState.WaitForCurrentDemandReq, CurrentDemandReqType or PowerDeliveryReqType or MeteringReceiptReqType) => true,
        (Iso2SeccState.WaitForWeldingDetectionReq, WeldingDetectionReqType or SessionStopReqType or ChargeParameterDiscoveryReqType) => true,
        // [V2G2-568]/[V2G2-601]: after PowerDelivery(Stop), SessionStopReq or a new charge parameter discovery
        (Iso2SeccState.WaitForSessionStopReq, SessionStopReqType or ChargeParameterDiscoveryReqType) => true,
        _ => false,
    };

    /// <summary>
    /// DC renegotiation: Figure 108 goes from ChargeParameterDiscoveryRes straight to PowerDeliveryReq(Start), but EVs
    /// of other stacks run CableCheck and PreCharge again first, and other chargers accept it. The contactors are still
    /// closed and the isolation monitor keeps watching, so the cable check answers with its present (still valid)
    /// state; then PreCharge, then PowerDelivery(Start) as after the first cable check.
    /// </summary>
    private bool RecheckAfterRenegotiation(BodyBaseType request) =>
        _renegotiating && State == Iso2SeccState.WaitForPowerDeliveryReq && request is CableCheckReqType or PreChargeReqType;

    public ValueTask<SeccReply<V2G_Message>> HandleAsync(V2G_Message request, CancellationToken cancellationToken) => HandleAsync(request, [], cancellationToken);

    public async ValueTask<SeccReply<V2G_Message>> HandleAsync(V2G_Message request, byte[] exi, CancellationToken cancellationToken)
    {
        if (request.Body.BodyElement is not { } body)
        {
            return Close(new SessionStopResType { ResponseCode = ResponseCodeType.FAILED }, SessionEndReason.Error, "a message with an empty body");
        }
        if (!Expected(State, body) && !RecheckAfterRenegotiation(body))
        {
            // [V2G2-538]: a request not expected in this state is answered with its response message and
            // FAILED_SequenceError ([V2G2-459]), then the session ends ([V2G2-539], [V2G2-034]).
            return Close(Failed(body, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error, $"{Name(body)} while in {State}");
        }
        if (body is not SessionSetupReqType && !_core.IsOwnSession(request.Header.SessionID))
        {
            // [V2G2-460]: the SessionID of every request after SessionSetup must be the one the SECC gave.
            return Close(Failed(body, ResponseCodeType.FAILED_UnknownSession), SessionEndReason.Error,
                $"{Name(body)} with SessionID {Convert.ToHexString(request.Header.SessionID)} (not {Convert.ToHexString(_core.SessionId)})");
        }
        return body switch
        {
            SessionSetupReqType r => SessionSetup(request.Header.SessionID, r),
            ServiceDiscoveryReqType r => ServiceDiscovery(r),
            ServiceDetailReqType r => ServiceDetail(r),
            PaymentServiceSelectionReqType r => PaymentServiceSelection(r),
            PaymentDetailsReqType r => PaymentDetails(r),
            CertificateInstallationReqType or CertificateUpdateReqType => await CertificateServiceAsync(request, exi, cancellationToken).ConfigureAwait(false),
            AuthorizationReqType r => await AuthorizationAsync(request.Header, r, cancellationToken).ConfigureAwait(false),
            MeteringReceiptReqType r => MeteringReceipt(request.Header, r),
            ChargeParameterDiscoveryReqType r => ChargeParameterDiscovery(r),
            CableCheckReqType r => CableCheck(r),
            PreChargeReqType r => PreCharge(r),
            PowerDeliveryReqType r => await PowerDeliveryAsync(r, cancellationToken).ConfigureAwait(false),
            ChargingStatusReqType => await ChargingStatusAsync(cancellationToken).ConfigureAwait(false),
            CurrentDemandReqType r => await CurrentDemandAsync(r, cancellationToken).ConfigureAwait(false),
            WeldingDetectionReqType => WeldingDetection(),
            SessionStopReqType r => await SessionStopAsync(r, cancellationToken).ConfigureAwait(false),
            _ => Close(Failed(body, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error, $"{Name(body)} is not supported"),
        };
    }

    private SeccReply<V2G_Message> SessionSetup(byte[] requestedSessionId, SessionSetupReqType r)
    {
        bool resumed = _core.SetUp(requestedSessionId, r.EVCCID, "ISO 15118-2");
        State = Iso2SeccState.WaitForServiceDiscoveryReq;
        return Next(new SessionSetupResType
        {
            ResponseCode = resumed ? ResponseCodeType.OK_OldSessionJoined : ResponseCodeType.OK_NewSessionEstablished,
            EVSEID = _cp.EvseId,
            EVSETimeStamp = _core.UnixTime,
        });
    }

    private ChargeServiceType ChargeService() => new()
    {
        ServiceID = ChargeServiceId,
        ServiceName = "AC_DC_Charging",
        ServiceCategory = ServiceCategoryType.EVCharging,
        FreeService = false,
        SupportedEnergyTransferMode = new SupportedEnergyTransferModeType { EnergyTransferMode = [.. Modes(_cp.Supported)] },
    };

    /// <summary>Contract is offered only over TLS and with Plug &amp; Charge configured.</summary>
    private bool ContractOffered => _secured && _core.Options.PlugAndCharge is not null && _core.Options.IdentificationModes.Contains(IdentificationMode.Contract);

    private PaymentOptionListType PaymentOptions() => new()
    {
        PaymentOption = [.. _core.Options.IdentificationModes
            .Where(m => m == IdentificationMode.External || ContractOffered)
            .Select(m => m == IdentificationMode.Contract ? PaymentOptionType.Contract : PaymentOptionType.ExternalPayment)],
    };

    private SeccReply<V2G_Message> ServiceDiscovery(ServiceDiscoveryReqType r)
    {
        State = Iso2SeccState.WaitForServiceDetailOrPaymentServiceSelectionReq;
        // A ServiceCategory filter other than EVCharging leaves only the charge service, which is always listed.
        _ = r;
        return Next(new ServiceDiscoveryResType
        {
            ResponseCode = ResponseCodeType.OK,
            PaymentOptionList = PaymentOptions(),
            ChargeService = ChargeService(),
        });
    }

    private SeccReply<V2G_Message> ServiceDetail(ServiceDetailReqType r)
    {
        if (r.ServiceID != ChargeServiceId)
        {
            // [V2G2-464]: a ServiceID that ServiceDiscoveryRes did not list
            return Close(new ServiceDetailResType { ResponseCode = ResponseCodeType.FAILED_ServiceIDInvalid, ServiceID = r.ServiceID },
                SessionEndReason.Error, $"ServiceDetailReq for ServiceID {r.ServiceID}");
        }
        return Next(new ServiceDetailResType { ResponseCode = ResponseCodeType.OK, ServiceID = r.ServiceID });
    }

    private SeccReply<V2G_Message> PaymentServiceSelection(PaymentServiceSelectionReqType r)
    {
        bool offered = PaymentOptions().PaymentOption.Contains(r.SelectedPaymentOption);
        var services = r.SelectedServiceList.SelectedService;
        ResponseCodeType? failure =
            // [V2G2-465]: a payment option the SECC did not offer
            !offered ? ResponseCodeType.FAILED_PaymentSelectionInvalid
            // [V2G2-467]: a service the SECC did not offer
            : services.Any(s => s.ServiceID != ChargeServiceId) ? ResponseCodeType.FAILED_ServiceSelectionInvalid
            // [V2G2-804]: the charge service must be selected
            : !services.Any(s => s.ServiceID == ChargeServiceId) ? ResponseCodeType.FAILED_NoChargeServiceSelected
            : null;
        if (failure is { } code)
        {
            return Close(new PaymentServiceSelectionResType { ResponseCode = code }, SessionEndReason.Error,
                $"PaymentServiceSelectionReq {r.SelectedPaymentOption} with services [{string.Join(',', services.Select(s => s.ServiceID))}]");
        }
        if (r.SelectedPaymentOption == PaymentOptionType.Contract)
        {
            _payment = IdentificationMode.Contract;
            State = Iso2SeccState.WaitForPaymentDetailsReq;
            return Next(new PaymentServiceSelectionResType { ResponseCode = ResponseCodeType.OK });
        }
        State = Iso2SeccState.WaitForAuthorizationReq;
        return Next(new PaymentServiceSelectionResType { ResponseCode = ResponseCodeType.OK });
    }

    /// <summary>
    /// PaymentDetailsReq (§8.4.3.6): the contract chain must lead to a trusted contract root and be valid now, the
    /// eMAID must have the syntax of Annex H and be the contract certificate's; the answer carries a fresh
    /// GenChallenge of 16 random bytes ([V2G2-825], [V2G2-826]) that the EV signs in AuthorizationReq.
    /// </summary>
    private SeccReply<V2G_Message> PaymentDetails(PaymentDetailsReqType r)
    {
        var pnc = _core.Options.PlugAndCharge!;
        var chain = CertificateChains.Validate(r.ContractSignatureCertChain.Certificate, r.ContractSignatureCertChain.SubCertificates?.Certificate ?? [],
            pnc.ContractRoots, _core.Time.GetUtcNow(), "MO");
        bool central = !chain.Valid && chain.Status == ChainStatus.UntrustedRoot && pnc.AllowCentralValidation && chain.Leaf is not null
            && chain.Leaf.NotAfter >= _core.Time.GetUtcNow().UtcDateTime && chain.Leaf.NotBefore <= _core.Time.GetUtcNow().UtcDateTime;
        if (!chain.Valid && !central)
        {
            var code = chain.Status == ChainStatus.Expired ? ResponseCodeType.FAILED_CertificateExpired : ResponseCodeType.FAILED_CertChainError;
            return Close(Failed(r, code), SessionEndReason.Error, $"contract certificate chain: {chain.Status}: {chain.Detail}");
        }
        string? subject = V2gCertificates.CommonName(chain.Leaf!);
        if (!Emaid.IsValid(r.EMAID) || subject is null || !Emaid.SameAccount(r.EMAID, subject))
        {
            return Close(Failed(r, ResponseCodeType.FAILED_CertChainError), SessionEndReason.Error, $"eMAID {r.EMAID} is not the contract certificate's ({subject})");
        }
        _contract = new ContractIdentity(Emaid.Normalize(r.EMAID), [r.ContractSignatureCertChain.Certificate, .. r.ContractSignatureCertChain.SubCertificates?.Certificate ?? []], !central);
        _contractKey = (ECPublicKeyParameters)chain.Leaf!.GetPublicKey();
        _challenge = RandomNumberGenerator.GetBytes(16);
        State = Iso2SeccState.WaitForAuthorizationReq;
        return Next(new PaymentDetailsResType { ResponseCode = ResponseCodeType.OK, GenChallenge = _challenge, EVSETimeStamp = _core.UnixTime });
    }

    /// <summary>
    /// CertificateInstallationReq / CertificateUpdateReq (§8.4.3.11, §8.4.3.12): the EV's signature is checked, then
    /// the request goes to the backend exactly as it came, and the backend's response goes back to the EV unchanged
    /// within V2G_SECC_Msg_Performance_Time; no answer in time, or none at all, is FAILED.
    /// </summary>
    private async ValueTask<SeccReply<V2G_Message>> CertificateServiceAsync(V2G_Message request, byte[] exi, CancellationToken ct)
    {
        var body = request.Body.BodyElement!;
        var pnc = _core.Options.PlugAndCharge!;
        bool install = body is CertificateInstallationReqType;
        if (pnc.VerifyCertificateRequests && CertificateRequestProblem(request) is { } problem)
        {
            return Close(Failed(body, ResponseCodeType.FAILED_SignatureError), SessionEndReason.Error, problem);
        }
        if (exi.Length == 0)
        {
            exi = Iso2Exi.Encode(request);
        }
        var result = await _core.CertificateServiceAsync(new CertificateServiceRequest(install ? CertificateAction.Install : CertificateAction.Update, exi), ct).ConfigureAwait(false);
        if (result.Exi is not { } answer)
        {
            return Close(Failed(body, ResponseCodeType.FAILED), SessionEndReason.Error, $"{Name(body)}: {result.Problem}");
        }
        V2G_Message response;
        try
        {
            response = Iso2Exi.Decode(answer);
        }
        catch (Juice.Hlc.Exi.ExiContentException e)
        {
            return Close(Failed(body, ResponseCodeType.FAILED), SessionEndReason.Error, $"{Name(body)}: the backend's response is no ISO 15118-2 message: {e.Message}");
        }
        ResponseCodeType? code = (install, response.Body.BodyElement) switch
        {
            (true, CertificateInstallationResType res) => res.ResponseCode,
            (false, CertificateUpdateResType res) => res.ResponseCode,
            _ => null,
        };
        if (code is null)
        {
            return Close(Failed(body, ResponseCodeType.FAILED), SessionEndReason.Error,
                $"{Name(body)}: the backend answered with {response.Body.BodyElement?.GetType().Name ?? "an empty body"}");
        }
        if (!response.Header.SessionID.AsSpan().SequenceEqual(_core.SessionId))
        {
            // the backend may not know the SessionID; the signature covers the body only
            response.Header.SessionID = _core.SessionId;
            answer = Iso2Exi.Encode(response);
        }
        if (code.Value.ToString().StartsWith("FAILED", StringComparison.Ordinal))
        {
            State = Iso2SeccState.Ended;
            return new(response, SeccNext.Close, SessionEndReason.Error, $"{Name(body)}: the backend answered {code}", answer);
        }
        return new(response, SeccNext.Continue, null, null, answer);
    }

    /// <summary>Why the EV's signature on a certificate request does not hold, or null.</summary>
    private static string? CertificateRequestProblem(V2G_Message request)
    {
        try
        {
            var (id, element, key) = request.Body.BodyElement switch
            {
                CertificateInstallationReqType r => (r.Id, Iso2Signatures.Body("CertificateInstallationReq", r), V2gCertificates.Parse(r.OEMProvisioningCert).GetPublicKey()),
                CertificateUpdateReqType r => (r.Id, Iso2Signatures.Body("CertificateUpdateReq", r), V2gCertificates.Parse(r.ContractSignatureCertChain.Certificate).GetPublicKey()),
                _ => throw new InvalidOperationException(),
            };
            var (result, detail) = Iso2Signatures.Verify(request.Header.Signature, [(id, element)], (ECPublicKeyParameters)key);
            return result == SignatureCheck.Valid ? null : $"the signature of the certificate request: {result}: {detail}";
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidCastException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            return "the certificate of the certificate request is unreadable: " + e.Message;
        }
    }

    private async ValueTask<SeccReply<V2G_Message>> AuthorizationAsync(MessageHeaderType header, AuthorizationReqType r, CancellationToken ct)
    {
        if (_payment == IdentificationMode.Contract)
        {
            // [V2G2-475]: the GenChallenge of PaymentDetailsRes, signed with the contract key (the first request proves it; a
            // request repeated while Ongoing may leave it out)
            bool carries = r.GenChallenge is not null;
            if ((!_contractProven || carries) && (r.GenChallenge is not { } challenge || !CryptographicOperations.FixedTimeEquals(challenge, _challenge)))
            {
                return Close(Failed(r, ResponseCodeType.FAILED_ChallengeInvalid), SessionEndReason.Error, "AuthorizationReq without the GenChallenge of PaymentDetailsRes");
            }
            if (!_contractProven || header.Signature is not null)
            {
                var (result, detail) = r.Id is { } id
                    ? Iso2Signatures.Verify(header.Signature, [(id, Iso2Signatures.Body("AuthorizationReq", r))], _contractKey!)
                    : (SignatureCheck.Missing, "AuthorizationReq has no Id to sign");
                if (result != SignatureCheck.Valid)
                {
                    return Close(Failed(r, ResponseCodeType.FAILED_SignatureError), SessionEndReason.Error, $"AuthorizationReq signature: {result}: {detail}");
                }
                _contractProven = true;
            }
        }
        var (decision, overdue) = await _core.AuthorizeAsync(_payment, ct, _contract).ConfigureAwait(false);
        switch (decision)
        {
            case AuthorizationStatus.Accepted:
                State = Iso2SeccState.WaitForChargeParameterDiscoveryReq;
                return Next(new AuthorizationResType { ResponseCode = ResponseCodeType.OK, EVSEProcessing = EVSEProcessingType.Finished });
            case AuthorizationStatus.Pending when !overdue:
                // Not decided yet: the EV repeats AuthorizationReq ([V2G2-684]).
                return Next(new AuthorizationResType { ResponseCode = ResponseCodeType.OK, EVSEProcessing = EVSEProcessingType.Ongoing });
            case AuthorizationStatus.Pending:
                // [V2G2-712], [V2G2-713]: still undecided after V2G_SECC_Ongoing_Performance_Time
                return Close(new AuthorizationResType { ResponseCode = ResponseCodeType.FAILED, EVSEProcessing = EVSEProcessingType.Finished },
                    SessionEndReason.Timeout, "no authorization decision within V2G_SECC_Ongoing_Performance_Time");
            case AuthorizationStatus.CertificateRevoked:
                return Close(new AuthorizationResType { ResponseCode = ResponseCodeType.FAILED_CertificateRevoked, EVSEProcessing = EVSEProcessingType.Finished },
                    SessionEndReason.Error, $"the contract {_contract?.Emaid} is revoked");
            case AuthorizationStatus.CertificateExpired:
                return Close(new AuthorizationResType { ResponseCode = ResponseCodeType.FAILED_CertificateExpired, EVSEProcessing = EVSEProcessingType.Finished },
                    SessionEndReason.Error, $"the contract {_contract?.Emaid} is expired");
            default:
                return Close(new AuthorizationResType { ResponseCode = ResponseCodeType.FAILED, EVSEProcessing = EVSEProcessingType.Finished },
                    SessionEndReason.Error, _contract is { } c ? $"contract {c.Emaid} not authorized" : $"EV {_core.Ev!.EvccidHex} not authorized");
        }
    }

    /// <summary>
    /// Plug &amp; Charge: ask for a metering receipt in this charging-loop response? The first time, then every
    /// ReceiptInterval, never with external identification ([V2G2-691]).
    /// </summary>
    private bool ReceiptDue(MeterInfoType meter)
    {
        if (_payment != IdentificationMode.Contract || _core.Options.PlugAndCharge?.ReceiptInterval is not { } interval || _receiptAsked is not null)
        {
            return false;
        }
        if (_lastReceipt != 0 && _core.Time.GetElapsedTime(_lastReceipt) < interval)
        {
            return false;
        }
        _receiptAsked = meter;
        return true;
    }

    /// <summary>
    /// MeteringReceiptReq (§8.4.3.13): only after a response with ReceiptRequired; the SessionID and MeterInfo must be
    /// those of that response, and the signature with the contract key must verify
    /// (else FAILED_MeteringSignatureNotValid).
    /// </summary>
    private SeccReply<V2G_Message> MeteringReceipt(MessageHeaderType header, MeteringReceiptReqType r)
    {
        if (_receiptAsked is not { } asked)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error, "MeteringReceiptReq that the SECC did not ask for");
        }
        string? wrong = !r.SessionID.AsSpan().SequenceEqual(_core.SessionId) ? "another SessionID"
            : r.MeterInfo.MeterID != asked.MeterID || r.MeterInfo.MeterReading != asked.MeterReading ? "another MeterInfo than the SECC sent"
            : r.Id is null ? "no Id to sign"
            : Iso2Signatures.Verify(header.Signature, [(r.Id, Iso2Signatures.Body("MeteringReceiptReq", r))], _contractKey!) is { Result: not SignatureCheck.Valid } v ? $"{v.Result}: {v.Detail}"
            : null;
        if (wrong is not null)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_MeteringSignatureNotValid), SessionEndReason.Error, "MeteringReceiptReq: " + wrong);
        }
        _cp.MeteringReceiptSigned(new MeteringReceipt(_contract!.Emaid, r.MeterInfo.MeterID, r.MeterInfo.MeterReading, r.MeterInfo.TMeter, header.Signature!.SignatureValue.Value));
        _receiptAsked = null;
        _lastReceipt = _core.Time.GetTimestamp();
        return Next(new MeteringReceiptResType { ResponseCode = ResponseCodeType.OK, EVSEStatus = Dc ? DcStatus() : AcStatus() });
    }

    private SeccReply<V2G_Message> ChargeParameterDiscovery(ChargeParameterDiscoveryReqType r)
    {
        var mode = Mode(r.RequestedEnergyTransferMode);
        bool dc = mode == EnergyTransfer.Dc;
        bool renegotiation = State == Iso2SeccState.WaitForChargeParameterDiscoveryReq && _charged;
        if (!Modes(_cp.Supported).Contains(r.RequestedEnergyTransferMode) || (_mode != EnergyTransfer.None && _mode != mode))
        {
            // [V2G2-476]: a mode the SECC did not offer (or, in a renegotiation, another mode than before)
            return Close(ChargeParameterDiscoveryFailed(ResponseCodeType.FAILED_WrongEnergyTransferMode, dc), SessionEndReason.Error,
                $"energy transfer mode {r.RequestedEnergyTransferMode} is not offered");
        }
        var needs = EvNeedsOf(r, mode, out string? wrong);
        if (needs is null)
        {
            // [V2G2-477]: charge parameters that do not fit the requested mode, or values out of range
            return Close(ChargeParameterDiscoveryFailed(ResponseCodeType.FAILED_WrongChargeParameter, dc), SessionEndReason.Error, wrong!);
        }
        _mode = mode;
        _cp.EvNeedsChanged(needs);
        if (_cp.Request == EvseRequest.Renegotiate)
        {
            _cp.RequestHandled(EvseRequest.Renegotiate);
        }
        var limits = _cp.Limits;
        _schedulePowerW = SchedulePower(limits, mode);
        _renegotiating = renegotiation && dc;
        State = renegotiation || (dc && State is Iso2SeccState.WaitForSessionStopReq or Iso2SeccState.WaitForWeldingDetectionReq)
            ? (dc && !renegotiation ? Iso2SeccState.WaitForPreChargeReq : Iso2SeccState.WaitForPowerDeliveryReq)
            : dc ? Iso2SeccState.WaitForCableCheckReq : Iso2SeccState.WaitForPowerDeliveryReq;
        return Next(new ChargeParameterDiscoveryResType
        {
            ResponseCode = ResponseCodeType.OK,
            EVSEProcessing = EVSEProcessingType.Finished,
            SASchedules = Schedules(),
            EVSEChargeParameter = dc ? DcChargeParameter(limits) : AcChargeParameter(limits),
        });
    }

    /// <summary>The EV's needs in SI units, or null (with the reason) when the parameters are wrong for the mode.</summary>
    private EvNeeds? EvNeedsOf(ChargeParameterDiscoveryReqType r, EnergyTransfer mode, out string? wrong)
    {
        wrong = null;
        var now = _core.Time.GetUtcNow();
        switch (r.EVChargeParameter)
        {
            case AC_EVChargeParameterType ac when mode != EnergyTransfer.Dc:
                wrong = Check(ac.EAmount, UnitSymbolType.Wh, "EAmount") ?? Check(ac.EVMaxVoltage, UnitSymbolType.V, "EVMaxVoltage")
                    ?? Check(ac.EVMaxCurrent, UnitSymbolType.A, "EVMaxCurrent") ?? Check(ac.EVMinCurrent, UnitSymbolType.A, "EVMinCurrent")
                    ?? (Si(ac.EVMinCurrent) > Si(ac.EVMaxCurrent) ? "EVMinCurrent above EVMaxCurrent" : null);
                return wrong is null
                    ? new EvNeeds(mode, Si(ac.EAmount), ac.DepartureTime is { } t ? now.AddSeconds(t) : null, Si(ac.EVMaxCurrent), Si(ac.EVMinCurrent), Si(ac.EVMaxVoltage), null, null)
                    : null;
            case DC_EVChargeParameterType p when mode == EnergyTransfer.Dc:
                wrong = Check(p.EVMaximumCurrentLimit, UnitSymbolType.A, "EVMaximumCurrentLimit") ?? Check(p.EVMaximumVoltageLimit, UnitSymbolType.V, "EVMaximumVoltageLimit")
                    ?? Check(p.EVMaximumPowerLimit, UnitSymbolType.W, "EVMaximumPowerLimit") ?? Check(p.EVEnergyCapacity, UnitSymbolType.Wh, "EVEnergyCapacity")
                    ?? Check(p.EVEnergyRequest, UnitSymbolType.Wh, "EVEnergyRequest");
                return wrong is null
                    ? new EvNeeds(mode, SiOrNull(p.EVEnergyRequest), p.DepartureTime is { } d ? now.AddSeconds(d) : null,
                        Si(p.EVMaximumCurrentLimit), null, Si(p.EVMaximumVoltageLimit), SiOrNull(p.EVMaximumPowerLimit), p.DC_EVStatus.EVRESSSOC)
                    : null;
            default:
                wrong = $"{r.EVChargeParameter.GetType().Name} does not fit {r.RequestedEnergyTransferMode}";
                return null;
        }
    }

    /// <summary>A physical value must carry the unit its element is defined with and must not be negative.</summary>
    private static string? Check(PhysicalValueType? pv, UnitSymbolType unit, string name) =>
        pv is null ? null
        : pv.Unit != unit ? $"{name} in {pv.Unit} (expected {unit})"
        : Si(pv) < 0 ? $"{name} is negative"
        : null;

    /// <summary>The power of the offered schedule: the station's power limit, for AC no more than the current allows.</summary>
    private static double SchedulePower(EvseLimits limits, EnergyTransfer mode) => mode switch
    {
        EnergyTransfer.Dc => limits.MaxPowerW,
        EnergyTransfer.AcSinglePhase => Math.Min(limits.MaxPowerW, limits.MaxCurrentA * limits.NominalVoltageV),
        _ => Math.Min(limits.MaxPowerW, 3 * limits.MaxCurrentA * limits.NominalVoltageV),
    };

    private SAScheduleListType Schedules() => new()
    {
        SAScheduleTuple =
        [
            new SAScheduleTupleType
            {
                SAScheduleTupleID = ScheduleTupleId,
                PMaxSchedule = new PMaxScheduleType
                {
                    PMaxScheduleEntry =
                    [
                        new PMaxScheduleEntryType
                        {
                            TimeInterval = new RelativeTimeIntervalType { Start = 0, Duration = ScheduleDuration },
                            PMax = Pv(_schedulePowerW, UnitSymbolType.W),
                        },
                    ],
                },
            },
        ],
    };

    private ChargeParameterDiscoveryResType ChargeParameterDiscoveryFailed(ResponseCodeType code, bool dc) => new()
    {
        ResponseCode = code,
        EVSEProcessing = EVSEProcessingType.Finished,
        EVSEChargeParameter = dc ? DcChargeParameter(_cp.Limits) : AcChargeParameter(_cp.Limits),
    };

    private AC_EVSEChargeParameterType AcChargeParameter(EvseLimits limits) => new()
    {
        AC_EVSEStatus = AcStatus(),
        EVSENominalVoltage = Pv(limits.NominalVoltageV, UnitSymbolType.V),
        EVSEMaxCurrent = Pv(limits.MaxCurrentA, UnitSymbolType.A),
    };

    private DC_EVSEChargeParameterType DcChargeParameter(EvseLimits limits) => new()
    {
        DC_EVSEStatus = DcStatus(),
        EVSEMaximumCurrentLimit = Pv(limits.MaxCurrentA, UnitSymbolType.A),
        EVSEMaximumPowerLimit = Pv(limits.MaxPowerW, UnitSymbolType.W),
        EVSEMaximumVoltageLimit = Pv(limits.MaxVoltageV, UnitSymbolType.V),
        EVSEMinimumCurrentLimit = Pv(limits.MinCurrentA, UnitSymbolType.A),
        EVSEMinimumVoltageLimit = Pv(limits.MinVoltageV, UnitSymbolType.V),
        EVSEPeakCurrentRipple = Pv(1, UnitSymbolType.A),
    };

    private AC_EVSEStatusType AcStatus()
    {
        var (request, delay) = _core.Notification();
        return new AC_EVSEStatusType { NotificationMaxDelay = delay, EVSENotification = Notification(request), RCD = false };
    }

    private DC_EVSEStatusType DcStatus(IsolationLevelType isolation = IsolationLevelType.Valid, DC_EVSEStatusCodeType? code = null)
    {
        var (request, delay) = _core.Notification();
        return new DC_EVSEStatusType
        {
            NotificationMaxDelay = delay,
            EVSENotification = Notification(request),
            EVSEIsolationStatus = isolation,
            EVSEStatusCode = code ?? (request == EvseRequest.StopCharging ? DC_EVSEStatusCodeType.EVSE_Shutdown : DC_EVSEStatusCodeType.EVSE_Ready),
        };
    }

    private SeccReply<V2G_Message> CableCheck(CableCheckReqType r)
    {
        _ = r;
        var (status, overdue) = _core.CableCheck();
        switch (status)
        {
            case IsolationStatus.Ongoing when overdue:
                return Close(new CableCheckResType { ResponseCode = ResponseCodeType.FAILED, DC_EVSEStatus = DcStatus(IsolationLevelType.Invalid, DC_EVSEStatusCodeType.EVSE_Shutdown), EVSEProcessing = EVSEProcessingType.Finished },
                    SessionEndReason.Timeout, "isolation test not finished within V2G_SECC_CableCheck_Performance_Time");
            case IsolationStatus.Ongoing:
                return Next(new CableCheckResType { ResponseCode = ResponseCodeType.OK, DC_EVSEStatus = DcStatus(IsolationLevelType.Invalid, DC_EVSEStatusCodeType.EVSE_IsolationMonitoringActive), EVSEProcessing = EVSEProcessingType.Ongoing });
            case IsolationStatus.Fault:
                return Close(new CableCheckResType { ResponseCode = ResponseCodeType.FAILED, DC_EVSEStatus = DcStatus(IsolationLevelType.Fault, DC_EVSEStatusCodeType.EVSE_EmergencyShutdown), EVSEProcessing = EVSEProcessingType.Finished },
                    SessionEndReason.Error, "isolation fault in the cable check");
            default:
                State = Iso2SeccState.WaitForPreChargeReq;
                return Next(new CableCheckResType
                {
                    ResponseCode = ResponseCodeType.OK,
                    DC_EVSEStatus = DcStatus(status == IsolationStatus.Warning ? IsolationLevelType.Warning : IsolationLevelType.Valid),
                    EVSEProcessing = EVSEProcessingType.Finished,
                });
        }
    }

    private SeccReply<V2G_Message> PreCharge(PreChargeReqType r)
    {
        if ((Check(r.EVTargetVoltage, UnitSymbolType.V, "EVTargetVoltage") ?? Check(r.EVTargetCurrent, UnitSymbolType.A, "EVTargetCurrent")) is { } wrong)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error, wrong);
        }
        _cp.DcTarget(Si(r.EVTargetVoltage), Si(r.EVTargetCurrent));
        return Next(new PreChargeResType
        {
            ResponseCode = ResponseCodeType.OK,
            DC_EVSEStatus = DcStatus(),
            EVSEPresentVoltage = Pv(_cp.ReadMeter().VoltageV, UnitSymbolType.V),
        });
    }

    private async ValueTask<SeccReply<V2G_Message>> PowerDeliveryAsync(PowerDeliveryReqType r, CancellationToken ct)
    {
        EVSEStatusType Status() => Dc ? DcStatus() : AcStatus();
        bool inLoop = State is Iso2SeccState.WaitForChargingStatusReq or Iso2SeccState.WaitForCurrentDemandReq;
        if (r.ChargeProgress != ChargeProgressType.Stop && r.SAScheduleTupleID != ScheduleTupleId)
        {
            // [V2G2-479]: the EV must choose one of the offered SAScheduleTuples
            return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED_TariffSelectionInvalid, EVSEStatus = Status() }, SessionEndReason.Error,
                $"SAScheduleTupleID {r.SAScheduleTupleID} was not offered");
        }
        switch (r.ChargeProgress)
        {
            case ChargeProgressType.Start when inLoop:
                // [V2G2-812]: Start again from within the charging loop
                return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED, EVSEStatus = Status() }, SessionEndReason.Error, "PowerDelivery(Start) in the charging loop");
            case ChargeProgressType.Renegotiate when !inLoop:
                // [V2G2-813]: renegotiation is asked for from the charging loop only
                return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED, EVSEStatus = Status() }, SessionEndReason.Error, "PowerDelivery(Renegotiate) outside the charging loop");
            case ChargeProgressType.Start:
                if (ProfileProblem(r.ChargingProfile) is { } problem)
                {
                    if (_core.Options.RejectChargingProfileAboveSchedule)
                    {
                        // [V2G2-478], [V2G2-224], [V2G2-225]
                        return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED_ChargingProfileInvalid, EVSEStatus = Status() }, SessionEndReason.Error, problem);
                    }
                }
                if (Dc && _cp.Request == EvseRequest.StopCharging)
                {
                    // [V2G2-480]: the EVSE is not ready for energy transfer
                    return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED_PowerDeliveryNotApplied, EVSEStatus = Status() }, SessionEndReason.Error, "the station does not deliver energy now");
                }
                if (!await _cp.SetEnergyTransferAsync(true, ct).ConfigureAwait(false))
                {
                    return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED_ContactorError, EVSEStatus = Status() }, SessionEndReason.Error, "the contactors did not close");
                }
                _charged = true;
                _renegotiating = false;
                State = Dc ? Iso2SeccState.WaitForCurrentDemandReq : Iso2SeccState.WaitForChargingStatusReq;
                break;
            case ChargeProgressType.Renegotiate:
                State = Iso2SeccState.WaitForChargeParameterDiscoveryReq;
                break;
            default:
                bool opened = await _cp.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
                if (_cp.Request == EvseRequest.StopCharging)
                {
                    _cp.RequestHandled(EvseRequest.StopCharging);
                }
                if (!opened)
                {
                    return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED_ContactorError, EVSEStatus = Status() }, SessionEndReason.Error, "the contactors did not open");
                }
                State = Dc ? Iso2SeccState.WaitForWeldingDetectionReq : Iso2SeccState.WaitForSessionStopReq;
                break;
        }
        return Next(new PowerDeliveryResType { ResponseCode = ResponseCodeType.OK, EVSEStatus = Status() });
    }

    /// <summary>[V2G2-478]: a ChargingProfile must stay within the offered PMaxSchedule (in time and in power).</summary>
    private string? ProfileProblem(ChargingProfileType? profile)
    {
        if (profile is null)
        {
            return null;
        }
        foreach (var entry in profile.ProfileEntry)
        {
            // an entry at the very end of the schedule (often with 0 W) closes the profile and is within it
            if (entry.ChargingProfileEntryStart > ScheduleDuration)
            {
                return $"ChargingProfile entry at {entry.ChargingProfileEntryStart} s is beyond the schedule ({ScheduleDuration} s)";
            }
            double p = Si(entry.ChargingProfileEntryMaxPower);
            if (entry.ChargingProfileEntryMaxPower.Unit != UnitSymbolType.W || p > _schedulePowerW + 0.5)
            {
                return $"ChargingProfile entry at {entry.ChargingProfileEntryStart} s asks {p:0} {entry.ChargingProfileEntryMaxPower.Unit}, the schedule allows {_schedulePowerW:0} W";
            }
        }
        return null;
    }

    private MeterInfoType MeterInfo(MeterReading m) => new()
    {
        MeterID = m.MeterId,
        MeterReading = (ulong)Math.Max(0, Math.Round(m.EnergyWh)),
        TMeter = _core.UnixTime,
    };

    private async ValueTask<SeccReply<V2G_Message>> ChargingStatusAsync(CancellationToken ct)
    {
        await StopIfOverdueAsync(ct).ConfigureAwait(false);
        var meter = MeterInfo(_cp.ReadMeter());
        return Next(new ChargingStatusResType
        {
            ResponseCode = ResponseCodeType.OK,
            EVSEID = _cp.EvseId,
            SAScheduleTupleID = ScheduleTupleId,
            EVSEMaxCurrent = Pv(_cp.Limits.MaxCurrentA, UnitSymbolType.A),
            MeterInfo = meter,
            ReceiptRequired = ReceiptDue(meter),   // [V2G2-691]: false with external identification
            AC_EVSEStatus = AcStatus(),
        });
    }

    /// <summary>The station asked to stop and the EV did not within NotificationMaxDelay: the SECC stops the energy itself.</summary>
    private async ValueTask StopIfOverdueAsync(CancellationToken ct)
    {
        if (_core.StopOverdue())
        {
            await _cp.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
        }
    }

    private async ValueTask<SeccReply<V2G_Message>> CurrentDemandAsync(CurrentDemandReqType r, CancellationToken ct)
    {
        if ((Check(r.EVTargetVoltage, UnitSymbolType.V, "EVTargetVoltage") ?? Check(r.EVTargetCurrent, UnitSymbolType.A, "EVTargetCurrent")) is { } wrong)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error, wrong);
        }
        await StopIfOverdueAsync(ct).ConfigureAwait(false);
        var limits = _cp.Limits;
        double voltage = Si(r.EVTargetVoltage), current = Si(r.EVTargetCurrent);
        _cp.DcTarget(voltage, current);
        _cp.EvNeedsChanged(new EvNeeds(EnergyTransfer.Dc, null, null, SiOrNull(r.EVMaximumCurrentLimit), null, SiOrNull(r.EVMaximumVoltageLimit),
            SiOrNull(r.EVMaximumPowerLimit), r.DC_EVStatus.EVRESSSOC));
        var meter = _cp.ReadMeter();
        var meterInfo = MeterInfo(meter);
        return Next(new CurrentDemandResType
        {
            ResponseCode = ResponseCodeType.OK,
            DC_EVSEStatus = DcStatus(),
            EVSEPresentVoltage = Pv(meter.VoltageV, UnitSymbolType.V),
            EVSEPresentCurrent = Pv(meter.CurrentA, UnitSymbolType.A),
            EVSECurrentLimitAchieved = current >= limits.MaxCurrentA,
            EVSEVoltageLimitAchieved = voltage >= limits.MaxVoltageV,
            EVSEPowerLimitAchieved = voltage * current >= limits.MaxPowerW,
            EVSEMaximumVoltageLimit = Pv(limits.MaxVoltageV, UnitSymbolType.V),
            EVSEMaximumCurrentLimit = Pv(limits.MaxCurrentA, UnitSymbolType.A),
            EVSEMaximumPowerLimit = Pv(limits.MaxPowerW, UnitSymbolType.W),
            EVSEID = _cp.EvseId,
            SAScheduleTupleID = ScheduleTupleId,
            MeterInfo = meterInfo,
            ReceiptRequired = ReceiptDue(meterInfo),
        });
    }

    private SeccReply<V2G_Message> WeldingDetection() => Next(new WeldingDetectionResType
    {
        ResponseCode = ResponseCodeType.OK,
        DC_EVSEStatus = DcStatus(),
        EVSEPresentVoltage = Pv(_cp.ReadMeter().VoltageV, UnitSymbolType.V),
    });

    private async ValueTask<SeccReply<V2G_Message>> SessionStopAsync(SessionStopReqType r, CancellationToken ct)
    {
        await _cp.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
        if (r.ChargingSession == ChargingSessionType.Pause)
        {
            _core.Pause();
            return Close(new SessionStopResType { ResponseCode = ResponseCodeType.OK }, SessionEndReason.EvPaused);
        }
        return Close(new SessionStopResType { ResponseCode = ResponseCodeType.OK }, SessionEndReason.EvStopped);
    }

    private static string Name(BodyBaseType body) => body.GetType().Name.Replace("Type", "", StringComparison.Ordinal);

    /// <summary>
    /// The response message type that answers <paramref name="request"/>, with a FAILED code and its other required
    /// parts filled with valid values ([V2G2-539]: the EV must be able to decode it).
    /// </summary>
    private BodyBaseType Failed(BodyBaseType request, ResponseCodeType code)
    {
        EVSEStatusType Status() => Dc ? DcStatus() : AcStatus();
        return request switch
        {
            SessionSetupReqType => new SessionSetupResType { ResponseCode = code, EVSEID = _cp.EvseId },
            ServiceDiscoveryReqType => new ServiceDiscoveryResType { ResponseCode = code, PaymentOptionList = PaymentOptions(), ChargeService = ChargeService() },
            ServiceDetailReqType r => new ServiceDetailResType { ResponseCode = code, ServiceID = r.ServiceID },
            PaymentServiceSelectionReqType => new PaymentServiceSelectionResType { ResponseCode = code },
            PaymentDetailsReqType => new PaymentDetailsResType { ResponseCode = code, GenChallenge = new byte[16], EVSETimeStamp = _core.UnixTime },
            AuthorizationReqType => new AuthorizationResType { ResponseCode = code, EVSEProcessing = EVSEProcessingType.Finished },
            ChargeParameterDiscoveryReqType r => ChargeParameterDiscoveryFailed(code, Mode(r.RequestedEnergyTransferMode) == EnergyTransfer.Dc),
            PowerDeliveryReqType => new PowerDeliveryResType { ResponseCode = code, EVSEStatus = Status() },
            MeteringReceiptReqType => new MeteringReceiptResType { ResponseCode = code, EVSEStatus = Status() },
            ChargingStatusReqType => new ChargingStatusResType { ResponseCode = code, EVSEID = _cp.EvseId, SAScheduleTupleID = ScheduleTupleId, AC_EVSEStatus = AcStatus() },
            CableCheckReqType => new CableCheckResType { ResponseCode = code, DC_EVSEStatus = DcStatus(), EVSEProcessing = EVSEProcessingType.Finished },
            PreChargeReqType => new PreChargeResType { ResponseCode = code, DC_EVSEStatus = DcStatus(), EVSEPresentVoltage = Pv(0, UnitSymbolType.V) },
            CurrentDemandReqType => new CurrentDemandResType
            {
                ResponseCode = code,
                DC_EVSEStatus = DcStatus(),
                EVSEPresentVoltage = Pv(0, UnitSymbolType.V),
                EVSEPresentCurrent = Pv(0, UnitSymbolType.A),
                EVSECurrentLimitAchieved = false,
                EVSEVoltageLimitAchieved = false,
                EVSEPowerLimitAchieved = false,
                EVSEID = _cp.EvseId,
                SAScheduleTupleID = ScheduleTupleId,
            },
            WeldingDetectionReqType => new WeldingDetectionResType { ResponseCode = code, DC_EVSEStatus = DcStatus(), EVSEPresentVoltage = Pv(0, UnitSymbolType.V) },
            CertificateInstallationReqType or CertificateUpdateReqType => CertificateProvisioning.FailedBody(request, code),
            _ => new SessionStopResType { ResponseCode = code },
        };
    }

    private V2G_Message Message(BodyBaseType body) => new()
    {
        Header = new MessageHeaderType { SessionID = _core.SessionId },
        Body = new BodyType { BodyElement = body },
    };

    private SeccReply<V2G_Message> Next(BodyBaseType body) => new(Message(body), SeccNext.Continue);

    private SeccReply<V2G_Message> Close(BodyBaseType body, SessionEndReason reason, string? problem = null)
    {
        State = Iso2SeccState.Ended;
        return new(Message(body), SeccNext.Close, reason, problem);
    }
}
