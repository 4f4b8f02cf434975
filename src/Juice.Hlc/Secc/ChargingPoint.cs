namespace Juice.Hlc.Secc;

/// <summary>Energy transfer the charging point can deliver; the SECC maps it to each protocol's modes.</summary>
[Flags]
public enum EnergyTransfer
{
    None = 0,
    AcSinglePhase = 1,
    AcThreePhase = 2,
    Dc = 4,

    /// <summary>
    /// The charging point can also take energy back from the EV (ISO 15118-20 bidirectional power transfer, the
    /// AC_BPT and DC_BPT services), within <see cref="EvseLimits.MaxDischargePowerW"/>.
    /// </summary>
    Bidirectional = 8,
}

/// <summary>What the station decides about an EV that asks to charge.</summary>
public enum AuthorizationStatus
{
    /// <summary>Not decided yet: the SECC answers "Ongoing" and asks again.</summary>
    Pending,
    Accepted,
    Rejected,

    /// <summary>Plug &amp; Charge: the backend reports the contract certificate revoked (FAILED_CertificateRevoked).</summary>
    CertificateRevoked,

    /// <summary>Plug &amp; Charge: the backend reports the contract certificate expired (FAILED_CertificateExpired).</summary>
    CertificateExpired,
}

/// <summary>How the EV identifies itself for charging.</summary>
public enum IdentificationMode
{
    /// <summary>External identification means (RFID, app, Autocharge by the EVCCID): ISO "ExternalPayment".</summary>
    External,

    /// <summary>Plug &amp; Charge with a contract certificate: ISO "Contract".</summary>
    Contract,
}

/// <summary>What the station asks of a running session (sent to the EV as the EVSE notification).</summary>
public enum EvseRequest
{
    None,
    StopCharging,
    Renegotiate,
}

/// <summary>State of the DC isolation test that cable check waits for.</summary>
public enum IsolationStatus
{
    /// <summary>Still measuring: the SECC answers CableCheck with EVSEProcessing = Ongoing.</summary>
    Ongoing,
    Valid,
    Warning,
    Fault,
}

/// <summary>Why a session ended.</summary>
public enum SessionEndReason
{
    EvStopped,
    EvPaused,
    Error,
    Timeout,
    ConnectionLost,
}

/// <summary>
/// The EV as the SECC sees it: the EVCCID (a MAC in ISO 15118-2, up to 8 bytes in DIN 70121) and the protocol it
/// speaks, as a display name for logs ("DIN SPEC 70121", "ISO 15118-2").
/// </summary>
public sealed record EvIdentity(byte[] Evccid, string Protocol = "")
{
    public string EvccidHex => Convert.ToHexString(Evccid);
}

/// <summary>
/// Plug &amp; Charge: the contract an EV presented in PaymentDetailsReq and proved it holds (AuthorizationReq
/// signature): the eMAID and the chain, leaf first, as DER. <paramref name="LocallyValidated"/>: the chain leads to
/// one of the SECC's contract roots; false: its root is unknown here and only the backend can validate it.
/// </summary>
public sealed record ContractIdentity(string Emaid, IReadOnlyList<byte[]> Chain, bool LocallyValidated = true);

/// <summary>An EV's request to be authorized; with <see cref="IdentificationMode.Contract"/>, the contract.</summary>
public sealed record AuthorizationRequest(EvIdentity Ev, IdentificationMode Mode, ContractIdentity? Contract = null);

/// <summary>The certificate services of ISO 15118-2 that the SECC forwards to the backend.</summary>
public enum CertificateAction
{
    Install,
    Update,
}

/// <summary>
/// A CertificateInstallationReq or CertificateUpdateReq for the backend: the whole V2G message exactly as the EV sent
/// it (EXI), and the schema it is coded with (for OCPP Get15118EVCertificate: iso15118SchemaVersion).
/// </summary>
public sealed record CertificateServiceRequest(CertificateAction Action, byte[] Exi, string SchemaNamespace = "urn:iso:15118:2:2013:MsgDef");

/// <summary>The backend's answer: the EXI of the response message for the EV, or why there is none.</summary>
public sealed record CertificateServiceResult(byte[]? Exi, string? Problem = null);

/// <summary>A metering receipt the EV signed with its contract key (MeteringReceiptReq), verified by the SECC.</summary>
public sealed record MeteringReceipt(string Emaid, string MeterId, ulong? ReadingWh, long? MeterTime, byte[] SignatureValue);

/// <summary>What the EV asked for in charge parameter discovery, in SI units (null where the EV did not say).</summary>
public sealed record EvNeeds(
    EnergyTransfer Mode,
    double? EnergyRequestWh,
    DateTimeOffset? Departure,
    double? MaxCurrentA,
    double? MinCurrentA,
    double? MaxVoltageV,
    double? MaxPowerW,
    int? StateOfCharge,
    double? MaxDischargePowerW = null)
{
    /// <summary>The EV asked for bidirectional power transfer (ISO 15118-20 BPT) and can feed this much back.</summary>
    public bool Bidirectional => MaxDischargePowerW is not null;
}

/// <summary>
/// The limits the charging point offers now; a maximum current of 0 pauses charging. Bidirectional power:
/// <paramref name="MaxDischargePowerW"/> is the most the charging point takes back (0: no discharge), and
/// <paramref name="DischargeRequestW"/> what its energy management asks the EV to feed in now (0: charge) — in
/// dynamic control the SECC steers the EV there, in scheduled control the EV plans within the discharge limit.
/// </summary>
public sealed record EvseLimits(double MaxCurrentA, double MaxPowerW, double NominalVoltageV, double MaxVoltageV, double MinCurrentA = 0, double MinVoltageV = 50,
    double MaxDischargePowerW = 0, double DischargeRequestW = 0);

/// <summary>
/// A meter reading: energy in Wh taken from the grid since the meter's start, and the present power (negative while
/// the EV feeds in), voltage and current; <paramref name="ExportedEnergyWh"/>: energy fed back since the meter's start.
/// </summary>
public sealed record MeterReading(string MeterId, double EnergyWh, double PowerW, double VoltageV, double CurrentA, double ExportedEnergyWh = 0);

/// <summary>
/// The charger-facing interface of the SECC. It knows no protocol version: DIN 70121 and ISO 15118-2 sessions map
/// their messages onto it. The station's charging core implements it; <see cref="SimpleEvse"/> serves tests, demos
/// and the standalone SECC simulator. The SECC calls it from one session at a time and reads the properties once per
/// message cycle, so a change of limits or of <see cref="Request"/> reaches the EV with the next response.
/// </summary>
public interface IChargingPoint
{
    string EvseId { get; }

    EnergyTransfer Supported { get; }

    /// <summary>The limits now: the SECC reads them for every response that carries limits.</summary>
    EvseLimits Limits { get; }

    /// <summary>What the station wants of the running session; read once per message cycle.</summary>
    EvseRequest Request { get; }

    /// <summary>An EV has set up a session (SessionSetupReq): its EVCCID is known from here on.</summary>
    void SessionStarted(EvIdentity ev);

    /// <summary>
    /// Decides whether the EV may charge. Called again while the answer is <see cref="AuthorizationStatus.Pending"/>;
    /// a call that takes longer than the SECC's budget is answered "Ongoing" and awaited on the EV's next request.
    /// </summary>
    ValueTask<AuthorizationStatus> AuthorizeAsync(AuthorizationRequest request, CancellationToken cancellationToken);

    /// <summary>The EV's needs: from charge parameter discovery, and updated from the DC charging loop.</summary>
    void EvNeedsChanged(EvNeeds needs);

    /// <summary>
    /// Closes (true) or opens (false) the contactors; returns whether they are now in that state (false: the SECC
    /// answers FAILED_ContactorError / FAILED_PowerDeliveryNotApplied). DC: the EV's target voltage and current apply.
    /// </summary>
    ValueTask<bool> SetEnergyTransferAsync(bool on, CancellationToken cancellationToken);

    /// <summary>DC: the isolation test of the cable check, polled once per CableCheckReq until it is not Ongoing.</summary>
    IsolationStatus CheckIsolation();

    /// <summary>DC: the EV's present request (target voltage and current; negative current: discharge) during pre-charge and the charging loop.</summary>
    void DcTarget(double voltageV, double currentA);

    /// <summary>
    /// AC with bidirectional power (ISO 15118-20 AC_BPT): the active power the EV exchanges now, negative while it
    /// feeds in — the target the SECC set in dynamic control, the EV's present power in scheduled control.
    /// </summary>
    void AcPower(double watts);

    MeterReading ReadMeter();

    /// <summary>The EV has acted on <paramref name="request"/> (renegotiated or stopped): the station may clear it.</summary>
    void RequestHandled(EvseRequest request);

    /// <summary>The session is over (energy transfer already off); the meter reading at the end is final.</summary>
    void SessionEnded(SessionEndReason reason);

    /// <summary>
    /// Plug &amp; Charge: forwards a certificate installation or update to the backend (OCPP Get15118EVCertificate)
    /// and returns its response. Without a backend there is no answer, and the SECC answers FAILED.
    /// </summary>
    ValueTask<CertificateServiceResult> CertificateServiceAsync(CertificateServiceRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new CertificateServiceResult(null, "this charging point has no certificate service"));

    /// <summary>Plug &amp; Charge: a metering receipt, signed by the contract and verified; kept with the transaction.</summary>
    void MeteringReceiptSigned(MeteringReceipt receipt)
    {
    }
}
