namespace Juice.Hlc.Secc;

/// <summary>
/// An in-process charging point for tests, demos and the EV simulator's counterpart until the station's charging
/// core takes its place: fixed limits, an authorization decision given by a function, and a meter that integrates
/// the delivered power (and with bidirectional power the power fed back) over the injected clock.
/// </summary>
public sealed class SimpleEvse(TimeProvider? time = null) : IChargingPoint
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly object _gate = new();
    private bool _on;
    private long _since;
    private double _energyWh;
    private double _exportedWh;
    private double _dcVoltage;
    private double _dcCurrent;
    private double _acPowerW;
    private EvNeeds? _needs;

    public string EvseId { get; init; } = "DE*JUI*E0001";

    public EnergyTransfer Supported { get; init; } = EnergyTransfer.AcThreePhase | EnergyTransfer.Dc;

    /// <summary>Limits of AC charging: 32 A per phase at 230 V.</summary>
    public EvseLimits AcLimits { get; set; } = new(MaxCurrentA: 32, MaxPowerW: 22_000, NominalVoltageV: 230, MaxVoltageV: 400);

    /// <summary>Limits of DC charging: 200 A, 150 kW, 920 V.</summary>
    public EvseLimits DcLimits { get; set; } = new(MaxCurrentA: 200, MaxPowerW: 150_000, NominalVoltageV: 400, MaxVoltageV: 920, MinCurrentA: 1, MinVoltageV: 150);

    /// <summary>Bidirectional power (with <see cref="EnergyTransfer.Bidirectional"/> in <see cref="Supported"/>): the most it takes back, W.</summary>
    public double MaxDischargePowerW { get; set; }

    /// <summary>Bidirectional power: what it asks a dynamically controlled EV to feed in, W (0: charge).</summary>
    public double DischargeRequestW { get; set; }

    private double DischargeLimitW => Supported.HasFlag(EnergyTransfer.Bidirectional) ? MaxDischargePowerW : 0;

    /// <summary>The limits of the energy transfer the EV asked for (AC until it has asked).</summary>
    public EvseLimits Limits => (_needs?.Mode == EnergyTransfer.Dc ? DcLimits : AcLimits) with
    {
        MaxDischargePowerW = DischargeLimitW,
        DischargeRequestW = DischargeLimitW > 0 ? DischargeRequestW : 0,
    };

    public EvseRequest Request { get; set; }

    /// <summary>Decides authorization; the default accepts every EV.</summary>
    public Func<AuthorizationRequest, AuthorizationStatus> Authorize { get; set; } = _ => AuthorizationStatus.Accepted;

    /// <summary>Answers certificate installations and updates (a local provisioning service in demos); null: none.</summary>
    public Func<CertificateServiceRequest, CertificateServiceResult>? CertificateService { get; set; }

    /// <summary>The metering receipts the EV signed, in order.</summary>
    public List<MeteringReceipt> Receipts { get; } = [];

    /// <summary>The last authorization request (with its contract, for Plug &amp; Charge).</summary>
    public AuthorizationRequest? LastAuthorization { get; private set; }

    public ValueTask<CertificateServiceResult> CertificateServiceAsync(CertificateServiceRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(CertificateService?.Invoke(request) ?? new CertificateServiceResult(null, "no certificate service configured"));

    public void MeteringReceiptSigned(MeteringReceipt receipt)
    {
        lock (Receipts)
        {
            Receipts.Add(receipt);
        }
    }

    /// <summary>How long the DC isolation test takes (cable check answers Ongoing until then).</summary>
    public TimeSpan IsolationTestDuration { get; set; }

    /// <summary>The result of the DC isolation test once it has run.</summary>
    public IsolationStatus IsolationResult { get; set; } = IsolationStatus.Valid;

    /// <summary>Whether the contactors follow the SECC's commands (false simulates a welded or stuck contactor).</summary>
    public bool ContactorWorks { get; set; } = true;

    private long _isolationStarted;

    public EvIdentity? Ev { get; private set; }

    public SessionEndReason? Ended { get; private set; }

    public bool EnergyTransferOn => _on;

    public EvNeeds? Needs => _needs;

    public void SessionStarted(EvIdentity ev)
    {
        Ev = ev;
        Ended = null;
        _isolationStarted = 0;
        _acPowerW = 0;
    }

    public ValueTask<AuthorizationStatus> AuthorizeAsync(AuthorizationRequest request, CancellationToken cancellationToken)
    {
        LastAuthorization = request;
        return ValueTask.FromResult(Authorize(request));
    }

    public void EvNeedsChanged(EvNeeds needs) => _needs = needs;

    public ValueTask<bool> SetEnergyTransferAsync(bool on, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Accumulate();
            if (ContactorWorks)
            {
                _on = on;
            }
            return ValueTask.FromResult(_on == on);
        }
    }

    public IsolationStatus CheckIsolation()
    {
        if (_isolationStarted == 0)
        {
            _isolationStarted = _time.GetTimestamp();
        }
        return _time.GetElapsedTime(_isolationStarted) >= IsolationTestDuration ? IsolationResult : IsolationStatus.Ongoing;
    }

    public void RequestHandled(EvseRequest request)
    {
        if (Request == request)
        {
            Request = EvseRequest.None;
        }
    }

    public void DcTarget(double voltageV, double currentA)
    {
        lock (_gate)
        {
            Accumulate();
            _dcVoltage = Math.Min(voltageV, Limits.MaxVoltageV);
            double maxDischargeA = _dcVoltage > 0 ? DischargeLimitW / _dcVoltage : 0;
            _dcCurrent = Math.Clamp(currentA, -maxDischargeA, Limits.MaxCurrentA);
        }
    }

    public void AcPower(double watts)
    {
        lock (_gate)
        {
            Accumulate();
            _acPowerW = Math.Max(watts, -DischargeLimitW);
        }
    }

    public MeterReading ReadMeter()
    {
        lock (_gate)
        {
            Accumulate();
            var (power, voltage, current) = Present();
            return new MeterReading("JUICE-SIM-1", _energyWh, power, voltage, current, _exportedWh);
        }
    }

    public void SessionEnded(SessionEndReason reason)
    {
        lock (_gate)
        {
            Accumulate();
            _on = false;
        }
        Ended = reason;
    }

    private (double Power, double Voltage, double Current) Present()
    {
        if (!_on)
        {
            return (0, _dcVoltage, 0);
        }
        if (_needs?.Mode == EnergyTransfer.Dc)
        {
            double p = Math.Clamp(_dcVoltage * _dcCurrent, -DischargeLimitW, Limits.MaxPowerW);
            return (p, _dcVoltage, _dcVoltage > 0 ? p / _dcVoltage : 0);
        }
        int phases = _needs?.Mode == EnergyTransfer.AcSinglePhase ? 1 : 3;
        if (_acPowerW < 0)
        {
            // AC_BPT: the EV feeds in
            return (_acPowerW, Limits.NominalVoltageV, _acPowerW / (phases * Limits.NominalVoltageV));
        }
        double current = Math.Min(Limits.MaxCurrentA, _needs?.MaxCurrentA ?? Limits.MaxCurrentA);
        return (Math.Min(phases * Limits.NominalVoltageV * current, Limits.MaxPowerW), Limits.NominalVoltageV, current);
    }

    private void Accumulate()
    {
        long now = _time.GetTimestamp();
        if (_on && _since != 0)
        {
            double wh = Present().Power * _time.GetElapsedTime(_since, now).TotalHours;
            _energyWh += Math.Max(0, wh);
            _exportedWh += Math.Max(0, -wh);
        }
        _since = now;
    }
}
