using Juice.Hlc.Secc;

namespace Juice.Station.Core;

/// <summary>The charging core's side of ISO 15118 / DIN 70121: what <see cref="HlcChargingPoint"/> calls during a session.</summary>
public sealed partial class ChargingStation
{
    // ---- ISO 15118 (called by HlcChargingPoint) ----

    /// <summary>SLAC matched an EV on the connector's PLC link (its host MAC): an Autocharge identity until unplugged.</summary>
    public void SlacMatched(int connector, byte[] evMac) => Mutate(connector, c =>
    {
        c.SlacMac = evMac;
        Log.SlacMatched(_logger, c.Id, Convert.ToHexString(evMac));
    });

    /// <summary>The charging point of a connector for one ISO 15118 session, or null while another session holds it.</summary>
    public IChargingPoint? AttachHlc(int connector)
    {
        lock (_gate)
        {
            var c = Connector(connector);
            if (c.HlcAttached || c.Availability == Availability.Inoperative || c.Faulted || (c.Transaction is not null && c.HlcEv is null && c.PausedSince is null))
            {
                return null;
            }
            c.HlcAttached = true;
            return new HlcChargingPoint(this, connector);
        }
    }

    internal void HlcDetached(int connector)
    {
        lock (_gate)
        {
            Connector(connector).HlcAttached = false;
        }
    }

    internal void HlcStarted(int connector, EvIdentity ev) => Mutate(connector, c =>
    {
        bool resumed = c.PausedSince is not null && c.HlcEv is { } before && before.Evccid.AsSpan().SequenceEqual(ev.Evccid);
        if (!resumed && c.Transaction is not null)
        {
            StopTransaction(c, StopReason.Other);   // a paused session of another EV
            c.Authorized = null;
        }
        if (!resumed)
        {
            c.Contract = null;
        }
        c.PausedSince = null;
        c.HlcEv = ev;
        c.AcPowerW = 0;
        c.DcCurrent = 0;
        c.HlcRequest = EvseRequest.None;
        c.HlcRejected = false;
        c.HlcIdentityAsked = false;
        c.HlcWaitingSince = null;
        if (!c.Plugged)
        {
            c.CpState = CpState.B;
            c.VirtualPlug = true;
            c.PluggedAt = _time.GetUtcNow();
        }
        Log.HlcStarted(_logger, c.Id, ev.EvccidHex, ev.Protocol, resumed ? "resumed" : "new");
    });

    internal async ValueTask<AuthorizationStatus> HlcAuthorizeAsync(int connector, AuthorizationRequest request, CancellationToken ct)
    {
        var c = Connector(connector);
        lock (_gate)
        {
            if (c.Transaction is not null || c.Authorized is not null)
            {
                // a card before the EV asked, free charging at plug-in, or a resumed session: a verified contract
                // (the SECC checked its chain to our roots and its signature) is still kept with the transaction
                if (request.Mode == IdentificationMode.Contract && request.Contract is { LocallyValidated: true } verified)
                {
                    KeepContract(c, verified);
                }
                return AuthorizationStatus.Accepted;
            }
            if (c.HlcRejected)
            {
                return AuthorizationStatus.Rejected;
            }
            c.HlcWaitingSince ??= _time.GetUtcNow();
        }
        if (request.Mode == IdentificationMode.Contract)
        {
            return await HlcAuthorizeContractAsync(c, request, ct).ConfigureAwait(false);
        }
        bool ask;
        lock (_gate)
        {
            ask = !c.HlcIdentityAsked;   // the EVCCID is looked up (and offered to the backend) once per session, not at every AuthorizationReq
            c.HlcIdentityAsked = true;
        }
        // the setting "use the SLAC MAC": cars that send no (or no usable) EVCCID are known by the MAC SLAC saw
        byte[] identity = _settings.Current.AutochargeUseSlacMac && c.SlacMac is { } slacMac ? slacMac : request.Ev.Evccid;
        var decision = ask
            ? await _authorizer.AuthorizeEvAsync(connector, identity, ct).ConfigureAwait(false)
            : AuthorizationDecision.Wait(null, "waiting for an RFID card");
        var status = AuthorizationStatus.Pending;
        Mutate(connector, x =>
        {
            if (decision.Accepted)
            {
                x.Authorized = decision.IdTag;
                x.AuthorizedAt = _time.GetUtcNow();
                status = AuthorizationStatus.Accepted;
            }
            else if (x.Authorized is not null)
            {
                status = AuthorizationStatus.Accepted;   // a card arrived meanwhile
            }
            else if (!decision.Pending)
            {
                x.HlcRejected = true;
                status = AuthorizationStatus.Rejected;
            }
            else if (_time.GetUtcNow() - x.HlcWaitingSince > TimeSpan.FromSeconds(_settings.Current.VehicleConnectionTimeoutSeconds))
            {
                Log.NotAuthorized(_logger, x.Id, _settings.Current.VehicleConnectionTimeoutSeconds);
                x.HlcRejected = true;
                status = AuthorizationStatus.Rejected;
            }
        });
        return status;
    }

    /// <summary>Plug &amp; Charge: the SECC has validated the contract and its signature; the authorizer decides.</summary>
    private async ValueTask<AuthorizationStatus> HlcAuthorizeContractAsync(Connector c, AuthorizationRequest request, CancellationToken ct)
    {
        if (request.Contract is not { } contract)
        {
            return AuthorizationStatus.Rejected;
        }
        var decision = await _authorizer.AuthorizeContractAsync(c.Id, contract.Emaid, contract.Chain, contract.LocallyValidated, ct).ConfigureAwait(false);
        var status = AuthorizationStatus.Rejected;
        Mutate(c.Id, x =>
        {
            if (decision.Accepted)
            {
                x.Authorized = decision.IdTag;
                x.AuthorizedAt = _time.GetUtcNow();
                KeepContract(x, contract);   // free charging may have decided: the verified contract stays with the session
                status = AuthorizationStatus.Accepted;
                return;
            }
            x.HlcRejected = true;
            status = decision.CertificateStatus switch
            {
                "CertificateRevoked" => AuthorizationStatus.CertificateRevoked,
                "CertificateExpired" => AuthorizationStatus.CertificateExpired,
                _ => AuthorizationStatus.Rejected,
            };
        });
        return status;
    }

    /// <summary>The eMAID of a verified contract, kept with the connector's transaction (now, or when it starts).</summary>
    private void KeepContract(Connector c, ContractIdentity contract)
    {
        c.Contract = contract.Emaid;
        if (c.Transaction is { } tx)
        {
            _history.SetContract(tx.Id, contract.Emaid);
        }
    }

    /// <summary>Plug &amp; Charge: the backend whose provisioning service installs contracts is online.</summary>
    internal bool HlcCertificateServiceAvailable => _authorizer.ContractBackend is { Online: true };

    /// <summary>Plug &amp; Charge: a certificate installation or update goes to the backend's provisioning service.</summary>
    internal async ValueTask<CertificateServiceResult> HlcCertificateServiceAsync(CertificateServiceRequest request, CancellationToken ct) =>
        _authorizer.ContractBackend is { } backend
            ? await backend.CertificateServiceAsync(request, ct).ConfigureAwait(false)
            : new CertificateServiceResult(null, "no backend with the ISO 15118 certificate extension");

    /// <summary>Plug &amp; Charge: a verified metering receipt, kept with the running transaction.</summary>
    internal void HlcReceipt(int connector, MeteringReceipt receipt)
    {
        long? tx;
        lock (_gate)
        {
            tx = Connector(connector).Transaction?.Id;
        }
        _history.AddReceipt(tx, connector, receipt, _time.GetUtcNow());
        Log.Receipt(_logger, connector, receipt.Emaid, receipt.ReadingWh ?? 0, tx ?? 0);
    }

    internal void HlcNeeds(int connector, EvNeeds needs) => Mutate(connector, c =>
    {
        var before = c.EvNeeds;
        // the DC charging loop repeats only what changes: keep what charge parameter discovery said
        c.EvNeeds = before is null ? needs : needs with
        {
            EnergyRequestWh = needs.EnergyRequestWh ?? before.EnergyRequestWh,
            Departure = needs.Departure ?? before.Departure,
            MaxCurrentA = needs.MaxCurrentA ?? before.MaxCurrentA,
            MinCurrentA = needs.MinCurrentA ?? before.MinCurrentA,
            MaxVoltageV = needs.MaxVoltageV ?? before.MaxVoltageV,
            MaxPowerW = needs.MaxPowerW ?? before.MaxPowerW,
            StateOfCharge = needs.StateOfCharge ?? before.StateOfCharge,
        };
        if (needs.EnergyRequestWh is not null || before is null)
        {
            c.OfferedAtNegotiation = OfferedCurrent(c);   // charge parameter discovery: the limit the schedule was made with
        }
    });

    internal bool HlcEnergy(int connector, bool on)
    {
        bool result = false;
        Mutate(connector, c =>
        {
            if (!on)
            {
                c.HlcEnergyOn = false;
                result = true;
                return;
            }
            if (c.Transaction is null || c.Availability == Availability.Inoperative || c.Faulted)
            {
                result = false;
                return;
            }
            c.HlcEnergyOn = true;
            if (c.CpState == CpState.B)
            {
                c.CpState = CpState.C;   // the EV closes S2 to ask for energy
            }
            result = true;
        });
        return result;
    }

    internal void HlcDcTarget(int connector, double voltage, double current) => Mutate(connector, c =>
    {
        c.DcVoltage = voltage;
        c.DcCurrent = current;
    }, notify: false);

    internal void HlcRequestHandled(int connector, EvseRequest request) => Mutate(connector, c =>
    {
        if (c.HlcRequest == request)
        {
            c.HlcRequest = EvseRequest.None;
        }
        if (request == EvseRequest.Renegotiate)
        {
            c.OfferedAtNegotiation = OfferedCurrent(c);
        }
    }, notify: false);

    internal void HlcEnded(int connector, SessionEndReason reason) => Mutate(connector, c =>
    {
        c.HlcEnergyOn = false;
        if (c.CpState == CpState.C)
        {
            c.CpState = CpState.B;
        }
        if (reason == SessionEndReason.EvPaused && c.Transaction is not null)
        {
            c.PausedSince = _time.GetUtcNow();   // the transaction stays open until the EV resumes (or the pause times out)
            Log.HlcPaused(_logger, c.Id);
            return;
        }
        // what the SECC saw, as it saw it (OCPP gets the nearest 1.6 value, StopReasons.Ocpp16)
        StopTransaction(c, reason switch
        {
            // the station asked the EV to stop because the connector became unavailable: not the car's doing
            SessionEndReason.EvStopped when c.Availability == Availability.Inoperative => StopReason.Unavailable,
            SessionEndReason.EvStopped => StopReason.EVStopped,
            SessionEndReason.Timeout => StopReason.Timeout,
            SessionEndReason.ConnectionLost => StopReason.ConnectionLost,
            SessionEndReason.EvPaused => StopReason.EVPaused,
            _ => StopReason.Error,
        });
        c.Authorized = null;
        if (c.VirtualPlug)
        {
            c.CpState = CpState.A;   // an EV over TCP without plug sensing: the end of its session is its unplugging
            Unplugged(c);
        }
        else
        {
            c.HlcEv = null;
        }
    });

    internal EvseRequest HlcRequestOf(int connector)
    {
        lock (_gate)
        {
            var c = Connector(connector);
            if (c.Transaction is not null && c.Availability == Availability.Inoperative)
            {
                return EvseRequest.StopCharging;
            }
            return c.HlcRequest;
        }
    }

    internal EvseLimits HlcLimits(int connector)
    {
        lock (_gate)
        {
            var c = Connector(connector);
            double amps = Paused(c) ? 0 : c.OfferedCurrentA;
            if (c.EvNeeds?.Mode == EnergyTransfer.Dc)
            {
                double power = Math.Min(_options.DcMaxPower, _options.Phases * _options.NominalVoltage * amps);
                double voltage = c.DcVoltage > 0 ? c.DcVoltage : _options.DcMaxVoltage;
                double current = Math.Min(_options.DcMaxCurrent, power / Math.Max(voltage, 1));
                var (dcLimit, dcRequest) = Discharge(c);
                return new EvseLimits(Math.Round(current, 1), Math.Round(power), _options.NominalVoltage, _options.DcMaxVoltage,
                    amps == 0 ? 0 : _options.DcMinCurrent, _options.DcMinVoltage, Math.Round(dcLimit), dcRequest);
            }
            int phases = PhasesOf(c);
            var (limit, request) = Discharge(c);
            return new EvseLimits(amps, phases * _options.NominalVoltage * amps, _options.NominalVoltage, _options.NominalVoltage * 1.1,
                MaxDischargePowerW: Math.Round(limit), DischargeRequestW: request);
        }
    }

    internal Juice.Hlc.Secc.MeterReading HlcMeter(int connector)
    {
        lock (_gate)
        {
            var c = Connector(connector);
            var m = c.Meter.Read();
            bool dc = c.EvNeeds?.Mode == EnergyTransfer.Dc;
            double voltage = dc ? (c.Relay != RelayState.Off ? c.DcVoltage : 0) : m.VoltageV.L1;
            double current = dc ? (voltage > 0 ? m.TotalPowerW / voltage : 0) : Math.Max(m.CurrentA.L1, Math.Max(m.CurrentA.L2, m.CurrentA.L3));
            if (dc && c.Relay == RelayState.Off && c.DcVoltage > 0)
            {
                voltage = c.DcVoltage;   // pre-charge: the output follows the EV's target before the contactors close
            }
            return new Juice.Hlc.Secc.MeterReading(m.MeterId, m.TotalEnergyWh, m.TotalPowerW, voltage, current, m.ExportedEnergyWh);
        }
    }
}
