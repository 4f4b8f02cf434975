using Juice.Hlc.Secc;
using Juice.Station.Core;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Energy.Dlm;

/// <summary>
/// This station as a DLM slave (a slave station, or the master's internal slave): reports its connectors' demand and
/// applies the master's assignments as the "DLM assignment" limit of the charging core. Without a master's word for
/// Dlm:MasterTimeoutSeconds — and before the first one — every connector is held to the Disconnected Limit instead.
/// </summary>
public sealed partial class DlmSlave(ChargingStation station, DlmOptions options, TimeProvider time, ILogger logger)
{
    private readonly object _gate = new();
    private long _lastAssignment;
    private bool _connected;
    private bool _started;
    private string? _master;
    private long _round;

    public bool Connected
    {
        get
        {
            lock (_gate)
            {
                return _connected;
            }
        }
    }

    /// <summary>The master this slave follows (its station id), while connected.</summary>
    public string? Master
    {
        get
        {
            lock (_gate)
            {
                return _connected ? _master : null;
            }
        }
    }

    /// <summary>
    /// The report of this station's connectors now, with the round of the last assignment applied: read before the
    /// currents, so the currents are never older than the round they confirm.
    /// </summary>
    public DlmConnectorReport[] Connectors(out long applied)
    {
        lock (_gate)
        {
            applied = _round;
        }
        return Connectors();
    }

    private DlmConnectorReport[] Connectors() => [.. station.Connectors.Select(c =>
    {
        var s = station.Snapshot(c.Id);
        bool ev = s.Transaction is not null && s.Availability == Availability.Operative && s.Status is not ConnectorStatus.Faulted;
        var m = s.Meter.CurrentA;
        // one phase: an ISO 15118 EV that says so, a station wired for one, or a basic car that draws on L1 only
        bool onePhase = s.Phases == 1
            || (s.EvNeeds is null && m.L1 >= 1 && m.L2 < 0.5 && m.L3 < 0.5);
        return new DlmConnectorReport(c.Id, ev, onePhase ? 1 : 3, Math.Round(station.LimitWithoutDlm(c.Id), 1), s.SignalledCurrentA, [m.L1, m.L2, m.L3]);
    })];

    /// <summary>
    /// Applies an assignment of <paramref name="master"/>, unless it is older than one applied already (its
    /// <paramref name="round"/> not above the last): a stale assignment must not raise a current the master has lowered.
    /// </summary>
    public void Assigned(string master, long round, IEnumerable<DlmConnectorAssignment> assignments)
    {
        bool found;
        lock (_gate)
        {
            if (_connected && _master == master && round <= _round)
            {
                return;
            }
            _round = round;
            found = !_connected || _master != master;
            _connected = true;
            _master = master;
            _lastAssignment = time.GetTimestamp();
        }
        if (found)
        {
            Log.MasterFound(logger, master);
        }
        foreach (var a in assignments)
        {
            if (a.Id >= 1 && a.Id <= station.Connectors.Count)
            {
                station.SetLimit(LimitSources.Dlm, a.Amps, a.Id);
                station.SetLimit(LimitSources.DlmDisconnected, null, a.Id);
            }
        }
    }

    /// <summary>Falls to the Disconnected Limit when the master has been silent too long (or was never heard).</summary>
    public void Check(double disconnectedLimit)
    {
        bool lost;
        lock (_gate)
        {
            bool silent = !_connected || time.GetElapsedTime(_lastAssignment) > TimeSpan.FromSeconds(options.MasterTimeoutSeconds);
            lost = silent && (_connected || !_started);
            if (silent)
            {
                _connected = false;
            }
            _started = true;
            if (!silent)
            {
                return;
            }
        }
        if (lost)
        {
            Log.MasterLost(logger, _master ?? "(none yet)", disconnectedLimit);
        }
        foreach (var c in station.Connectors)
        {
            station.SetLimit(LimitSources.DlmDisconnected, disconnectedLimit, c.Id);
            station.SetLimit(LimitSources.Dlm, null, c.Id);
        }
    }

    /// <summary>DLM off: no DLM limit on any connector.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _connected = false;
            _started = false;
        }
        foreach (var c in station.Connectors)
        {
            station.SetLimit(LimitSources.DlmDisconnected, null, c.Id);
            station.SetLimit(LimitSources.Dlm, null, c.Id);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "DLM: following the master {Master}")]
        public static partial void MasterFound(ILogger logger, string master);

        [LoggerMessage(2, LogLevel.Warning, "DLM: no word from the master {Master}: the connectors charge at most the Disconnected Limit of {Amps} A")]
        public static partial void MasterLost(ILogger logger, string master, double amps);
    }
}
