using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Exi.XmlDsig;
using Juice.Hlc.Secc;
using Juice.Hlc.Security;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;
using static Juice.Hlc.Secc.Iso2.Iso2Values;

namespace Juice.Hlc.Evcc;

/// <summary>
/// The EV side of an ISO 15118-2 session with external identification or Plug &amp; Charge, AC or DC: SessionSetup to SessionStop,
/// repeating requests the charger answers with Ongoing, renegotiating when the charger asks, and a charging loop
/// that fills the battery model. Ends with SessionStop(Terminate), or (Pause) to be resumed with the same SessionID.
/// </summary>
internal sealed class Iso2EvSession(EvClient client, EvOptions options, TimeProvider time)
{
    private byte[] _sessionId = options.ResumeSessionId ?? new byte[8];
    private int _messages;
    private bool _resumed;
    private readonly EvBattery _battery = new(options, time);
    private SAScheduleTupleType? _tuple;
    /// <summary>The SAScheduleTuple the EV follows: the first the SECC offered, or 1 when it offered none.</summary>
    private byte TupleId => _tuple?.SAScheduleTupleID ?? 1;
    private EnergyTransferModeType _mode;
    private bool Dc => options.Energy == EnergyTransfer.Dc;
    private MessageHeaderType? _lastHeader;
    private PncContract? _contract;
    private bool _installed;
    private int _receipts;

    /// <summary>A contract at hand: its chain (leaf first) and key.</summary>
    private sealed record PncContract(IReadOnlyList<Org.BouncyCastle.X509.X509Certificate> Chain, Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters Key)
    {
        public string Emaid => Juice.Hlc.Security.Emaid.Normalize(V2gCertificates.CommonName(Chain[0]) ?? "");

        public CertificateChainType Message(string? id = null) => new()
        {
            Id = id,
            Certificate = Chain[0].GetEncoded(),
            SubCertificates = Chain.Count > 1 ? new SubCertificatesType { Certificate = [.. Chain.Skip(1).Select(c => c.GetEncoded())] } : null,
        };
    }

    private async Task<TResponse> SendAsync<TResponse>(V2gtpConnection connection, BodyBaseType body, V2gMessageKind kind, SignatureType? signature = null) where TResponse : BodyBaseType
    {
        var request = new V2G_Message { Header = new MessageHeaderType { SessionID = _sessionId, Signature = signature }, Body = new BodyType { BodyElement = body } };
        if (options.Tamper is { } tamper)
        {
            request = tamper(request);
        }
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
        _lastHeader = response.Header;
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
        var payment = options.PlugAndCharge is null ? PaymentOptionType.ExternalPayment : PaymentOptionType.Contract;
        if (!discovery.PaymentOptionList.PaymentOption.Contains(payment))
        {
            throw new EvSessionException(payment == PaymentOptionType.Contract
                ? "the charger offers no Plug & Charge (Contract) on this connection (TLS is needed)"
                : "the charger offers no external identification (EIM)");
        }
        await SendAsync<PaymentServiceSelectionResType>(c, new PaymentServiceSelectionReqType
        {
            SelectedPaymentOption = payment,
            SelectedServiceList = new SelectedServiceListType { SelectedService = [new SelectedServiceType { ServiceID = discovery.ChargeService.ServiceID }] },
        }, V2gMessageKind.PaymentServiceSelection).ConfigureAwait(false);
        if (options.PlugAndCharge is { } pnc)
        {
            await ContractAuthorizationAsync(c, pnc).ConfigureAwait(false);
        }
        else
        {
            await UntilFinishedAsync<AuthorizationResType>(c, () => new AuthorizationReqType(), V2gMessageKind.Authorization,
                r => r.EVSEProcessing == EVSEProcessingType.Finished, options.TimersFor(V2gProtocol.Iso15118_2).EvccOngoingTimeout).ConfigureAwait(false);
        }
        await ChargeParameterDiscoveryAsync(c).ConfigureAwait(false);
        if (Dc)
        {
            await CableCheckAndPreChargeAsync(c).ConfigureAwait(false);
        }
        await PowerDeliveryAsync(c, ChargeProgressType.Start).ConfigureAwait(false);

        LoopEnd end;
        while ((end = await _battery.ChargeAsync(() => LoopExchangeAsync(c), Dc ? "CurrentDemand" : "ChargingStatus", progress, stop, canRenegotiate: true).ConfigureAwait(false)).Renegotiate)
        {
            // [V2G2-813]: PowerDelivery(Renegotiate), a new charge parameter discovery, and charging again
            await PowerDeliveryAsync(c, ChargeProgressType.Renegotiate).ConfigureAwait(false);
            await ChargeParameterDiscoveryAsync(c).ConfigureAwait(false);
            if (Dc && options.RecheckCableAfterRenegotiation)
            {
                // not in the standard's sequence (Figure 108 goes on with PowerDelivery), but EVs of other stacks do it
                await CableCheckAndPreChargeAsync(c).ConfigureAwait(false);
            }
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
        return new EvResult(true, reason, V2gProtocol.Iso15118_2, _battery.Soc, _battery.EnergyWh, _messages, _sessionId, _resumed,
            _contract?.Emaid, _installed, _receipts);
    }

    /// <summary>DC: CableCheck until the isolation test is finished, then PreCharge until the present voltage is the target.</summary>
    private async Task CableCheckAndPreChargeAsync(V2gtpConnection c)
    {
        await UntilFinishedAsync<CableCheckResType>(c, () => new CableCheckReqType { DC_EVStatus = EvStatus() }, V2gMessageKind.CableCheck,
            r => r.EVSEProcessing == EVSEProcessingType.Finished, options.TimersFor(V2gProtocol.Iso15118_2).EvccCableCheckTimeout).ConfigureAwait(false);
        await UntilFinishedAsync<PreChargeResType>(c, () => new PreChargeReqType
        {
            DC_EVStatus = EvStatus(),
            EVTargetVoltage = Pv(options.TargetVoltageV, UnitSymbolType.V),
            EVTargetCurrent = Pv(2, UnitSymbolType.A),
        }, V2gMessageKind.PreCharge, r => options.SkipPreChargeVoltageCheck || Math.Abs(Si(r.EVSEPresentVoltage) - options.TargetVoltageV) <= options.PreChargeToleranceV,
            options.TimersFor(V2gProtocol.Iso15118_2).EvccPreChargeTimeout).ConfigureAwait(false);
    }

    /// <summary>
    /// Plug &amp; Charge: a contract (the one at hand, or one installed now through CertificateInstallation, or renewed
    /// through CertificateUpdate), PaymentDetails with its chain, and AuthorizationReq with the GenChallenge signed by
    /// the contract key, repeated while the charger answers Ongoing.
    /// </summary>
    private async Task ContractAuthorizationAsync(V2gtpConnection c, EvPlugAndCharge pnc)
    {
        _contract = pnc.ForceInstallation ? null : Stored(pnc) ?? (pnc.ContractChain is { Count: > 0 } chain && pnc.ContractKey is { } key ? new PncContract(chain, key) : null);
        if (_contract is not null && pnc.UpdateContract)
        {
            _contract = await CertificateServiceAsync(c, pnc, update: true).ConfigureAwait(false);
        }
        else if (_contract is null || (pnc.InstallWhenExpired && _contract.Chain[0].NotAfter < time.GetUtcNow().UtcDateTime))
        {
            _contract = await CertificateServiceAsync(c, pnc, update: false).ConfigureAwait(false);
        }
        var details = await SendAsync<PaymentDetailsResType>(c, new PaymentDetailsReqType { EMAID = _contract.Emaid, ContractSignatureCertChain = _contract.Message() },
            V2gMessageKind.PaymentDetails).ConfigureAwait(false);
        var authorization = new AuthorizationReqType { Id = "ID1", GenChallenge = details.GenChallenge };
        var signature = Iso2Signatures.Sign([("ID1", Iso2Signatures.Body("AuthorizationReq", authorization))], _contract.Key);
        await EvRetry.UntilAsync(() => SendAsync<AuthorizationResType>(c, authorization, V2gMessageKind.Authorization, signature),
            r => r.EVSEProcessing == EVSEProcessingType.Finished, "Authorization", options.TimersFor(V2gProtocol.Iso15118_2).EvccOngoingTimeout, time, options.Delay).ConfigureAwait(false);
    }

    private static PncContract? Stored(EvPlugAndCharge pnc) =>
        ContractStore.Read(pnc.ContractStore, ContractStore.Iso2) is { } stored ? new PncContract(stored.Chain, V2gKeys.ReadPrivateKeyPem(stored.KeyPem)) : null;

    /// <summary>
    /// CertificateInstallationReq (signed with the OEM provisioning key) or CertificateUpdateReq (signed with the
    /// contract key); the response's CPS chain must lead to a V2G root and its signature over the four elements must
    /// verify; the decrypted key must be the new contract certificate's. The contract is saved in the store.
    /// </summary>
    private async Task<PncContract> CertificateServiceAsync(V2gtpConnection c, EvPlugAndCharge pnc, bool update)
    {
        var roots = new ListOfRootCertificateIDsType
        {
            RootCertificateID = [.. pnc.V2gRoots.Select(r => V2gCertificates.IssuerSerial(r)).Select(x => new X509IssuerSerialType { X509IssuerName = x.IssuerName, X509SerialNumber = x.Serial })],
        };
        Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters receiverKey;
        CertificateChainType provisioning, contractChain;
        ContractSignatureEncryptedPrivateKeyType encrypted;
        DiffieHellmanPublickeyType dh;
        EMAIDType emaid;
        if (update)
        {
            var request = new CertificateUpdateReqType { Id = "ID1", ContractSignatureCertChain = _contract!.Message(), EMAID = _contract.Emaid, ListOfRootCertificateIDs = roots };
            var res = await SendAsync<CertificateUpdateResType>(c, request, V2gMessageKind.CertificateUpdate,
                Iso2Signatures.Sign([("ID1", Iso2Signatures.Body("CertificateUpdateReq", request))], _contract.Key)).ConfigureAwait(false);
            (receiverKey, provisioning, contractChain, encrypted, dh, emaid) = (_contract.Key, res.SAProvisioningCertificateChain, res.ContractSignatureCertChain, res.ContractSignatureEncryptedPrivateKey, res.DHpublickey, res.EMAID);
        }
        else
        {
            if (pnc.OemProvisioningChain is not { Count: > 0 } oem || pnc.OemProvisioningKey is not { } oemKey)
            {
                throw new EvSessionException("no contract and no OEM provisioning certificate to install one with");
            }
            var request = new CertificateInstallationReqType { Id = "ID1", OEMProvisioningCert = oem[0].GetEncoded(), ListOfRootCertificateIDs = roots };
            var res = await SendAsync<CertificateInstallationResType>(c, request, V2gMessageKind.CertificateInstallation,
                Iso2Signatures.Sign([("ID1", Iso2Signatures.Body("CertificateInstallationReq", request))], oemKey)).ConfigureAwait(false);
            (receiverKey, provisioning, contractChain, encrypted, dh, emaid) = (oemKey, res.SAProvisioningCertificateChain, res.ContractSignatureCertChain, res.ContractSignatureEncryptedPrivateKey, res.DHpublickey, res.EMAID);
        }
        string what = update ? "CertificateUpdateRes" : "CertificateInstallationRes";
        var now = time.GetUtcNow();
        var cps = CertificateChains.Validate(provisioning.Certificate, provisioning.SubCertificates?.Certificate ?? [], pnc.V2gRoots, now, "CPS");
        if (!cps.Valid)
        {
            throw new EvSessionException($"{what}: the provisioning service's chain is refused: {cps.Status}: {cps.Detail}");
        }
        var (signed, detail) = Iso2Signatures.Verify(_lastHeader?.Signature,
        [
            (contractChain.Id ?? "", Iso2Signatures.Body("ContractSignatureCertChain", contractChain)),
            (encrypted.Id, Iso2Signatures.Body("ContractSignatureEncryptedPrivateKey", encrypted)),
            (dh.Id, Iso2Signatures.Body("DHpublickey", dh)),
            (emaid.Id, Iso2Signatures.Body("eMAID", emaid)),
        ], (Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters)cps.Leaf!.GetPublicKey());
        if (signed != SignatureCheck.Valid)
        {
            throw new EvSessionException($"{what}: the provisioning service's signature does not hold: {signed}: {detail}");
        }
        var chain = new List<Org.BouncyCastle.X509.X509Certificate> { V2gCertificates.Parse(contractChain.Certificate) };
        chain.AddRange((contractChain.SubCertificates?.Certificate ?? []).Select(b => V2gCertificates.Parse(b)));
        if (pnc.MoRoots.Count > 0 && CertificateChains.Validate(chain, pnc.MoRoots, now, "MO") is { Valid: false } mo)
        {
            throw new EvSessionException($"{what}: the new contract chain is refused: {mo.Status}: {mo.Detail}");
        }
        Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters key;
        try
        {
            key = ContractKeyCipher.Decrypt(dh.Value, encrypted.Value, receiverKey);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new EvSessionException($"{what}: the contract key cannot be decrypted: {e.Message}");
        }
        if (!ContractKeyCipher.Matches(key, (Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters)chain[0].GetPublicKey()))
        {
            throw new EvSessionException($"{what}: the decrypted key is not the contract certificate's");
        }
        var contract = new PncContract(chain, key);
        if (!Juice.Hlc.Security.Emaid.SameAccount(contract.Emaid, emaid.Value))
        {
            throw new EvSessionException($"{what}: eMAID {emaid.Value} is not the contract certificate's ({contract.Emaid})");
        }
        ContractStore.Write(pnc.ContractStore, ContractStore.Iso2, chain, V2gKeys.Pkcs8Pem(key));
        _installed = true;
        return contract;
    }

    /// <summary>MeteringReceiptReq with the MeterInfo the charger sent, signed with the contract key.</summary>
    private async Task ReceiptAsync(V2gtpConnection c, MeterInfoType? meter)
    {
        if (_contract is null || meter is null)
        {
            throw new EvSessionException("the charger asked for a metering receipt without Plug & Charge or without MeterInfo");
        }
        var receipt = new MeteringReceiptReqType { Id = "ID1", SessionID = _sessionId, SAScheduleTupleID = TupleId, MeterInfo = meter };
        await SendAsync<MeteringReceiptResType>(c, receipt, V2gMessageKind.MeteringReceipt,
            Iso2Signatures.Sign([("ID1", Iso2Signatures.Body("MeteringReceiptReq", receipt))], _contract.Key)).ConfigureAwait(false);
        _receipts++;
    }

    private async Task ChargeParameterDiscoveryAsync(V2gtpConnection c)
    {
        var cpd = await UntilFinishedAsync<ChargeParameterDiscoveryResType>(c, ChargeParameters, V2gMessageKind.ChargeParameterDiscovery,
            r => r.EVSEProcessing == EVSEProcessingType.Finished, options.TimersFor(V2gProtocol.Iso15118_2).EvccOngoingTimeout).ConfigureAwait(false);
        if (cpd.SASchedules is SAScheduleListType { SAScheduleTuple: [var first, ..] })
        {
            _tuple = first;
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
            SAScheduleTupleID = TupleId,
            ChargingProfile = progress == ChargeProgressType.Start && options.SendChargingProfile ? ChargingProfile() : null,
            EVPowerDeliveryParameter = Dc
                ? new DC_EVPowerDeliveryParameterType { DC_EVStatus = EvStatus(), ChargingComplete = progress == ChargeProgressType.Stop && _battery.Full }
                : null,
        }, V2gMessageKind.PowerDelivery);

    /// <summary>
    /// The EV's charging profile for PowerDeliveryReq(Start): one entry per PMaxScheduleEntry of the chosen
    /// SAScheduleTuple, at its start and at most its PMax ([V2G2-478]: the SECC checks the profile stays within the
    /// schedule), capped by the EV's own maximum power; AC with the phases in use. Null without a schedule.
    /// </summary>
    private ChargingProfileType? ChargingProfile()
    {
        if (_tuple?.PMaxSchedule.PMaxScheduleEntry is not { Count: > 0 } entries)
        {
            return null;
        }
        double own = Dc ? options.MaxPowerW : options.Phases * 230 * options.MaxCurrentA;
        var profile = new ChargingProfileType();
        foreach (var entry in entries.Take(24))
        {
            uint start = entry.TimeInterval is RelativeTimeIntervalType relative ? relative.Start : 0;
            var power = Pv(own, UnitSymbolType.W);
            if (Si(power) > Si(entry.PMax))
            {
                power = new PhysicalValueType { Multiplier = entry.PMax.Multiplier, Unit = UnitSymbolType.W, Value = entry.PMax.Value };
            }
            profile.ProfileEntry.Add(new ProfileEntryType
            {
                ChargingProfileEntryStart = start,
                ChargingProfileEntryMaxPower = power,
                ChargingProfileEntryMaxNumberOfPhasesInUse = Dc ? null : (sbyte)(_mode == EnergyTransferModeType.AC_single_phase_core ? 1 : 3),
            });
        }
        return profile;
    }

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
            if (r.ReceiptRequired == true)
            {
                await ReceiptAsync(c, r.MeterInfo).ConfigureAwait(false);
            }
            var n = r.DC_EVSEStatus.EVSENotification;
            return new LoopAnswer(Si(r.EVSEPresentVoltage) * Si(r.EVSEPresentCurrent), SiOrNull(r.EVSEMaximumCurrentLimit),
                n == EVSENotificationType.StopCharging || r.DC_EVSEStatus.EVSEStatusCode is DC_EVSEStatusCodeType.EVSE_Shutdown or DC_EVSEStatusCodeType.EVSE_EmergencyShutdown,
                n == EVSENotificationType.ReNegotiation);
        }
        var s = await SendAsync<ChargingStatusResType>(c, new ChargingStatusReqType(), V2gMessageKind.ChargingStatus).ConfigureAwait(false);
        if (s.ReceiptRequired == true)
        {
            await ReceiptAsync(c, s.MeterInfo).ConfigureAwait(false);
        }
        double limit = s.EVSEMaxCurrent is { } max ? Si(max) : _battery.LimitA;
        int phases = _mode == EnergyTransferModeType.AC_single_phase_core ? 1 : 3;
        double current = Math.Min(limit, options.MaxCurrentA);
        // below the EV's minimum current there is no charging (a limit of 0 pauses it)
        double power = current < options.MinCurrentA ? 0 : phases * 230 * current;
        return new LoopAnswer(power, limit, s.AC_EVSEStatus.EVSENotification == EVSENotificationType.StopCharging,
            s.AC_EVSEStatus.EVSENotification == EVSENotificationType.ReNegotiation);
    }
}
