using Juice.Hlc.Secc;
using Juice.Station.Authorization;
using Juice.Station.Persistence;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station.Core;

/// <summary>
/// The charging core: the one place that decides who charges and at what current. The HLC stack (through
/// <see cref="HlcChargingPoint"/>), the Modbus server, OCPP, the operator API and the (simulated) hardware inputs
/// all drive and read it. Every change runs under one lock and is followed by <see cref="Evaluate"/>, which starts
/// transactions, sets relay and meter, and derives the connector status; listeners hear of it afterwards.
/// </summary>
public sealed partial class ChargingStation
{
    /// <summary>IEC 61851-1: below 6 A there is no PWM charging; a lower limit pauses.</summary>
    public const double MinimumCurrent = 6;

    private readonly object _gate = new();
    private readonly StationOptions _options;
    private readonly SettingsStore _settings;
    private readonly Authorizer _authorizer;
    private readonly HistoryStore _history;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Connector[] _connectors;
    private ushort? _hemsLimit;
    private readonly CurrentArbiter _arbiter = new();
    private long _lastModbusActivity;
    private readonly List<Action> _events = [];
    private bool _evaluated;

    /// <param name="totals">Where the meters' totals of the last run are kept: each meter goes on from them (<see cref="ContinuedMeter"/>).</param>
    public ChargingStation(IOptions<StationOptions> options, SettingsStore settings, Authorizer authorizer, HistoryStore history, TimeProvider time,
        ILogger<ChargingStation> logger, Func<int, IEnergyMeter>? meters = null, MeterTotalsStore? totals = null)
    {
        _options = options.Value;
        _settings = settings;
        _authorizer = authorizer;
        _history = history;
        _time = time;
        _logger = logger;
        IEnergyMeter Meter(int i)
        {
            var meter = meters?.Invoke(i) ?? new SimulatedMeter($"JUICE-SIM-{i}", time, _options.NominalVoltage);
            return totals is null ? meter : new ContinuedMeter(meter, () => totals.Load(i));
        }
        _connectors = [.. Enumerable.Range(1, _options.Connectors).Select(i => new Connector(i, _options.EvseId(i), Meter(i)))];
        settings.Changed += _ => EvaluateAll();
    }

    public StationOptions Options => _options;

    internal TimeProvider Time => _time;

    public OperatorSettings Settings => _settings.Current;

    public IReadOnlyList<Connector> Connectors => _connectors;

    /// <summary>A connector by its number (1-based); throws for another number.</summary>
    public Connector Connector(int id) => id >= 1 && id <= _connectors.Length ? _connectors[id - 1] : throw new ArgumentOutOfRangeException(nameof(id), $"no connector {id}");

    /// <summary>After every change of a connector (status, limits, energy): OCPP status, Modbus, the web UI.</summary>
    public event Action<ConnectorSnapshot>? Changed;

    public event Action<Connector, OpenTransaction>? TransactionStarted;

    public event Action<ChargingSession>? SessionFinished;

    /// <summary>The HEMS current limit written to Modbus 1000 (null: never written since start).</summary>
    public ushort? HemsLimit
    {
        get
        {
            lock (_gate)
            {
                return _hemsLimit;
            }
        }
    }

    public ConnectorSnapshot Snapshot(int connector)
    {
        lock (_gate)
        {
            var c = Connector(connector);
            if (!_evaluated)
            {
                foreach (var x in _connectors)
                {
                    Evaluate(x);
                }
                _evaluated = true;
            }
            return SnapshotOf(c);
        }
    }

    private ConnectorSnapshot SnapshotOf(Connector c) => new(c.Id, c.EvseId, c.CpState, c.Availability, c.Status, c.ErrorCodes, c.Relay, c.SignalledCurrentA,
        c.LimitReason, c.HlcEv is not null, c.HlcEv?.EvccidHex, c.EvNeeds, c.Authorized, c.Transaction, c.LastSession, c.Meter.Read(), _time.GetUtcNow(),
        c.SlacMac is { } mac ? Convert.ToHexString(mac) : null, PhasesOf(c));

    /// <summary>Closes the transactions a previous run left open (reason PowerLoss): call once at start.</summary>
    public IReadOnlyList<ChargingSession> Recover()
    {
        var closed = _history.CloseInterrupted();
        foreach (var s in closed)
        {
            Log.Recovered(_logger, s.Id, s.Connector, s.EnergyWh);
            if (s.Connector >= 1 && s.Connector <= _connectors.Length)
            {
                _connectors[s.Connector - 1].LastSession = s;
            }
        }
        EvaluateAll();
        return closed;
    }

    // ---- inputs: hardware (or its simulation), operator, Modbus, backend ----

    /// <summary>The control pilot state measured at a connector (a basic IEC 61851 car, or the plug of an ISO 15118 car).</summary>
    public void SetVehicleState(int connector, CpState state)
    {
        Mutate(connector, c =>
        {
            var before = c.CpState;
            c.CpState = state;
            c.VirtualPlug = false;
            if (before == CpState.A && state != CpState.A)
            {
                c.PluggedAt = _time.GetUtcNow();
            }
            if (state == CpState.A && before != CpState.A)
            {
                Unplugged(c);
            }
            c.ErrorCodes = state == CpState.E ? c.ErrorCodes | 0b10 : c.ErrorCodes & ~0b10u;
        });
    }

    private void Unplugged(Connector c, StopReason reason = StopReason.EVDisconnected)
    {
        StopTransaction(c, reason);
        c.Authorized = null;
        c.AuthorizedAt = null;
        c.HlcEv = null;
        c.Contract = null;
        c.SlacMac = null;
        c.EvNeeds = null;
        c.HlcEnergyOn = false;
        c.HlcWaitingSince = null;
        c.HlcRejected = false;
        c.HlcIdentityAsked = false;
        c.PausedSince = null;
        c.PluggedAt = null;
        c.FinishedOnThisPlug = false;
    }

    /// <summary>
    /// An id presented at a connector: an RFID card at the reader, INPUT_AUTH from the authorization input, a user id
    /// from Modbus. The id of the running transaction stops it (Local); another is authorized and, once a vehicle is
    /// plugged, starts a transaction.
    /// </summary>
    public async Task<AuthorizationDecision> PresentIdAsync(int connector, IdToken token, CancellationToken ct = default)
    {
        var c = Connector(connector);
        bool stopped = false;
        lock (_gate)
        {
            if (c.Transaction is { } tx && string.Equals(tx.IdTag.Value, token.Value, StringComparison.OrdinalIgnoreCase))
            {
                if (c.HlcEv is not null)
                {
                    c.HlcRequest = EvseRequest.StopCharging;
                }
                StopTransaction(c, StopReason.Local);
                c.Authorized = null;
                Evaluate(c);
                stopped = true;
            }
        }
        if (stopped)
        {
            RaiseEvents();
            Notify(c);
            return AuthorizationDecision.Accept(token, "the id of the running transaction: stopped");
        }
        var decision = await _authorizer.AuthorizeTagAsync(connector, token, ct).ConfigureAwait(false);
        if (decision.Accepted)
        {
            Mutate(connector, x =>
            {
                if (x.Transaction is null)
                {
                    x.Authorized = decision.IdTag;
                    x.AuthorizedAt = _time.GetUtcNow();
                }
            });
        }
        return decision;
    }

    /// <summary>
    /// The backend started a transaction (OCPP RemoteStartTransaction): the connector is authorized for the id as if
    /// it had been presented; a vehicle plugged in (or already there) starts the transaction.
    /// </summary>
    public bool AuthorizeRemote(int connector, IdToken token)
    {
        bool authorized = false;
        Mutate(connector, c =>
        {
            if (c.Transaction is null && c.Availability == Availability.Operative && !c.Faulted)
            {
                c.Authorized = token;
                c.AuthorizedAt = _time.GetUtcNow();
                authorized = true;
            }
        });
        return authorized;
    }

    public void SetAvailability(int connector, Availability availability) => Mutate(connector, c => c.Availability = availability);

    /// <summary>A current limit from the backend's charging profiles (A per phase), or none.</summary>
    public void SetExternalLimit(int connector, double? amps) => Mutate(connector, c => c.ExternalLimitA = amps);

    /// <summary>The HEMS writes Modbus 1000: the current limit for every connector (0 pauses).</summary>
    public void SetHemsLimit(ushort amps)
    {
        lock (_gate)
        {
            _hemsLimit = amps;
        }
        EvaluateAll();
    }

    /// <summary>Any request of the Modbus master: the watchdog of the safe current (131/132) restarts.</summary>
    public void ModbusActivity()
    {
        bool wasSilent;
        lock (_gate)
        {
            wasSilent = ModbusSilent();
            _lastModbusActivity = _time.GetTimestamp();
        }
        if (wasSilent)
        {
            EvaluateAll();
        }
    }

    /// <summary>True when the master has spoken once and then been silent past the communication timeout (Modbus 132).</summary>
    private bool ModbusSilent()
    {
        var s = _settings.Current;
        return s.ModbusCommunicationTimeout > 0 && _lastModbusActivity != 0
            && _time.GetElapsedTime(_lastModbusActivity) > TimeSpan.FromSeconds(s.ModbusCommunicationTimeout);
    }

    /// <summary>Stops the transaction of a connector (operator, backend, Modbus user id).</summary>
    public bool StopTransaction(int connector, StopReason reason)
    {
        bool stopped = false;
        Mutate(connector, c =>
        {
            if (c.Transaction is not null)
            {
                if (c.HlcEv is not null)
                {
                    c.HlcRequest = EvseRequest.StopCharging;
                }
                StopTransaction(c, reason);
                c.Authorized = null;
                stopped = true;
            }
        });
        return stopped;
    }

    /// <summary>The periodic work (once a second): timeouts, the Modbus watchdog, the meter of open transactions.</summary>
    public void Tick()
    {
        var now = _time.GetUtcNow();
        var timeout = TimeSpan.FromSeconds(_settings.Current.VehicleConnectionTimeoutSeconds);
        foreach (var c in _connectors)
        {
            Mutate(c.Id, x =>
            {
                if (x.Authorized is { } tag && x.Transaction is null && !x.Plugged && x.AuthorizedAt is { } at && now - at > timeout)
                {
                    Log.AuthorizationExpired(_logger, x.Id, tag.Value, timeout.TotalSeconds);
                    x.Authorized = null;
                    x.AuthorizedAt = null;
                }
                if (x.PausedSince is { } p && x.VirtualPlug && now - p > TimeSpan.FromMinutes(_options.PausedSessionMinutes))
                {
                    Log.PausedExpired(_logger, x.Id);
                    x.CpState = CpState.A;
                    Unplugged(x, StopReason.EVPaused);
                }
                if (x.Transaction is { } tx && (x.LastProgressWrite is not { } w || now - w >= TimeSpan.FromSeconds(1)))
                {
                    var reading = x.Meter.Read();
                    _history.Progress(tx.Id, reading.TotalEnergyWh, now, reading.ExportedEnergyWh);
                    x.LastProgressWrite = now;
                }
            }, notify: false);
        }
        EvaluateAll();
    }

    // ---- evaluation ----

    private void Mutate(int connector, Action<Connector> change, bool notify = true)
    {
        var c = Connector(connector);
        ConnectorSnapshot? snapshot = null;
        lock (_gate)
        {
            change(c);
            Evaluate(c);
            if (notify)
            {
                snapshot = SnapshotOf(c);
            }
        }
        RaiseEvents();
        if (snapshot is not null)
        {
            Changed?.Invoke(snapshot);
        }
    }

    /// <summary>Transaction events collected under the lock, raised in order once it is released.</summary>
    private void RaiseEvents()
    {
        Action[] pending;
        lock (_gate)
        {
            if (_events.Count == 0)
            {
                return;
            }
            pending = [.. _events];
            _events.Clear();
        }
        foreach (var e in pending)
        {
            e();
        }
    }

    private void Notify(Connector c)
    {
        ConnectorSnapshot snapshot;
        lock (_gate)
        {
            snapshot = SnapshotOf(c);
        }
        Changed?.Invoke(snapshot);
    }

    private void EvaluateAll()
    {
        foreach (var c in _connectors)
        {
            ConnectorStatus before;
            double signalled;
            ConnectorSnapshot snapshot;
            lock (_gate)
            {
                before = c.Status;
                signalled = c.SignalledCurrentA;
                Evaluate(c);
                snapshot = SnapshotOf(c);
            }
            RaiseEvents();
            if (before != snapshot.Status || Math.Abs(signalled - snapshot.SignalledCurrentA) > 0.01)
            {
                Changed?.Invoke(snapshot);
            }
        }
    }

    private bool Paused(Connector c) => c.Availability == Availability.Inoperative || c.Faulted;

    /// <summary>
    /// The station's limit for a connector: the lowest of the hardware limit, the operator limit, the HEMS limit
    /// (Modbus 1000), the safe current while the Modbus master is silent (131/132), the backend's limit (OCPP), the
    /// limits the energy services set in the arbiter (DLM, load shedding, the schedule, …) and, with the EV, the EV's
    /// own maximum. Below 6 A it is 0: charging pauses.
    /// </summary>
    private (double Amps, string Binding) Arbitrate(Connector c, bool withEv, bool withDlm = true)
    {
        var s = _settings.Current;
        var given = new List<(string, double?)>
        {
            (LimitSources.Hardware, _options.MaxCurrent),
            (LimitSources.Operator, s.OperatorCurrentLimit),
            (LimitSources.Hems, _hemsLimit),
            (LimitSources.ModbusSafe, ModbusSilent() ? s.ModbusSafeCurrent : null),
            (LimitSources.Backend, c.ExternalLimitA is { } backend ? Math.Max(0, backend) : null),   // negative: a discharge request
            (LimitSources.Ev, withEv ? c.EvNeeds?.MaxCurrentA : null),
        };
        var limit = CurrentArbiter.Lowest(_arbiter.Limits(c.Id, given, withDlm ? null : source => source is not (LimitSources.Dlm or LimitSources.DlmDisconnected)));
        return limit.Amps < MinimumCurrent ? (0, limit.Binding) : limit;
    }

    /// <summary>
    /// Sets a named limit (A per phase) for one connector or (null) the whole station, or clears it (null amps): the
    /// energy services' way into the arbitration. A change re-evaluates the connectors at once.
    /// </summary>
    public void SetLimit(string source, double? amps, int? connector = null)
    {
        bool changed;
        lock (_gate)
        {
            changed = _arbiter.Set(source, amps, connector);
        }
        if (changed)
        {
            EvaluateAll();
        }
    }

    /// <summary>What a connector could take without DLM's word (the EV's maximum and every other limit): what it asks DLM for.</summary>
    public double LimitWithoutDlm(int connector)
    {
        lock (_gate)
        {
            return Arbitrate(Connector(connector), withEv: true, withDlm: false).Amps;
        }
    }

    private double OfferedCurrent(Connector c) => Arbitrate(c, withEv: false).Amps;

    /// <summary>Derives everything that follows from a connector's inputs. Runs under the lock after every change.</summary>
    private void Evaluate(Connector c)
    {
        var (signalled, binding) = Arbitrate(c, withEv: true);
        c.OfferedCurrentA = OfferedCurrent(c);
        c.LimitReason = binding;
        double before = c.SignalledCurrentA;
        c.SignalledCurrentA = Paused(c) ? 0 : signalled;
        if (c.SignalledCurrentA < before - 0.05 && c.Transaction is not null && !Paused(c))
        {
            Log.Lowered(_logger, c.Id, before, c.SignalledCurrentA, binding);
        }

        var settings = _settings.Current;
        if (settings.FreeCharging && c.Transaction is null && c.Authorized is null && c.Plugged && !c.FinishedOnThisPlug)
        {
            // free charging: plugging in is enough (once per plug)
            c.Authorized = new IdToken(settings.FreeChargingIdTag, IdSource.FreeCharging);
            c.AuthorizedAt = _time.GetUtcNow();
        }
        if (c.Transaction is null && c.Plugged && c.Authorized is { } tag && c.Availability == Availability.Operative && !c.Faulted)
        {
            StartTransaction(c, tag);
        }

        // ISO 15118 AC: a limit that moved since the schedule was made asks the EV to renegotiate [V2G2-680]
        if (c.HlcEv is not null && c.HlcEnergyOn && c.EvNeeds?.Mode is EnergyTransfer.AcSinglePhase or EnergyTransfer.AcThreePhase
            && c.HlcRequest == EvseRequest.None && Math.Abs(c.OfferedCurrentA - c.OfferedAtNegotiation) >= 1)
        {
            c.HlcRequest = EvseRequest.Renegotiate;
        }

        bool energy = c.Transaction is not null && !Paused(c) && c.PausedSince is null
            && (c.HlcEv is not null ? c.HlcEnergyOn : c.CpState is CpState.C or CpState.D && c.SignalledCurrentA > 0);   // 0 A: the contactors open
        var meter = ((c.Meter as ContinuedMeter)?.Inner ?? c.Meter) as SimulatedMeter;
        if (!energy)
        {
            c.Relay = RelayState.Off;
            meter?.SetCurrents(default);
        }
        else if (c.EvNeeds?.Mode == EnergyTransfer.Dc)
        {
            c.Relay = RelayState.ThreePhases;
            var limits = HlcLimitsUnlocked(c);
            double power = Math.Min(c.DcVoltage * Math.Min(c.DcCurrent, limits.MaxCurrentA), limits.MaxPowerW);
            meter?.SetDcPower(FedBackW(c) ?? (c.SignalledCurrentA > 0 ? Math.Max(0, power) : 0));
        }
        else
        {
            bool onePhase = PhasesOf(c) == 1;
            c.Relay = onePhase ? RelayState.OnePhase : RelayState.ThreePhases;
            // charging: the signalled current; AC_BPT feeding in: the SECC's power over the phases, negative
            double a = FedBackW(c) is { } fed ? fed / ((onePhase ? 1 : 3) * _options.NominalVoltage) : c.SignalledCurrentA;
            meter?.SetCurrents(onePhase ? new Phases(a, 0, 0) : new Phases(a, a, a));
        }

        c.Status =
            c.Faulted ? ConnectorStatus.Faulted
            : c.Availability == Availability.Inoperative && c.Transaction is null ? ConnectorStatus.Unavailable
            : c.Transaction is not null
                ? (c.SignalledCurrentA == 0 ? ConnectorStatus.SuspendedEVSE : energy ? ConnectorStatus.Charging : ConnectorStatus.SuspendedEV)
            : c.Plugged ? (c.FinishedOnThisPlug ? ConnectorStatus.Finishing : ConnectorStatus.Preparing)
            : c.Authorized is not null ? ConnectorStatus.Preparing
            : ConnectorStatus.Available;
    }

    private EvseLimits HlcLimitsUnlocked(Connector c)
    {
        double amps = c.OfferedCurrentA;
        double power = Math.Min(_options.DcMaxPower, _options.Phases * _options.NominalVoltage * amps);
        double voltage = c.DcVoltage > 0 ? c.DcVoltage : _options.DcMaxVoltage;
        return new EvseLimits(Math.Min(_options.DcMaxCurrent, power / Math.Max(voltage, 1)), power, _options.NominalVoltage, _options.DcMaxVoltage);
    }

    private void StartTransaction(Connector c, IdToken tag)
    {
        var now = _time.GetUtcNow();
        var reading = c.Meter.Read();
        double meter = reading.TotalEnergyWh;
        long id = _history.Open(c.Id, tag, now, meter, c.Contract, reading.ExportedEnergyWh);
        var tx = new OpenTransaction(id, c.Id, tag, now, meter, reading.ExportedEnergyWh);
        c.Transaction = tx;
        c.LastProgressWrite = now;
        Log.Started(_logger, id, c.Id, tag.Value, tag.Source.ToString());
        _events.Add(() => TransactionStarted?.Invoke(c, tx));
    }

    private void StopTransaction(Connector c, StopReason reason)
    {
        if (c.Transaction is not { } tx)
        {
            return;
        }
        var now = _time.GetUtcNow();
        var reading = c.Meter.Read();
        var session = new ChargingSession(tx.Id, c.Id, tx.IdTag.Value, tx.IdTag.Source, tx.Start, now, tx.MeterStartWh, reading.TotalEnergyWh, reason, Contract: c.Contract,
            ExportedWh: Math.Max(0, reading.ExportedEnergyWh - tx.ExportStartWh));
        _history.Close(session);
        c.Transaction = null;
        c.LastSession = session;
        c.FinishedOnThisPlug = c.Plugged;
        c.HlcEnergyOn = false;
        c.PausedSince = null;
        Log.Stopped(_logger, tx.Id, c.Id, reason.ToString(), session.EnergyWh, session.Duration.TotalSeconds);
        _events.Add(() => SessionFinished?.Invoke(session));
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Transaction {Id} started at connector {Connector} for {IdTag} ({Source})")]
        public static partial void Started(ILogger logger, long id, int connector, string idTag, string source);

        [LoggerMessage(2, LogLevel.Information, "Transaction {Id} at connector {Connector} stopped ({Reason}): {EnergyWh:0} Wh in {Seconds:0} s")]
        public static partial void Stopped(ILogger logger, long id, int connector, string reason, double energyWh, double seconds);

        [LoggerMessage(3, LogLevel.Warning, "Transaction {Id} at connector {Connector} was open when the station stopped: closed as PowerLoss with {EnergyWh:0} Wh")]
        public static partial void Recovered(ILogger logger, long id, int connector, double energyWh);

        [LoggerMessage(4, LogLevel.Information, "Connector {Connector}: the authorization of {IdTag} expired, no vehicle within {Seconds} s")]
        public static partial void AuthorizationExpired(ILogger logger, int connector, string idTag, double seconds);

        [LoggerMessage(40, LogLevel.Information, "Connector {Connector}: SLAC matched the EV with MAC {Mac}")]
        public static partial void SlacMatched(ILogger logger, int connector, string mac);

        [LoggerMessage(5, LogLevel.Information, "Connector {Connector}: ISO 15118 EV {Evccid} ({Protocol}), {Kind} session")]
        public static partial void HlcStarted(ILogger logger, int connector, string evccid, string protocol, string kind);

        [LoggerMessage(6, LogLevel.Information, "Connector {Connector}: the ISO 15118 EV paused its session; the transaction stays open")]
        public static partial void HlcPaused(ILogger logger, int connector);

        [LoggerMessage(7, LogLevel.Information, "Connector {Connector}: a paused session was not resumed in time; the transaction ends")]
        public static partial void PausedExpired(ILogger logger, int connector);

        [LoggerMessage(8, LogLevel.Information, "Connector {Connector}: no authorization for the ISO 15118 EV within {Seconds} s: refused")]
        public static partial void NotAuthorized(ILogger logger, int connector, int seconds);

        [LoggerMessage(10, LogLevel.Information, "Connector {Connector}: current lowered from {Before:0.#} A to {After:0.#} A by the {Binding}")]
        public static partial void Lowered(ILogger logger, int connector, double before, double after, string binding);

        [LoggerMessage(41, LogLevel.Information, "Connector {Connector}: contactors switched to {Phases} phase(s), without current")]
        public static partial void PhasesSwitched(ILogger logger, int connector, int phases);

        [LoggerMessage(9, LogLevel.Information, "Connector {Connector}: metering receipt of {Emaid} for {ReadingWh} Wh (transaction {Transaction}) verified and kept")]
        public static partial void Receipt(ILogger logger, int connector, string emaid, ulong readingWh, long transaction);
    }
}
