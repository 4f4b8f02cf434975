using System.Text;
using Juice.Hlc.Exi.Din;
using Juice.Hlc.Session;
using static Juice.Hlc.Secc.Din.DinValues;

namespace Juice.Hlc.Secc.Din;

/// <summary>The DIN SPEC 70121 SECC states, each named after the request(s) it waits for.</summary>
public enum DinSeccState
{
    WaitForSessionSetupReq,
    WaitForServiceDiscoveryReq,
    WaitForServicePaymentSelectionReq,
    WaitForContractAuthenticationReq,
    WaitForChargeParameterDiscoveryReq,
    WaitForCableCheckReq,
    WaitForPreChargeReq,
    WaitForCurrentDemandReq,
    WaitForWeldingDetectionReq,
    Ended,
}

/// <summary>
/// One DIN SPEC 70121 session on the SECC side: DC charging with external payment (EIM), the only mode DIN
/// defines for public chargers. Same shape as the ISO 15118-2 session and the same shared core: pure request
/// handling, no I/O, the clock injected.
/// </summary>
public sealed class DinSeccSession : ISeccSession<V2G_Message>
{
    private const short ScheduleTupleId = 1;
    private const ushort ChargeServiceId = 1;

    private readonly SeccSessionCore _core;
    private readonly IChargingPoint _cp;

    public DinSeccSession(IChargingPoint chargingPoint, SeccSessionOptions? options = null, TimeProvider? time = null, PausedSessions? paused = null)
    {
        time ??= TimeProvider.System;
        _cp = chargingPoint;
        _core = new SeccSessionCore(chargingPoint, options ?? new SeccSessionOptions { Timers = V2gTimers.Din70121 }, time, paused ?? new PausedSessions(time), V2gProtocol.Din70121);
    }

    public DinSeccState State { get; private set; } = DinSeccState.WaitForSessionSetupReq;

    public byte[]? SessionId => _core.HasSession ? _core.SessionId : null;

    public bool Started => State != DinSeccState.WaitForSessionSetupReq;

    public string StateName => State.ToString();

    public V2gMessageKind? KindOf(V2G_Message request) => request.Body.BodyElement switch
    {
        SessionSetupReqType => V2gMessageKind.SessionSetup,
        ServiceDiscoveryReqType => V2gMessageKind.ServiceDiscovery,
        ServiceDetailReqType => V2gMessageKind.ServiceDetail,
        ServicePaymentSelectionReqType => V2gMessageKind.PaymentServiceSelection,
        PaymentDetailsReqType => V2gMessageKind.PaymentDetails,
        ContractAuthenticationReqType => V2gMessageKind.Authorization,
        ChargeParameterDiscoveryReqType => V2gMessageKind.ChargeParameterDiscovery,
        CableCheckReqType => V2gMessageKind.CableCheck,
        PreChargeReqType => V2gMessageKind.PreCharge,
        PowerDeliveryReqType => V2gMessageKind.PowerDelivery,
        ChargingStatusReqType => V2gMessageKind.ChargingStatus,
        CurrentDemandReqType => V2gMessageKind.CurrentDemand,
        MeteringReceiptReqType => V2gMessageKind.MeteringReceipt,
        WeldingDetectionReqType => V2gMessageKind.WeldingDetection,
        SessionStopType => V2gMessageKind.SessionStop,
        CertificateInstallationReqType => V2gMessageKind.CertificateInstallation,
        CertificateUpdateReqType => V2gMessageKind.CertificateUpdate,
        _ => null,
    };

    /// <summary>Requests accepted in a state (DIN SPEC 70121 §9.6, the message sequence for DC charging).</summary>
    private static bool Expected(DinSeccState state, BodyBaseType request) => (state, request) switch
    {
        (DinSeccState.WaitForSessionSetupReq, SessionSetupReqType) => true,
        (DinSeccState.WaitForServiceDiscoveryReq, ServiceDiscoveryReqType) => true,
        (DinSeccState.WaitForServicePaymentSelectionReq, ServicePaymentSelectionReqType) => true,
        (DinSeccState.WaitForContractAuthenticationReq, ContractAuthenticationReqType) => true,
        (DinSeccState.WaitForChargeParameterDiscoveryReq, ChargeParameterDiscoveryReqType) => true,
        (DinSeccState.WaitForCableCheckReq, CableCheckReqType) => true,
        // PreChargeReq repeats until the EV is content; an EV whose own check is slower repeats CableCheckReq
        (DinSeccState.WaitForPreChargeReq, CableCheckReqType or PreChargeReqType or PowerDeliveryReqType) => true,
        (DinSeccState.WaitForCurrentDemandReq, CurrentDemandReqType or PowerDeliveryReqType) => true,
        (DinSeccState.WaitForWeldingDetectionReq, WeldingDetectionReqType or SessionStopType) => true,
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
            // [V2G-DC-390]: an unexpected request is answered with FAILED_SequenceError in its response, then the
            // session ends ([V2G-DC-665]).
            return Close(Failed(body, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error, $"{Name(body)} while in {State}");
        }
        if (body is not SessionSetupReqType && !_core.IsOwnSession(request.Header.SessionID))
        {
            // [V2G-DC-391]: the SessionID must be the one the SECC gave
            return Close(Failed(body, ResponseCodeType.FAILED_UnknownSession), SessionEndReason.Error,
                $"{Name(body)} with SessionID {Convert.ToHexString(request.Header.SessionID)} (not {Convert.ToHexString(_core.SessionId)})");
        }
        return body switch
        {
            SessionSetupReqType r => SessionSetup(request.Header.SessionID, r),
            ServiceDiscoveryReqType => ServiceDiscovery(),
            ServicePaymentSelectionReqType r => ServicePaymentSelection(r),
            ContractAuthenticationReqType => await ContractAuthenticationAsync(cancellationToken).ConfigureAwait(false),
            ChargeParameterDiscoveryReqType r => ChargeParameterDiscovery(r),
            CableCheckReqType => CableCheck(),
            PreChargeReqType r => PreCharge(r),
            PowerDeliveryReqType r => await PowerDeliveryAsync(r, cancellationToken).ConfigureAwait(false),
            CurrentDemandReqType r => await CurrentDemandAsync(r, cancellationToken).ConfigureAwait(false),
            WeldingDetectionReqType => WeldingDetection(),
            SessionStopType => await SessionStopAsync(cancellationToken).ConfigureAwait(false),
            _ => Close(Failed(body, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error, $"{Name(body)} is not supported"),
        };
    }

    private SeccReply<V2G_Message> SessionSetup(byte[] requestedSessionId, SessionSetupReqType r)
    {
        bool resumed = _core.SetUp(requestedSessionId, r.EVCCID, "DIN SPEC 70121");
        State = DinSeccState.WaitForServiceDiscoveryReq;
        return Next(new SessionSetupResType
        {
            ResponseCode = resumed ? ResponseCodeType.OK_OldSessionJoined : ResponseCodeType.OK_NewSessionEstablished,
            EVSEID = EvseIdBytes(),
            DateTimeNow = _core.UnixTime,
        });
    }

    /// <summary>DIN's EVSEID is hexBinary (at most 32 bytes): the ASCII bytes of the EVSE ID.</summary>
    private byte[] EvseIdBytes()
    {
        byte[] b = Encoding.ASCII.GetBytes(_cp.EvseId);
        return b.Length <= 32 ? b : b[..32];
    }

    private ServiceChargeType ChargeService() => new()
    {
        ServiceTag = new ServiceTagType { ServiceID = ChargeServiceId, ServiceCategory = ServiceCategoryType.EVCharging },
        FreeService = false,
        EnergyTransferType = EVSESupportedEnergyTransferType.DC_extended,
    };

    private static PaymentOptionsType PaymentOptions() => new() { PaymentOption = [PaymentOptionType.ExternalPayment] };

    private SeccReply<V2G_Message> ServiceDiscovery()
    {
        if (!_cp.Supported.HasFlag(EnergyTransfer.Dc))
        {
            // DIN SPEC 70121 is DC only.
            return Close(new ServiceDiscoveryResType { ResponseCode = ResponseCodeType.FAILED, PaymentOptions = PaymentOptions(), ChargeService = ChargeService() },
                SessionEndReason.Error, "DIN SPEC 70121 on a station without DC");
        }
        State = DinSeccState.WaitForServicePaymentSelectionReq;
        return Next(new ServiceDiscoveryResType { ResponseCode = ResponseCodeType.OK, PaymentOptions = PaymentOptions(), ChargeService = ChargeService() });
    }

    private SeccReply<V2G_Message> ServicePaymentSelection(ServicePaymentSelectionReqType r)
    {
        var services = r.SelectedServiceList.SelectedService;
        ResponseCodeType? failure =
            // only ExternalPayment is offered (DIN SPEC 70121 §9.4.1.2 for public DC)
            r.SelectedPaymentOption != PaymentOptionType.ExternalPayment ? ResponseCodeType.FAILED_PaymentSelectionInvalid
            : services.Count == 0 || services.Any(s => s.ServiceID != ChargeServiceId) ? ResponseCodeType.FAILED_ServiceSelectionInvalid
            : null;
        if (failure is { } code)
        {
            return Close(new ServicePaymentSelectionResType { ResponseCode = code }, SessionEndReason.Error,
                $"ServicePaymentSelectionReq {r.SelectedPaymentOption} with services [{string.Join(',', services.Select(s => s.ServiceID))}]");
        }
        State = DinSeccState.WaitForContractAuthenticationReq;
        return Next(new ServicePaymentSelectionResType { ResponseCode = ResponseCodeType.OK });
    }

    private async ValueTask<SeccReply<V2G_Message>> ContractAuthenticationAsync(CancellationToken ct)
    {
        var (decision, overdue) = await _core.AuthorizeAsync(IdentificationMode.External, ct).ConfigureAwait(false);
        switch (decision)
        {
            case AuthorizationStatus.Accepted:
                State = DinSeccState.WaitForChargeParameterDiscoveryReq;
                return Next(new ContractAuthenticationResType { ResponseCode = ResponseCodeType.OK, EVSEProcessing = EVSEProcessingType.Finished });
            case AuthorizationStatus.Pending when !overdue:
                return Next(new ContractAuthenticationResType { ResponseCode = ResponseCodeType.OK, EVSEProcessing = EVSEProcessingType.Ongoing });
            case AuthorizationStatus.Pending:
                return Close(new ContractAuthenticationResType { ResponseCode = ResponseCodeType.FAILED, EVSEProcessing = EVSEProcessingType.Finished },
                    SessionEndReason.Timeout, "no authorization decision within V2G_SECC_Ongoing_Performance_Time");
            default:
                return Close(new ContractAuthenticationResType { ResponseCode = ResponseCodeType.FAILED, EVSEProcessing = EVSEProcessingType.Finished },
                    SessionEndReason.Error, $"EV {_core.Ev!.EvccidHex} not authorized");
        }
    }

    private SeccReply<V2G_Message> ChargeParameterDiscovery(ChargeParameterDiscoveryReqType r)
    {
        if (r.EVRequestedEnergyTransferType is not (EVRequestedEnergyTransferType.DC_core or EVRequestedEnergyTransferType.DC_extended or EVRequestedEnergyTransferType.DC_combo_core or EVRequestedEnergyTransferType.DC_unique))
        {
            return Close(ChargeParameterDiscoveryRes(ResponseCodeType.FAILED_WrongEnergyTransferType), SessionEndReason.Error,
                $"energy transfer type {r.EVRequestedEnergyTransferType} on a DC station");
        }
        if (r.EVChargeParameter is not DC_EVChargeParameterType p)
        {
            return Close(ChargeParameterDiscoveryRes(ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error,
                $"{r.EVChargeParameter.GetType().Name} with {r.EVRequestedEnergyTransferType}");
        }
        if ((Check(p.EVMaximumCurrentLimit, UnitSymbolType.A, "EVMaximumCurrentLimit") ?? Check(p.EVMaximumVoltageLimit, UnitSymbolType.V, "EVMaximumVoltageLimit")
            ?? Check(p.EVMaximumPowerLimit, UnitSymbolType.W, "EVMaximumPowerLimit") ?? Check(p.EVEnergyRequest, UnitSymbolType.Wh, "EVEnergyRequest")) is { } wrong)
        {
            return Close(ChargeParameterDiscoveryRes(ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error, wrong);
        }
        _cp.EvNeedsChanged(new EvNeeds(EnergyTransfer.Dc, SiOrNull(p.EVEnergyRequest), null,
            Si(p.EVMaximumCurrentLimit), null, Si(p.EVMaximumVoltageLimit), SiOrNull(p.EVMaximumPowerLimit), p.DC_EVStatus.EVRESSSOC));
        State = DinSeccState.WaitForCableCheckReq;
        return Next(ChargeParameterDiscoveryRes(ResponseCodeType.OK));
    }

    /// <summary>DIN's Unit is optional; when present it must be the element's unit. Values must not be negative.</summary>
    private static string? Check(PhysicalValueType? pv, UnitSymbolType unit, string name) =>
        pv is null ? null
        : pv.Unit is { } u && u != unit ? $"{name} in {u} (expected {unit})"
        : Si(pv) < 0 ? $"{name} is negative"
        : null;

    private ChargeParameterDiscoveryResType ChargeParameterDiscoveryRes(ResponseCodeType code)
    {
        var limits = _cp.Limits;
        return new ChargeParameterDiscoveryResType
        {
            ResponseCode = code,
            EVSEProcessing = EVSEProcessingType.Finished,
            SASchedules = new SAScheduleListType
            {
                SAScheduleTuple =
                [
                    new SAScheduleTupleType
                    {
                        SAScheduleTupleID = ScheduleTupleId,
                        PMaxSchedule = new PMaxScheduleType
                        {
                            PMaxScheduleID = 1,
                            PMaxScheduleEntry =
                            [
                                new PMaxScheduleEntryType
                                {
                                    TimeInterval = new RelativeTimeIntervalType { Start = 0, Duration = 86400 },
                                    // PMaxType is a bare xs:short without a unit; implementations disagree (W or kW).
                                    // Watts, capped at the type's maximum, read as "no tighter limit than the EVSE's".
                                    PMax = (short)Math.Min(short.MaxValue, Math.Round(limits.MaxPowerW)),
                                },
                            ],
                        },
                    },
                ],
            },
            EVSEChargeParameter = new DC_EVSEChargeParameterType
            {
                DC_EVSEStatus = DcStatus(),
                EVSEMaximumCurrentLimit = Pv(limits.MaxCurrentA, UnitSymbolType.A),
                EVSEMaximumPowerLimit = Pv(limits.MaxPowerW, UnitSymbolType.W),
                EVSEMaximumVoltageLimit = Pv(limits.MaxVoltageV, UnitSymbolType.V),
                EVSEMinimumCurrentLimit = Pv(limits.MinCurrentA, UnitSymbolType.A),
                EVSEMinimumVoltageLimit = Pv(limits.MinVoltageV, UnitSymbolType.V),
                EVSEPeakCurrentRipple = Pv(1, UnitSymbolType.A),
            },
        };
    }

    private DC_EVSEStatusType DcStatus(IsolationLevelType isolation = IsolationLevelType.Valid, DC_EVSEStatusCodeType? code = null)
    {
        // DIN SPEC 70121 has no renegotiation in DC: limit changes reach the EV in every CurrentDemandRes.
        var (request, delay) = _core.Notification();
        bool stop = request == EvseRequest.StopCharging;
        return new DC_EVSEStatusType
        {
            NotificationMaxDelay = stop ? delay : (ushort)0,
            EVSENotification = stop ? EVSENotificationType.StopCharging : EVSENotificationType.None,
            EVSEIsolationStatus = isolation,
            EVSEStatusCode = code ?? (stop ? DC_EVSEStatusCodeType.EVSE_Shutdown : DC_EVSEStatusCodeType.EVSE_Ready),
        };
    }

    private SeccReply<V2G_Message> CableCheck()
    {
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
                State = DinSeccState.WaitForPreChargeReq;
                return Next(new CableCheckResType { ResponseCode = ResponseCodeType.OK, DC_EVSEStatus = DcStatus(), EVSEProcessing = EVSEProcessingType.Finished });
        }
    }

    private SeccReply<V2G_Message> PreCharge(PreChargeReqType r)
    {
        if ((Check(r.EVTargetVoltage, UnitSymbolType.V, "EVTargetVoltage") ?? Check(r.EVTargetCurrent, UnitSymbolType.A, "EVTargetCurrent")) is { } wrong)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error, wrong);
        }
        _cp.DcTarget(Si(r.EVTargetVoltage), Si(r.EVTargetCurrent));
        return Next(new PreChargeResType { ResponseCode = ResponseCodeType.OK, DC_EVSEStatus = DcStatus(), EVSEPresentVoltage = Pv(_cp.ReadMeter().VoltageV, UnitSymbolType.V) });
    }

    private async ValueTask<SeccReply<V2G_Message>> PowerDeliveryAsync(PowerDeliveryReqType r, CancellationToken ct)
    {
        if (r.ReadyToChargeState)
        {
            if (State == DinSeccState.WaitForCurrentDemandReq)
            {
                // ReadyToChargeState = true again from within the charging loop: DIN has no renegotiation
                return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED, EVSEStatus = DcStatus() }, SessionEndReason.Error, "PowerDelivery(ReadyToCharge) in the charging loop");
            }
            if (_cp.Request == EvseRequest.StopCharging)
            {
                return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED_PowerDeliveryNotApplied, EVSEStatus = DcStatus() }, SessionEndReason.Error, "the station does not deliver energy now");
            }
            if (!await _cp.SetEnergyTransferAsync(true, ct).ConfigureAwait(false))
            {
                return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED_PowerDeliveryNotApplied, EVSEStatus = DcStatus() }, SessionEndReason.Error, "the contactors did not close");
            }
            State = DinSeccState.WaitForCurrentDemandReq;
        }
        else
        {
            bool opened = await _cp.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
            if (_cp.Request == EvseRequest.StopCharging)
            {
                _cp.RequestHandled(EvseRequest.StopCharging);
            }
            if (!opened)
            {
                return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED, EVSEStatus = DcStatus() }, SessionEndReason.Error, "the contactors did not open");
            }
            State = DinSeccState.WaitForWeldingDetectionReq;
        }
        return Next(new PowerDeliveryResType { ResponseCode = ResponseCodeType.OK, EVSEStatus = DcStatus() });
    }

    private async ValueTask<SeccReply<V2G_Message>> CurrentDemandAsync(CurrentDemandReqType r, CancellationToken ct)
    {
        if ((Check(r.EVTargetVoltage, UnitSymbolType.V, "EVTargetVoltage") ?? Check(r.EVTargetCurrent, UnitSymbolType.A, "EVTargetCurrent")) is { } wrong)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error, wrong);
        }
        if (_core.StopOverdue())
        {
            await _cp.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
        }
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
        });
    }

    private SeccReply<V2G_Message> WeldingDetection() => Next(new WeldingDetectionResType
    {
        ResponseCode = ResponseCodeType.OK,
        DC_EVSEStatus = DcStatus(),
        EVSEPresentVoltage = Pv(_cp.ReadMeter().VoltageV, UnitSymbolType.V),
    });

    private async ValueTask<SeccReply<V2G_Message>> SessionStopAsync(CancellationToken ct)
    {
        await _cp.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
        return Close(new SessionStopResType { ResponseCode = ResponseCodeType.OK }, SessionEndReason.EvStopped);
    }

    private static string Name(BodyBaseType body) => body is SessionStopType ? "SessionStopReq" : body.GetType().Name.Replace("Type", "", StringComparison.Ordinal);

    /// <summary>The response to <paramref name="request"/> with a FAILED code and its other required parts.</summary>
    private BodyBaseType Failed(BodyBaseType request, ResponseCodeType code) => request switch
    {
        SessionSetupReqType => new SessionSetupResType { ResponseCode = code, EVSEID = EvseIdBytes() },
        ServiceDiscoveryReqType => new ServiceDiscoveryResType { ResponseCode = code, PaymentOptions = PaymentOptions(), ChargeService = ChargeService() },
        ServiceDetailReqType r => new ServiceDetailResType { ResponseCode = code, ServiceID = r.ServiceID },
        ServicePaymentSelectionReqType => new ServicePaymentSelectionResType { ResponseCode = code },
        ContractAuthenticationReqType => new ContractAuthenticationResType { ResponseCode = code, EVSEProcessing = EVSEProcessingType.Finished },
        ChargeParameterDiscoveryReqType => ChargeParameterDiscoveryRes(code),
        PowerDeliveryReqType => new PowerDeliveryResType { ResponseCode = code, EVSEStatus = DcStatus() },
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
        },
        WeldingDetectionReqType => new WeldingDetectionResType { ResponseCode = code, DC_EVSEStatus = DcStatus(), EVSEPresentVoltage = Pv(0, UnitSymbolType.V) },
        _ => new SessionStopResType { ResponseCode = code },
    };

    private V2G_Message Message(BodyBaseType body) => new()
    {
        Header = new MessageHeaderType { SessionID = _core.SessionId },
        Body = new BodyType { BodyElement = body },
    };

    private SeccReply<V2G_Message> Next(BodyBaseType body) => new(Message(body), SeccNext.Continue);

    private SeccReply<V2G_Message> Close(BodyBaseType body, SessionEndReason reason, string? problem = null)
    {
        State = DinSeccState.Ended;
        return new(Message(body), SeccNext.Close, reason, problem);
    }
}
