using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;
using static Juice.Hlc.Secc.Iso2.Iso2Values;

namespace Juice.Hlc.Evcc;

/// <summary>
/// The EV side of an ISO 15118-2 session with external identification, AC or DC: SessionSetup to SessionStop,
/// repeating requests the charger answers with Ongoing, renegotiating when the charger asks, and a charging loop
/// that fills the battery model. Ends with SessionStop(Terminate), or (Pause) to be resumed with the same SessionID.
/// </summary>
internal sealed class Iso2EvSession(EvClient client, EvOptions options, TimeProvider time)
{
    private byte[] _sessionId = options.ResumeSessionId ?? new byte[8];
    private int _messages;
    private bool _resumed;
    private readonly EvBattery _battery = new(options, time);
    private byte _tupleId = 1;
    private EnergyTransferModeType _mode;
    private bool Dc => options.Energy == EnergyTransfer.Dc;

    private async Task<TResponse> SendAsync<TResponse>(V2gtpConnection connection, BodyBaseType body, V2gMessageKind kind) where TResponse : BodyBaseType
    {
        var request = new V2G_Message { Header = new MessageHeaderType { SessionID = _sessionId }, Body = new BodyType { BodyElement = body } };
        byte[] bytes = await client.ExchangeAsync(connection, Iso2Exi.Encode(request), kind, CancellationToken.None).ConfigureAwait(false);
        _messages++;
        V2G_Message response;
        try
        {
            response = Iso2Exi.Decode(bytes);
        }
        catch (ExiContentException e)
        {
            throw new EvSessionException($"undecodable response to {kind}Req: {e.Message}");
        }
        if (response.Body.BodyElement is not TResponse typed)
        {
            throw new EvSessionException($"{kind}Req was answered with {response.Body.BodyElement?.GetType().Name ?? "an empty body"}");
        }
        var code = ResponseCodeOf<TResponse, ResponseCodeType>.Get(typed);
        if (code is not (ResponseCodeType.OK or ResponseCodeType.OK_NewSessionEstablished or ResponseCodeType.OK_OldSessionJoined or ResponseCodeType.OK_CertificateExpiresSoon))
        {
            throw new EvSessionException($"the charger answered {kind}Req with {code}");
        }
        if (typed is SessionSetupResType)
        {
            _resumed = code == ResponseCodeType.OK_OldSessionJoined;
            _sessionId = response.Header.SessionID;
        }
        else if (!response.Header.SessionID.AsSpan().SequenceEqual(_sessionId))
        {
            throw new EvSessionException($"{kind}Res carries SessionID {Convert.ToHexString(response.Header.SessionID)}, not {Convert.ToHexString(_sessionId)}");
        }
        return typed;
    }

    private Task<TResponse> UntilFinishedAsync<TResponse>(V2gtpConnection c, Func<BodyBaseType> request, V2gMessageKind kind, Func<TResponse, bool> finished, TimeSpan timeout)
        where TResponse : BodyBaseType =>
        EvRetry.UntilAsync(() => SendAsync<TResponse>(c, request(), kind), finished, kind.ToString(), timeout, time, options.Delay);

    private DC_EVStatusType EvStatus() => new() { EVReady = true, EVErrorCode = DC_EVErrorCodeType.NO_ERROR, EVRESSSOC = _battery.SocByte };

    public async Task<EvResult> RunAsync(V2gtpConnection c, IProgress<EvProgress>? progress, CancellationToken stop)
    {
        await SendAsync<SessionSetupResType>(c, new SessionSetupReqType { EVCCID = options.Evccid }, V2gMessageKind.SessionSetup).ConfigureAwait(false);
        var discovery = await SendAsync<ServiceDiscoveryResType>(c, new ServiceDiscoveryReqType(), V2gMessageKind.ServiceDiscovery).ConfigureAwait(false);
        var wanted = Dc ? new[] { EnergyTransferModeType.DC_extended, EnergyTransferModeType.DC_core }
            : options.Phases == 1 ? [EnergyTransferModeType.AC_single_phase_core, EnergyTransferModeType.AC_three_phase_core] : [EnergyTransferModeType.AC_three_phase_core, EnergyTransferModeType.AC_single_phase_core];
        _mode = wanted.Where(discovery.ChargeService.SupportedEnergyTransferMode.EnergyTransferMode.Contains).Cast<EnergyTransferModeType?>().FirstOrDefault()
            ?? throw new EvSessionException($"the charger offers no {(Dc ? "DC" : "AC")} energy transfer mode");
        if (!discovery.PaymentOptionList.PaymentOption.Contains(PaymentOptionType.ExternalPayment))
        {
            throw new EvSessionException("the charger offers no external identification (EIM)");
        }
        await SendAsync<PaymentServiceSelectionResType>(c, new PaymentServiceSelectionReqType
        {
            SelectedPaymentOption = PaymentOptionType.ExternalPayment,
            SelectedServiceList = new SelectedServiceListType { SelectedService = [new SelectedServiceType { ServiceID = discovery.ChargeService.ServiceID }] },
        }, V2gMessageKind.PaymentServiceSelection).ConfigureAwait(false);
        await UntilFinishedAsync<AuthorizationResType>(c, () => new AuthorizationReqType(), V2gMessageKind.Authorization,
            r => r.EVSEProcessing == EVSEProcessingType.Finished, options.Timers.EvccOngoingTimeout).ConfigureAwait(false);
        await ChargeParameterDiscoveryAsync(c).ConfigureAwait(false);
        if (Dc)
        {
            await UntilFinishedAsync<CableCheckResType>(c, () => new CableCheckReqType { DC_EVStatus = EvStatus() }, V2gMessageKind.CableCheck,
                r => r.EVSEProcessing == EVSEProcessingType.Finished, options.Timers.EvccCableCheckTimeout).ConfigureAwait(false);
            await UntilFinishedAsync<PreChargeResType>(c, () => new PreChargeReqType
            {
                DC_EVStatus = EvStatus(),
                EVTargetVoltage = Pv(options.TargetVoltageV, UnitSymbolType.V),
                EVTargetCurrent = Pv(2, UnitSymbolType.A),
            }, V2gMessageKind.PreCharge, r => options.SkipPreChargeVoltageCheck || Math.Abs(Si(r.EVSEPresentVoltage) - options.TargetVoltageV) <= options.PreChargeToleranceV,
                options.Timers.EvccPreChargeTimeout).ConfigureAwait(false);
        }
        await PowerDeliveryAsync(c, ChargeProgressType.Start).ConfigureAwait(false);

        LoopEnd end;
        while ((end = await _battery.ChargeAsync(() => LoopExchangeAsync(c), Dc ? "CurrentDemand" : "ChargingStatus", progress, stop).ConfigureAwait(false)).Renegotiate)
        {
            // [V2G2-813]: PowerDelivery(Renegotiate), a new charge parameter discovery, and charging again
            await PowerDeliveryAsync(c, ChargeProgressType.Renegotiate).ConfigureAwait(false);
            await ChargeParameterDiscoveryAsync(c).ConfigureAwait(false);
            await PowerDeliveryAsync(c, ChargeProgressType.Start).ConfigureAwait(false);
        }

        await PowerDeliveryAsync(c, ChargeProgressType.Stop).ConfigureAwait(false);
        if (Dc)
        {
            await SendAsync<WeldingDetectionResType>(c, new WeldingDetectionReqType { DC_EVStatus = EvStatus() }, V2gMessageKind.WeldingDetection).ConfigureAwait(false);
        }
        var session = options.Pause ? ChargingSessionType.Pause : ChargingSessionType.Terminate;
        await SendAsync<SessionStopResType>(c, new SessionStopReqType { ChargingSession = session }, V2gMessageKind.SessionStop).ConfigureAwait(false);
        string reason = options.Pause ? end.Reason + "; session paused" : end.Reason;
        return new EvResult(true, reason, V2gProtocol.Iso15118_2, _battery.Soc, _battery.EnergyWh, _messages, _sessionId, _resumed);
    }

    private async Task ChargeParameterDiscoveryAsync(V2gtpConnection c)
    {
        var cpd = await UntilFinishedAsync<ChargeParameterDiscoveryResType>(c, ChargeParameters, V2gMessageKind.ChargeParameterDiscovery,
            r => r.EVSEProcessing == EVSEProcessingType.Finished, options.Timers.EvccOngoingTimeout).ConfigureAwait(false);
        if (cpd.SASchedules is SAScheduleListType { SAScheduleTuple: [var first, ..] })
        {
            _tupleId = first.SAScheduleTupleID;
        }
        _battery.LimitA = cpd.EVSEChargeParameter switch
        {
            AC_EVSEChargeParameterType ac => Si(ac.EVSEMaxCurrent),
            DC_EVSEChargeParameterType dc => Si(dc.EVSEMaximumCurrentLimit),
            _ => options.MaxCurrentA,
        };
    }

    private Task<PowerDeliveryResType> PowerDeliveryAsync(V2gtpConnection c, ChargeProgressType progress) =>
        SendAsync<PowerDeliveryResType>(c, new PowerDeliveryReqType
        {
            ChargeProgress = progress,
            SAScheduleTupleID = _tupleId,
            EVPowerDeliveryParameter = Dc
                ? new DC_EVPowerDeliveryParameterType { DC_EVStatus = EvStatus(), ChargingComplete = progress == ChargeProgressType.Stop && _battery.Full }
                : null,
        }, V2gMessageKind.PowerDelivery);

    private ChargeParameterDiscoveryReqType ChargeParameters() => new()
    {
        RequestedEnergyTransferMode = _mode,
        EVChargeParameter = Dc
            ? new DC_EVChargeParameterType
            {
                DepartureTime = options.DepartureSeconds,
                DC_EVStatus = EvStatus(),
                EVMaximumCurrentLimit = Pv(options.MaxCurrentA, UnitSymbolType.A),
                EVMaximumPowerLimit = Pv(options.MaxPowerW, UnitSymbolType.W),
                EVMaximumVoltageLimit = Pv(options.MaxVoltageV, UnitSymbolType.V),
                EVEnergyCapacity = Pv(options.BatteryCapacityWh, UnitSymbolType.Wh),
                EVEnergyRequest = Pv(_battery.NeededWh, UnitSymbolType.Wh),
                FullSOC = 100,
                BulkSOC = 80,
            }
            : new AC_EVChargeParameterType
            {
                DepartureTime = options.DepartureSeconds,
                EAmount = Pv(_battery.NeededWh, UnitSymbolType.Wh),
                EVMaxVoltage = Pv(options.MaxVoltageV, UnitSymbolType.V),
                EVMaxCurrent = Pv(options.MaxCurrentA, UnitSymbolType.A),
                EVMinCurrent = Pv(options.MinCurrentA, UnitSymbolType.A),
            },
    };

    /// <summary>One charging-loop exchange: ChargingStatus (AC) or CurrentDemand (DC).</summary>
    private async Task<LoopAnswer> LoopExchangeAsync(V2gtpConnection c)
    {
        if (Dc)
        {
            var r = await SendAsync<CurrentDemandResType>(c, new CurrentDemandReqType
            {
                DC_EVStatus = EvStatus(),
                EVTargetCurrent = Pv(_battery.DcCurrentA, UnitSymbolType.A),
                EVTargetVoltage = Pv(options.TargetVoltageV, UnitSymbolType.V),
                EVMaximumCurrentLimit = Pv(options.MaxCurrentA, UnitSymbolType.A),
                EVMaximumVoltageLimit = Pv(options.MaxVoltageV, UnitSymbolType.V),
                EVMaximumPowerLimit = Pv(options.MaxPowerW, UnitSymbolType.W),
                ChargingComplete = _battery.Full,
            }, V2gMessageKind.CurrentDemand).ConfigureAwait(false);
            var n = r.DC_EVSEStatus.EVSENotification;
            return new LoopAnswer(Si(r.EVSEPresentVoltage) * Si(r.EVSEPresentCurrent), SiOrNull(r.EVSEMaximumCurrentLimit),
                n == EVSENotificationType.StopCharging || r.DC_EVSEStatus.EVSEStatusCode is DC_EVSEStatusCodeType.EVSE_Shutdown or DC_EVSEStatusCodeType.EVSE_EmergencyShutdown,
                n == EVSENotificationType.ReNegotiation);
        }
        var s = await SendAsync<ChargingStatusResType>(c, new ChargingStatusReqType(), V2gMessageKind.ChargingStatus).ConfigureAwait(false);
        double limit = s.EVSEMaxCurrent is { } max ? Si(max) : _battery.LimitA;
        int phases = _mode == EnergyTransferModeType.AC_single_phase_core ? 1 : 3;
        double current = Math.Min(limit, options.MaxCurrentA);
        // below the EV's minimum current there is no charging (a limit of 0 pauses it)
        double power = current < options.MinCurrentA ? 0 : phases * 230 * current;
        return new LoopAnswer(power, limit, s.AC_EVSEStatus.EVSENotification == EVSENotificationType.StopCharging,
            s.AC_EVSEStatus.EVSENotification == EVSENotificationType.ReNegotiation);
    }
}
