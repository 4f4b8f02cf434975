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
    private double _soc = options.StartSoc;
    private double _energyWh;
    private double _powerW;
    private double _limitA;
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

    /// <summary>Repeats a request while the charger answers Ongoing, at most for the ongoing timeout.</summary>
    private async Task<TResponse> UntilFinishedAsync<TResponse>(V2gtpConnection c, Func<BodyBaseType> request, Func<TResponse, bool> finished, string what, CancellationToken ct) where TResponse : BodyBaseType
    {
        long start = time.GetTimestamp();
        while (true)
        {
            var response = await SendAsync<TResponse>(c, request(), ct).ConfigureAwait(false);
            if (finished(response))
            {
                return response;
            }
            if (time.GetElapsedTime(start) > options.OngoingTimeout)
            {
                throw new EvSessionException($"{what} not finished within {options.OngoingTimeout.TotalSeconds:0} s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), time, ct).ConfigureAwait(false);
        }
    }

    private DC_EVStatusType EvStatus() => new() { EVReady = true, EVErrorCode = DC_EVErrorCodeType.NO_ERROR, EVRESSSOC = (sbyte)Math.Clamp(_soc, 0, 100) };

    private double NeededWh => Math.Max(0, (options.TargetSoc - _soc) / 100 * options.BatteryCapacityWh);

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
        _limitA = cpd.EVSEChargeParameter switch
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

        string reason = await ChargeAsync(c, progress, stop).ConfigureAwait(false);

        await SendAsync<PowerDeliveryResType>(c, new PowerDeliveryReqType { ChargeProgress = ChargeProgressType.Stop, SAScheduleTupleID = _tupleId }, none).ConfigureAwait(false);
        if (Dc)
        {
            await SendAsync<WeldingDetectionResType>(c, new WeldingDetectionReqType { DC_EVStatus = EvStatus() }, none).ConfigureAwait(false);
        }
        await SendAsync<SessionStopResType>(c, new SessionStopReqType { ChargingSession = ChargingSessionType.Terminate }, none).ConfigureAwait(false);
        return new EvResult(true, reason, V2gProtocol.Iso15118_2, _soc, _energyWh, _messages);
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
                EVEnergyRequest = Pv(NeededWh, UnitSymbolType.Wh),
                FullSOC = 100,
                BulkSOC = 80,
            }
            : new AC_EVChargeParameterType
            {
                DepartureTime = options.DepartureSeconds,
                EAmount = Pv(NeededWh, UnitSymbolType.Wh),
                EVMaxVoltage = Pv(options.MaxVoltageV, UnitSymbolType.V),
                EVMaxCurrent = Pv(options.MaxCurrentA, UnitSymbolType.A),
                EVMinCurrent = Pv(6, UnitSymbolType.A),
            },
    };

    /// <summary>The charging loop; returns why it stopped.</summary>
    private async Task<string> ChargeAsync(V2gtpConnection c, IProgress<EvProgress>? progress, CancellationToken stop)
    {
        long started = time.GetTimestamp();
        long last = started;
        while (true)
        {
            EVSENotificationType notification;
            if (Dc)
            {
                double current = Math.Min(Math.Min(options.MaxCurrentA, _limitA), options.MaxPowerW / options.TargetVoltageV);
                var r = await SendAsync<CurrentDemandResType>(c, new CurrentDemandReqType
                {
                    DC_EVStatus = EvStatus(),
                    EVTargetCurrent = Pv(current, UnitSymbolType.A),
                    EVTargetVoltage = Pv(options.TargetVoltageV, UnitSymbolType.V),
                    EVMaximumCurrentLimit = Pv(options.MaxCurrentA, UnitSymbolType.A),
                    EVMaximumVoltageLimit = Pv(options.MaxVoltageV, UnitSymbolType.V),
                    EVMaximumPowerLimit = Pv(options.MaxPowerW, UnitSymbolType.W),
                    ChargingComplete = _soc >= options.TargetSoc,
                }, CancellationToken.None).ConfigureAwait(false);
                _powerW = Si(r.EVSEPresentVoltage) * Si(r.EVSEPresentCurrent);
                if (r.EVSEMaximumCurrentLimit is { } max)
                {
                    _limitA = Si(max);
                }
                notification = r.DC_EVSEStatus.EVSENotification;
            }
            else
            {
                var r = await SendAsync<ChargingStatusResType>(c, new ChargingStatusReqType(), CancellationToken.None).ConfigureAwait(false);
                if (r.EVSEMaxCurrent is { } max)
                {
                    _limitA = Si(max);
                }
                _powerW = 3 * 230 * Math.Min(_limitA, options.MaxCurrentA);
                notification = r.AC_EVSEStatus.EVSENotification;
            }
            long now = time.GetTimestamp();
            double wh = _powerW * time.GetElapsedTime(last, now).TotalHours;
            last = now;
            _energyWh += wh;
            _soc = Math.Min(100, _soc + wh / options.BatteryCapacityWh * 100);
            progress?.Report(new EvProgress(Dc ? "CurrentDemand" : "ChargingStatus", _soc, _energyWh, _powerW, _limitA));
            if (_soc >= options.TargetSoc)
            {
                return $"target SoC {options.TargetSoc:0} % reached";
            }
            if (notification == EVSENotificationType.StopCharging)
            {
                return "the charger asked to stop";
            }
            if (options.Duration is { } d && time.GetElapsedTime(started) >= d)
            {
                return $"duration of {d.TotalSeconds:0} s elapsed";
            }
            try
            {
                await Task.Delay(options.LoopInterval, time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return "stopped by the user";
            }
        }
    }
}
