using System.Net;
using System.Net.Sockets;
using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station.Energy.Dlm;

/// <summary>
/// Dynamic load management on the network, in the role the LOAD MANAGEMENT page sets (a change of role, network id
/// or master address restarts it). The wire format (UDP, JSON datagrams; see <see cref="DlmDatagram"/>):
/// <list type="bullet">
/// <item>a master announces itself every Dlm:AnnounceSeconds to Dlm:DiscoveryAddress:Dlm:Port (unless "Disable
/// Discovery Broadcasting") and takes reports on Dlm:MasterPort;</item>
/// <item>a slave (auto-discovery) follows the master whose announcement carries its network id — or the configured
/// master address — and reports every Dlm:ReportSeconds, at once on a change and after applying an assignment;</item>
/// <item>the master answers every report with that slave's assignment, and sends all assignments after each
/// allocation round (every "DLM Algorithm Sample Rate" and at once on an event: an EV arriving or leaving, a
/// slave joining or lost).</item>
/// </list>
/// </summary>
public sealed partial class DlmService(ChargingStation station, SettingsStore settings, LocalLimits local, ExternalInput input, GridMeter meter,
    IOptions<DlmOptions> dlmOptions, IOptions<StationOptions> stationOptions, TimeProvider time, ILogger<DlmService> logger) : BackgroundService
{
    private readonly DlmOptions _options = dlmOptions.Value;
    private readonly object _gate = new();
    private DlmMaster? _master;
    private DlmSlave? _slave;
    private IPEndPoint? _masterEndPoint;
    private IPEndPoint? _followed;
    private readonly SemaphoreSlim _wake = new(0, 1);

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // already awake
        }
    }

    public string StationId => _options.StationId ?? stationOptions.Value.SerialNumber;

    /// <summary>The master's report port while this station is the master (for tests and the page).</summary>
    public IPEndPoint? MasterEndPoint => _masterEndPoint;

    /// <summary>The master's view (null unless this station is the master).</summary>
    public DlmMasterStatus? MasterStatus()
    {
        lock (_gate)
        {
            return _master?.Status();
        }
    }

    /// <summary>This station as a slave: the master it follows (null: none now), where it reports.</summary>
    public (bool Connected, string? Master, IPEndPoint? Address)? SlaveStatus()
    {
        var slave = _slave;
        return slave is null ? null : (slave.Connected, slave.Master, _followed);
    }

    /// <summary>
    /// What the master distributes now: the sub-distribution limits, the schedule, the external input and — with
    /// External Meter Support — less the building's other loads (the grid meter's currents less what the DLM EVs
    /// measure; the highest of the last Dlm:MeterHoldSeconds, so a current is lowered at once and raised only when the
    /// other loads stay low). Without a fresh reading the master distributes only the Disconnected Limit. Never below 0.
    /// </summary>
    private PhaseCurrents Available(OperatorSettings s, DlmMaster master)
    {
        var limit = new PhaseCurrents(s.DlmSubDistributionL1, s.DlmSubDistributionL2, s.DlmSubDistributionL3)
            .Lower(new PhaseCurrents(s.DlmOperatorSubDistributionL1, s.DlmOperatorSubDistributionL2, s.DlmOperatorSubDistributionL3));
        if (local.ScheduleNow() is { } scheduled)
        {
            limit = limit.Lower(scheduled);
        }
        if (s.DlmExternalInput && input.Active(s.ExternalInputActiveLow))
        {
            limit = limit.Plus(new PhaseCurrents(s.DlmExternalInputOffsetL1, s.DlmExternalInputOffsetL2, s.DlmExternalInputOffsetL3));
        }
        if (s.DlmExternalMeter)
        {
            long now = time.GetTimestamp();
            if (meter.Fresh is { } reading)
            {
                var ev = master.MeasuredOnGrid();
                var others = new PhaseCurrents(reading.Currents.L1 - ev.L1, reading.Currents.L2 - ev.L2, reading.Currents.L3 - ev.L3).NotBelowZero();
                _others.Enqueue((now, others));
                while (_others.Count > 1 && time.GetElapsedTime(_others.Peek().At, now) > TimeSpan.FromSeconds(_options.MeterHoldSeconds))
                {
                    _others.Dequeue();
                }
                var held = _others.Aggregate(PhaseCurrents.Zero, (max, x) => new PhaseCurrents(Math.Max(max.L1, x.Others.L1), Math.Max(max.L2, x.Others.L2), Math.Max(max.L3, x.Others.L3)));
                OtherLoads = held;
                if (_meterStale)
                {
                    _meterStale = false;
                    Log.MeterFresh(logger);
                }
                limit = new PhaseCurrents(limit.L1 - held.L1, limit.L2 - held.L2, limit.L3 - held.L3);
            }
            else
            {
                if (!_meterStale)
                {
                    _meterStale = true;
                    Log.MeterStale(logger, meter.Problem ?? "no reading yet", s.DlmDisconnectedLimit);
                }
                OtherLoads = null;
                limit = limit.Lower(PhaseCurrents.Same(s.DlmDisconnectedLimit));
            }
        }
        else
        {
            OtherLoads = null;
        }
        return limit.NotBelowZero();
    }

    private readonly Queue<(long At, PhaseCurrents Others)> _others = new();
    private bool _meterStale;

    /// <summary>With External Meter Support: the other loads the master counts now (null: none, or no fresh reading).</summary>
    public PhaseCurrents? OtherLoads { get; private set; }

    private static (DlmMode, int, string?, bool) Role(OperatorSettings s) => (s.DlmMode, s.DlmNetworkId, s.DlmMasterAddress, s.DlmDisableDiscoveryBroadcasting);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var s = settings.Current;
            var role = Role(s);
            using var restart = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            void OnSettings(OperatorSettings changed)
            {
                if (Role(changed) != role)
                {
                    restart.Cancel();
                }
                _pendingEvent = true;   // new limits: allocate now
                Wake();
            }
            void OnStation(ConnectorSnapshot _) => Wake();
            void OnMeter(GridReading reading)
            {
                if (settings.Current.DlmExternalMeter)
                {
                    _pendingEvent = true;   // the other loads may have changed: allocate now
                    Wake();
                }
            }
            settings.Changed += OnSettings;
            station.Changed += OnStation;
            input.Changed += OnInput;
            meter.Read += OnMeter;
            void OnInput(bool? _)
            {
                _pendingEvent = true;   // load shedding on or off: allocate now
                Wake();
            }
            try
            {
                switch (s.DlmMode)
                {
                    case DlmMode.MasterWithInternalSlave or DlmMode.MasterStandalone:
                        await RunMasterAsync(s, internalSlave: s.DlmMode == DlmMode.MasterWithInternalSlave, restart.Token);
                        break;
                    case DlmMode.SlaveAutoDiscovery or DlmMode.SlaveFixedMaster:
                        await RunSlaveAsync(s, restart.Token);
                        break;
                    default:
                        await Task.Delay(Timeout.Infinite, restart.Token);
                        break;
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (SocketException e)
            {
                Log.SocketFailed(logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(5), time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            finally
            {
                settings.Changed -= OnSettings;
                station.Changed -= OnStation;
                input.Changed -= OnInput;
                meter.Read -= OnMeter;
                lock (_gate)
                {
                    _master = null;
                }
                _masterEndPoint = null;
                _followed = null;
                _slave?.Clear();
                _slave = null;
            }
        }
    }

    // ---- master ----

    private async Task RunMasterAsync(OperatorSettings s, bool internalSlave, CancellationToken ct)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.EnableBroadcast = true;
        socket.Bind(new IPEndPoint(IPAddress.Any, _options.MasterPort));
        _masterEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        var master = new DlmMaster(_options, time);
        lock (_gate)
        {
            _master = master;
        }
        var slave = internalSlave ? new DlmSlave(station, _options, time, logger) : null;
        _slave = slave;
        Log.MasterStarted(logger, s.DlmNetworkId, _masterEndPoint.Port, s.DlmDisableDiscoveryBroadcasting ? "off" : _options.DiscoveryAddress + ":" + _options.Port);
        var announce = s.DlmDisableDiscoveryBroadcasting ? Task.CompletedTask : AnnounceAsync(socket, s.DlmNetworkId, _masterEndPoint.Port, ct);
        var receive = ReceiveReportsAsync(socket, master, s.DlmNetworkId, ct);
        long lastRound = 0;
        while (!ct.IsCancellationRequested)
        {
            var current = settings.Current;
            bool round;
            lock (_gate)
            {
                if (slave is not null)
                {
                    // the internal slave reports like any other, without the network
                    var connectors = slave.Connectors(out long applied);
                    _pendingEvent |= master.Report(new DlmDatagram { T = "report", Net = current.DlmNetworkId, From = StationId, Rotation = stationOptions.Value.Rotation.ToString(), Ack = applied, Connectors = connectors }, null);
                }
                var lost = master.CheckLost();
                foreach (var id in lost)
                {
                    Log.SlaveLost(logger, id, _options.SlaveTimeoutSeconds, current.DlmDisconnectedLimit);
                }
                // the grid meter going stale (or fresh again) changes what there is to distribute: an event too
                bool meterTurned = current.DlmExternalMeter && (meter.Fresh is null) != _meterStale;
                round = lastRound == 0 || time.GetElapsedTime(lastRound) >= TimeSpan.FromSeconds(current.DlmSampleRateSeconds) || _pendingEvent || lost.Count > 0 || meterTurned;
                _pendingEvent = false;
            }
            IReadOnlyList<DlmAssignment> assignments;
            lock (_gate)
            {
                var settingsNow = new DlmMasterSettings(Available(current, master), current.DlmMinimumCurrent, current.DlmImbalancePrevention ? current.DlmImbalanceLimit : null,
                    current.DlmAllowEvWakeup, current.DlmDisconnectedLimit);
                assignments = round ? master.Allocate(settingsNow) : master.Grant();
            }
            if (round)
            {
                lastRound = time.GetTimestamp();
            }
            foreach (var a in assignments)
            {
                if (a.To is null)
                {
                    slave?.Assigned(StationId, a.Round, a.Assignments);
                }
                else
                {
                    await SendAsync(socket, Assign(current.DlmNetworkId, a), a.To, ct);
                }
            }
            // the next round: the sample rate, or sooner on an event (a report that changes the demand, a station change)
            await Task.WhenAny(_wake.WaitAsync(ct), Task.Delay(TimeSpan.FromSeconds(1), time, ct));
            if (receive.IsFaulted || announce.IsFaulted)
            {
                await Task.WhenAll(receive, announce);
            }
        }
        await Task.WhenAll(announce, receive).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private volatile bool _pendingEvent;

    private DlmDatagram Assign(int net, DlmAssignment a) =>
        new() { T = "assign", Net = net, From = StationId, Seq = a.Seq, Round = a.Round, Assignments = a.Assignments };

    private async Task AnnounceAsync(Socket socket, int net, int port, CancellationToken ct)
    {
        var to = new IPEndPoint(IPAddress.Parse(_options.DiscoveryAddress), _options.Port);
        var datagram = new DlmDatagram { T = "announce", Net = net, From = StationId, Port = port };
        while (!ct.IsCancellationRequested)
        {
            await SendAsync(socket, datagram, to, ct);
            await Task.Delay(TimeSpan.FromSeconds(_options.AnnounceSeconds), time, ct);
        }
    }

    private Task ReceiveReportsAsync(Socket socket, DlmMaster master, int net, CancellationToken ct) => ReceiveAsync(socket, async (d, from) =>
    {
        if (d.Net != net || d.T != "report" || d.From == StationId)
        {
            return;
        }
        DlmAssignment? answer;
        lock (_gate)
        {
            bool joined = !master.Knows(d.From);
            if (master.Report(d, from))
            {
                _pendingEvent = true;
                Wake();
            }
            if (joined)
            {
                Log.SlaveJoined(logger, d.From, from.ToString()!);
            }
            master.Grant();
            if (master.Raised)
            {
                Wake();   // a confirmed lowering made room: the raised slaves hear it now
            }
            answer = master.AssignmentOf(d.From);
        }
        if (answer is { } a)
        {
            await SendAsync(socket, Assign(net, a), from, ct);
        }
    }, ct);

    /// <summary>Receives datagrams until cancelled: each well-formed one goes to <paramref name="handle"/>, anything else is dropped with a log line.</summary>
    private async Task ReceiveAsync(Socket socket, Func<DlmDatagram, EndPoint, Task> handle, CancellationToken ct)
    {
        var buffer = new byte[DlmDatagram.MaxBytes + 1];
        while (!ct.IsCancellationRequested)
        {
            var r = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), ct);
            var d = DlmDatagram.Decode(buffer.AsSpan(0, r.ReceivedBytes), out var problem);
            if (d is null)
            {
                Log.Dropped(logger, r.RemoteEndPoint.ToString()!, problem!);
                continue;
            }
            await handle(d, r.RemoteEndPoint);
        }
    }

    // ---- slave ----

    private async Task RunSlaveAsync(OperatorSettings s, CancellationToken ct)
    {
        var slave = new DlmSlave(station, _options, time, logger);
        _slave = slave;
        slave.Check(s.DlmDisconnectedLimit);   // the Disconnected Limit until the master's first word
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Any, 0));
        Socket? discovery = null;
        if (s.DlmMode == DlmMode.SlaveFixedMaster && DlmEndpoint.TryParse(s.DlmMasterAddress, out var fixedMaster, _options.MasterPort))
        {
            var addresses = await Dns.GetHostAddressesAsync(fixedMaster.Host, AddressFamily.InterNetwork, ct);
            _followed = new IPEndPoint(addresses.First(), fixedMaster.Port);
            Log.SlaveStarted(logger, s.DlmNetworkId, "the master at " + _followed);
        }
        else
        {
            discovery = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            discovery.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);   // several stations on one host
            discovery.Bind(new IPEndPoint(IPAddress.Any, _options.Port));
            Log.SlaveStarted(logger, s.DlmNetworkId, $"announcements on UDP {_options.Port}");
        }
        using var _ = discovery;
        var tasks = new List<Task> { ReceiveAssignmentsAsync(socket, slave, s.DlmNetworkId, ct) };
        if (discovery is not null)
        {
            tasks.Add(DiscoverAsync(discovery, s.DlmNetworkId, ct));
        }
        long lastReport = 0;
        long seq = 0;
        while (!ct.IsCancellationRequested)
        {
            var current = settings.Current;
            slave.Check(current.DlmDisconnectedLimit);
            if (_followed is { } master)
            {
                lastReport = time.GetTimestamp();
                var connectors = slave.Connectors(out long applied);
                var report = new DlmDatagram { T = "report", Net = s.DlmNetworkId, From = StationId, Seq = ++seq, Rotation = stationOptions.Value.Rotation.ToString(), Ack = applied, Connectors = connectors };
                await SendAsync(socket, report, master, ct);
            }
            var wait = TimeSpan.FromSeconds(_options.ReportSeconds) - (lastReport == 0 ? TimeSpan.Zero : time.GetElapsedTime(lastReport));
            var tick = Task.Delay(wait > TimeSpan.Zero ? TimeSpan.FromSeconds(Math.Min(1, wait.TotalSeconds)) : TimeSpan.Zero, time, ct);
            var done = await Task.WhenAny(_wake.WaitAsync(ct), tick);
            if (tasks.FirstOrDefault(t => t.IsFaulted) is { } failed)
            {
                await failed;
            }
            // a wake-up (a change here, an assignment applied) reports at once; otherwise wait out the report interval
            while (done == tick && lastReport != 0 && time.GetElapsedTime(lastReport) < TimeSpan.FromSeconds(_options.ReportSeconds) && !ct.IsCancellationRequested)
            {
                slave.Check(settings.Current.DlmDisconnectedLimit);
                tick = Task.Delay(TimeSpan.FromSeconds(Math.Min(1, _options.ReportSeconds)), time, ct);
                done = await Task.WhenAny(_wake.WaitAsync(ct), tick);
            }
        }
        await Task.WhenAll(tasks).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private Task DiscoverAsync(Socket discovery, int net, CancellationToken ct) => ReceiveAsync(discovery, (d, from) =>
    {
        if (d.T == "announce" && d.Net == net && d.From != StationId)
        {
            var at = new IPEndPoint(((IPEndPoint)from).Address, d.Port!.Value);
            if (!at.Equals(_followed) && _slave is { Connected: false })
            {
                Log.MasterAnnounced(logger, d.From, at.ToString());
                _followed = at;
                Wake();
            }
        }
        return Task.CompletedTask;
    }, ct);

    private Task ReceiveAssignmentsAsync(Socket socket, DlmSlave slave, int net, CancellationToken ct) => ReceiveAsync(socket, (d, from) =>
    {
        if (d.T == "assign" && d.Net == net && from.Equals(_followed))
        {
            // a current it changes raises the station's Changed event, which wakes the loop: the report confirms it at once
            slave.Assigned(d.From, d.Round!.Value, d.Assignments!);
        }
        return Task.CompletedTask;
    }, ct);

    private async Task SendAsync(Socket socket, DlmDatagram datagram, EndPoint to, CancellationToken ct)
    {
        try
        {
            await socket.SendToAsync(datagram.Encode(), SocketFlags.None, to, ct);
        }
        catch (SocketException e)
        {
            Log.SendFailed(logger, to.ToString()!, e.Message);   // the peer's timeout handles a lasting loss
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "DLM master of network {Net}: reports on UDP {Port}, announcements {Announce}")]
        public static partial void MasterStarted(ILogger logger, int net, int port, string announce);

        [LoggerMessage(2, LogLevel.Information, "DLM slave of network {Net}: looking for {Where}")]
        public static partial void SlaveStarted(ILogger logger, int net, string where);

        [LoggerMessage(3, LogLevel.Information, "DLM: master {Master} announced at {Address}")]
        public static partial void MasterAnnounced(ILogger logger, string master, string address);

        [LoggerMessage(4, LogLevel.Information, "DLM: slave {Slave} joined from {Address}")]
        public static partial void SlaveJoined(ILogger logger, string slave, string address);

        [LoggerMessage(5, LogLevel.Warning, "DLM: datagram from {Address} dropped: {Problem}")]
        public static partial void Dropped(ILogger logger, string address, string problem);

        [LoggerMessage(6, LogLevel.Warning, "DLM: sending to {Address} failed: {Problem}")]
        public static partial void SendFailed(ILogger logger, string address, string problem);

        [LoggerMessage(8, LogLevel.Warning, "DLM: slave {Slave} silent for {Seconds} s: lost; its EVs stay reserved at the Disconnected Limit of {Amps} A")]
        public static partial void SlaveLost(ILogger logger, string slave, double seconds, double amps);

        [LoggerMessage(9, LogLevel.Warning, "DLM: no fresh reading of the grid meter ({Problem}): the master distributes only the Disconnected Limit of {Amps} A per phase")]
        public static partial void MeterStale(ILogger logger, string problem, double amps);

        [LoggerMessage(10, LogLevel.Information, "DLM: the grid meter reads again; the other loads count as measured")]
        public static partial void MeterFresh(ILogger logger);

        [LoggerMessage(7, LogLevel.Error, "DLM: the UDP socket failed ({Problem}); trying again in 5 s")]
        public static partial void SocketFailed(ILogger logger, string problem);
    }
}
