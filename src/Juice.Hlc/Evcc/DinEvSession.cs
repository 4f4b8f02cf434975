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

    private async Task<TResponse> SendAsync<TResponse>(V2gtpConnection connection, BodyBaseType body, CancellationToken ct) where TResponse : BodyBaseType
    {
        string name = body is SessionStopType ? "SessionStopReq" : body.GetType().Name.Replace("Type", "", StringComparison.Ordinal);
        var request = new V2G_Message { Header = new MessageHeaderType { SessionID = _sessionId }, Body = new BodyType { BodyElement = body } };
        byte[] bytes = await client.ExchangeAsync(connection, DinExi.Encode(request), name, ct).ConfigureAwait(false);
        _messages++;
        var response = DinExi.Decode(bytes);
        if (response.Body.BodyElement is not TResponse typed)
        {
            throw new EvSessionException($"{name} was answered with {response.Body.BodyElement?.GetType().Name ?? "an empty body"}");
        }
        var code = (ResponseCodeType)typeof(TResponse).GetProperty("ResponseCode")!.GetValue(typed)!;
        if (code is not (ResponseCodeType.OK or ResponseCodeType.OK_NewSessionEstablished or ResponseCodeType.OK_OldSessionJoined or ResponseCodeType.OK_CertificateExpiresSoon))
        {
            throw new EvSessionException($"the charger answered {name} with {code}");
        }
        if (typed is SessionSetupResType)
        {
            _sessionId = response.Header.SessionID;
        }
        return typed;
    }

    private Task<TResponse> UntilFinishedAsync<TResponse>(V2gtpConnection c, Func<BodyBaseType> request, Func<TResponse, bool> finished, string what) where TResponse : BodyBaseType =>
        EvRetry.UntilAsync(() => SendAsync<TResponse>(c, request(), CancellationToken.None), finished, what, options.OngoingTimeout, time);

    private DC_EVStatusType EvStatus() => new() { EVReady = true, EVErrorCode = DC_EVErrorCodeType.NO_ERROR, EVRESSSOC = _battery.SocByte };

    public async Task<EvResult> RunAsync(V2gtpConnection c, IProgress<EvProgress>? progress, CancellationToken stop)
    {
        var none = CancellationToken.None;
        await SendAsync<SessionSetupResType>(c, new SessionSetupReqType { EVCCID = options.Evccid }, none).ConfigureAwait(false);
        var discovery = await SendAsync<ServiceDiscoveryResType>(c, new ServiceDiscoveryReqType(), none).ConfigureAwait(false);
        if (!discovery.PaymentOptions.PaymentOption.Contains(PaymentOptionType.ExternalPayment))
        {
            throw new EvSessionException("the charger offers no external payment");
        }
        await SendAsync<ServicePaymentSelectionResType>(c, new ServicePaymentSelectionReqType
        {
            SelectedPaymentOption = PaymentOptionType.ExternalPayment,
            SelectedServiceList = new SelectedServiceListType { SelectedService = [new SelectedServiceType { ServiceID = discovery.ChargeService.ServiceTag.ServiceID }] },
        }, none).ConfigureAwait(false);
        await UntilFinishedAsync<ContractAuthenticationResType>(c, () => new ContractAuthenticationReqType(), r => r.EVSEProcessing == EVSEProcessingType.Finished, "contract authentication").ConfigureAwait(false);
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
        }, r => r.EVSEProcessing == EVSEProcessingType.Finished, "charge parameter discovery").ConfigureAwait(false);
        if (cpd.EVSEChargeParameter is DC_EVSEChargeParameterType evse)
        {
            _battery.LimitA = Si(evse.EVSEMaximumCurrentLimit);
        }
        await UntilFinishedAsync<CableCheckResType>(c, () => new CableCheckReqType { DC_EVStatus = EvStatus() }, r => r.EVSEProcessing == EVSEProcessingType.Finished, "cable check").ConfigureAwait(false);
        await UntilFinishedAsync<PreChargeResType>(c, () => new PreChargeReqType
        {
            DC_EVStatus = EvStatus(),
            EVTargetVoltage = Pv(options.TargetVoltageV, UnitSymbolType.V),
            EVTargetCurrent = Pv(2, UnitSymbolType.A),
        }, r => options.SkipPreChargeVoltageCheck || Math.Abs(Si(r.EVSEPresentVoltage) - options.TargetVoltageV) <= options.PreChargeToleranceV, "pre-charge").ConfigureAwait(false);
        await SendAsync<PowerDeliveryResType>(c, new PowerDeliveryReqType { ReadyToChargeState = true }, none).ConfigureAwait(false);

        string reason = await _battery.ChargeAsync(async () =>
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
            }, none).ConfigureAwait(false);
            return (Si(r.EVSEPresentVoltage) * Si(r.EVSEPresentCurrent), SiOrNull(r.EVSEMaximumCurrentLimit), r.DC_EVSEStatus.EVSENotification == EVSENotificationType.StopCharging);
        }, "CurrentDemand", progress, stop).ConfigureAwait(false);

        await SendAsync<PowerDeliveryResType>(c, new PowerDeliveryReqType { ReadyToChargeState = false }, none).ConfigureAwait(false);
        await SendAsync<WeldingDetectionResType>(c, new WeldingDetectionReqType { DC_EVStatus = EvStatus() }, none).ConfigureAwait(false);
        await SendAsync<SessionStopResType>(c, new SessionStopType(), none).ConfigureAwait(false);
        return new EvResult(true, reason, V2gProtocol.Din70121, _battery.Soc, _battery.EnergyWh, _messages);
    }
}
