using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Din;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;
using static Juice.Hlc.Secc.Din.DinValues;

namespace Juice.Hlc.Evcc;

/// <summary>The EV side of a DIN SPEC 70121 session: DC with external payment, SessionSetup to SessionStop.</summary>
internal sealed class DinEvSession(EvClient client, EvOptions options, TimeProvider time)
{
    private byte[] _sessionId = new byte[8];
    private int _messages;
    private readonly EvBattery _battery = new(options, time);

    private async Task<TResponse> SendAsync<TResponse>(V2gtpConnection connection, BodyBaseType body, V2gMessageKind kind) where TResponse : BodyBaseType
    {
        var request = new V2G_Message { Header = new MessageHeaderType { SessionID = _sessionId }, Body = new BodyType { BodyElement = body } };
        byte[] bytes = await client.ExchangeAsync(connection, DinExi.Encode(request), kind, CancellationToken.None).ConfigureAwait(false);
        _messages++;
        V2G_Message response;
        try
        {
            response = DinExi.Decode(bytes);
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
            _sessionId = response.Header.SessionID;
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
        if (!discovery.PaymentOptions.PaymentOption.Contains(PaymentOptionType.ExternalPayment))
        {
            throw new EvSessionException("the charger offers no external payment");
        }
        await SendAsync<ServicePaymentSelectionResType>(c, new ServicePaymentSelectionReqType
        {
            SelectedPaymentOption = PaymentOptionType.ExternalPayment,
            SelectedServiceList = new SelectedServiceListType { SelectedService = [new SelectedServiceType { ServiceID = discovery.ChargeService.ServiceTag.ServiceID }] },
        }, V2gMessageKind.PaymentServiceSelection).ConfigureAwait(false);
        await UntilFinishedAsync<ContractAuthenticationResType>(c, () => new ContractAuthenticationReqType(), V2gMessageKind.Authorization,
            r => r.EVSEProcessing == EVSEProcessingType.Finished, options.TimersFor(V2gProtocol.Din70121).EvccOngoingTimeout).ConfigureAwait(false);
        var cpd = await UntilFinishedAsync<ChargeParameterDiscoveryResType>(c, () => new ChargeParameterDiscoveryReqType
        {
            EVRequestedEnergyTransferType = EVRequestedEnergyTransferType.DC_extended,
            EVChargeParameter = new DC_EVChargeParameterType
            {
                DC_EVStatus = EvStatus(),
                EVMaximumCurrentLimit = Pv(options.MaxCurrentA, UnitSymbolType.A),
                EVMaximumPowerLimit = Pv(options.MaxPowerW, UnitSymbolType.W),
                EVMaximumVoltageLimit = Pv(options.MaxVoltageV, UnitSymbolType.V),
                EVEnergyCapacity = Pv(options.BatteryCapacityWh, UnitSymbolType.Wh),
                EVEnergyRequest = Pv(_battery.NeededWh, UnitSymbolType.Wh),
                FullSOC = 100,
                BulkSOC = 80,
            },
        }, V2gMessageKind.ChargeParameterDiscovery, r => r.EVSEProcessing == EVSEProcessingType.Finished, options.TimersFor(V2gProtocol.Din70121).EvccOngoingTimeout).ConfigureAwait(false);
        if (cpd.EVSEChargeParameter is DC_EVSEChargeParameterType evse)
        {
            _battery.LimitA = Si(evse.EVSEMaximumCurrentLimit);
        }
        await UntilFinishedAsync<CableCheckResType>(c, () => new CableCheckReqType { DC_EVStatus = EvStatus() }, V2gMessageKind.CableCheck,
            r => r.EVSEProcessing == EVSEProcessingType.Finished, options.TimersFor(V2gProtocol.Din70121).EvccCableCheckTimeout).ConfigureAwait(false);
        await UntilFinishedAsync<PreChargeResType>(c, () => new PreChargeReqType
        {
            DC_EVStatus = EvStatus(),
            EVTargetVoltage = Pv(options.TargetVoltageV, UnitSymbolType.V),
            EVTargetCurrent = Pv(2, UnitSymbolType.A),
        }, V2gMessageKind.PreCharge, r => options.SkipPreChargeVoltageCheck || Math.Abs(Si(r.EVSEPresentVoltage) - options.TargetVoltageV) <= options.PreChargeToleranceV,
            options.TimersFor(V2gProtocol.Din70121).EvccPreChargeTimeout).ConfigureAwait(false);
        await SendAsync<PowerDeliveryResType>(c, PowerDelivery(true), V2gMessageKind.PowerDelivery).ConfigureAwait(false);

        var end = await _battery.ChargeAsync(async () =>
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
            return new LoopAnswer(Si(r.EVSEPresentVoltage) * Si(r.EVSEPresentCurrent), SiOrNull(r.EVSEMaximumCurrentLimit),
                r.DC_EVSEStatus.EVSENotification == EVSENotificationType.StopCharging || r.DC_EVSEStatus.EVSEStatusCode is DC_EVSEStatusCodeType.EVSE_Shutdown or DC_EVSEStatusCodeType.EVSE_EmergencyShutdown);
        }, "CurrentDemand", progress, stop).ConfigureAwait(false);

        await SendAsync<PowerDeliveryResType>(c, PowerDelivery(false), V2gMessageKind.PowerDelivery).ConfigureAwait(false);
        await SendAsync<WeldingDetectionResType>(c, new WeldingDetectionReqType { DC_EVStatus = EvStatus() }, V2gMessageKind.WeldingDetection).ConfigureAwait(false);
        await SendAsync<SessionStopResType>(c, new SessionStopType(), V2gMessageKind.SessionStop).ConfigureAwait(false);
        return new EvResult(true, end.Reason, V2gProtocol.Din70121, _battery.Soc, _battery.EnergyWh, _messages, _sessionId);
    }

    private PowerDeliveryReqType PowerDelivery(bool ready) => new()
    {
        ReadyToChargeState = ready,
        EVPowerDeliveryParameter = new DC_EVPowerDeliveryParameterType { DC_EVStatus = EvStatus(), ChargingComplete = !ready && _battery.Full },
    };
}
