using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station.Energy.Semp;

/// <summary>The SMA interface as the page and the API show it.</summary>
public sealed record SempState(SmaChargingMode Mode, string DeviceId, string? Url, bool Connected, DateTimeOffset? LastControl, SempControl? Control, SempDecision? Decision, string Limit, int Phases);

/// <summary>
/// The station as a SEMP device gateway for the SMA Sunny Home Manager ("SMA Interface" on LOAD MANAGEMENT): one
/// EVCharger device (connector 1) on its own web service (Semp:Port, 8888, base path /SimpleEnergyManagementProtocol,
/// where evcc's driver for this controller looks too), found by SSDP. Device2EM answers GET (the whole document, or
/// DeviceInfo, DeviceStatus, PlanningRequest each on its own path, with an optional DeviceId); EM2Device DeviceControl
/// comes by POST and becomes the "SMA Sunny Home Manager (SEMP)" limit of the charging core, with a phase switch
/// where the station can switch. Without a control message for "SMA time until connection loss" — and until the
/// first — the "SMA current on connection loss" applies. Modbus 1000 control works beside it (the lower limit binds).
/// </summary>
public sealed partial class SempService(ChargingStation station, SettingsStore settings, IOptions<SempOptions> sempOptions, IOptions<StationOptions> stationOptions,
    ILoggerFactory loggers, TimeProvider time, ILogger<SempService> logger) : BackgroundService
{
    private const int Connector = 1;
    private const double MinimumA = 6;
    private const int MaxBody = 64 * 1024;
    private readonly SempOptions _options = sempOptions.Value;
    private readonly object _gate = new();
    private readonly Queue<(long At, double Wh)> _energy = new();
    private SempControl? _control;
    private long _lastControl;       // timestamp of the last DeviceControl (0: none)
    private long _since;             // when the interface was switched on
    private DateTimeOffset? _lastControlAt;
    private SempDecision? _decision;
    private bool _lost;
    private string? _url;

    private static string Hex(string text, int bytes) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0, bytes);

    /// <summary>The SEMP device id: F-&lt;vendor&gt;-&lt;12 hex serial&gt;-00 (stable: from Semp:DeviceSerial or the station's serial number).</summary>
    public string DeviceId { get; } = $"F-{sempOptions.Value.VendorId.ToUpperInvariant()}-{(sempOptions.Value.DeviceSerial ?? Hex("semp-device:" + stationOptions.Value.SerialNumber, 6)).ToUpperInvariant()}-00";

    /// <summary>The gateway's UPnP uuid, stable from the serial number (UUID layout, version 5 bits set).</summary>
    public string Uuid { get; } = GatewayUuid(stationOptions.Value.SerialNumber);

    private static string GatewayUuid(string serial)
    {
        var h = SHA256.HashData(Encoding.UTF8.GetBytes("semp-gateway:" + serial)).AsSpan(0, 16).ToArray();
        h[6] = (byte)((h[6] & 0x0F) | 0x50);
        h[8] = (byte)((h[8] & 0x3F) | 0x80);
        var x = Convert.ToHexString(h).ToLowerInvariant();
        return $"{x[..8]}-{x[8..12]}-{x[12..16]}-{x[16..20]}-{x[20..]}";
    }

    /// <summary>The SEMP web service's base URL while the interface is on (for the page and the tests).</summary>
    public string? Url => _url;

    public SempState State()
    {
        var c = station.Snapshot(Connector);
        lock (_gate)
        {
            return new SempState(settings.Current.SmaChargingMode, DeviceId, _url, _control is not null && !_lost, _lastControlAt, _control, _decision, c.LimitReason, c.Phases);
        }
    }

    // ---- what the Home Manager reads ----

    private bool CanSwitch(ConnectorSnapshot c) => station.Options.PhaseSwitching && station.Options.Phases == 3 && c.EvNeeds is null;

    private SempDeviceInfo Info(ConnectorSnapshot c)
    {
        int phases = CanSwitch(c) ? 1 : c.Phases;
        int maxPhases = CanSwitch(c) ? 3 : c.Phases;
        double v = station.Options.NominalVoltage;
        bool surplus = settings.Current.SmaChargingMode == SmaChargingMode.Surplus;
        return new SempDeviceInfo(DeviceId, station.Options.Model, stationOptions.Value.SerialNumber, station.Options.Vendor,
            (int)(MinimumA * v * phases), (int)(station.Options.MaxCurrent * v * maxPhases), InterruptionsAllowed: surplus, OptionalEnergy: surplus);
    }

    private SempDeviceStatus Status(ConnectorSnapshot c) =>
        new(DeviceId, settings.Current.SmaChargingMode == SmaChargingMode.Surplus, c.Relay != RelayState.Off,
            (int)Math.Round(AveragePower(c)), time.GetUtcNow().ToUnixTimeSeconds(), 60);

    /// <summary>
    /// The energy the EV still needs while one is connected: what an ISO 15118 EV asked for (less what it got since),
    /// else the "SMA maximum energy demand" less the session's energy; until its departure (ISO 15118) or within a day.
    /// Surplus mode asks for optional energy (MinEnergy 0), immediate mode for all of it.
    /// </summary>
    private IEnumerable<SempTimeframe> Planning(ConnectorSnapshot c)
    {
        if (c.CpState is not (CpState.B or CpState.C or CpState.D))
        {
            yield break;
        }
        var s = settings.Current;
        double need = (c.EvNeeds?.EnergyRequestWh ?? s.SmaMaxEnergyDemandKwh * 1000) - c.SessionEnergyWh;
        if (need < 1)
        {
            yield break;
        }
        int latestEnd = c.EvNeeds?.Departure is { } d ? (int)Math.Clamp((d - time.GetUtcNow()).TotalSeconds, 60, 7 * 86400) : 86400;
        var info = Info(c);
        int wh = (int)need;
        yield return new SempTimeframe(DeviceId, 0, latestEnd, s.SmaChargingMode == SmaChargingMode.Immediate ? wh : 0, wh, info.MinPowerW, info.MaxPowerW);
    }

    /// <summary>The average power of the last 60 s from the meter's energy register (before two samples: the power now).</summary>
    private double AveragePower(ConnectorSnapshot c)
    {
        lock (_gate)
        {
            if (_energy.Count < 2)
            {
                return c.Meter.TotalPowerW;
            }
            var (firstAt, firstWh) = _energy.Peek();
            var (lastAt, lastWh) = _energy.Last();
            double seconds = time.GetElapsedTime(firstAt, lastAt).TotalSeconds;
            return seconds <= 0 ? 0 : Math.Max(0, (lastWh - firstWh) * 3600 / seconds);
        }
    }

    // ---- what the Home Manager says ----

    /// <summary>Takes one DeviceControl; false when it names another device.</summary>
    public bool Control(SempControl control)
    {
        if (!string.Equals(control.DeviceId, DeviceId, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        bool back;
        lock (_gate)
        {
            back = _lost;
            _control = control;
            _lastControl = time.GetTimestamp();
            _lastControlAt = time.GetUtcNow();
            _lost = false;
        }
        if (back)
        {
            Log.Reconnected(logger);
        }
        Apply();
        return true;
    }

    /// <summary>Sets the SEMP limits from the settings, the last control and the connection; runs on every control, every second and on changes.</summary>
    public void Apply()
    {
        // one at a time: a round that began before a control must not set its stale limits after the control's round
        lock (_applying)
        {
            ApplyNow();
        }
    }

    private readonly object _applying = new();

    private void ApplyNow()
    {
        var s = settings.Current;
        if (!s.SmaInterface || s.SmaChargingMode == SmaChargingMode.Immediate)
        {
            Clear();
            return;
        }
        SempControl? control;
        bool lostNow = false;
        lock (_gate)
        {
            long from = _lastControl != 0 ? _lastControl : _since;
            bool silent = _control is null || time.GetElapsedTime(from) > TimeSpan.FromSeconds(s.SmaConnectionLossSeconds);
            lostNow = silent && _control is not null && !_lost;
            if (silent && _control is not null)
            {
                _lost = true;
            }
            control = _lost ? null : _control;
        }
        if (lostNow)
        {
            Log.ConnectionLost(logger, s.SmaConnectionLossSeconds, s.SmaFallbackCurrent);
        }
        if (control is null)
        {
            // no Home Manager yet, or it went silent: the current on connection loss
            lock (_gate)
            {
                _decision = null;
            }
            station.SetLimit(LimitSources.Semp, null, Connector);
            station.SetLimit(LimitSources.PhaseSwitch, null, Connector);
            station.SetLimit(LimitSources.SempLost, s.SmaFallbackCurrent, Connector);
            return;
        }
        var c = station.Snapshot(Connector);
        var decision = SempDecision.Of(control, station.Options.NominalVoltage, station.Options.MaxCurrent, c.Phases, CanSwitch(c), MinimumA);
        bool changed;
        lock (_gate)
        {
            changed = _decision != decision;
            _decision = decision;
        }
        if (changed)
        {
            Log.Decided(logger, decision.Reason);
        }
        station.SetLimit(LimitSources.SempLost, null, Connector);
        station.SetLimit(LimitSources.Semp, decision.LimitA, Connector);
        if (decision.Phases is { } phases && phases != c.Phases && decision.LimitA > 0)
        {
            // [a phase switch never under load] pause first; the contactors switch once no current flows
            station.SetLimit(LimitSources.PhaseSwitch, 0, Connector);
            if (station.SwitchPhases(Connector, phases))
            {
                station.SetLimit(LimitSources.PhaseSwitch, null, Connector);
            }
        }
        else
        {
            station.SetLimit(LimitSources.PhaseSwitch, null, Connector);
        }
    }

    private void Clear()
    {
        lock (_gate)
        {
            _decision = null;
        }
        station.SetLimit(LimitSources.Semp, null, Connector);
        station.SetLimit(LimitSources.SempLost, null, Connector);
        station.SetLimit(LimitSources.PhaseSwitch, null, Connector);
    }

    private void Sample()
    {
        long now = time.GetTimestamp();
        double wh = station.Snapshot(Connector).Meter.TotalEnergyWh;
        lock (_gate)
        {
            _energy.Enqueue((now, wh));
            while (_energy.Count > 2 && time.GetElapsedTime(_energy.Peek().At, now) > TimeSpan.FromSeconds(60))
            {
                _energy.Dequeue();
            }
        }
    }

    // ---- the service ----

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var wake = new SemaphoreSlim(0, 1);
        void Wake()
        {
            try
            {
                wake.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
        void OnSettings(OperatorSettings _) => Wake();
        settings.Changed += OnSettings;
        WebApplication? web = null;
        Ssdp? ssdp = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                bool on = settings.Current.SmaInterface;
                if (on && web is null)
                {
                    (web, ssdp) = await StartWebAsync(stoppingToken);
                }
                else if (!on && web is not null)
                {
                    await StopWebAsync(web, ssdp);
                    (web, ssdp) = (null, null);
                }
                Sample();
                Apply();
                await Task.WhenAny(wake.WaitAsync(stoppingToken), Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken));
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            settings.Changed -= OnSettings;
            if (web is not null)
            {
                await StopWebAsync(web, ssdp);
            }
        }
    }

    private async Task<(WebApplication, Ssdp?)> StartWebAsync(CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Parse(_options.Address), _options.Port);
            k.Limits.MaxRequestBodySize = MaxBody;
        });
        var web = builder.Build();
        Map(web);
        await web.StartAsync(ct);
        var bound = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        int port = new Uri(bound).Port;
        string host = _options.AdvertisedHost ?? _options.SsdpInterface ?? (_options.Address is "0.0.0.0" ? LanAddress() : _options.Address);
        lock (_gate)
        {
            _url = $"http://{host}:{port}{SempOptions.BasePath}";
            _since = time.GetTimestamp();
            _control = null;
            _lastControl = 0;
            _lost = false;
        }
        Log.Started(logger, _url, DeviceId);
        Ssdp? ssdp = null;
        if (!_options.DisableSsdp)
        {
            ssdp = new Ssdp(_options, Uuid, () => _url + "/description.xml", time, logger);
            try
            {
                ssdp.Start();
            }
            catch (System.Net.Sockets.SocketException e)
            {
                Log.SsdpFailed(logger, e.Message);
                ssdp = null;
            }
        }
        return (web, ssdp);
    }

    private async Task StopWebAsync(WebApplication web, Ssdp? ssdp)
    {
        if (ssdp is not null)
        {
            await ssdp.DisposeAsync();
        }
        await web.StopAsync(CancellationToken.None);
        await web.DisposeAsync();
        lock (_gate)
        {
            _url = null;
        }
        Clear();
        Log.Stopped(logger);
    }

    private static string LanAddress() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))?.ToString() ?? "127.0.0.1";

    private void Map(WebApplication web)
    {
        const string b = SempOptions.BasePath;
        IResult Xml(XDocument doc) => Results.Text(doc.Declaration + "\n" + doc.ToString(), "application/xml", Encoding.UTF8);
        IResult Document(HttpRequest r, bool info, bool status, bool planning)
        {
            if (r.Query.TryGetValue("DeviceId", out var id) && !string.Equals(id.ToString(), DeviceId, StringComparison.OrdinalIgnoreCase))
            {
                Log.Refused(logger, r.Path, $"no device {id}");
                return Results.Text($"no device {id}; this gateway has {DeviceId}", "text/plain", statusCode: StatusCodes.Status400BadRequest);
            }
            var c = station.Snapshot(Connector);   // one state of the connector for every part of the document
            return Xml(SempMessages.Device2Em(info ? [Info(c)] : [], status ? [Status(c)] : [], planning ? Planning(c) : []));
        }
        web.MapGet(b + "/description.xml", () => Xml(SempMessages.Description(Uuid, _url![..^b.Length], station.Options.Model + " " + stationOptions.Value.SerialNumber,
            station.Options.Vendor, station.Options.Model, stationOptions.Value.SerialNumber, _url![..^b.Length])));
        web.MapGet("/description.xml", () => Results.Redirect(b + "/description.xml"));
        // the base path, with or without the trailing slash (evcc adds one)
        {
            web.MapGet(b, (HttpRequest r) => Document(r, true, true, true));
            web.MapPost(b, async (HttpRequest r) =>
            {
                // read whole first (Kestrel allows no synchronous reads; a control document is small)
                using var body = new MemoryStream();
                if (r.ContentLength > MaxBody)
                {
                    Log.Refused(logger, r.Path, $"{r.ContentLength} bytes");
                    return Results.Text($"at most {MaxBody} bytes", "text/plain", statusCode: StatusCodes.Status413PayloadTooLarge);
                }
                await r.Body.CopyToAsync(body);
                body.Position = 0;
                var controls = SempMessages.ReadControls(body, out var problem);
                if (controls is null)
                {
                    Log.Refused(logger, r.Path, problem!);
                    return Results.Text(problem, "text/plain", statusCode: StatusCodes.Status400BadRequest);
                }
                foreach (var c in controls)
                {
                    if (!Control(c))
                    {
                        Log.Refused(logger, r.Path, $"a DeviceControl for {c.DeviceId}");
                        return Results.Text($"no device {c.DeviceId}; this gateway has {DeviceId}", "text/plain", statusCode: StatusCodes.Status400BadRequest);
                    }
                }
                return Results.Ok();
            });
        }
        web.MapGet(b + "/DeviceInfo", (HttpRequest r) => Document(r, true, false, false));
        web.MapGet(b + "/DeviceStatus", (HttpRequest r) => Document(r, false, true, false));
        web.MapGet(b + "/PlanningRequest", (HttpRequest r) => Document(r, false, false, true));
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "SEMP: the SMA interface serves {Url} as EVCharger {DeviceId}")]
        public static partial void Started(ILogger logger, string url, string deviceId);

        [LoggerMessage(2, LogLevel.Information, "SEMP: the SMA interface is off")]
        public static partial void Stopped(ILogger logger);

        [LoggerMessage(3, LogLevel.Information, "SEMP: Home Manager control: {Reason}")]
        public static partial void Decided(ILogger logger, string reason);

        [LoggerMessage(4, LogLevel.Warning, "SEMP: no control message of the Home Manager for {Seconds} s: connection lost, charging at most {Amps} A (SMA current on connection loss)")]
        public static partial void ConnectionLost(ILogger logger, int seconds, double amps);

        [LoggerMessage(5, LogLevel.Information, "SEMP: the Home Manager controls again")]
        public static partial void Reconnected(ILogger logger);

        [LoggerMessage(6, LogLevel.Warning, "SEMP: {Path} refused: {Problem}")]
        public static partial void Refused(ILogger logger, string path, string problem);

        [LoggerMessage(7, LogLevel.Warning, "SEMP: SSDP could not start ({Problem}); the Home Manager needs the station's address")]
        public static partial void SsdpFailed(ILogger logger, string problem);
    }
}
