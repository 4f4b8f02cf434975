using System.Text;
using Juice.Hlc.Exi.Din;
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
/// defines for public chargers. Same shape as the ISO 15118-2 session: pure request handling, no I/O, no clock.
/// </summary>
public sealed class DinSeccSession(IChargingPoint chargingPoint, byte[]? pausedSessionId = null) : ISeccSession<V2G_Message>
{
    private const short ScheduleTupleId = 1;
    private const ushort ChargeServiceId = 1;
    private static readonly byte[] NoSession = new byte[8];
    private EvIdentity? _ev;

    public DinSeccState State { get; private set; } = DinSeccState.WaitForSessionSetupReq;

    public byte[]? SessionId { get; private set; }

    public bool Started => State != DinSeccState.WaitForSessionSetupReq;

    public string StateName => State.ToString();

    /// <summary>Requests accepted in a state (DIN SPEC 70121 §9.6, the message sequence for DC charging).</summary>
    private static bool Expected(DinSeccState state, BodyBaseType request) => (state, request) switch
    {
        (DinSeccState.WaitForSessionSetupReq, SessionSetupReqType) => true,
        (DinSeccState.WaitForServiceDiscoveryReq, ServiceDiscoveryReqType) => true,
        (DinSeccState.WaitForServicePaymentSelectionReq, ServicePaymentSelectionReqType) => true,
        (DinSeccState.WaitForContractAuthenticationReq, ContractAuthenticationReqType) => true,
        (DinSeccState.WaitForChargeParameterDiscoveryReq, ChargeParameterDiscoveryReqType) => true,
        (DinSeccState.WaitForCableCheckReq, CableCheckReqType) => true,
        // an EV may repeat CableCheckReq (it did not see Finished, or its own check is slower): answered again
        (DinSeccState.WaitForPreChargeReq, CableCheckReqType or PreChargeReqType or PowerDeliveryReqType) => true,
        (DinSeccState.WaitForCurrentDemandReq, CurrentDemandReqType or PowerDeliveryReqType) => true,
        (DinSeccState.WaitForWeldingDetectionReq, WeldingDetectionReqType or SessionStopType) => true,
        _ => false,
    };

    public async ValueTask<SeccReply<V2G_Message>> HandleAsync(V2G_Message request, CancellationToken cancellationToken)
    {
        if (request.Body.BodyElement is not { } body)
        {
            return Close(new SessionStopResType { ResponseCode = ResponseCodeType.FAILED }, SessionEndReason.Error);
        }
        if (!Expected(State, body))
        {
            // An unexpected request: FAILED_SequenceError in its response, then the session ends.
            return Close(Failed(body, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error);
        }
        if (body is not SessionSetupReqType && !request.Header.SessionID.AsSpan().SequenceEqual(SessionId))
        {
            return Close(Failed(body, ResponseCodeType.FAILED_UnknownSession), SessionEndReason.Error);
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
            CurrentDemandReqType r => CurrentDemand(r),
            WeldingDetectionReqType => WeldingDetection(),
            SessionStopType => await SessionStopAsync(cancellationToken).ConfigureAwait(false),
            _ => Close(Failed(body, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error),
        };
    }

    private SeccReply<V2G_Message> SessionSetup(byte[] requestedSessionId, SessionSetupReqType r)
    {
        (SessionId, bool resumed) = SessionIds.ForSetup(requestedSessionId, pausedSessionId);
        var code = resumed ? ResponseCodeType.OK_OldSessionJoined : ResponseCodeType.OK_NewSessionEstablished;
        _ev = new EvIdentity(r.EVCCID);
        chargingPoint.SessionStarted(_ev);
        State = DinSeccState.WaitForServiceDiscoveryReq;
        return Next(new SessionSetupResType
        {
            ResponseCode = code,
            EVSEID = EvseIdBytes(),
            DateTimeNow = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        });
    }

    /// <summary>DIN's EVSEID is hexBinary (at most 32 bytes): the ASCII bytes of the EVSE ID.</summary>
    private byte[] EvseIdBytes()
    {
        byte[] b = Encoding.ASCII.GetBytes(chargingPoint.EvseId);
        return b.Length <= 32 ? b : b[..32];
    }

    private ServiceChargeType ChargeService() => new()
    {
        ServiceTag = new ServiceTagType { ServiceID = ChargeServiceId, ServiceCategory = ServiceCategoryType.EVCharging },
        FreeService = false,
        EnergyTransferType = EVSESupportedEnergyTransferType.DC_extended,
    };

    private SeccReply<V2G_Message> ServiceDiscovery()
    {
        if (!chargingPoint.Supported.HasFlag(EnergyTransfer.Dc))
        {
            // DIN SPEC 70121 is DC only.
            return Close(new ServiceDiscoveryResType
            {
                ResponseCode = ResponseCodeType.FAILED,
                PaymentOptions = new PaymentOptionsType { PaymentOption = [PaymentOptionType.ExternalPayment] },
                ChargeService = ChargeService(),
            }, SessionEndReason.Error);
        }
        State = DinSeccState.WaitForServicePaymentSelectionReq;
        return Next(new ServiceDiscoveryResType
        {
            ResponseCode = ResponseCodeType.OK,
            PaymentOptions = new PaymentOptionsType { PaymentOption = [PaymentOptionType.ExternalPayment] },
            ChargeService = ChargeService(),
        });
    }

    private SeccReply<V2G_Message> ServicePaymentSelection(ServicePaymentSelectionReqType r)
    {
        ResponseCodeType? failure =
            r.SelectedPaymentOption != PaymentOptionType.ExternalPayment ? ResponseCodeType.FAILED_PaymentSelectionInvalid
            : r.SelectedServiceList.SelectedService.Any(s => s.ServiceID != ChargeServiceId) ? ResponseCodeType.FAILED_ServiceSelectionInvalid
            : null;
        if (failure is { } code)
        {
            return Close(new ServicePaymentSelectionResType { ResponseCode = code }, SessionEndReason.Error);
        }
        State = DinSeccState.WaitForContractAuthenticationReq;
        return Next(new ServicePaymentSelectionResType { ResponseCode = ResponseCodeType.OK });
    }

    private async ValueTask<SeccReply<V2G_Message>> ContractAuthenticationAsync(CancellationToken ct)
    {
        switch (await chargingPoint.AuthorizeAsync(_ev!, ct).ConfigureAwait(false))
        {
            case AuthorizationStatus.Accepted:
                State = DinSeccState.WaitForChargeParameterDiscoveryReq;
                return Next(new ContractAuthenticationResType { ResponseCode = ResponseCodeType.OK, EVSEProcessing = EVSEProcessingType.Finished });
            case AuthorizationStatus.Pending:
                return Next(new ContractAuthenticationResType { ResponseCode = ResponseCodeType.OK, EVSEProcessing = EVSEProcessingType.Ongoing });
            default:
                return Close(new ContractAuthenticationResType { ResponseCode = ResponseCodeType.FAILED, EVSEProcessing = EVSEProcessingType.Finished }, SessionEndReason.Error);
        }
    }

    private SeccReply<V2G_Message> ChargeParameterDiscovery(ChargeParameterDiscoveryReqType r)
    {
        if (r.EVRequestedEnergyTransferType is not (EVRequestedEnergyTransferType.DC_core or EVRequestedEnergyTransferType.DC_extended or EVRequestedEnergyTransferType.DC_combo_core or EVRequestedEnergyTransferType.DC_unique))
        {
            return Close(ChargeParameterDiscoveryRes(ResponseCodeType.FAILED_WrongEnergyTransferType), SessionEndReason.Error);
        }
        if (r.EVChargeParameter is not DC_EVChargeParameterType p)
        {
            return Close(ChargeParameterDiscoveryRes(ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error);
        }
        chargingPoint.EvNeedsChanged(new EvNeeds(EnergyTransfer.Dc, SiOrNull(p.EVEnergyRequest), null,
            Si(p.EVMaximumCurrentLimit), null, Si(p.EVMaximumVoltageLimit), SiOrNull(p.EVMaximumPowerLimit), p.DC_EVStatus.EVRESSSOC));
        State = DinSeccState.WaitForCableCheckReq;
        return Next(ChargeParameterDiscoveryRes(ResponseCodeType.OK));
    }

    private ChargeParameterDiscoveryResType ChargeParameterDiscoveryRes(ResponseCodeType code)
    {
        var limits = chargingPoint.Limits;
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

    private DC_EVSEStatusType DcStatus() => new()
    {
        NotificationMaxDelay = 0,
        EVSENotification = Notification(chargingPoint.Request),
        EVSEIsolationStatus = IsolationLevelType.Valid,
        EVSEStatusCode = chargingPoint.Request == EvseRequest.StopCharging ? DC_EVSEStatusCodeType.EVSE_Shutdown : DC_EVSEStatusCodeType.EVSE_Ready,
    };

    private SeccReply<V2G_Message> CableCheck()
    {
        State = DinSeccState.WaitForPreChargeReq;
        return Next(new CableCheckResType { ResponseCode = ResponseCodeType.OK, DC_EVSEStatus = DcStatus(), EVSEProcessing = EVSEProcessingType.Finished });
    }

    private SeccReply<V2G_Message> PreCharge(PreChargeReqType r)
    {
        chargingPoint.DcTarget(Si(r.EVTargetVoltage), Si(r.EVTargetCurrent));
        return Next(new PreChargeResType { ResponseCode = ResponseCodeType.OK, DC_EVSEStatus = DcStatus(), EVSEPresentVoltage = Pv(chargingPoint.ReadMeter().VoltageV, UnitSymbolType.V) });
    }

    private async ValueTask<SeccReply<V2G_Message>> PowerDeliveryAsync(PowerDeliveryReqType r, CancellationToken ct)
    {
        await chargingPoint.SetEnergyTransferAsync(r.ReadyToChargeState, ct).ConfigureAwait(false);
        State = r.ReadyToChargeState ? DinSeccState.WaitForCurrentDemandReq : DinSeccState.WaitForWeldingDetectionReq;
        return Next(new PowerDeliveryResType { ResponseCode = ResponseCodeType.OK, EVSEStatus = DcStatus() });
    }

    private SeccReply<V2G_Message> CurrentDemand(CurrentDemandReqType r)
    {
        var limits = chargingPoint.Limits;
        double voltage = Si(r.EVTargetVoltage), current = Si(r.EVTargetCurrent);
        chargingPoint.DcTarget(voltage, current);
        var meter = chargingPoint.ReadMeter();
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
        EVSEPresentVoltage = Pv(chargingPoint.ReadMeter().VoltageV, UnitSymbolType.V),
    });

    private async ValueTask<SeccReply<V2G_Message>> SessionStopAsync(CancellationToken ct)
    {
        await chargingPoint.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
        return Close(new SessionStopResType { ResponseCode = ResponseCodeType.OK }, SessionEndReason.EvStopped);
    }

    /// <summary>The response to <paramref name="request"/> with a FAILED code and its other required parts.</summary>
    private BodyBaseType Failed(BodyBaseType request, ResponseCodeType code) => request switch
    {
        SessionSetupReqType => new SessionSetupResType { ResponseCode = code, EVSEID = EvseIdBytes() },
        ServiceDiscoveryReqType => new ServiceDiscoveryResType
        {
            ResponseCode = code,
            PaymentOptions = new PaymentOptionsType { PaymentOption = [PaymentOptionType.ExternalPayment] },
            ChargeService = ChargeService(),
        },
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
        Header = new MessageHeaderType { SessionID = SessionId ?? NoSession },
        Body = new BodyType { BodyElement = body },
    };

    private SeccReply<V2G_Message> Next(BodyBaseType body) => new(Message(body), SeccNext.Continue);

    private SeccReply<V2G_Message> Close(BodyBaseType body, SessionEndReason reason)
    {
        State = DinSeccState.Ended;
        return new(Message(body), SeccNext.Close, reason);
    }
}
