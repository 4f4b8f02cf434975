using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Security;
using Juice.Hlc.Secc.Iso20;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;
using static Juice.Hlc.Secc.Iso20.Iso20Values;

namespace Juice.Hlc.Evcc;

/// <summary>
/// The EV side of an ISO 15118-20 session (AC or DC by the negotiated namespace, charging only or bidirectional),
/// external identification, scheduled or dynamic control: SessionSetup to SessionStop in the order of ISO 15118-20
/// §8.8, each message on the payload type of its schema. Signs as in the standard: negative power feeds the grid.
/// </summary>
internal sealed partial class Iso20EvSession(EvClient client, EvOptions options, TimeProvider time, V2gProtocol protocol)
{
    // a resumed session starts with the SessionID of the paused one ([V2G20-…] SessionSetupReq with the old ID, OK_OldSessionJoined)
    private byte[] _sessionId = options.ResumeSessionId ?? new byte[8];
    private bool _resumed;
    private int _messages;
    private readonly EvBattery _battery = new(options, time);

    private bool Dc => protocol == V2gProtocol.Iso15118_20Dc;

    /// <summary>The BPT service was selected.</summary>
    private bool _bpt;

    /// <summary>Scheduled BPT: the EV is feeding in (its plan: down to its floor, then charge).</summary>
    private bool _discharging;

    /// <summary>The charger's discharge limit (charge parameters) and that of the chosen discharging schedule, W.</summary>
    private double _evseDischargeW;
    private double _scheduleDischargeW = double.MaxValue;

    /// <summary>The most the EV offers to feed in, W.</summary>
    private double MaxDischargeW => options.DischargePowerW ?? (Dc ? options.MaxPowerW : AcPowerW(options.MaxCurrentA));

    /// <summary>What the EV can feed in now: nothing at or below its floor.</summary>
    private double DischargeNowW => _battery.Soc > options.DischargeFloorSoc ? MaxDischargeW : 0;

    /// <summary>Scheduled BPT: the power the EV plans to feed in, within the charger's limits.</summary>
    private double PlannedDischargeW => Math.Min(options.DischargePowerW ?? 0, Math.Min(_evseDischargeW, _scheduleDischargeW));

    private async Task<TResponse> SendAsync<TResponse>(V2gtpConnection connection, V2GMessageType request, V2gMessageKind kind,
        Juice.Hlc.Exi.XmlDsig.SignatureType? signature = null, V2gtpPayloadType? stream = null) where TResponse : V2GResponseType
    {
        request.Header = new MessageHeaderType { SessionID = _sessionId, TimeStamp = (ulong)time.GetUtcNow().ToUnixTimeSeconds(), Signature = signature };
        var (type, exi, _) = Iso20Framing.Encode(request);
        type = stream ?? type;
        var frame = await client.ExchangeAsync(connection, type, exi, kind, CancellationToken.None).ConfigureAwait(false);
        _messages++;
        V2GMessageType response;
        try
        {
            response = Iso20Framing.Decode(frame).Message;
        }
        catch (ExiContentException e)
        {
            throw new EvSessionException($"undecodable response to {Name(request)}: {e.Message}");
        }
        if (response is not TResponse typed)
        {
            throw new EvSessionException($"{Name(request)} was answered with {response.GetType().Name}");
        }
        // OK and OK_… go on; a WARNING or FAILED code ends the EV's session
        if (typed.ResponseCode is not (ResponseCodeType.OK or ResponseCodeType.OK_NewSessionEstablished or ResponseCodeType.OK_OldSessionJoined
            or ResponseCodeType.OK_CertificateExpiresSoon or ResponseCodeType.OK_PowerToleranceConfirmed))
        {
            throw new EvSessionException($"the charger answered {Name(request)} with {typed.ResponseCode}");
        }
        if (typed is SessionSetupResType)
        {
            _resumed = typed.ResponseCode == ResponseCodeType.OK_OldSessionJoined;
            _sessionId = response.Header.SessionID;
        }
        return typed;
    }

    private static string Name(V2GMessageType m) => m.GetType().Name.Replace("Type", "", StringComparison.Ordinal);

    private Task<TResponse> UntilAsync<TResponse>(V2gtpConnection c, Func<V2GMessageType> request, V2gMessageKind kind, Func<TResponse, bool> finished, TimeSpan timeout,
        Juice.Hlc.Exi.XmlDsig.SignatureType? signature = null)
        where TResponse : V2GResponseType =>
        EvRetry.UntilAsync(() => SendAsync<TResponse>(c, request(), kind, signature), finished, kind.ToString(), timeout, time, options.Delay);

    public async Task<EvResult> RunAsync(V2gtpConnection c, IProgress<EvProgress>? progress, CancellationToken stop)
    {
        await SendAsync<SessionSetupResType>(c, new SessionSetupReqType { Header = null!, EVCCID = Convert.ToHexString(options.Evccid) }, V2gMessageKind.SessionSetup).ConfigureAwait(false);
        await AuthorizeAsync(c).ConfigureAwait(false);
        LoopEnd end;
        while (true)
        {
            end = await EnergyTransferAsync(c, progress, stop).ConfigureAwait(false);
            await SendAsync<PowerDeliveryResType>(c, PowerDelivery(ChargeProgressType.Stop), V2gMessageKind.PowerDelivery).ConfigureAwait(false);
            if (Dc)
            {
                await SendAsync<DC_WeldingDetectionResType>(c, new DC_WeldingDetectionReqType { Header = null!, EVProcessing = ProcessingType.Finished }, V2gMessageKind.WeldingDetection)
                    .ConfigureAwait(false);
            }
            if (!_serviceRenegotiationDue)
            {
                break;
            }
            // service renegotiation: SessionStop(ServiceRenegotiation), then the services are chosen again from ServiceDiscovery
            _serviceRenegotiationDue = false;
            await SendAsync<SessionStopResType>(c, new SessionStopReqType { Header = null!, ChargingSession = ChargingSessionType.ServiceRenegotiation },
                V2gMessageKind.SessionStop).ConfigureAwait(false);
            _serviceRenegotiations++;
        }
        // pause: the session can be resumed on a new connection with its SessionID
        await SendAsync<SessionStopResType>(c, new SessionStopReqType { Header = null!, ChargingSession = options.Pause ? ChargingSessionType.Pause : ChargingSessionType.Terminate },
            V2gMessageKind.SessionStop).ConfigureAwait(false);
        return new EvResult(true, options.Pause ? end.Reason + "; session paused" : end.Reason, protocol, _battery.Soc, _battery.EnergyWh, _messages, _sessionId, DischargedWh: _battery.DischargedWh, Emaid: _emaid, ContractInstalled: _installed,
            Renegotiations: _renegotiations, Standbys: _standbys, Resumed: _resumed, MeteringReceipts: _receipts, ServiceRenegotiations: _serviceRenegotiations);
    }

    private bool _serviceRenegotiationDue;
    private int _serviceRenegotiations;

    /// <summary>From ServiceDiscovery to the end of the charging loop (with its schedule renegotiations).</summary>
    private async Task<LoopEnd> EnergyTransferAsync(V2gtpConnection c, IProgress<EvProgress>? progress, CancellationToken stop)
    {
        var discovery = await SendAsync<ServiceDiscoveryResType>(c, new ServiceDiscoveryReqType { Header = null! }, V2gMessageKind.ServiceDiscovery).ConfigureAwait(false);
        var offered = discovery.EnergyTransferServiceList.Service.Select(s => s.ServiceID).ToHashSet();
        // bidirectional where the charger offers it, else charging only
        _bpt = options.Bidirectional && offered.Contains(Dc ? DcBptService : AcBptService);
        ushort service = _bpt ? (Dc ? DcBptService : AcBptService) : Dc ? DcService : AcService;
        if (!offered.Contains(service))
        {
            throw new EvSessionException($"the charger does not offer the {(Dc ? "DC" : "AC")} service");
        }
        var detail = await SendAsync<ServiceDetailResType>(c, new ServiceDetailReqType { Header = null!, ServiceID = service }, V2gMessageKind.ServiceDetail).ConfigureAwait(false);
        int mode = options.DynamicControl ? Dynamic : Scheduled;
        var set = detail.ServiceParameterList.ParameterSet.FirstOrDefault(p => p.Parameter.Any(x => x.Name == "ControlMode" && x.Choice is ParameterTypeChoice.IntValue v && v.Value == mode))
            ?? throw new EvSessionException($"the charger offers no parameter set in {(options.DynamicControl ? "dynamic" : "scheduled")} control mode");
        await SendAsync<ServiceSelectionResType>(c, new ServiceSelectionReqType
        {
            Header = null!,
            SelectedEnergyTransferService = new SelectedServiceType { ServiceID = service, ParameterSetID = set.ParameterSetID },
        }, V2gMessageKind.ServiceDiscovery).ConfigureAwait(false);

        if (Dc)
        {
            var cpd = await SendAsync<DC_ChargeParameterDiscoveryResType>(c, new DC_ChargeParameterDiscoveryReqType
            {
                Header = null!,
                DC_CPDReqEnergyTransferMode = _bpt
                    ? new BPT_DC_CPDReqEnergyTransferModeType
                    {
                        EVMaximumChargePower = Rn(options.MaxPowerW),
                        EVMinimumChargePower = Rn(options.MinCurrentA * options.TargetVoltageV),
                        EVMaximumChargeCurrent = Rn(options.MaxCurrentA),
                        EVMinimumChargeCurrent = Rn(options.MinCurrentA),
                        EVMaximumVoltage = Rn(options.MaxVoltageV),
                        EVMinimumVoltage = Rn(Math.Min(options.TargetVoltageV, 200)),
                        TargetSOC = (sbyte)Math.Round(options.TargetSoc),
                        EVMaximumDischargePower = Rn(MaxDischargeW),
                        EVMinimumDischargePower = Rn(0),
                        EVMaximumDischargeCurrent = Rn(DcCurrentA(MaxDischargeW)),
                        EVMinimumDischargeCurrent = Rn(0),
                    }
                    : new DC_CPDReqEnergyTransferModeType
                    {
                        EVMaximumChargePower = Rn(options.MaxPowerW),
                        EVMinimumChargePower = Rn(options.MinCurrentA * options.TargetVoltageV),
                        EVMaximumChargeCurrent = Rn(options.MaxCurrentA),
                        EVMinimumChargeCurrent = Rn(options.MinCurrentA),
                        EVMaximumVoltage = Rn(options.MaxVoltageV),
                        EVMinimumVoltage = Rn(Math.Min(options.TargetVoltageV, 200)),
                        TargetSOC = (sbyte)Math.Round(options.TargetSoc),
                    },
            }, V2gMessageKind.ChargeParameterDiscovery).ConfigureAwait(false);
            _battery.LimitA = Si(cpd.DC_CPDResEnergyTransferMode.EVSEMaximumChargeCurrent);
            _evseDischargeW = cpd.DC_CPDResEnergyTransferMode is BPT_DC_CPDResEnergyTransferModeType b ? Si(b.EVSEMaximumDischargePower) : 0;
        }
        else
        {
            var cpd = await SendAsync<AC_ChargeParameterDiscoveryResType>(c, new AC_ChargeParameterDiscoveryReqType
            {
                Header = null!,
                AC_CPDReqEnergyTransferMode = _bpt
                    ? new BPT_AC_CPDReqEnergyTransferModeType
                    {
                        EVMaximumChargePower = Rn(AcPowerW(options.MaxCurrentA)),
                        EVMinimumChargePower = Rn(AcPowerW(options.MinCurrentA)),
                        EVMaximumDischargePower = Rn(MaxDischargeW),
                        EVMinimumDischargePower = Rn(0),
                    }
                    : new AC_CPDReqEnergyTransferModeType
                    {
                        EVMaximumChargePower = Rn(AcPowerW(options.MaxCurrentA)),
                        EVMinimumChargePower = Rn(AcPowerW(options.MinCurrentA)),
                    },
            }, V2gMessageKind.ChargeParameterDiscovery).ConfigureAwait(false);
            _evseDischargeW = cpd.AC_CPDResEnergyTransferMode is BPT_AC_CPDResEnergyTransferModeType b ? Si(b.EVSEMaximumDischargePower) : 0;
        }

        await ScheduleExchangeAsync(c).ConfigureAwait(false);

        if (Dc)
        {
            await UntilAsync<DC_CableCheckResType>(c, () => new DC_CableCheckReqType { Header = null! }, V2gMessageKind.CableCheck,
                r => r.EVSEProcessing == ProcessingType.Finished, options.TimersFor(protocol).EvccCableCheckTimeout).ConfigureAwait(false);
            // the EV says Ongoing while the charger's voltage approaches its own, then Finished in its last request
            await UntilAsync<DC_PreChargeResType>(c, () => PreCharge(ProcessingType.Ongoing), V2gMessageKind.PreCharge,
                r => options.SkipPreChargeVoltageCheck || Math.Abs(Si(r.EVSEPresentVoltage) - options.TargetVoltageV) <= options.PreChargeToleranceV,
                options.TimersFor(protocol).EvccPreChargeTimeout).ConfigureAwait(false);
            await SendAsync<DC_PreChargeResType>(c, PreCharge(ProcessingType.Finished), V2gMessageKind.PreCharge).ConfigureAwait(false);
        }
        await SendAsync<PowerDeliveryResType>(c, PowerDelivery(ChargeProgressType.Start), V2gMessageKind.PowerDelivery).ConfigureAwait(false);

        LoopEnd end;
        while ((end = await _battery.ChargeAsync(() => LoopAsync(c), Dc ? "DC_ChargeLoop" : "AC_ChargeLoop", progress, stop, canRenegotiate: true).ConfigureAwait(false)).Renegotiate)
        {
            // schedule renegotiation (on the EVSE's notification or the EV's own): PowerDelivery(ScheduleRenegotiation),
            // ScheduleExchange, PowerDelivery(Start) with a profile within the new schedule
            await SendAsync<PowerDeliveryResType>(c, PowerDelivery(ChargeProgressType.ScheduleRenegotiation), V2gMessageKind.PowerDelivery).ConfigureAwait(false);
            await ScheduleExchangeAsync(c).ConfigureAwait(false);
            await SendAsync<PowerDeliveryResType>(c, PowerDelivery(ChargeProgressType.Start), V2gMessageKind.PowerDelivery).ConfigureAwait(false);
            _renegotiations++;
        }
        return end;
    }

    private int _renegotiations;
    private int _standbys;
    private int _loopMessages;

    /// <summary>In standby since (timestamp), or 0.</summary>
    private long _standbySince;

    /// <summary>ScheduleExchange (repeated while Ongoing): the first tuple of scheduled control, whose first entries bound the EV's power.</summary>
    private async Task ScheduleExchangeAsync(V2gtpConnection c)
    {
        var schedules = await UntilAsync<ScheduleExchangeResType>(c, ScheduleExchange, V2gMessageKind.ChargeParameterDiscovery, r => r.EVSEProcessing == ProcessingType.Finished,
            options.TimersFor(protocol).EvccOngoingTimeout).ConfigureAwait(false);
        if (schedules.Choice is ScheduleExchangeResTypeChoice.Scheduled_SEResControlMode scheduled)
        {
            CheckPriceSchedules(c, schedules.Header, scheduled.Value.ScheduleTuple);
            // the first tuple; the EV's power profile stays within its first power entry
            _tuple = scheduled.Value.ScheduleTuple.FirstOrDefault() ?? throw new EvSessionException("ScheduleExchangeRes offers no schedule tuple");
            // a discharging schedule's power is negative (ISO 15118-20 §8.3.5.3.40); some chargers send it positive
            _scheduleDischargeW = _tuple.DischargingSchedule?.PowerSchedule.PowerScheduleEntries.PowerScheduleEntry.FirstOrDefault() is { } d ? Math.Abs(Si(d.Power)) : 0;
        }
        // scheduled BPT: the EV's own plan, feed in first while above its floor
        _discharging = _bpt && !options.DynamicControl && PlannedDischargeW > 0 && _battery.Soc > options.DischargeFloorSoc;
    }

    /// <summary>
    /// Signed price schedules: the signature in the ScheduleExchangeRes header must cover every price schedule with an
    /// Id and verify with the SECC certificate the EV checked in TLS 1.3 (a change to a price, or a signature by anyone
    /// else, ends the session); unsigned schedules, or signed ones over plain TCP with no certificate to check against,
    /// are taken as they are.
    /// </summary>
    private static void CheckPriceSchedules(V2gtpConnection c, MessageHeaderType header, IReadOnlyList<ScheduleTupleType> tuples)
    {
        if (c.Stream is Juice.Hlc.Transport.V2gTlsStream { PeerChain: [var secc, ..] } && PriceSchedulesProblem(header, tuples, secc) is { } problem)
        {
            throw new EvSessionException("ScheduleExchangeRes: " + problem);
        }
    }

    /// <summary>Why the price schedules' signature does not hold for <paramref name="secc"/>, or null (also when they are not signed).</summary>
    internal static string? PriceSchedulesProblem(MessageHeaderType header, IReadOnlyList<ScheduleTupleType> tuples, Org.BouncyCastle.X509.X509Certificate secc)
    {
        if (header.Signature is null)
        {
            return null;
        }
        var (result, detail) = Iso20Signatures.Verify(header.Signature, Iso20SeccSession.PriceSchedules(tuples), secc.GetPublicKey());
        return result == SignatureCheck.Valid ? null : $"the price schedules' signature does not hold: {result}: {detail}";
    }

    /// <summary>
    /// One charging-loop exchange; with <see cref="EvOptions.StandbyAfter"/> the EV goes to standby once
    /// (PowerDelivery(Standby), then loop messages that ask for nothing) and wakes up with PowerDelivery(Start).
    /// </summary>
    private async Task<LoopAnswer> LoopAsync(V2gtpConnection c)
    {
        _loopMessages++;
        if (options.StandbyAfter is { } after && _loopMessages == after && _standbys == 0)
        {
            await SendAsync<PowerDeliveryResType>(c, PowerDelivery(ChargeProgressType.Standby), V2gMessageKind.PowerDelivery).ConfigureAwait(false);
            _standbySince = time.GetTimestamp();
            _standbys++;
        }
        else if (_standbySince != 0 && time.GetElapsedTime(_standbySince) >= options.StandbyDuration)
        {
            await SendAsync<PowerDeliveryResType>(c, PowerDelivery(ChargeProgressType.Start), V2gMessageKind.PowerDelivery).ConfigureAwait(false);
            _standbySince = 0;
        }
        var answer = Dc ? await DcLoopAsync(c).ConfigureAwait(false) : await AcLoopAsync(c).ConfigureAwait(false);
        if (options.ServiceRenegotiateAfter is { } serviceAfter && _loopMessages == serviceAfter && _serviceRenegotiations == 0 && _loopStatus?.EVSENotification is null)
        {
            // the EV renegotiates its service once: the loop ends here, the session goes on from ServiceDiscovery
            _serviceRenegotiationDue = true;
            return answer with { StopRequested = true };
        }
        if (_loopStatus?.EVSENotification == EvseNotificationType.MeteringConfirmation && _loopMeter is { } meter)
        {
            await ConfirmMeteringAsync(c, meter).ConfigureAwait(false);
        }
        // no renegotiation while in standby: the EV wakes up first
        return _standbySince != 0 ? answer with { PowerW = 0, RenegotiationRequested = false } : answer;
    }

    private bool InStandby => _standbySince != 0;


    private double AcPowerW(double currentA) => currentA * 230 * options.Phases;

    private double DcCurrentA(double powerW) => Math.Round(powerW / options.TargetVoltageV, 1);

    /// <summary>Scheduled BPT: the plan moves from feeding in to charging once the floor is reached.</summary>
    private void FollowPlan()
    {
        if (_discharging && _battery.Soc <= options.DischargeFloorSoc)
        {
            _discharging = false;
            _lastAcPowerW = 0;
        }
    }

    private ScheduleExchangeReqType ScheduleExchange() => new()
    {
        Header = null!,
        MaximumSupportingPoints = 1024,
        Choice = options.DynamicControl
            ? new ScheduleExchangeReqTypeChoice.Dynamic_SEReqControlMode(new Dynamic_SEReqControlModeType
            {
                DepartureTime = options.DepartureSeconds,
                TargetSOC = (sbyte)Math.Round(options.TargetSoc),
                MinimumSOC = options.MinimumSoc is { } min ? (sbyte)Math.Round(min) : null,
                EVTargetEnergyRequest = Rn(_battery.NeededWh),
                EVMaximumEnergyRequest = Rn(MaximumEnergyWh()),
                EVMinimumEnergyRequest = Rn(MinimumEnergyWh()),
            })
            : new ScheduleExchangeReqTypeChoice.Scheduled_SEReqControlMode(new Scheduled_SEReqControlModeType
            {
                DepartureTime = options.DepartureSeconds,
                EVTargetEnergyRequest = Rn(_battery.NeededWh),
                EVMaximumEnergyRequest = Rn(MaximumEnergyWh()),
                EVMinimumEnergyRequest = Rn(MinimumEnergyWh()),
            }),
    };

    /// <summary>What fills the battery: the most energy the EV could take.</summary>
    private double MaximumEnergyWh() => Math.Round((100 - _battery.Soc) / 100 * options.BatteryCapacityWh);

    private double MinimumEnergyWh() => options.MinimumSoc is { } min ? Math.Round(Math.Max(0, (min - _battery.Soc) / 100 * options.BatteryCapacityWh)) : 0;

    private DC_PreChargeReqType PreCharge(ProcessingType processing) => new()
    {
        Header = null!,
        EVProcessing = processing,
        EVPresentVoltage = Rn(options.TargetVoltageV),
        EVTargetVoltage = Rn(options.TargetVoltageV),
    };

    private ScheduleTupleType? _tuple;

    /// <summary>
    /// PowerDelivery: with Start the EV's power profile (ISO 15118-20 §8.3.4.3.8: sent once the EV has finished
    /// processing) — the tuple it chose and at most the schedule's power in scheduled mode, its own maximum in dynamic.
    /// </summary>
    private PowerDeliveryReqType PowerDelivery(ChargeProgressType progress)
    {
        var request = new PowerDeliveryReqType { Header = null!, EVProcessing = ProcessingType.Finished, ChargeProgress = progress };
        if (progress != ChargeProgressType.Start)
        {
            return request;
        }
        if (_bpt)
        {
            request.BPT_ChannelSelection = _discharging ? ChannelSelectionType.Discharge : ChannelSelectionType.Charge;
        }
        double own = Dc ? options.MaxPowerW : AcPowerW(options.MaxCurrentA);
        double power = _discharging ? -PlannedDischargeW
            : _tuple?.ChargingSchedule.PowerSchedule.PowerScheduleEntries.PowerScheduleEntry.FirstOrDefault() is { } entry ? Math.Min(own, Si(entry.Power)) : own;
        request.EVPowerProfile = new EVPowerProfileType
        {
            TimeAnchor = (ulong)time.GetUtcNow().ToUnixTimeSeconds(),
            Choice = _tuple is { } tuple
                ? new EVPowerProfileTypeChoice.Scheduled_EVPPTControlMode(new Scheduled_EVPPTControlModeType
                {
                    SelectedScheduleTupleID = tuple.ScheduleTupleID,
                    // optional in the schema, required by EVs' peers (Josev's SECC): the profile stays within the schedule
                    PowerToleranceAcceptance = PowerToleranceAcceptanceType.PowerToleranceConfirmed,
                })
                : new EVPowerProfileTypeChoice.Dynamic_EVPPTControlMode(new Dynamic_EVPPTControlModeType()),
            EVPowerProfileEntries = new EVPowerProfileEntryListType
            {
                EVPowerProfileEntry = [new PowerScheduleEntryType { Duration = Math.Max(1, options.DepartureSeconds), Power = Rn(power) }],
            },
        };
        return request;
    }

    private DisplayParametersType Display() => new()
    {
        PresentSOC = _battery.SocByte,
        TargetSOC = (sbyte)Math.Round(options.TargetSoc),
        MinimumSOC = options.MinimumSoc is { } min ? (sbyte)Math.Round(min) : null,
        BatteryEnergyCapacity = Rn(options.BatteryCapacityWh),
        ChargingComplete = _battery.Full,
    };

    private static bool StopAsked(EVSEStatusType? status) => status?.EVSENotification is EvseNotificationType.Terminate or EvseNotificationType.Pause;

    /// <summary>The EVSE asks for new schedules (its limits changed); dynamic control needs none.</summary>
    private bool RenegotiationAsked(EVSEStatusType? status) => !options.DynamicControl && status?.EVSENotification == EvseNotificationType.ScheduleRenegotiation;

    private CLReqControlModeType DcControl()
    {
        FollowPlan();
        double discharge = DischargeNowW;
        if (options.DynamicControl)
        {
            return _bpt
                ? new BPT_Dynamic_DC_CLReqControlModeType
                {
                    DepartureTime = options.DepartureSeconds,
                    EVTargetEnergyRequest = Rn(_battery.NeededWh),
                    EVMaximumEnergyRequest = Rn(MaximumEnergyWh()),
                    EVMinimumEnergyRequest = Rn(MinimumEnergyWh()),
                    EVMaximumChargePower = Rn(options.MaxPowerW),
                    EVMinimumChargePower = Rn(0),
                    EVMaximumChargeCurrent = Rn(options.MaxCurrentA),
                    EVMaximumVoltage = Rn(options.MaxVoltageV),
                    EVMinimumVoltage = Rn(Math.Min(options.TargetVoltageV, 200)),
                    EVMaximumDischargePower = Rn(discharge),
                    EVMinimumDischargePower = Rn(0),
                    EVMaximumDischargeCurrent = Rn(DcCurrentA(discharge)),
                }
                : new Dynamic_DC_CLReqControlModeType
                {
                    DepartureTime = options.DepartureSeconds,
                    EVTargetEnergyRequest = Rn(_battery.NeededWh),
                    EVMaximumEnergyRequest = Rn(MaximumEnergyWh()),
                    EVMinimumEnergyRequest = Rn(MinimumEnergyWh()),
                    EVMaximumChargePower = Rn(options.MaxPowerW),
                    EVMinimumChargePower = Rn(0),
                    EVMaximumChargeCurrent = Rn(options.MaxCurrentA),
                    EVMaximumVoltage = Rn(options.MaxVoltageV),
                    EVMinimumVoltage = Rn(Math.Min(options.TargetVoltageV, 200)),
                };
        }
        // scheduled: the EV sets the current, negative while its plan feeds in
        double target = InStandby ? 0 : _discharging ? -DcCurrentA(PlannedDischargeW) : _battery.DcCurrentA;
        return _bpt
            ? new BPT_Scheduled_DC_CLReqControlModeType
            {
                EVTargetCurrent = Rn(target),
                EVTargetVoltage = Rn(options.TargetVoltageV),
                EVMaximumChargePower = Rn(options.MaxPowerW),
                EVMaximumChargeCurrent = Rn(options.MaxCurrentA),
                EVMaximumVoltage = Rn(options.MaxVoltageV),
                EVMaximumDischargePower = Rn(discharge),
                EVMaximumDischargeCurrent = Rn(DcCurrentA(discharge)),
            }
            : new Scheduled_DC_CLReqControlModeType
            {
                EVTargetCurrent = Rn(target),
                EVTargetVoltage = Rn(options.TargetVoltageV),
                EVMaximumChargePower = Rn(options.MaxPowerW),
                EVMaximumChargeCurrent = Rn(options.MaxCurrentA),
                EVMaximumVoltage = Rn(options.MaxVoltageV),
            };
    }

    private async Task<LoopAnswer> DcLoopAsync(V2gtpConnection c)
    {
        var control = DcControl();
        var r = await SendAsync<DC_ChargeLoopResType>(c, new DC_ChargeLoopReqType
        {
            Header = null!,
            DisplayParameters = Display(),
            MeterInfoRequested = false,
            EVPresentVoltage = Rn(options.TargetVoltageV),
            CLReqControlMode = control,
        }, V2gMessageKind.CurrentDemand).ConfigureAwait(false);
        double? limit = r.CLResControlMode switch
        {
            Scheduled_DC_CLResControlModeType s => SiOrNull(s.EVSEMaximumChargeCurrent),
            Dynamic_DC_CLResControlModeType d => Si(d.EVSEMaximumChargeCurrent),
            _ => null,
        };
        (_loopStatus, _loopMeter) = (r.EVSEStatus, r.MeterInfo);
        return new LoopAnswer(Si(r.EVSEPresentVoltage) * Si(r.EVSEPresentCurrent), limit, StopAsked(r.EVSEStatus), RenegotiationAsked(r.EVSEStatus));
    }

    private async Task<LoopAnswer> AcLoopAsync(V2gtpConnection c)
    {
        double maxPower = AcPowerW(Math.Min(options.MaxCurrentA, _battery.LimitA));
        FollowPlan();
        double discharge = DischargeNowW;
        if (_discharging)
        {
            _lastAcPowerW = -PlannedDischargeW;   // scheduled BPT: the EV feeds in on its own plan
        }
        CLReqControlModeType control = (options.DynamicControl, _bpt) switch
        {
            (true, true) => new BPT_Dynamic_AC_CLReqControlModeType
            {
                DepartureTime = options.DepartureSeconds,
                EVTargetEnergyRequest = Rn(_battery.NeededWh),
                EVMaximumEnergyRequest = Rn(MaximumEnergyWh()),
                EVMinimumEnergyRequest = Rn(MinimumEnergyWh()),
                EVMaximumChargePower = Rn(AcPowerW(options.MaxCurrentA)),
                EVMinimumChargePower = Rn(AcPowerW(options.MinCurrentA)),
                EVPresentActivePower = Rn(_lastAcPowerW),
                EVPresentReactivePower = Rn(0),
                EVMaximumDischargePower = Rn(discharge),
                EVMinimumDischargePower = Rn(0),
            },
            (true, false) => new Dynamic_AC_CLReqControlModeType
            {
                DepartureTime = options.DepartureSeconds,
                EVTargetEnergyRequest = Rn(_battery.NeededWh),
                EVMaximumEnergyRequest = Rn(MaximumEnergyWh()),
                EVMinimumEnergyRequest = Rn(MinimumEnergyWh()),
                EVMaximumChargePower = Rn(AcPowerW(options.MaxCurrentA)),
                EVMinimumChargePower = Rn(AcPowerW(options.MinCurrentA)),
                EVPresentActivePower = Rn(_lastAcPowerW),
                EVPresentReactivePower = Rn(0),
            },
            (false, true) => new BPT_Scheduled_AC_CLReqControlModeType
            {
                EVMaximumChargePower = Rn(AcPowerW(options.MaxCurrentA)),
                EVMinimumChargePower = Rn(AcPowerW(options.MinCurrentA)),
                EVPresentActivePower = Rn(_lastAcPowerW),
                EVMaximumDischargePower = Rn(discharge),
                EVMinimumDischargePower = Rn(0),
            },
            _ => new Scheduled_AC_CLReqControlModeType
            {
                EVMaximumChargePower = Rn(AcPowerW(options.MaxCurrentA)),
                EVMinimumChargePower = Rn(AcPowerW(options.MinCurrentA)),
                EVPresentActivePower = Rn(_lastAcPowerW),
            },
        };
        var r = await SendAsync<AC_ChargeLoopResType>(c, new AC_ChargeLoopReqType { Header = null!, DisplayParameters = Display(), MeterInfoRequested = false, CLReqControlMode = control },
            V2gMessageKind.ChargingStatus).ConfigureAwait(false);
        double? target = r.CLResControlMode switch
        {
            Scheduled_AC_CLResControlModeType s => SiOrNull(s.EVSETargetActivePower),
            Dynamic_AC_CLResControlModeType d => Si(d.EVSETargetActivePower),
            _ => null,
        };
        // the EV draws what it may: its own maximum within the charger's target power; a negative target (dynamic
        // BPT) it feeds in as far as it can; its own plan (scheduled BPT) it follows
        if (InStandby)
        {
            _lastAcPowerW = 0;   // standby: the EV draws nothing
        }
        else if (!_discharging)
        {
            _lastAcPowerW = target is < 0 and var t0 ? Math.Max(t0, -discharge) : Math.Min(AcPowerW(options.MaxCurrentA), target ?? maxPower);
        }
        (_loopStatus, _loopMeter) = (r.EVSEStatus, r.MeterInfo);
        return new LoopAnswer(_lastAcPowerW, target is { } t ? Math.Max(0, t) / (230 * options.Phases) : null, StopAsked(r.EVSEStatus), RenegotiationAsked(r.EVSEStatus));
    }

    private double _lastAcPowerW;
}
