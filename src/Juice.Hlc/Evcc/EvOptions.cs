using Juice.Hlc.Secc;
using Juice.Hlc.Session;

namespace Juice.Hlc.Evcc;

/// <summary>The simulated EV: what it offers, asks for and how it behaves.</summary>
public sealed record EvOptions
{
    /// <summary>Protocols offered in supportedAppProtocol, in preference order.</summary>
    public IReadOnlyList<AppProtocolVersion> Protocols { get; init; } = [AppProtocolVersion.Iso2];

    /// <summary>AC (three phase) or DC.</summary>
    public EnergyTransfer Energy { get; init; } = EnergyTransfer.Dc;

    /// <summary>EVCCID: the EV's MAC address in ISO 15118-2 (6 bytes), up to 8 bytes in DIN SPEC 70121.</summary>
    public byte[] Evccid { get; init; } = [0x02, 0x00, 0x00, 0x00, 0xE7, 0xCC];

    public double BatteryCapacityWh { get; init; } = 60_000;
    public double StartSoc { get; init; } = 30;
    public double TargetSoc { get; init; } = 80;
    public double MaxCurrentA { get; init; } = 125;
    public double MinCurrentA { get; init; } = 6;
    public double MaxVoltageV { get; init; } = 420;
    public double MaxPowerW { get; init; } = 50_000;

    /// <summary>AC: phases the EV charges with (1 or 3); DC: not used.</summary>
    public int Phases { get; init; } = 3;

    /// <summary>DC: the battery voltage the EV asks for in pre-charge and current demand.</summary>
    public double TargetVoltageV { get; init; } = 400;

    /// <summary>Seconds until departure announced in charge parameter discovery.</summary>
    public uint DepartureSeconds { get; init; } = 7200;

    /// <summary>ISO 15118-20: dynamic control (the charger steers the power toward the EV's targets) instead of scheduled.</summary>
    public bool DynamicControl { get; init; }

    /// <summary>
    /// ISO 15118-20: the state of charge the EV needs at least by its departure, % (its minimum energy request); with
    /// bidirectional power also the floor it never discharges below (20 % when not set).
    /// </summary>
    public double? MinimumSoc { get; init; }

    /// <summary>
    /// ISO 15118-20 bidirectional power transfer (the AC_BPT or DC_BPT service); the EV charges only when the charger
    /// does not offer it, and with ISO 15118-2 and DIN.
    /// </summary>
    public bool Bidirectional { get; init; }

    /// <summary>
    /// Bidirectional: the power the EV feeds in, W. In scheduled control the EV plans it: it discharges at this power
    /// (within the charger's discharging schedule) down to its minimum SoC, then charges; in dynamic control it is
    /// the most the charger may ask of it. Null: the EV offers its maximum power and plans no discharge.
    /// </summary>
    public double? DischargePowerW { get; init; }

    /// <summary>Bidirectional: the state of charge the EV does not discharge below, %.</summary>
    public double DischargeFloorSoc => MinimumSoc ?? 20;

    /// <summary>Stop after this long in the charging loop (null: only at the target SoC).</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Pause between charging-loop requests (ChargingStatusReq / CurrentDemandReq).</summary>
    public TimeSpan LoopInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The standard's timers (V2G_EVCC_Msg_Timeout per message, the Ongoing and DC loop timeouts).</summary>
    public V2gTimers? Timers { get; init; }

    /// <summary>The timers of a session: <see cref="Timers"/> when given, else the table of the negotiated protocol.</summary>
    public V2gTimers TimersFor(V2gProtocol? protocol) => Timers ?? V2gTimers.For(protocol ?? V2gProtocol.Iso15118_2);

    /// <summary>One response timeout for every message instead of the standard's table (for slow chargers); null: the table.</summary>
    public TimeSpan? MessageTimeout { get; init; }

    /// <summary>Real chargers: go on to PowerDelivery even when the present voltage never reaches the target in PreCharge.</summary>
    public bool SkipPreChargeVoltageCheck { get; init; }

    /// <summary>Pre-charge is done when the present voltage is within this of the target.</summary>
    public double PreChargeToleranceV { get; init; } = 20;

    /// <summary>End with SessionStop(Pause) instead of Terminate (ISO 15118-2); the result carries the SessionID to resume.</summary>
    public bool Pause { get; init; }

    /// <summary>Resume a paused session: its SessionID goes into SessionSetupReq (ISO 15118-2).</summary>
    public byte[]? ResumeSessionId { get; init; }

    /// <summary>
    /// Deterministic mode: the battery is integrated over simulated time (one <see cref="LoopInterval"/> per loop
    /// message) instead of the wall clock, so the same seed and options give the same requests on every run.
    /// </summary>
    public int? Seed { get; init; }

    /// <summary>
    /// How the EV waits between requests (the charging loop, repeated Ongoing requests); null: Task.Delay on the
    /// injected clock. The load mode blocks its EV's own thread instead, so that simulated EVs do not share an event loop.
    /// </summary>
    public Func<TimeSpan, CancellationToken, Task>? Delay { get; init; }

    /// <summary>
    /// A fixed-period charging loop, as an ECU's 100 ms task: each loop request goes out at the next instant
    /// phase + k × <see cref="LoopInterval"/> of the clock instead of <see cref="LoopInterval"/> after the answer
    /// (the load mode spreads its EVs' phases evenly over the interval); null: the interval after each answer.
    /// </summary>
    public TimeSpan? LoopPhase { get; init; }

    /// <summary>
    /// After this many charging-loop messages the EV itself renegotiates once, as some EVs do: ISO 15118-2
    /// PowerDelivery(Renegotiate), ChargeParameterDiscovery, PowerDelivery(Start); ISO 15118-20
    /// PowerDelivery(ScheduleRenegotiation), ScheduleExchange, PowerDelivery(Start). Null: only when the charger asks.
    /// </summary>
    public int? RenegotiateAfter { get; init; }

    /// <summary>
    /// ISO 15118-20: after this many charging-loop messages the EV goes to standby (PowerDelivery(Standby), the loop
    /// asks for no energy) for <see cref="StandbyDuration"/>, then wakes up with PowerDelivery(Start); null: never.
    /// </summary>
    public int? StandbyAfter { get; init; }

    public TimeSpan StandbyDuration { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// ISO 15118-20: after this many charging-loop messages the EV renegotiates its service once: PowerDelivery(Stop),
    /// SessionStop(ServiceRenegotiation), then ServiceDiscovery to the charging loop again in the same session; null: never.
    /// </summary>
    public int? ServiceRenegotiateAfter { get; init; }

    /// <summary>
    /// DC, with a renegotiation: CableCheck and PreCharge again before PowerDelivery(Start), as some EVs do (the
    /// sequence of the first start); false: PowerDelivery(Start) right after the charge parameter discovery.
    /// </summary>
    public bool RecheckCableAfterRenegotiation { get; init; }

    /// <summary>
    /// ISO 15118-2: send a ChargingProfile in PowerDeliveryReq(Start), derived from the chosen SAScheduleTuple (real
    /// cars do, and some chargers require it); false: leave the optional field out.
    /// </summary>
    public bool SendChargingProfile { get; init; } = true;

    /// <summary>Plug &amp; Charge: the EV's certificates; null: external identification.</summary>
    public EvPlugAndCharge? PlugAndCharge { get; init; }

    /// <summary>
    /// Changes each ISO 15118-2 request after it is built and signed, just before it is encoded (fault injection: a
    /// tampered challenge, signature or receipt); null: none.
    /// </summary>
    public Func<Juice.Hlc.Exi.Iso2.V2G_Message, Juice.Hlc.Exi.Iso2.V2G_Message>? Tamper { get; init; }

    /// <summary>The response timeout of a request of this kind.</summary>
    public TimeSpan TimeoutOf(V2gMessageKind kind, V2gProtocol? protocol = null) => MessageTimeout ?? TimersFor(protocol).EvccTimeout(kind);
}

/// <summary>Progress of a simulated session, reported once per charging-loop message.</summary>
public sealed record EvProgress(string Step, double Soc, double EnergyWh, double PowerW, double CurrentLimitA);

/// <summary>How a simulated session ended; SessionId is the ID the charger gave (to resume a paused session).</summary>
/// <remarks><paramref name="EnergyWh"/> is what went into the battery, net; <paramref name="DischargedWh"/> what it fed back (bidirectional).</remarks>
public sealed record EvResult(bool Completed, string Reason, V2gProtocol? Protocol, double Soc, double EnergyWh, int Messages, byte[] SessionId, bool Resumed = false,
    string? Emaid = null, bool ContractInstalled = false, int MeteringReceipts = 0, double DischargedWh = 0, int Renegotiations = 0, int Standbys = 0, int ServiceRenegotiations = 0);

/// <summary>
/// The certificates of a Plug &amp; Charge EV (ISO 15118-2, and its -20 contract): its contract (chain, leaf first, and key) if it has one,
/// the OEM provisioning certificate and key to have one installed, and the V2G roots it trusts (for the SECC's TLS
/// certificate and the certificate provisioning service's signature).
/// </summary>
public sealed record EvPlugAndCharge
{
    public IReadOnlyList<Org.BouncyCastle.X509.X509Certificate>? ContractChain { get; init; }

    public Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters? ContractKey { get; init; }

    /// <summary>ISO 15118-20: the contract of the -20 PKI (secp521r1 or Ed448), chain leaf first, used for PnC in -20 sessions.</summary>
    public IReadOnlyList<Org.BouncyCastle.X509.X509Certificate>? Iso20ContractChain { get; init; }

    public Org.BouncyCastle.Crypto.AsymmetricKeyParameter? Iso20ContractKey { get; init; }

    /// <summary>ISO 15118-20: the OEM provisioning chain (leaf first) and key of the -20 PKI, to install a -20 contract with.</summary>
    public IReadOnlyList<Org.BouncyCastle.X509.X509Certificate>? Iso20OemProvisioningChain { get; init; }

    public Org.BouncyCastle.Crypto.AsymmetricKeyParameter? Iso20OemProvisioningKey { get; init; }

    /// <summary>ISO 15118-20: the V2G roots the provisioning service's chain must lead to (ListOfRootCertificateIDs).</summary>
    public IReadOnlyCollection<Org.BouncyCastle.X509.X509Certificate> Iso20V2gRoots { get; init; } = [];

    /// <summary>ISO 15118-20: MO roots to check an installed -20 contract against (empty: not checked against a root).</summary>
    public IReadOnlyCollection<Org.BouncyCastle.X509.X509Certificate> Iso20MoRoots { get; init; } = [];

    public IReadOnlyList<Org.BouncyCastle.X509.X509Certificate>? OemProvisioningChain { get; init; }

    public Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters? OemProvisioningKey { get; init; }

    public required IReadOnlyCollection<Org.BouncyCastle.X509.X509Certificate> V2gRoots { get; init; }

    /// <summary>MO roots to check an installed contract against (empty: its own chain is checked, not its root).</summary>
    public IReadOnlyCollection<Org.BouncyCastle.X509.X509Certificate> MoRoots { get; init; } = [];

    /// <summary>Folder where an installed contract is saved (contract-chain.pem, contract.key.pem) and read from next time.</summary>
    public string? ContractStore { get; init; }

    /// <summary>Install a new contract even when one is at hand.</summary>
    public bool ForceInstallation { get; init; }

    /// <summary>Install a new contract when the one at hand has expired (false: present it anyway, as a test of the charger).</summary>
    public bool InstallWhenExpired { get; init; } = true;

    /// <summary>Renew the contract at hand with CertificateUpdateReq before charging.</summary>
    public bool UpdateContract { get; init; }
}

/// <summary>Receives the round trip of every request (load mode statistics).</summary>
public interface IEvRoundTrips
{
    void Record(V2gMessageKind kind, TimeSpan roundTrip);
}
