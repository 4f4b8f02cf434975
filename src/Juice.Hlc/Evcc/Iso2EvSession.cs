using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;
using static Juice.Hlc.Secc.Iso2.Iso2Values;

namespace Juice.Hlc.Evcc;

/// <summary>
/// The EV side of an ISO 15118-2 session with external identification, AC or DC: SessionSetup to SessionStop,
/// repeating requests the charger answers with Ongoing, and a charging loop that fills the battery model.
/// </summary>
internal sealed class Iso2EvSession(EvClient client, EvOptions options, TimeProvider time)
{
    private byte[] _sessionId = new byte[8];
    private int _messages;
    private readonly EvBattery _battery = new(options, time);
    private byte _tupleId = 1;
    private bool Dc => options.Energy == EnergyTransfer.Dc;

    private async Task<TResponse> SendAsync<TResponse>(V2gtpConnection connection, BodyBaseType body, CancellationToken ct) where TResponse : BodyBaseType
    {
        string name = body.GetType().Name.Replace("Type", "", StringComparison.Ordinal);
        var request = new V2G_Message { Header = new MessageHeaderType { SessionID = _sessionId }, Body = new BodyType { BodyElement = body } };
        byte[] bytes = await client.ExchangeAsync(connection, Iso2Exi.Encode(request), name, ct).ConfigureAwait(false);
        _messages++;
        var response = Iso2Exi.Decode(bytes);
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

    private Task<TResponse> UntilFinishedAsync<TResponse>(V2gtpConnection c, Func<BodyBaseType> request, Func<TResponse, bool> finished, string what, CancellationToken ct) where TResponse : BodyBaseType =>
        EvRetry.UntilAsync(() => SendAsync<TResponse>(c, request(), ct), finished, what, options.OngoingTimeout, time);

    private DC_EVStatusType EvStatus() => new() { EVReady = true, EVErrorCode = DC_EVErrorCodeType.NO_ERROR, EVRESSSOC = _battery.SocByte };

    public async Task<EvResult> RunAsync(V2gtpConnection c, IProgress<EvProgress>? progress, CancellationToken stop)
    {
        var none = CancellationToken.None;
        await SendAsync<SessionSetupResType>(c, new SessionSetupReqType { EVCCID = options.Evccid }, none).ConfigureAwait(false);
        var discovery = await SendAsync<ServiceDiscoveryResType>(c, new ServiceDiscoveryReqType(), none).ConfigureAwait(false);
        var wanted = Dc ? new[] { EnergyTransferModeType.DC_extended, EnergyTransferModeType.DC_core } : [EnergyTransferModeType.AC_three_phase_core, EnergyTransferModeType.AC_single_phase_core];
        var mode = discovery.ChargeService.SupportedEnergyTransferMode.EnergyTransferMode.Where(wanted.Contains).Cast<EnergyTransferModeType?>().FirstOrDefault()
            ?? throw new EvSessionException($"the charger offers no {(Dc ? "DC" : "AC")} energy transfer mode");
        if (!discovery.PaymentOptionList.PaymentOption.Contains(PaymentOptionType.ExternalPayment))
        {
            throw new EvSessionException("the charger offers no external identification (EIM)");
        }
        await SendAsync<PaymentServiceSelectionResType>(c, new PaymentServiceSelectionReqType
        {
            SelectedPaymentOption = PaymentOptionType.ExternalPayment,
            SelectedServiceList = new SelectedServiceListType { SelectedService = [new SelectedServiceType { ServiceID = discovery.ChargeService.ServiceID }] },
        }, none).ConfigureAwait(false);
        await UntilFinishedAsync<AuthorizationResType>(c, () => new AuthorizationReqType(), r => r.EVSEProcessing == EVSEProcessingType.Finished, "authorization", none).ConfigureAwait(false);
        var cpd = await UntilFinishedAsync<ChargeParameterDiscoveryResType>(c, () => ChargeParameters(mode), r => r.EVSEProcessing == EVSEProcessingType.Finished, "charge parameter discovery", none).ConfigureAwait(false);
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
        if (Dc)
        {
            await UntilFinishedAsync<CableCheckResType>(c, () => new CableCheckReqType { DC_EVStatus = EvStatus() }, r => r.EVSEProcessing == EVSEProcessingType.Finished, "cable check", none).ConfigureAwait(false);
            await UntilFinishedAsync<PreChargeResType>(c, () => new PreChargeReqType
            {
                DC_EVStatus = EvStatus(),
                EVTargetVoltage = Pv(options.TargetVoltageV, UnitSymbolType.V),
                EVTargetCurrent = Pv(2, UnitSymbolType.A),
            }, r => options.SkipPreChargeVoltageCheck || Math.Abs(Si(r.EVSEPresentVoltage) - options.TargetVoltageV) <= options.PreChargeToleranceV, "pre-charge", none).ConfigureAwait(false);
        }
        await SendAsync<PowerDeliveryResType>(c, new PowerDeliveryReqType { ChargeProgress = ChargeProgressType.Start, SAScheduleTupleID = _tupleId }, none).ConfigureAwait(false);

        string reason = await _battery.ChargeAsync(() => LoopExchangeAsync(c), Dc ? "CurrentDemand" : "ChargingStatus", progress, stop).ConfigureAwait(false);

        await SendAsync<PowerDeliveryResType>(c, new PowerDeliveryReqType { ChargeProgress = ChargeProgressType.Stop, SAScheduleTupleID = _tupleId }, none).ConfigureAwait(false);
        if (Dc)
        {
            await SendAsync<WeldingDetectionResType>(c, new WeldingDetectionReqType { DC_EVStatus = EvStatus() }, none).ConfigureAwait(false);
        }
        await SendAsync<SessionStopResType>(c, new SessionStopReqType { ChargingSession = ChargingSessionType.Terminate }, none).ConfigureAwait(false);
        return new EvResult(true, reason, V2gProtocol.Iso15118_2, _battery.Soc, _battery.EnergyWh, _messages);
    }

    private ChargeParameterDiscoveryReqType ChargeParameters(EnergyTransferModeType mode) => new()
    {
        RequestedEnergyTransferMode = mode,
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
                EVMinCurrent = Pv(6, UnitSymbolType.A),
            },
    };

    /// <summary>One charging-loop exchange: ChargingStatus (AC) or CurrentDemand (DC).</summary>
    private async Task<(double PowerW, double? LimitA, bool StopRequested)> LoopExchangeAsync(V2gtpConnection c)
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
            }, CancellationToken.None).ConfigureAwait(false);
            return (Si(r.EVSEPresentVoltage) * Si(r.EVSEPresentCurrent), SiOrNull(r.EVSEMaximumCurrentLimit), r.DC_EVSEStatus.EVSENotification == EVSENotificationType.StopCharging);
        }
        var s = await SendAsync<ChargingStatusResType>(c, new ChargingStatusReqType(), CancellationToken.None).ConfigureAwait(false);
        double limit = s.EVSEMaxCurrent is { } max ? Si(max) : _battery.LimitA;
        return (3 * 230 * Math.Min(limit, options.MaxCurrentA), limit, s.AC_EVSEStatus.EVSENotification == EVSENotificationType.StopCharging);
    }
}
