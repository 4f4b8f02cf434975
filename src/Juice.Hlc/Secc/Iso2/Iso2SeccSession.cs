using Juice.Hlc.Exi.Iso2;
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
/// checks session and sequence, drives the charging point and returns the response. No I/O and no clock: the
/// connection runner reads, writes and times out.
/// </summary>
public sealed class Iso2SeccSession(IChargingPoint chargingPoint, byte[]? pausedSessionId = null) : ISeccSession<V2G_Message>
{
    private const byte ScheduleTupleId = 1;
    private const ushort ChargeServiceId = 1;
    private static readonly byte[] NoSession = new byte[8];

    private EnergyTransfer _mode;
    private EvIdentity? _ev;

    public Iso2SeccState State { get; private set; } = Iso2SeccState.WaitForSessionSetupReq;

    /// <summary>The session ID this SECC gave the EV (eight bytes), or null before SessionSetup.</summary>
    public byte[]? SessionId { get; private set; }

    public bool Started => State != Iso2SeccState.WaitForSessionSetupReq;

    public string StateName => State.ToString();

    /// <summary>Requests accepted in a state (ISO 15118-2 §8.8.2, the message sequence of Figures 107/108).</summary>
    private static bool Expected(Iso2SeccState state, BodyBaseType request) => (state, request) switch
    {
        (Iso2SeccState.WaitForSessionSetupReq, SessionSetupReqType) => true,
        (Iso2SeccState.WaitForServiceDiscoveryReq, ServiceDiscoveryReqType) => true,
        (Iso2SeccState.WaitForServiceDetailOrPaymentServiceSelectionReq, ServiceDetailReqType or PaymentServiceSelectionReqType) => true,
        (Iso2SeccState.WaitForAuthorizationReq, AuthorizationReqType) => true,
        (Iso2SeccState.WaitForChargeParameterDiscoveryReq, ChargeParameterDiscoveryReqType) => true,
        (Iso2SeccState.WaitForCableCheckReq, CableCheckReqType) => true,
        // an EV may repeat CableCheckReq (it did not see Finished, or its own check is slower): answered again
        (Iso2SeccState.WaitForPreChargeReq, CableCheckReqType or PreChargeReqType or PowerDeliveryReqType) => true,
        (Iso2SeccState.WaitForPowerDeliveryReq, PowerDeliveryReqType or ChargeParameterDiscoveryReqType) => true,
        (Iso2SeccState.WaitForChargingStatusReq, ChargingStatusReqType or PowerDeliveryReqType) => true,
        (Iso2SeccState.WaitForCurrentDemandReq, CurrentDemandReqType or PowerDeliveryReqType) => true,
        (Iso2SeccState.WaitForWeldingDetectionReq, WeldingDetectionReqType or SessionStopReqType) => true,
        (Iso2SeccState.WaitForSessionStopReq, SessionStopReqType or ChargeParameterDiscoveryReqType) => true,
        _ => false,
    };

    public async ValueTask<SeccReply<V2G_Message>> HandleAsync(V2G_Message request, CancellationToken cancellationToken)
    {
        if (request.Body.BodyElement is not { } body)
        {
            return Close(Failed(new SessionStopReqType { ChargingSession = ChargingSessionType.Terminate }, ResponseCodeType.FAILED), SessionEndReason.Error);
        }
        if (!Expected(State, body))
        {
            // A request that is not expected in the current state: FAILED_SequenceError, then the session ends.
            return Close(Failed(body, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error);
        }
        if (body is not SessionSetupReqType && !request.Header.SessionID.AsSpan().SequenceEqual(SessionId))
        {
            // Every request after SessionSetup carries the session ID the SECC gave; another is FAILED_UnknownSession.
            return Close(Failed(body, ResponseCodeType.FAILED_UnknownSession), SessionEndReason.Error);
        }
        return body switch
        {
            SessionSetupReqType r => SessionSetup(request.Header.SessionID, r),
            ServiceDiscoveryReqType => ServiceDiscovery(),
            ServiceDetailReqType r => ServiceDetail(r),
            PaymentServiceSelectionReqType r => PaymentServiceSelection(r),
            AuthorizationReqType => await AuthorizationAsync(cancellationToken).ConfigureAwait(false),
            ChargeParameterDiscoveryReqType r => ChargeParameterDiscovery(r),
            CableCheckReqType => CableCheck(),
            PreChargeReqType r => PreCharge(r),
            PowerDeliveryReqType r => await PowerDeliveryAsync(r, cancellationToken).ConfigureAwait(false),
            ChargingStatusReqType => ChargingStatus(),
            CurrentDemandReqType r => CurrentDemand(r),
            WeldingDetectionReqType => WeldingDetection(),
            SessionStopReqType r => await SessionStopAsync(r, cancellationToken).ConfigureAwait(false),
            _ => Close(Failed(body, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error),
        };
    }

    private SeccReply<V2G_Message> SessionSetup(byte[] requestedSessionId, SessionSetupReqType r)
    {
        (SessionId, bool resumed) = SessionIds.ForSetup(requestedSessionId, pausedSessionId);
        var code = resumed ? ResponseCodeType.OK_OldSessionJoined : ResponseCodeType.OK_NewSessionEstablished;
        _ev = new EvIdentity(r.EVCCID);
        chargingPoint.SessionStarted(_ev);
        State = Iso2SeccState.WaitForServiceDiscoveryReq;
        return Next(new SessionSetupResType
        {
            ResponseCode = code,
            EVSEID = chargingPoint.EvseId,
            EVSETimeStamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        });
    }

    private ChargeServiceType ChargeService() => new()
    {
        ServiceID = ChargeServiceId,
        ServiceName = "AC_DC_Charging",
        ServiceCategory = ServiceCategoryType.EVCharging,
        FreeService = false,
        SupportedEnergyTransferMode = new SupportedEnergyTransferModeType { EnergyTransferMode = [.. Modes(chargingPoint.Supported)] },
    };

    private SeccReply<V2G_Message> ServiceDiscovery()
    {
        State = Iso2SeccState.WaitForServiceDetailOrPaymentServiceSelectionReq;
        return Next(new ServiceDiscoveryResType
        {
            ResponseCode = ResponseCodeType.OK,
            PaymentOptionList = new PaymentOptionListType { PaymentOption = [PaymentOptionType.ExternalPayment] },
            ChargeService = ChargeService(),
        });
    }

    private SeccReply<V2G_Message> ServiceDetail(ServiceDetailReqType r) =>
        // The charge service has no parameter sets; any other ServiceID is not offered.
        Next(new ServiceDetailResType
        {
            ResponseCode = r.ServiceID == ChargeServiceId ? ResponseCodeType.OK : ResponseCodeType.FAILED_ServiceIDInvalid,
            ServiceID = r.ServiceID,
        });

    private SeccReply<V2G_Message> PaymentServiceSelection(PaymentServiceSelectionReqType r)
    {
        ResponseCodeType? failure =
            r.SelectedPaymentOption != PaymentOptionType.ExternalPayment ? ResponseCodeType.FAILED_PaymentSelectionInvalid
            : r.SelectedServiceList.SelectedService.Any(s => s.ServiceID != ChargeServiceId) ? ResponseCodeType.FAILED_ServiceSelectionInvalid
            : !r.SelectedServiceList.SelectedService.Any(s => s.ServiceID == ChargeServiceId) ? ResponseCodeType.FAILED_NoChargeServiceSelected
            : null;
        if (failure is { } code)
        {
            return Close(new PaymentServiceSelectionResType { ResponseCode = code }, SessionEndReason.Error);
        }
        State = Iso2SeccState.WaitForAuthorizationReq;
        return Next(new PaymentServiceSelectionResType { ResponseCode = ResponseCodeType.OK });
    }

    private async ValueTask<SeccReply<V2G_Message>> AuthorizationAsync(CancellationToken ct)
    {
        var decision = await chargingPoint.AuthorizeAsync(_ev!, ct).ConfigureAwait(false);
        switch (decision)
        {
            case AuthorizationStatus.Accepted:
                State = Iso2SeccState.WaitForChargeParameterDiscoveryReq;
                return Next(new AuthorizationResType { ResponseCode = ResponseCodeType.OK, EVSEProcessing = EVSEProcessingType.Finished });
            case AuthorizationStatus.Pending:
                // Not decided: the EV repeats AuthorizationReq.
                return Next(new AuthorizationResType { ResponseCode = ResponseCodeType.OK, EVSEProcessing = EVSEProcessingType.Ongoing });
            default:
                return Close(new AuthorizationResType { ResponseCode = ResponseCodeType.FAILED, EVSEProcessing = EVSEProcessingType.Finished }, SessionEndReason.Error);
        }
    }

    private SeccReply<V2G_Message> ChargeParameterDiscovery(ChargeParameterDiscoveryReqType r)
    {
        var mode = Mode(r.RequestedEnergyTransferMode);
        bool dc = mode == EnergyTransfer.Dc;
        if (!Modes(chargingPoint.Supported).Contains(r.RequestedEnergyTransferMode))
        {
            return Close(ChargeParameterDiscoveryFailed(ResponseCodeType.FAILED_WrongEnergyTransferMode, dc), SessionEndReason.Error);
        }
        EvNeeds needs;
        switch (r.EVChargeParameter)
        {
            case AC_EVChargeParameterType ac when !dc:
                needs = new EvNeeds(mode, Si(ac.EAmount), ac.DepartureTime is { } t ? DateTimeOffset.UtcNow.AddSeconds(t) : null,
                    Si(ac.EVMaxCurrent), Si(ac.EVMinCurrent), Si(ac.EVMaxVoltage), null, null);
                break;
            case DC_EVChargeParameterType p when dc:
                needs = new EvNeeds(mode, SiOrNull(p.EVEnergyRequest), p.DepartureTime is { } d ? DateTimeOffset.UtcNow.AddSeconds(d) : null,
                    Si(p.EVMaximumCurrentLimit), null, Si(p.EVMaximumVoltageLimit), SiOrNull(p.EVMaximumPowerLimit), p.DC_EVStatus.EVRESSSOC);
                break;
            default:
                // The charge parameters must match the requested energy transfer mode.
                return Close(ChargeParameterDiscoveryFailed(ResponseCodeType.FAILED_WrongChargeParameter, dc), SessionEndReason.Error);
        }
        _mode = mode;
        chargingPoint.EvNeedsChanged(needs);
        var limits = chargingPoint.Limits;
        State = dc ? Iso2SeccState.WaitForCableCheckReq : Iso2SeccState.WaitForPowerDeliveryReq;
        return Next(new ChargeParameterDiscoveryResType
        {
            ResponseCode = ResponseCodeType.OK,
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
                            PMaxScheduleEntry =
                            [
                                new PMaxScheduleEntryType
                                {
                                    TimeInterval = new RelativeTimeIntervalType { Start = 0, Duration = 86400 },
                                    PMax = Pv(limits.MaxPowerW, UnitSymbolType.W),
                                },
                            ],
                        },
                    },
                ],
            },
            EVSEChargeParameter = dc ? DcChargeParameter(limits) : AcChargeParameter(limits),
        });
    }

    private ChargeParameterDiscoveryResType ChargeParameterDiscoveryFailed(ResponseCodeType code, bool dc) => new()
    {
        ResponseCode = code,
        EVSEProcessing = EVSEProcessingType.Finished,
        EVSEChargeParameter = dc ? DcChargeParameter(chargingPoint.Limits) : AcChargeParameter(chargingPoint.Limits),
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

    private AC_EVSEStatusType AcStatus() => new()
    {
        NotificationMaxDelay = 0,
        EVSENotification = Notification(chargingPoint.Request),
        RCD = false,
    };

    private DC_EVSEStatusType DcStatus() => new()
    {
        NotificationMaxDelay = 0,
        EVSENotification = Notification(chargingPoint.Request),
        EVSEIsolationStatus = IsolationLevelType.Valid,
        EVSEStatusCode = chargingPoint.Request == EvseRequest.StopCharging ? DC_EVSEStatusCodeType.EVSE_Shutdown : DC_EVSEStatusCodeType.EVSE_Ready,
    };

    private SeccReply<V2G_Message> CableCheck()
    {
        State = Iso2SeccState.WaitForPreChargeReq;
        return Next(new CableCheckResType { ResponseCode = ResponseCodeType.OK, DC_EVSEStatus = DcStatus(), EVSEProcessing = EVSEProcessingType.Finished });
    }

    private SeccReply<V2G_Message> PreCharge(PreChargeReqType r)
    {
        chargingPoint.DcTarget(Si(r.EVTargetVoltage), Si(r.EVTargetCurrent));
        return Next(new PreChargeResType
        {
            ResponseCode = ResponseCodeType.OK,
            DC_EVSEStatus = DcStatus(),
            EVSEPresentVoltage = Pv(chargingPoint.ReadMeter().VoltageV, UnitSymbolType.V),
        });
    }

    private async ValueTask<SeccReply<V2G_Message>> PowerDeliveryAsync(PowerDeliveryReqType r, CancellationToken ct)
    {
        bool dc = _mode == EnergyTransfer.Dc;
        EVSEStatusType Status() => dc ? DcStatus() : AcStatus();
        if (r.ChargeProgress != ChargeProgressType.Stop && r.SAScheduleTupleID != ScheduleTupleId)
        {
            // The EV must choose one of the offered SAScheduleTuples.
            return Close(new PowerDeliveryResType { ResponseCode = ResponseCodeType.FAILED_TariffSelectionInvalid, EVSEStatus = Status() }, SessionEndReason.Error);
        }
        switch (r.ChargeProgress)
        {
            case ChargeProgressType.Start:
                await chargingPoint.SetEnergyTransferAsync(true, ct).ConfigureAwait(false);
                State = dc ? Iso2SeccState.WaitForCurrentDemandReq : Iso2SeccState.WaitForChargingStatusReq;
                break;
            case ChargeProgressType.Renegotiate:
                State = Iso2SeccState.WaitForChargeParameterDiscoveryReq;
                break;
            default:
                await chargingPoint.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
                State = dc ? Iso2SeccState.WaitForWeldingDetectionReq : Iso2SeccState.WaitForSessionStopReq;
                break;
        }
        return Next(new PowerDeliveryResType { ResponseCode = ResponseCodeType.OK, EVSEStatus = Status() });
    }

    private MeterInfoType MeterInfo()
    {
        var m = chargingPoint.ReadMeter();
        return new MeterInfoType { MeterID = m.MeterId, MeterReading = (ulong)Math.Max(0, Math.Round(m.EnergyWh)) };
    }

    private SeccReply<V2G_Message> ChargingStatus() => Next(new ChargingStatusResType
    {
        ResponseCode = ResponseCodeType.OK,
        EVSEID = chargingPoint.EvseId,
        SAScheduleTupleID = ScheduleTupleId,
        EVSEMaxCurrent = Pv(chargingPoint.Limits.MaxCurrentA, UnitSymbolType.A),
        MeterInfo = MeterInfo(),
        ReceiptRequired = false,
        AC_EVSEStatus = AcStatus(),
    });

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
            EVSEID = chargingPoint.EvseId,
            SAScheduleTupleID = ScheduleTupleId,
            MeterInfo = new MeterInfoType { MeterID = meter.MeterId, MeterReading = (ulong)Math.Max(0, Math.Round(meter.EnergyWh)) },
            ReceiptRequired = false,
        });
    }

    private SeccReply<V2G_Message> WeldingDetection() => Next(new WeldingDetectionResType
    {
        ResponseCode = ResponseCodeType.OK,
        DC_EVSEStatus = DcStatus(),
        EVSEPresentVoltage = Pv(chargingPoint.ReadMeter().VoltageV, UnitSymbolType.V),
    });

    private async ValueTask<SeccReply<V2G_Message>> SessionStopAsync(SessionStopReqType r, CancellationToken ct)
    {
        await chargingPoint.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
        var reason = r.ChargingSession == ChargingSessionType.Pause ? SessionEndReason.EvPaused : SessionEndReason.EvStopped;
        return Close(new SessionStopResType { ResponseCode = ResponseCodeType.OK }, reason);
    }

    /// <summary>The response message type that answers <paramref name="request"/>, with a FAILED code and its other required parts.</summary>
    private BodyBaseType Failed(BodyBaseType request, ResponseCodeType code)
    {
        bool dc = _mode == EnergyTransfer.Dc;
        var limits = chargingPoint.Limits;
        return request switch
        {
            SessionSetupReqType => new SessionSetupResType { ResponseCode = code, EVSEID = chargingPoint.EvseId },
            ServiceDiscoveryReqType => new ServiceDiscoveryResType
            {
                ResponseCode = code,
                PaymentOptionList = new PaymentOptionListType { PaymentOption = [PaymentOptionType.ExternalPayment] },
                ChargeService = ChargeService(),
            },
            ServiceDetailReqType r => new ServiceDetailResType { ResponseCode = code, ServiceID = r.ServiceID },
            PaymentServiceSelectionReqType => new PaymentServiceSelectionResType { ResponseCode = code },
            PaymentDetailsReqType => new PaymentDetailsResType { ResponseCode = code, GenChallenge = new byte[16], EVSETimeStamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds() },
            AuthorizationReqType => new AuthorizationResType { ResponseCode = code, EVSEProcessing = EVSEProcessingType.Finished },
            ChargeParameterDiscoveryReqType r => ChargeParameterDiscoveryFailed(code, Mode(r.RequestedEnergyTransferMode) == EnergyTransfer.Dc),
            PowerDeliveryReqType => new PowerDeliveryResType { ResponseCode = code, EVSEStatus = dc ? DcStatus() : AcStatus() },
            MeteringReceiptReqType => new MeteringReceiptResType { ResponseCode = code, EVSEStatus = dc ? DcStatus() : AcStatus() },
            ChargingStatusReqType => new ChargingStatusResType { ResponseCode = code, EVSEID = chargingPoint.EvseId, SAScheduleTupleID = ScheduleTupleId, AC_EVSEStatus = AcStatus() },
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
                EVSEID = chargingPoint.EvseId,
                SAScheduleTupleID = ScheduleTupleId,
            },
            WeldingDetectionReqType => new WeldingDetectionResType { ResponseCode = code, DC_EVSEStatus = DcStatus(), EVSEPresentVoltage = Pv(0, UnitSymbolType.V) },
            _ => new SessionStopResType { ResponseCode = code },
        };
    }

    private V2G_Message Message(BodyBaseType body) => new()
    {
        Header = new MessageHeaderType { SessionID = SessionId ?? NoSession },
        Body = new BodyType { BodyElement = body },
    };

    private SeccReply<V2G_Message> Next(BodyBaseType body) => new(Message(body), SeccNext.Continue);

    private SeccReply<V2G_Message> Close(BodyBaseType body, SessionEndReason reason)
    {
        State = Iso2SeccState.Ended;
        return new(Message(body), SeccNext.Close, reason);
    }
}
