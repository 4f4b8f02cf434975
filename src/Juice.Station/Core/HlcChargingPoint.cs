using Juice.Hlc.Secc;

namespace Juice.Station.Core;

/// <summary>
/// The charging core as the SECC sees it: one connector for one ISO 15118 session (the HLC stack's protocol-neutral
/// <see cref="IChargingPoint"/>). Limits and requests are read from the core on every message cycle, so a new HEMS,
/// operator or backend limit reaches the EV with the next response.
/// </summary>
internal sealed class HlcChargingPoint(ChargingStation station, int connector) : IChargingPoint, IDisposable
{
    private long _isolationStarted;

    public string EvseId => station.Connector(connector).EvseId;

    public EnergyTransfer Supported
    {
        get
        {
            var supported = EnergyTransfer.None;
            foreach (var e in station.Options.EnergyTransfer.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                supported |= e == "dc" ? EnergyTransfer.Dc
                    : station.Options.Phases == 1 ? EnergyTransfer.AcSinglePhase : EnergyTransfer.AcThreePhase | EnergyTransfer.AcSinglePhase;
            }
            return station.BidirectionalAllowed ? supported | EnergyTransfer.Bidirectional : supported;
        }
    }

    public EvseLimits Limits => station.HlcLimits(connector);

    public EvseRequest Request => station.HlcRequestOf(connector);

    public void SessionStarted(EvIdentity ev)
    {
        _isolationStarted = 0;
        station.HlcStarted(connector, ev);
    }

    public ValueTask<AuthorizationStatus> AuthorizeAsync(AuthorizationRequest request, CancellationToken cancellationToken) =>
        station.HlcAuthorizeAsync(connector, request, cancellationToken);

    public void EvNeedsChanged(EvNeeds needs) => station.HlcNeeds(connector, needs);

    public ValueTask<bool> SetEnergyTransferAsync(bool on, CancellationToken cancellationToken) => ValueTask.FromResult(station.HlcEnergy(connector, on));

    public IsolationStatus CheckIsolation()
    {
        if (_isolationStarted == 0)
        {
            _isolationStarted = station.Time.GetTimestamp();
        }
        return station.Time.GetElapsedTime(_isolationStarted).TotalSeconds >= station.Options.CableCheckSeconds ? IsolationStatus.Valid : IsolationStatus.Ongoing;
    }

    public void DcTarget(double voltageV, double currentA) => station.HlcDcTarget(connector, voltageV, currentA);

    public void AcPower(double watts) => station.HlcAcPower(connector, watts);

    public MeterReading ReadMeter() => station.HlcMeter(connector);

    public void RequestHandled(EvseRequest request) => station.HlcRequestHandled(connector, request);

    public void SessionEnded(SessionEndReason reason) => station.HlcEnded(connector, reason);

    public ValueTask<CertificateServiceResult> CertificateServiceAsync(CertificateServiceRequest request, CancellationToken cancellationToken) =>
        station.HlcCertificateServiceAsync(request, cancellationToken);

    public void MeteringReceiptSigned(MeteringReceipt receipt) => station.HlcReceipt(connector, receipt);

    /// <summary>The connection is over (with or without a session): the connector is free for the next EV.</summary>
    public void Dispose() => station.HlcDetached(connector);
}
