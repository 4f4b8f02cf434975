using System.Net;

namespace Juice.Station.Energy.Dlm;

/// <summary>
/// What the master sends one slave: its connectors' currents, the report it answers (<paramref name="Seq"/>) and the
/// running number of the assignment (<paramref name="Round"/>): assignments are numbered as they are computed, so a
/// slave can drop one that arrives after a newer one (the answer to a report and a round's assignments are sent from
/// different threads and may overtake each other).
/// </summary>
public sealed record DlmAssignment(string Slave, EndPoint? To, DlmConnectorAssignment[] Assignments, long Seq, long Round);

/// <summary>What the master distributes now (from the LOAD MANAGEMENT settings, the schedule, the external input and meter).</summary>
public sealed record DlmMasterSettings(PhaseCurrents Available, double MinimumCurrent, double? ImbalanceLimit, bool AllowEvWakeup, double DisconnectedLimit);

/// <summary>The master's state for the page and Modbus 621, 630–635.</summary>
public sealed record DlmMasterStatus(int SlavesConnected, int SlavesLost, PhaseCurrents Applied, PhaseCurrents Available, IReadOnlyList<DlmConnectorState> Connectors);

/// <summary>One connector of the DLM network as the master sees it.</summary>
public sealed record DlmConnectorState(string Slave, int Connector, bool Ev, GridPhases Phases, double MaxA, double AppliedA, double GrantedA, double TargetA, bool Idle, bool Lost);

/// <summary>
/// The DLM master: the table of its slaves (fed by their reports) and the allocation round that turns it into
/// assignments. Safe against a moment of overload while currents move: a raise is granted only when, on each of its
/// phases, what every connector may draw — the larger of what it was granted and what it reports to apply or measures (an AC EV may take seconds to follow a lowering), and a
/// lost slave's reservation — stays within the limit with the raise; so currents are lowered first and raised once
/// the slaves have confirmed the lowering. Not thread-safe (the DLM service calls it from one loop). Time injected.
/// </summary>
public sealed class DlmMaster(DlmOptions options, TimeProvider time)
{
    private const double Drawing = 1.0;   // A: below this an EV draws nothing

    private sealed class Slave(string id)
    {
        public string Id { get; } = id;
        public EndPoint? Address { get; set; }
        public PhaseRotation Rotation { get; set; } = PhaseRotation.Standard;
        public long LastSeen { get; set; }
        public long? LostAt { get; set; }
        public long AssignedAt { get; set; }
        public long Seq { get; set; }
        public Dictionary<int, Connector> Connectors { get; } = [];
    }

    private sealed class Connector
    {
        public required DlmConnectorReport Report { get; set; }
        public double Granted { get; set; }
        public double Target { get; set; }
        public long QueuedAt { get; set; }
        public long? ChargingSince { get; set; }
        public long? IdleSince { get; set; }
        public bool Idle { get; set; }

        /// <summary>The currents sent to the slave in assignments it has not yet confirmed applying (round, amps), oldest first.</summary>
        public List<(long Round, double Amps)> Unconfirmed { get; } = [];
    }

    private readonly Dictionary<string, Slave> _slaves = new(StringComparer.Ordinal);
    private long _queue;   // a running number: the queue order of EVs that arrive in the same tick
    private PhaseCurrents _available;
    private PhaseCurrents _reserved;

    // from the master's start in microseconds: a restarted master numbers on above its predecessor
    private long _round = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;

    public int Slaves => _slaves.Count;

    /// <summary>The last <see cref="Grant"/> raised a connector (its slave should hear of it now, not at its next report).</summary>
    public bool Raised { get; private set; }

    /// <summary>Takes a slave's report; true when it changes what the allocation must consider (an event: allocate now).</summary>
    public bool Report(DlmDatagram report, EndPoint? from)
    {
        long now = time.GetTimestamp();
        bool changed = false;
        if (!_slaves.TryGetValue(report.From, out var slave))
        {
            _slaves[report.From] = slave = new Slave(report.From);
            changed = true;
        }
        changed |= slave.LostAt is not null;
        slave.LostAt = null;
        slave.Address = from;
        slave.LastSeen = now;
        slave.Seq = report.Seq ?? 0;
        long ack = report.Ack ?? 0;
        slave.Rotation = PhaseRotation.TryParse(report.Rotation, out var r) ? r : PhaseRotation.Standard;
        var seen = new HashSet<int>();
        foreach (var c in report.Connectors ?? [])
        {
            seen.Add(c.Id);
            if (!slave.Connectors.TryGetValue(c.Id, out var known))
            {
                slave.Connectors[c.Id] = known = new Connector { Report = c, QueuedAt = ++_queue };
                changed |= c.Ev;
            }
            else
            {
                var was = known.Report;
                changed |= was.Ev != c.Ev || was.Phases != c.Phases || Math.Abs(was.MaxA - c.MaxA) >= 1;
                if (c.Ev && !was.Ev)
                {
                    known.QueuedAt = ++_queue;   // a new EV joins the end of the queue
                }
                known.Report = c;
            }
            // what the slave confirms to apply (the round of its last assignment) replaces what was sent up to it
            known.Unconfirmed.RemoveAll(u => u.Round <= ack);
        }
        foreach (var gone in slave.Connectors.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            slave.Connectors.Remove(gone);
            changed = true;
        }
        return changed;
    }

    /// <summary>Marks the slaves silent past Dlm:SlaveTimeoutSeconds as lost; returns those newly lost (an event).</summary>
    public IReadOnlyList<string> CheckLost()
    {
        long now = time.GetTimestamp();
        var lost = new List<string>();
        foreach (var s in _slaves.Values.Where(s => s.LostAt is null && s.Address is not null))
        {
            if (time.GetElapsedTime(s.LastSeen, now) > TimeSpan.FromSeconds(options.SlaveTimeoutSeconds))
            {
                s.LostAt = now;
                lost.Add(s.Id);
            }
        }
        return lost;
    }

    /// <summary>One allocation round: the assignment for every slave that is heard from, by its address.</summary>
    public IReadOnlyList<DlmAssignment> Allocate(DlmMasterSettings settings)
    {
        long now = time.GetTimestamp();
        _available = settings.Available.NotBelowZero();
        foreach (var s in _slaves.Values.Where(s => time.GetElapsedTime(s.LastSeen, now) > TimeSpan.FromMinutes(options.ForgetSlaveMinutes)).ToList())
        {
            _slaves.Remove(s.Id);
        }
        CheckLost();

        // a lost slave may still draw what it had until it notices (its master timeout), then its Disconnected Limit
        var reserved = PhaseCurrents.Zero;
        foreach (var s in _slaves.Values.Where(s => s.LostAt is not null))
        {
            // the slave's own timeout runs from the last assignment it got: the last one computed for it (plus a second
            // on the way), not from when the master stopped hearing it
            bool noticed = time.GetElapsedTime(s.AssignedAt, now) > TimeSpan.FromSeconds(options.MasterTimeoutSeconds + 1);
            foreach (var c in s.Connectors.Values.Where(c => c.Report.Ev))
            {
                double amps = noticed ? settings.DisconnectedLimit : Math.Max(Math.Max(c.Granted, Drawn(c)), settings.DisconnectedLimit);
                reserved = reserved.Plus(PhaseCurrents.On(s.Rotation.Grid(c.Report.Phases), amps));
            }
        }

        var live = _slaves.Values.Where(s => s.LostAt is null).SelectMany(s => s.Connectors.Select(c => (Slave: s, Id: c.Key, C: c.Value))).ToList();
        bool someoneWaits = live.Any(x => x.C.Report.Ev && x.C.Granted == 0 && x.C.Report.MaxA >= settings.MinimumCurrent);
        var demands = new List<DlmDemand>();
        foreach (var (s, id, c) in live)
        {
            if (!c.Report.Ev)
            {
                c.Idle = false;
                c.IdleSince = null;
                c.Target = 0;
                continue;
            }
            // Allow EV Wakeup: an EV that holds current but draws none is idle after a while; it keeps the minimum
            // (to wake up) or, without wakeup, gets nothing; drawing again makes it a full demand again
            bool drawing = c.Report.Measured.Max() >= Drawing;
            c.IdleSince = drawing || c.Granted < settings.MinimumCurrent ? null : c.IdleSince ?? now;
            c.Idle = c.IdleSince is { } since && time.GetElapsedTime(since, now) > TimeSpan.FromSeconds(options.IdleSeconds);
            // fair queue: an EV that has charged long enough while others wait goes to the back
            if (someoneWaits && c.ChargingSince is { } charging && time.GetElapsedTime(charging, now) > TimeSpan.FromMinutes(options.RotationMinutes))
            {
                c.QueuedAt = ++_queue;
                c.ChargingSince = null;
            }
            double max = c.Idle ? (settings.AllowEvWakeup ? Math.Min(c.Report.MaxA, settings.MinimumCurrent) : 0) : c.Report.MaxA;
            demands.Add(new DlmDemand(Key(s.Id, id), s.Rotation.Grid(c.Report.Phases), max, c.QueuedAt));
        }
        var room = new PhaseCurrents(_available.L1 - reserved.L1, _available.L2 - reserved.L2, _available.L3 - reserved.L3).NotBelowZero();
        var allocation = DlmAllocator.Allocate(new DlmLimits(room, settings.MinimumCurrent, settings.ImbalanceLimit), demands);
        foreach (var (s, id, c) in live)
        {
            c.Target = c.Report.Ev && allocation.Amps.TryGetValue(Key(s.Id, id), out var a) ? a : 0;
        }

        _reserved = reserved;
        return Grant();
    }

    /// <summary>
    /// The assignments from the last round's targets: lowered at once, raised as far as what may still be drawn
    /// allows (run again on every report, so a raise follows the confirmation of the lowering that makes room).
    /// </summary>
    public IReadOnlyList<DlmAssignment> Grant()
    {
        long now = time.GetTimestamp();
        Raised = false;
        var live = _slaves.Values.Where(s => s.LostAt is null).SelectMany(s => s.Connectors.Values.Select(c => (Slave: s, C: c))).ToList();
        var committed = _reserved;
        foreach (var (s, c) in live)
        {
            if (c.Target < c.Granted || !c.Report.Ev)
            {
                c.Granted = c.Report.Ev ? c.Target : 0;
            }
            committed = committed.Plus(PhaseCurrents.On(s.Rotation.Grid(c.Report.Phases), Math.Max(c.Granted, Drawn(c))));
        }
        foreach (var (s, c) in live.Where(x => x.C.Target > x.C.Granted).OrderBy(x => x.C.QueuedAt))
        {
            var phases = s.Rotation.Grid(c.Report.Phases);
            double before = Math.Max(c.Granted, Drawn(c)), after = Math.Max(c.Target, Drawn(c));
            var trial = committed.Plus(PhaseCurrents.On(phases, after - before));
            if (trial.L1 <= _available.L1 + 1e-6 && trial.L2 <= _available.L2 + 1e-6 && trial.L3 <= _available.L3 + 1e-6)
            {
                c.Granted = c.Target;
                committed = trial;
                Raised = true;
            }
        }
        foreach (var (_, c) in live)
        {
            c.ChargingSince = c.Granted > 0 ? c.ChargingSince ?? now : null;
        }
        return [.. _slaves.Values.Where(s => s.LostAt is null).Select(Assignment)];
    }

    /// <summary>The assignment of one slave as it stands (the answer to its report).</summary>
    public DlmAssignment? AssignmentOf(string slave) =>
        _slaves.TryGetValue(slave, out var s) && s.LostAt is null ? Assignment(s) : null;

    private DlmAssignment Assignment(Slave s)
    {
        s.AssignedAt = time.GetTimestamp();
        long round = ++_round;
        foreach (var c in s.Connectors.Values)
        {
            if (c.Unconfirmed.Count == MaxUnconfirmed)
            {
                // a slave that does not confirm: the two oldest become one (the newer round, the larger current)
                c.Unconfirmed[1] = (c.Unconfirmed[1].Round, Math.Max(c.Unconfirmed[0].Amps, c.Unconfirmed[1].Amps));
                c.Unconfirmed.RemoveAt(0);
            }
            c.Unconfirmed.Add((round, c.Granted));
        }
        return new(s.Id, s.Address, [.. s.Connectors.OrderBy(c => c.Key).Select(c => new DlmConnectorAssignment(c.Key, c.Value.Granted))], s.Seq, round);
    }

    private const int MaxUnconfirmed = 32;

    /// <summary>Whether the slave is known and heard from.</summary>
    public bool Knows(string slave) => _slaves.TryGetValue(slave, out var s) && s.LostAt is null;

    /// <summary>The currents the EVs of the live slaves measure now, summed per grid phase (the DLM part of a grid meter's reading).</summary>
    public PhaseCurrents MeasuredOnGrid()
    {
        double[] sum = new double[3];
        foreach (var s in _slaves.Values.Where(s => s.LostAt is null))
        {
            int[] grid = [s.Rotation.First, s.Rotation.Second, s.Rotation.Third];
            foreach (var c in s.Connectors.Values)
            {
                for (int terminal = 0; terminal < 3; terminal++)
                {
                    sum[grid[terminal]] += Math.Max(0, c.Report.Measured[terminal]);
                }
            }
        }
        return new PhaseCurrents(sum[0], sum[1], sum[2]);
    }

    public DlmMasterStatus Status()
    {
        var applied = PhaseCurrents.Zero;
        var connectors = new List<DlmConnectorState>();
        foreach (var s in _slaves.Values.OrderBy(s => s.Id, StringComparer.Ordinal))
        {
            foreach (var (id, c) in s.Connectors.OrderBy(x => x.Key))
            {
                var phases = s.Rotation.Grid(c.Report.Phases);
                applied = applied.Plus(PhaseCurrents.On(phases, s.LostAt is null ? c.Granted : 0));
                connectors.Add(new DlmConnectorState(s.Id, id, c.Report.Ev, phases, c.Report.MaxA, c.Report.AppliedA, c.Granted, c.Target, c.Idle, s.LostAt is not null));
            }
        }
        // the internal slave (no address) is not counted as a slave connected (Modbus 621)
        return new DlmMasterStatus(_slaves.Values.Count(s => s.LostAt is null && s.Address is not null), _slaves.Values.Count(s => s.LostAt is not null), applied, _available, connectors);
    }

    private static string Key(string slave, int connector) => slave + "#" + connector;

    /// <summary>
    /// What a connector may be drawing now: the current its station signals, or more where the EV has not yet followed
    /// a lowering (IEC 61851-1 gives an AC EV seconds to do so) and its meter still measures more, or where an
    /// assignment sent is not yet confirmed (the report may have been written before the slave applied it; a late
    /// answer may still be on its way).
    /// </summary>
    private static double Drawn(Connector c)
    {
        double drawn = Math.Max(c.Report.AppliedA, c.Report.Measured.Max());
        foreach (var (_, amps) in c.Unconfirmed)
        {
            drawn = Math.Max(drawn, amps);
        }
        return drawn;
    }
}
