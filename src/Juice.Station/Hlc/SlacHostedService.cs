using System.Net.NetworkInformation;
using Juice.Hlc.Session;
using Juice.Hlc.Slac;
using Juice.Station.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station.Hlc;

/// <summary>One PLC link: the Ethernet interface of a connector's HomePlug Green PHY modem.</summary>
public sealed class SlacLink
{
    public string Interface { get; set; } = "";

    public int Connector { get; set; } = 1;
}

/// <summary>SLAC on the PLC path (configuration section <c>Slac</c>).</summary>
public sealed class SlacOptions
{
    public const string Section = "Slac";

    /// <summary>The PLC modem's interface of the SECC's connector (<c>Secc:Connector</c>); none: no SLAC (EVs over TCP).</summary>
    public string? Interface { get; set; }

    /// <summary>One link per connector for a double station (instead of <see cref="Interface"/>).</summary>
    public List<SlacLink> Links { get; set; } = [];

    /// <summary>Match whenever the connector is free, without waiting for CP state B (a test bench without control pilot).</summary>
    public bool StartWithoutPlug { get; set; }

    /// <summary>TT_EVSE_SLAC_init, seconds: how long one matching waits for the EV's CM_SLAC_PARM.REQ before it starts again.</summary>
    public double InitTimeoutSeconds { get; set; } = 50;

    /// <summary>Seconds between attempts to set the key in a modem that did not answer.</summary>
    public double ModemRetrySeconds { get; set; } = 10;

    public IReadOnlyList<SlacLink> EffectiveLinks(int seccConnector) =>
        Links.Count > 0 ? Links : Interface is { Length: > 0 } name ? [new SlacLink { Interface = name, Connector = seccConnector }] : [];

    public IEnumerable<string> Validate(int connectors, SeccHostOptions secc)
    {
        var links = EffectiveLinks(secc.Connector);
        if (Links.Count > 0 && Interface is { Length: > 0 })
        {
            yield return "Slac: give either Slac:Interface or Slac:Links, not both";
        }
        foreach (var link in links)
        {
            if (string.IsNullOrWhiteSpace(link.Interface))
            {
                yield return "Slac:Links: every link needs an Interface";
            }
            if (link.Connector < 1 || link.Connector > connectors)
            {
                yield return $"Slac: connector {link.Connector} of interface {link.Interface} must be between 1 and {connectors}";
            }
        }
        if (links.Select(l => l.Connector).Distinct().Count() != links.Count || links.Select(l => l.Interface).Distinct().Count() != links.Count)
        {
            yield return "Slac:Links: one interface per connector";
        }
        if (links.Count > 0 && System.Net.IPAddress.TryParse(secc.Address, out var address) && System.Net.IPAddress.IsLoopback(address))
        {
            yield return "Slac: the EV reaches the SECC over the PLC link, so Secc:Address must not be loopback (:: listens on every interface)";
        }
        if (InitTimeoutSeconds is < 1 or > 300)
        {
            yield return "Slac:InitTimeoutSeconds must be 1 to 300";
        }
    }
}

/// <summary>What a link is doing, for the operator (API, web interface).</summary>
public sealed record SlacLinkState(string Interface, int Connector, string State, string? EvMac, double? Attenuation, string? Problem, DateTimeOffset Since);

/// <summary>
/// SLAC (ISO 15118-3) on each connector's PLC link: at start (and after each EV) a new NMK is set in the modem
/// [V2G3-M09-17]; when the charging core sees a car plugged in (CP state B) matching runs until an EV has joined the
/// network, whose MAC goes to the charging core (an Autocharge identity); SDP and the session then come over the
/// same link. Unplugging (state A) leaves the network with a new NMK. A modem that does not answer is reported and
/// tried again; nothing here stops the rest of the station.
/// </summary>
internal sealed partial class SlacHostedService(IOptions<SlacOptions> options, IOptions<SeccHostOptions> secc, ChargingStation station,
    ILoggerFactory loggers, TimeProvider time) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<SlacHostedService>();
    private readonly Dictionary<int, SlacLinkState> _states = [];

    public IReadOnlyList<SlacLinkState> Links
    {
        get
        {
            lock (_states)
            {
                return [.. _states.Values.OrderBy(s => s.Connector)];
            }
        }
    }

    private void Report(SlacLink link, string state, string? ev = null, double? attenuation = null, string? problem = null)
    {
        lock (_states)
        {
            _states[link.Connector] = new SlacLinkState(link.Interface, link.Connector, state, ev, attenuation, problem, time.GetUtcNow());
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var links = options.Value.EffectiveLinks(secc.Value.Connector);
        return Task.WhenAll(links.Select(link => Task.Run(() => RunLinkAsync(link, stoppingToken), stoppingToken)));
    }

    /// <summary>Waits until the connector's snapshot satisfies <paramref name="condition"/> (checked on every change).</summary>
    private async Task WaitForAsync(int connector, Func<ConnectorSnapshot, bool> condition, CancellationToken ct)
    {
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(ConnectorSnapshot s)
        {
            if (s.Id == connector && condition(s))
            {
                changed.TrySetResult();
            }
        }
        station.Changed += OnChanged;
        try
        {
            if (!condition(station.Snapshot(connector)))
            {
                await changed.Task.WaitAsync(ct).ConfigureAwait(false);
            }
        }
        finally
        {
            station.Changed -= OnChanged;
        }
    }

    private bool Wanted(ConnectorSnapshot s) =>
        options.Value.StartWithoutPlug ? s.CpState is not (CpState.E or CpState.F) && !s.SmartVehicle : s.CpState is CpState.B or CpState.C or CpState.D;

    private async Task RunLinkAsync(SlacLink link, CancellationToken ct)
    {
        // the interface may vanish or fail (a modem unplugged, a driver reset): reported, and opened again
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await RunChannelAsync(link, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                Log.NoLink(_logger, link.Interface, link.Connector, e.Message);
                Report(link, "Error", problem: e.Message);
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(options.Value.ModemRetrySeconds), time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RunChannelAsync(SlacLink link, CancellationToken ct)
    {
        var o = options.Value;
        var slacLogger = loggers.CreateLogger("Juice.Station.Slac." + link.Interface);
        var channel = RawEthernetChannel.Open(link.Interface);
        await using var owned = channel;
        var evse = new SlacEvse(channel, SlacTimers.Iso15118_3 with { EvseSlacInit = TimeSpan.FromSeconds(o.InitTimeoutSeconds) }, time, slacLogger);
        Log.LinkUp(_logger, link.Interface, link.Connector, channel.Mac.ToString());
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // a new network for every EV [V2G3-M09-17]: at start, and after each unplug
                try
                {
                    await evse.SetKeyAsync(ct).ConfigureAwait(false);
                }
                catch (SlacException e)
                {
                    Log.ModemFailed(_logger, link.Interface, link.Connector, e.Message);
                    Report(link, "ModemError", problem: e.Message);
                    await Task.Delay(TimeSpan.FromSeconds(o.ModemRetrySeconds), time, ct).ConfigureAwait(false);
                    continue;
                }
                Report(link, "WaitingForPlug");
                await WaitForAsync(link.Connector, Wanted, ct).ConfigureAwait(false);

                SlacMatch? match = null;
                using (var unplugged = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    var watch = WaitForAsync(link.Connector, s => !Wanted(s), unplugged.Token);
                    _ = watch.ContinueWith(t =>
                    {
                        if (t.IsCompletedSuccessfully)
                        {
                            try
                            {
                                unplugged.Cancel();
                            }
                            catch (ObjectDisposedException)
                            {
                                // matching has ended already
                            }
                        }
                    }, TaskScheduler.Default);
                    while (match is null && !unplugged.IsCancellationRequested)
                    {
                        Report(link, "Matching");
                        try
                        {
                            match = await evse.MatchAsync(unplugged.Token).ConfigureAwait(false);
                        }
                        catch (SlacException e)
                        {
                            Log.NoMatch(_logger, link.Interface, link.Connector, e.Message);   // matching starts over while the car stays plugged in
                        }
                        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                        {
                        }
                    }
                    await unplugged.CancelAsync().ConfigureAwait(false);
                }
                if (match is not null)
                {
                    station.SlacMatched(link.Connector, match.EvMac.GetAddressBytes());
                    Report(link, "Matched", match.EvMac.ToString(), match.AverageAttenuation);
                    if (o.StartWithoutPlug)
                    {
                        // no plug to watch: the EV's session, once started (within a minute) and over, is its leaving
                        using var join = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        join.CancelAfter(TimeSpan.FromMinutes(1));
                        try
                        {
                            await WaitForAsync(link.Connector, s => s.SmartVehicle, join.Token).ConfigureAwait(false);
                            await WaitForAsync(link.Connector, s => !s.SmartVehicle, ct).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                        {
                        }
                    }
                    else
                    {
                        await WaitForAsync(link.Connector, s => !Wanted(s), ct).ConfigureAwait(false);
                    }
                    Log.Left(_logger, link.Interface, link.Connector, match.EvMac.ToString());
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "SLAC on {Interface} for connector {Connector} (host MAC {Mac})")]
        public static partial void LinkUp(ILogger logger, string @interface, int connector, string mac);

        [LoggerMessage(2, LogLevel.Error, "SLAC on {Interface} (connector {Connector}) has no link: {Reason}; trying again")]
        public static partial void NoLink(ILogger logger, string @interface, int connector, string reason);

        [LoggerMessage(3, LogLevel.Error, "SLAC on {Interface} (connector {Connector}): {Reason}")]
        public static partial void ModemFailed(ILogger logger, string @interface, int connector, string reason);

        [LoggerMessage(4, LogLevel.Warning, "SLAC on {Interface} (connector {Connector}): no match ({Reason}); matching again")]
        public static partial void NoMatch(ILogger logger, string @interface, int connector, string reason);

        [LoggerMessage(5, LogLevel.Information, "SLAC on {Interface} (connector {Connector}): EV {Mac} left; a new network key for the next")]
        public static partial void Left(ILogger logger, string @interface, int connector, string mac);
    }
}
