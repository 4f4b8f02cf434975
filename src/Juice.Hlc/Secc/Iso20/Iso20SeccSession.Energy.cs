using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Security;
using static Juice.Hlc.Secc.Iso20.Iso20Values;

namespace Juice.Hlc.Secc.Iso20;

/// <summary>
/// The energy transfer of an ISO 15118-20 session: charge parameters, the schedule exchange of either control mode,
/// the DC cable check and pre-charge, and the AC and DC charging loops — each in its charging-only and its
/// bidirectional (BPT) form. Signs as in ISO 15118-20: a negative power or current is energy from the EV to the grid.
/// </summary>
public sealed partial class Iso20SeccSession
{
    /// <summary>Scheduled BPT: the most the offered discharging schedule lets the EV feed in, W (positive).</summary>
    private double _scheduleDischargeW;

    /// <summary>The charge parameters' form must match the selected service: the BPT form for AC_BPT / DC_BPT, the plain one otherwise.</summary>
    private SeccReply<V2GMessageType>? WrongForm(V2GMessageType request, bool bptForm, string what) =>
        bptForm == _bpt ? null
            : Close(Failed(request, ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error,
                $"{what} in its {(bptForm ? "bidirectional" : "charging-only")} form for the {(_bpt ? "bidirectional" : "charging-only")} service");

    /// <summary>The discharge current a DC charger allows at a voltage: its discharge power limit there.</summary>
    private static double DischargeCurrentA(EvseLimits limits, double voltageV) => voltageV > 0 ? limits.MaxDischargePowerW / voltageV : 0;

    private SeccReply<V2GMessageType> DcChargeParameterDiscovery(DC_ChargeParameterDiscoveryReqType r)
    {
        if (!Dc)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error, "DC charge parameters for the AC service");
        }
        var ev = r.DC_CPDReqEnergyTransferMode;
        if (WrongForm(r, ev is BPT_DC_CPDReqEnergyTransferModeType, "DC_ChargeParameterDiscovery") is { } wrong)
        {
            return wrong;
        }
        Needs(new EvNeeds(EnergyTransfer.Dc, null, null, Si(ev.EVMaximumChargeCurrent), Si(ev.EVMinimumChargeCurrent), Si(ev.EVMaximumVoltage),
            Si(ev.EVMaximumChargePower), null, (ev as BPT_DC_CPDReqEnergyTransferModeType)?.EVMaximumDischargePower is { } d ? Si(d) : null));
        var limits = _cp.Limits;
        State = Iso20SeccState.WaitForScheduleExchangeReq;
        DC_CPDResEnergyTransferModeType mode = _bpt
            ? new BPT_DC_CPDResEnergyTransferModeType
            {
                EVSEMaximumChargePower = Rn(limits.MaxPowerW),
                EVSEMinimumChargePower = Rn(limits.MinCurrentA * limits.MinVoltageV),
                EVSEMaximumChargeCurrent = Rn(limits.MaxCurrentA),
                EVSEMinimumChargeCurrent = Rn(limits.MinCurrentA),
                EVSEMaximumVoltage = Rn(limits.MaxVoltageV),
                EVSEMinimumVoltage = Rn(limits.MinVoltageV),
                EVSEMaximumDischargePower = Rn(limits.MaxDischargePowerW),
                EVSEMinimumDischargePower = Rn(0),
                EVSEMaximumDischargeCurrent = Rn(Math.Round(DischargeCurrentA(limits, Si(ev.EVMaximumVoltage)), 1)),
                EVSEMinimumDischargeCurrent = Rn(0),
            }
            : new DC_CPDResEnergyTransferModeType
            {
                EVSEMaximumChargePower = Rn(limits.MaxPowerW),
                EVSEMinimumChargePower = Rn(limits.MinCurrentA * limits.MinVoltageV),
                EVSEMaximumChargeCurrent = Rn(limits.MaxCurrentA),
                EVSEMinimumChargeCurrent = Rn(limits.MinCurrentA),
                EVSEMaximumVoltage = Rn(limits.MaxVoltageV),
                EVSEMinimumVoltage = Rn(limits.MinVoltageV),
            };
        return Next(new DC_ChargeParameterDiscoveryResType { Header = Header(), ResponseCode = ResponseCodeType.OK, DC_CPDResEnergyTransferMode = mode });
    }

    private SeccReply<V2GMessageType> AcChargeParameterDiscovery(AC_ChargeParameterDiscoveryReqType r)
    {
        if (Dc)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error, "AC charge parameters for the DC service");
        }
        var ev = r.AC_CPDReqEnergyTransferMode;
        if (WrongForm(r, ev is BPT_AC_CPDReqEnergyTransferModeType, "AC_ChargeParameterDiscovery") is { } wrong)
        {
            return wrong;
        }
        var mode = _cp.Supported.HasFlag(EnergyTransfer.AcThreePhase) ? EnergyTransfer.AcThreePhase : EnergyTransfer.AcSinglePhase;
        double phases = mode == EnergyTransfer.AcThreePhase ? 3 : 1;
        var limits = _cp.Limits;
        Needs(new EvNeeds(mode, null, null, Si(ev.EVMaximumChargePower) / (limits.NominalVoltageV * phases), Si(ev.EVMinimumChargePower) / (limits.NominalVoltageV * phases),
            null, Si(ev.EVMaximumChargePower), null, (ev as BPT_AC_CPDReqEnergyTransferModeType)?.EVMaximumDischargePower is { } d ? Si(d) : null));
        State = Iso20SeccState.WaitForScheduleExchangeReq;
        AC_CPDResEnergyTransferModeType evse = _bpt
            ? new BPT_AC_CPDResEnergyTransferModeType
            {
                EVSEMaximumChargePower = Rn(limits.MaxPowerW),
                EVSEMinimumChargePower = Rn(limits.MinCurrentA * limits.NominalVoltageV),
                EVSENominalFrequency = Rn(50),
                EVSEMaximumDischargePower = Rn(limits.MaxDischargePowerW),
                EVSEMinimumDischargePower = Rn(0),
            }
            : new AC_CPDResEnergyTransferModeType
            {
                EVSEMaximumChargePower = Rn(limits.MaxPowerW),
                EVSEMinimumChargePower = Rn(limits.MinCurrentA * limits.NominalVoltageV),
                EVSENominalFrequency = Rn(50),
            };
        return Next(new AC_ChargeParameterDiscoveryResType { Header = Header(), ResponseCode = ResponseCodeType.OK, AC_CPDResEnergyTransferMode = evse });
    }

    /// <summary>
    /// One schedule over the next day at one price level (the schema makes the price schedule optional, EVs such as
    /// Josev's refuse a schedule without one); <paramref name="id"/>: the price schedule's Id, which its signature names.
    /// </summary>
    private static ChargingScheduleType Schedule(ulong now, double powerW, string id) => new()
    {
        PowerSchedule = new PowerScheduleType
        {
            TimeAnchor = now,
            PowerScheduleEntries = new PowerScheduleEntryListType { PowerScheduleEntry = [new PowerScheduleEntryType { Duration = ScheduleDuration, Power = Rn(powerW) }] },
        },
        Choice = new ChargingScheduleTypeChoice.PriceLevelSchedule(new PriceLevelScheduleType
        {
            Id = id,
            TimeAnchor = now,
            PriceScheduleID = 1,
            NumberOfPriceLevels = 1,
            PriceLevelScheduleEntries = new PriceLevelScheduleEntryListType { PriceLevelScheduleEntry = [new PriceLevelScheduleEntryType { Duration = ScheduleDuration, PriceLevel = 0 }] },
        }),
    };

    /// <summary>The price schedules of the tuples with their Ids: the elements a ScheduleExchangeRes signature covers.</summary>
    internal static IEnumerable<(string Id, Juice.Hlc.Exi.ExiRoot Element)> PriceSchedules(IEnumerable<ScheduleTupleType> tuples) =>
        tuples.SelectMany(t => new[] { t.ChargingSchedule, t.DischargingSchedule }).Select(c => c?.Choice switch
        {
            ChargingScheduleTypeChoice.PriceLevelSchedule { Value.Id: { } id } p => (id, Iso20Signatures.Element("PriceLevelSchedule", p.Value)),
            ChargingScheduleTypeChoice.AbsolutePriceSchedule { Value.Id: { } id } a => (id, Iso20Signatures.Element("AbsolutePriceSchedule", a.Value)),
            _ => default((string, Juice.Hlc.Exi.ExiRoot)?),
        }).OfType<(string, Juice.Hlc.Exi.ExiRoot)>();

    private SeccReply<V2GMessageType> ScheduleExchange(ScheduleExchangeReqType r)
    {
        var limits = _cp.Limits;
        switch (r.Choice)
        {
            case ScheduleExchangeReqTypeChoice.Scheduled_SEReqControlMode wanted when _controlMode == Scheduled:
                State = AfterScheduleExchange();
                Needs(_needs! with
                {
                    EnergyRequestWh = SiOrNull(wanted.Value.EVTargetEnergyRequest),
                    Departure = wanted.Value.DepartureTime is { } seconds ? _core.Time.GetUtcNow().AddSeconds(seconds) : null,
                });
                // one tuple: the station's power limit for the next day, from now; with BPT also the discharging
                // schedule, its power negative (energy to the grid, ISO 15118-20 §8.3.5.3.40)
                ulong now = (ulong)_core.UnixTime;
                _schedulePowerW = limits.MaxPowerW;
                _scheduleDischargeW = _bpt ? limits.MaxDischargePowerW : 0;
                var tuple = new ScheduleTupleType
                {
                    ScheduleTupleID = ScheduleTupleId,
                    ChargingSchedule = Schedule(now, limits.MaxPowerW, "id1"),
                    DischargingSchedule = _bpt ? Schedule(now, -limits.MaxDischargePowerW, "id2") : null,
                };
                var header = Header();
                if (_signingKey is not null)
                {
                    // the price schedules, signed with the key of the SECC certificate the EV checked in TLS 1.3
                    header.Signature = Iso20Signatures.Sign(PriceSchedules([tuple]), _signingKey);
                }
                return Next(new ScheduleExchangeResType
                {
                    Header = header,
                    ResponseCode = ResponseCodeType.OK,
                    EVSEProcessing = ProcessingType.Finished,
                    Choice = new ScheduleExchangeResTypeChoice.Scheduled_SEResControlMode(new Scheduled_SEResControlModeType { ScheduleTuple = [tuple] }),
                });
            case ScheduleExchangeReqTypeChoice.Dynamic_SEReqControlMode dynamic when _controlMode == Dynamic:
                var ev = dynamic.Value;
                Needs(_needs! with { EnergyRequestWh = Si(ev.EVTargetEnergyRequest), Departure = _core.Time.GetUtcNow().AddSeconds(ev.DepartureTime) });
                State = AfterScheduleExchange();
                return Next(new ScheduleExchangeResType
                {
                    Header = Header(),
                    ResponseCode = ResponseCodeType.OK,
                    EVSEProcessing = ProcessingType.Finished,
                    Choice = new ScheduleExchangeResTypeChoice.Dynamic_SEResControlMode(new Dynamic_SEResControlModeType { DepartureTime = ev.DepartureTime }),
                });
            default:
                return Close(Failed(r, ResponseCodeType.FAILED_ScheduleSelectionInvalid), SessionEndReason.Error,
                    $"ScheduleExchange in the other control mode than the selected parameter set ({(_controlMode == Dynamic ? "dynamic" : "scheduled")})");
        }
    }

    /// <summary>
    /// After ScheduleExchange: the DC checks first (cable check, pre-charge), or PowerDelivery at once for AC and in a
    /// renegotiation, whose new schedules answer the station's renegotiation request.
    /// </summary>
    private Iso20SeccState AfterScheduleExchange()
    {
        if (_renegotiating && _cp.Request == EvseRequest.Renegotiate)
        {
            _cp.RequestHandled(EvseRequest.Renegotiate);
        }
        return Dc && !_renegotiating ? Iso20SeccState.WaitForCableCheckReq : Iso20SeccState.WaitForPowerDeliveryReq;
    }

    /// <summary>The EV's power profile stays within the schedule it chose: up to its charging power, down to its discharging power.</summary>
    private string? OutsideSchedule(EVPowerProfileType? profile)
    {
        if (_controlMode != Scheduled || profile is null)
        {
            return null;
        }
        foreach (var entry in profile.EVPowerProfileEntries.EVPowerProfileEntry)
        {
            double w = Si(entry.Power);
            if (w > _schedulePowerW + 0.5 || w < -_scheduleDischargeW - 0.5)
            {
                return $"EVPowerProfile asks {w:0} W, the schedule allows {-_scheduleDischargeW:0} to {_schedulePowerW:0} W";
            }
        }
        return null;
    }

    private SeccReply<V2GMessageType> CableCheck(DC_CableCheckReqType r)
    {
        var (status, overdue) = _core.CableCheck();
        switch (status)
        {
            case IsolationStatus.Ongoing when overdue:
                return Close(new DC_CableCheckResType { Header = Header(), ResponseCode = ResponseCodeType.FAILED, EVSEProcessing = ProcessingType.Finished },
                    SessionEndReason.Timeout, "isolation test not finished within V2G_SECC_CableCheck_Performance_Time");
            case IsolationStatus.Ongoing:
                return Next(new DC_CableCheckResType { Header = Header(), ResponseCode = ResponseCodeType.OK, EVSEProcessing = ProcessingType.Ongoing });
            case IsolationStatus.Fault:
                return Close(Failed(r, ResponseCodeType.FAILED), SessionEndReason.Error, "isolation fault in the cable check");
            default:
                State = Iso20SeccState.WaitForPreChargeReq;
                return Next(new DC_CableCheckResType { Header = Header(), ResponseCode = ResponseCodeType.OK, EVSEProcessing = ProcessingType.Finished });
        }
    }

    private SeccReply<V2GMessageType> PreCharge(DC_PreChargeReqType r)
    {
        _cp.DcTarget(Si(r.EVTargetVoltage), 0);
        return Next(new DC_PreChargeResType { Header = Header(), ResponseCode = ResponseCodeType.OK, EVSEPresentVoltage = Rn(_cp.ReadMeter().VoltageV) });
    }

    /// <summary>
    /// The EVSE's notification while charging: Terminate when the station asks to stop, ScheduleRenegotiation when its
    /// limits changed in scheduled control (with the delay the EV has to act).
    /// </summary>
    private EVSEStatusType? Status()
    {
        var (request, delay) = _core.Notification();
        if (request == EvseRequest.Renegotiate && _controlMode == Dynamic)
        {
            // dynamic control: every loop response carries the station's limits, nothing to renegotiate
            _cp.RequestHandled(EvseRequest.Renegotiate);
            return null;
        }
        return request == EvseRequest.None ? null : new EVSEStatusType
        {
            NotificationMaxDelay = delay,
            EVSENotification = request == EvseRequest.StopCharging ? EvseNotificationType.Terminate : EvseNotificationType.ScheduleRenegotiation,
        };
    }

    private MeterInfoType MeterInfo(MeterReading m) => new()
    {
        MeterID = m.MeterId,
        ChargedEnergyReadingWh = (ulong)Math.Max(0, Math.Round(m.EnergyWh)),
        BPT_DischargedEnergyReadingWh = _bpt ? (ulong)Math.Max(0, Math.Round(m.ExportedEnergyWh)) : null,
    };

    /// <summary>
    /// Dynamic BPT: the power the SECC steers the EV to — what the station's energy management asks the EV to feed
    /// in, within the station's and the EV's discharge limits (negative), else the most both sides allow to charge.
    /// </summary>
    private static double DynamicTargetW(EvseLimits limits, double evMaxChargeW, double evMaxDischargeW) =>
        limits.DischargeRequestW > 0 && limits.MaxDischargePowerW > 0 && evMaxDischargeW > 0
            ? -Math.Min(limits.DischargeRequestW, Math.Min(limits.MaxDischargePowerW, evMaxDischargeW))
            : Math.Min(evMaxChargeW, limits.MaxPowerW);

    /// <summary>
    /// What both charging loops check and do first: the loop of the session's energy transfer, in the form of its
    /// service; the overdue stop; the EV's state of charge. Null: the request goes on to the loop itself.
    /// </summary>
    private SeccReply<V2GMessageType>? EnterLoop(V2GMessageType r, bool dcLoop, bool bptForm, DisplayParametersType? display)
    {
        if (dcLoop != Dc)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error, dcLoop ? "a DC charge loop in an AC session" : "an AC charge loop in a DC session");
        }
        if (WrongForm(r, bptForm, dcLoop ? "DC_ChargeLoop" : "AC_ChargeLoop") is { } wrong)
        {
            return wrong;
        }
        StopIfOverdue();
        Soc(display);
        return null;
    }

    private SeccReply<V2GMessageType> DcChargeLoop(DC_ChargeLoopReqType r)
    {
        if (EnterLoop(r, dcLoop: true, r.CLReqControlMode is BPT_Scheduled_DC_CLReqControlModeType or BPT_Dynamic_DC_CLReqControlModeType, r.DisplayParameters) is { } refused)
        {
            return refused;
        }
        var limits = _cp.Limits;
        CLResControlModeType control;
        double voltage, current;
        switch (r.CLReqControlMode)
        {
            case Scheduled_DC_CLReqControlModeType s when _controlMode == Scheduled:
                // the EV sets the current within the schedule; a negative target discharges (BPT), down to the station's limit
                voltage = Si(s.EVTargetVoltage);
                double maxDischargeA = DischargeCurrentA(limits, voltage);
                current = Math.Clamp(Si(s.EVTargetCurrent), _bpt ? -maxDischargeA : 0, limits.MaxCurrentA);
                control = _bpt
                    ? new BPT_Scheduled_DC_CLResControlModeType
                    {
                        EVSEMaximumChargePower = Rn(limits.MaxPowerW),
                        EVSEMaximumChargeCurrent = Rn(limits.MaxCurrentA),
                        EVSEMaximumVoltage = Rn(limits.MaxVoltageV),
                        EVSEMaximumDischargePower = Rn(limits.MaxDischargePowerW),
                        EVSEMaximumDischargeCurrent = Rn(Math.Round(maxDischargeA, 1)),
                        EVSEMinimumVoltage = Rn(limits.MinVoltageV),
                    }
                    : new Scheduled_DC_CLResControlModeType
                    {
                        EVSEMaximumChargePower = Rn(limits.MaxPowerW),
                        EVSEMaximumChargeCurrent = Rn(limits.MaxCurrentA),
                        EVSEMaximumVoltage = Rn(limits.MaxVoltageV),
                    };
                break;
            case Dynamic_DC_CLReqControlModeType d when _controlMode == Dynamic:
                // dynamic control: the SECC decides the current within both sides' limits
                voltage = Math.Min(Si(r.EVPresentVoltage), Math.Min(Si(d.EVMaximumVoltage), limits.MaxVoltageV));
                double evDischargeW = d is BPT_Dynamic_DC_CLReqControlModeType b ? Si(b.EVMaximumDischargePower) : 0;
                double power = DynamicTargetW(limits, Si(d.EVMaximumChargePower), evDischargeW);
                current = power >= 0
                    ? Math.Min(Math.Min(Si(d.EVMaximumChargeCurrent), limits.MaxCurrentA), voltage > 0 ? power / voltage : 0)
                    : Math.Max(-Si(((BPT_Dynamic_DC_CLReqControlModeType)d).EVMaximumDischargeCurrent), voltage > 0 ? power / voltage : 0);
                control = _bpt
                    ? new BPT_Dynamic_DC_CLResControlModeType
                    {
                        EVSEMaximumChargePower = Rn(limits.MaxPowerW),
                        EVSEMinimumChargePower = Rn(0),
                        EVSEMaximumChargeCurrent = Rn(limits.MaxCurrentA),
                        EVSEMaximumVoltage = Rn(limits.MaxVoltageV),
                        EVSEMaximumDischargePower = Rn(limits.MaxDischargePowerW),
                        EVSEMinimumDischargePower = Rn(0),
                        EVSEMaximumDischargeCurrent = Rn(Math.Round(DischargeCurrentA(limits, voltage), 1)),
                        EVSEMinimumVoltage = Rn(limits.MinVoltageV),
                    }
                    : new Dynamic_DC_CLResControlModeType
                    {
                        EVSEMaximumChargePower = Rn(limits.MaxPowerW),
                        EVSEMinimumChargePower = Rn(0),
                        EVSEMaximumChargeCurrent = Rn(limits.MaxCurrentA),
                        EVSEMaximumVoltage = Rn(limits.MaxVoltageV),
                    };
                break;
            default:
                return Close(Failed(r, ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error, $"{r.CLReqControlMode.GetType().Name} in a session of the other control mode");
        }
        _cp.DcTarget(voltage, current);
        var meter = _cp.ReadMeter();
        var (status, meterInfo) = LoopStatus(meter, r.MeterInfoRequested);
        return Next(new DC_ChargeLoopResType
        {
            Header = Header(),
            ResponseCode = ResponseCodeType.OK,
            EVSEStatus = status,
            MeterInfo = meterInfo,
            EVSEPresentCurrent = Rn(meter.CurrentA),
            EVSEPresentVoltage = Rn(meter.VoltageV),
            EVSEPowerLimitAchieved = voltage * current >= limits.MaxPowerW,
            EVSECurrentLimitAchieved = current >= limits.MaxCurrentA,
            EVSEVoltageLimitAchieved = voltage >= limits.MaxVoltageV,
            CLResControlMode = control,
        });
    }

    private SeccReply<V2GMessageType> AcChargeLoop(AC_ChargeLoopReqType r)
    {
        if (EnterLoop(r, dcLoop: false, r.CLReqControlMode is BPT_Scheduled_AC_CLReqControlModeType or BPT_Dynamic_AC_CLReqControlModeType, r.DisplayParameters) is { } refused)
        {
            return refused;
        }
        var limits = _cp.Limits;
        CLResControlModeType control;
        switch (r.CLReqControlMode)
        {
            case Scheduled_AC_CLReqControlModeType s when _controlMode == Scheduled:
                // the EV follows its schedule; with BPT its present power says whether it feeds in, within the station's limit
                control = _bpt
                    ? new BPT_Scheduled_AC_CLResControlModeType { EVSETargetActivePower = Rn(limits.MaxPowerW) }
                    : new Scheduled_AC_CLResControlModeType { EVSETargetActivePower = Rn(limits.MaxPowerW) };
                if (_bpt)
                {
                    _cp.AcPower(Math.Clamp(Si(s.EVPresentActivePower), -limits.MaxDischargePowerW, limits.MaxPowerW));
                }
                break;
            case Dynamic_AC_CLReqControlModeType d when _controlMode == Dynamic:
                double target = DynamicTargetW(limits, Si(d.EVMaximumChargePower), d is BPT_Dynamic_AC_CLReqControlModeType b ? Si(b.EVMaximumDischargePower) : 0);
                control = _bpt
                    ? new BPT_Dynamic_AC_CLResControlModeType { EVSETargetActivePower = Rn(target) }
                    : new Dynamic_AC_CLResControlModeType { EVSETargetActivePower = Rn(target) };
                if (_bpt)
                {
                    _cp.AcPower(target);
                }
                break;
            default:
                return Close(Failed(r, ResponseCodeType.FAILED_WrongChargeParameter), SessionEndReason.Error, $"{r.CLReqControlMode.GetType().Name} in a session of the other control mode");
        }
        var meter = _cp.ReadMeter();
        var (status, meterInfo) = LoopStatus(meter, r.MeterInfoRequested);
        return Next(new AC_ChargeLoopResType
        {
            Header = Header(),
            ResponseCode = ResponseCodeType.OK,
            EVSEStatus = status,
            MeterInfo = meterInfo,
            CLResControlMode = control,
        });
    }

    /// <summary>What the EV needs, kept whole: each message adds what it says (limits, then energy and departure, then the state of charge).</summary>
    private void Needs(EvNeeds needs)
    {
        _needs = needs;
        _cp.EvNeedsChanged(needs);
    }

    private void Soc(DisplayParametersType? display)
    {
        if (display?.PresentSOC is { } soc && _needs is { } needs && needs.StateOfCharge != soc)
        {
            Needs(needs with { StateOfCharge = soc });
        }
    }

    /// <summary>The station asked to stop and the EV did not within NotificationMaxDelay: the SECC stops the energy itself.</summary>
    private void StopIfOverdue()
    {
        if (_energyOn && _core.StopOverdue())
        {
            _energyOn = false;
            _ = _cp.SetEnergyTransferAsync(false, CancellationToken.None).AsTask();
        }
    }
}
