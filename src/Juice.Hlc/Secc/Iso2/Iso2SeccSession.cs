using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Session;
using static Juice.Hlc.Secc.Iso2.Iso2Values;

namespace Juice.Hlc.Secc.Iso2;

/// <summary>The ISO 15118-2 SECC states, each named after the request(s) it waits for.</summary>
public enum Iso2SeccState
{
    WaitForSessionSetupReq,
    WaitForServiceDiscoveryReq,
    WaitForServiceDetailOrPaymentServiceSelectionReq,
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
/// One ISO 15118-2 session on the SECC side, external identification (EIM), AC and DC: takes each decoded request,
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
    private double _schedulePowerW;

    public Iso2SeccSession(IChargingPoint chargingPoint, SeccSessionOptions? options = null, TimeProvider? time = null, PausedSessions? paused = null)
    {
        time ??= TimeProvider.System;
        _cp = chargingPoint;
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
        (Iso2SeccState.WaitForAuthorizationReq, AuthorizationReqType) => true,
        (Iso2SeccState.WaitForChargeParameterDiscoveryReq, ChargeParameterDiscoveryReqType) => true,
        (Iso2SeccState.WaitForCableCheckReq, CableCheckReqType) => true,
        // [V2G2-587]: PreChargeReq repeats until the EV is content; an EV whose own check is slower repeats CableCheckReq
        (Iso2SeccState.WaitForPreChargeReq, CableCheckReqType or PreChargeReqType or PowerDeliveryReqType) => true,
        (Iso2SeccState.WaitForPowerDeliveryReq, PowerDeliveryReqType or ChargeParameterDiscoveryReqType) => true,
        // [V2G2-575]/[V2G2-576]: the AC charging loop and its end
        (Iso2SeccState.WaitForChargingStatusReq, ChargingStatusReqType or PowerDeliveryReqType) => true,
        (Iso2SeccState.WaitForCurrentDemandReq, CurrentDemandReqType or PowerDeliveryReqType) => true,
        (Iso2SeccState.WaitForWeldingDetectionReq, WeldingDetectionReqType or SessionStopReqType or ChargeParameterDiscoveryReqType) => true,
        // [V2G2-568]/[V2G2-601]: after PowerDelivery(Stop), SessionStopReq or a new charge parameter discovery
        (Iso2SeccState.WaitForSessionStopReq, SessionStopReqType or ChargeParameterDiscoveryReqType) => true,
        _ => false,
    };

    public async ValueTask<SeccReply<V2G_Message>> HandleAsync(V2G_Message request, CancellationToken cancellationToken)
    {
        if (request.Body.BodyElement is not { } body)
        {
            return Close(new SessionStopResType { ResponseCode = ResponseCodeType.FAILED }, SessionEndReason.Error, "a message with an empty body");
        }
        if (!Expected(State, body))
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
            AuthorizationReqType => await AuthorizationAsync(cancellationToken).ConfigureAwait(false),
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

    private PaymentOptionListType PaymentOptions() => new()
    {
        PaymentOption = [.. _core.Options.IdentificationModes.Select(m => m == IdentificationMode.Contract ? PaymentOptionType.Contract : PaymentOptionType.ExternalPayment)],
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
            // Contract needs PaymentDetails over TLS (the Plug & Charge issue); not offered by this build's options.
            return Close(new PaymentServiceSelectionResType { ResponseCode = ResponseCodeType.FAILED_PaymentSelectionInvalid }, SessionEndReason.Error,
                "Contract payment is not available on this connection");
        }
        State = Iso2SeccState.WaitForAuthorizationReq;
        return Next(new PaymentServiceSelectionResType { ResponseCode = ResponseCodeType.OK });
    }

    private async ValueTask<SeccReply<V2G_Message>> AuthorizationAsync(CancellationToken ct)
    {
        var (decision, overdue) = await _core.AuthorizeAsync(IdentificationMode.External, ct).ConfigureAwait(false);
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
            default:
                return Close(new AuthorizationResType { ResponseCode = ResponseCodeType.FAILED, EVSEProcessing = EVSEProcessingType.Finished },
                    SessionEndReason.Error, $"EV {_core.Ev!.EvccidHex} not authorized");
        }
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
        return Next(new ChargingStatusResType
        {
            ResponseCode = ResponseCodeType.OK,
            EVSEID = _cp.EvseId,
            SAScheduleTupleID = ScheduleTupleId,
            EVSEMaxCurrent = Pv(_cp.Limits.MaxCurrentA, UnitSymbolType.A),
            MeterInfo = MeterInfo(_cp.ReadMeter()),
            ReceiptRequired = false,   // [V2G2-691]: false with external identification
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
            MeterInfo = MeterInfo(meter),
            ReceiptRequired = false,
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
            CertificateInstallationReqType => new CertificateInstallationResType
            {
                ResponseCode = code,
                SAProvisioningCertificateChain = new CertificateChainType { Certificate = [0x30] },
                ContractSignatureCertChain = new CertificateChainType { Id = "id1", Certificate = [0x30] },
                ContractSignatureEncryptedPrivateKey = new ContractSignatureEncryptedPrivateKeyType { Id = "id2", Value = new byte[48] },
                DHpublickey = new DiffieHellmanPublickeyType { Id = "id3", Value = new byte[65] },
                EMAID = new EMAIDType { Id = "id4", Value = "ZZ000000000000" },
            },
            CertificateUpdateReqType => new CertificateUpdateResType
            {
                ResponseCode = code,
                SAProvisioningCertificateChain = new CertificateChainType { Certificate = [0x30] },
                ContractSignatureCertChain = new CertificateChainType { Id = "id1", Certificate = [0x30] },
                ContractSignatureEncryptedPrivateKey = new ContractSignatureEncryptedPrivateKeyType { Id = "id2", Value = new byte[48] },
                DHpublickey = new DiffieHellmanPublickeyType { Id = "id3", Value = new byte[65] },
                EMAID = new EMAIDType { Id = "id4", Value = "ZZ000000000000" },
            },
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
