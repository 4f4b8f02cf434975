using System.Net;
using Juice.Hlc.Exi;
using Juice.Hlc.Sdp;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;
using Juice.Station.Core;
using Juice.Station.Persistence;
using Juice.Station.Pnc;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station.Hlc;

/// <summary>Where the station's SECC listens. Configuration section <c>Secc</c>.</summary>
public sealed class SeccHostOptions
{
    public const string Section = "Secc";

    /// <summary>Address of the V2G TCP server: <c>::1</c> (loopback, the embedded default) or <c>::</c> for every interface.</summary>
    public string Address { get; set; } = "::1";

    /// <summary>TCP port of the V2G server, a dynamic port (49152–65535, <see cref="V2gPorts"/>); 0 picks a free one of them (announced by SDP).</summary>
    public int Port { get; set; } = 61118;

    /// <summary>TCP port of the TLS server (Plug &amp; Charge: "15118 Configuration: On (With PlugNCharge)"), dynamic as <see cref="Port"/>; 0 picks a free one.</summary>
    public int TlsPort { get; set; } = 61119;

    /// <summary>Seconds a TLS handshake may take before the connection is closed.</summary>
    public int TlsHandshakeSeconds { get; set; } = 10;

    /// <summary>Interface for SDP (multicast ff02::1, its link-local address announced); none: no SDP, EVs connect directly.</summary>
    public string? Interface { get; set; }

    /// <summary>The connector the SECC serves.</summary>
    public int Connector { get; set; } = 1;

    /// <summary>
    /// Open V2G connections at most (the TCP and TLS servers together). A connection takes a charging point only with its first
    /// valid supportedAppProtocolReq; beyond the cap a new connection closes the oldest one that has not, or is refused.
    /// </summary>
    public int MaxConnections { get; set; } = 16;

    /// <summary>Open V2G connections from one address at most (the same rule).</summary>
    public int MaxConnectionsPerPeer { get; set; } = 4;

    /// <summary>The protocols the SECC offers, in its order of preference (<see cref="AppProtocolVersion.ParseList"/>).</summary>
    public string Protocols { get; set; } = "iso20,iso2,din";

    /// <summary>
    /// ISO 15118-20 requires TLS 1.3, which the station does not speak yet: without this test mode (other stacks'
    /// simulators have it too) -20 is not offered at all; with it, over plain TCP.
    /// </summary>
    public bool Iso20AllowPlainTcp { get; set; }

    public IEnumerable<string> Validate(int connectors)
    {
        if (!IPAddress.TryParse(Address, out _))
        {
            yield return $"Secc:Address '{Address}' is not an IP address";
        }
        if (Port != 0 && !V2gPorts.IsDynamic(Port))
        {
            yield return $"Secc:Port {Port} is not allowed: {V2gPorts.Rule}; 0 picks a free one";
        }
        if (TlsPort != 0 && !V2gPorts.IsDynamic(TlsPort))
        {
            yield return $"Secc:TlsPort {TlsPort} is not allowed: {V2gPorts.Rule}; 0 picks a free one";
        }
        string? protocolProblem = null;
        try
        {
            AppProtocolVersion.ParseList(Protocols);
        }
        catch (FormatException e)
        {
            protocolProblem = $"Secc:Protocols '{Protocols}': {e.Message}";
        }
        if (protocolProblem is not null)
        {
            yield return protocolProblem;
        }
        if (MaxConnections < 1 || MaxConnectionsPerPeer < 1)
        {
            yield return "Secc:MaxConnections and Secc:MaxConnectionsPerPeer must be at least 1";
        }
        if (Connector < 1 || Connector > connectors)
        {
            yield return $"Secc:Connector must be between 1 and {connectors}";
        }
    }
}

/// <summary>
/// Runs the SECC in front of the charging core: the V2G TCP server, with Plug &amp; Charge also the TLS server
/// (the SECC certificate and the contract roots are read from the certificate store for every connection), and,
/// when an interface is configured, the SDP server. Off when the operator set "15118 Configuration" to Off. The
/// operator's "15118 Configuration" applies at once: switching Plug &amp; Charge starts or stops the TLS server and
/// what SDP announces, switching 15118 off or on stops or starts the SECC. With "Extra logging" every message is
/// logged decoded.
/// </summary>
internal sealed partial class SeccHostedService(IOptions<SeccHostOptions> options, IOptions<PncOptions> pnc, IOptions<SlacOptions> slac, ChargingStation station, SettingsStore settings,
    CertificateStore certificates, ILoggerFactory loggers, TimeProvider time)
    : IHostedService, IAsyncDisposable
{
    private V2gTcpServer? _server;
    private V2gTcpServer? _tls;
    private SeccConnectionHandler? _handler;
    private readonly List<SdpServer> _sdp = [];
    private readonly ILogger _logger = loggers.CreateLogger<SeccHostedService>();
    private readonly SemaphoreSlim _applying = new(1, 1);
    private Iso15118Mode? _applied;
    private Task _pending = Task.CompletedTask;

    public IPEndPoint? EndPoint => _server?.LocalEndPoint;

    /// <summary>The interfaces SDP answers on (UDP 15118).</summary>
    public IReadOnlyList<string> SdpInterfaces { get; private set; } = [];

    /// <summary>The TLS server (Plug &amp; Charge), or null.</summary>
    public IPEndPoint? TlsEndPoint => _tls?.LocalEndPoint;

    /// <summary>Completes when the last change of "15118 Configuration" has been applied.</summary>
    public Task Applied => Volatile.Read(ref _pending);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        settings.Changed += OnSettingsChanged;
        try
        {
            await ApplyAsync(settings.Current.Iso15118).ConfigureAwait(false);
        }
        catch (StationStartupException e)
        {
            // the station cannot serve EVs: it does not start, and Program.cs ends with the reason (one line, exit 3)
            foreach (var problem in e.Problems)
            {
                Log.CannotListen(_logger, problem);
            }
            StationFailure.Report(e.Problems);
            throw;
        }
    }

    private void OnSettingsChanged(OperatorSettings changed)
    {
        if (changed.Iso15118 != _applied)
        {
            // the settings are saved from a request: the servers start and stop beside it, one change after the other
            Volatile.Write(ref _pending, Task.Run(() => ApplyAsync(changed.Iso15118)));
        }
    }

    /// <summary>Brings the servers in line with the mode: the TCP server and SDP while on, the TLS server with Plug &amp; Charge.</summary>
    private async Task ApplyAsync(Iso15118Mode mode)
    {
        await _applying.WaitAsync().ConfigureAwait(false);
        try
        {
            if (mode == _applied)
            {
                return;
            }
            bool first = _applied is null;
            _applied = mode;
            if (mode == Iso15118Mode.Off)
            {
                await StopServersAsync().ConfigureAwait(false);
                Log.Off(_logger);
                return;
            }
            bool plugAndCharge = mode == Iso15118Mode.OnWithPlugAndCharge;
            try
            {
                if (_server is null)
                {
                    StartTcp();
                }
                if (plugAndCharge && _tls is null)
                {
                    StartTls();
                }
            }
            catch (StationStartupException e) when (!first)
            {
                // switched on from the page while the port is taken: the station runs on, the log says why
                Log.CannotListen(_logger, e.Message);
            }
            if (!plugAndCharge && _tls is not null)
            {
                await _tls.DisposeAsync().ConfigureAwait(false);
                _tls = null;
                Log.TlsStopped(_logger);
            }
            foreach (var sdp in _sdp)
            {
                sdp.OfferTls(_tls is not null, _tls is { } t ? (ushort)t.LocalEndPoint.Port : null);
            }
            if (!first)
            {
                Log.Applied(_logger, mode.ToString(), _tls is null ? "no TLS server" : "TLS server on " + _tls.LocalEndPoint);
            }
        }
        finally
        {
            _applying.Release();
        }
    }

    private void StartTcp()
    {
        var o = options.Value;
        var messages = loggers.CreateLogger("Juice.Station.V2gMessages");
        // the session offers Contract only on TLS connections, and the TLS server runs only with Plug & Charge on
        var secc = new SeccOptions
        {
            MaxConnections = o.MaxConnections,
            MaxConnectionsPerPeer = o.MaxConnectionsPerPeer,
            Protocols = AppProtocolVersion.ParseList(o.Protocols),
            // the operator's choice on the HLC page, when made, for each new connection
            ProtocolsNow = () => settings.Current.HlcProtocols is { } chosen ? AppProtocolVersion.ParseList(chosen) : null,
            Iso20AllowPlainTcp = o.Iso20AllowPlainTcp,
            Session = new SeccSessionOptions
            {
                IdentificationModes = [IdentificationMode.Contract, IdentificationMode.External],
                PlugAndCharge = new PlugAndChargeOptions
                {
                    ContractRoots = certificates.ContractRoots,
                    ReceiptInterval = pnc.Value.ReceiptIntervalSeconds < 0 ? null : TimeSpan.FromSeconds(pnc.Value.ReceiptIntervalSeconds),
                    AllowCentralValidation = pnc.Value.AllowCentralValidation,
                    OfferCertificateInstallation = () => station.HlcCertificateServiceAvailable,
                },
            },
            Trace = (remote, direction, codec, exi) =>
            {
                if (settings.Current.ExtraLogging)
                {
                    string xml;
                    try
                    {
                        xml = codec.WriteXml(codec.Decode(exi));
                    }
                    catch (ExiContentException e)
                    {
                        xml = "(undecodable: " + e.Message + ")";
                    }
                    Log.Message(messages, remote.ToString(), direction, Convert.ToHexStringLower(exi), xml);
                }
            },
        };
        // over PLC links the connector is the one whose link the EV came in on (the scope of its link-local address)
        var links = slac.Value.EffectiveLinks(o.Connector);
        var byScope = links.Select(l => (Index: InterfaceIndex(l.Interface), l.Connector)).Where(l => l.Index is not null).ToDictionary(l => (long)l.Index!.Value, l => l.Connector);
        int ConnectorOf(IPEndPoint remote) => byScope.TryGetValue(remote.Address.ScopeId, out int c) ? c : o.Connector;
        _handler = new SeccConnectionHandler(remote => station.AttachHlc(ConnectorOf(remote)), secc, loggers.CreateLogger<SeccConnectionHandler>(), time);
        _server = Listen(() => new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.Parse(o.Address), Port = o.Port }, _handler.RunAsync, loggers.CreateLogger<V2gTcpServer>(), time),
            "Secc:Port", o.Address, o.Port);
        var sdpInterfaces = links.Select(l => l.Interface).Concat(o.Interface is { Length: > 0 } name ? [name] : []).Distinct().ToList();
        foreach (var sdpInterface in sdpInterfaces.ToList())
        {
            try
            {
                var sdp = new SdpServer(new SdpServerOptions { InterfaceName = sdpInterface, TcpPort = (ushort)_server.LocalEndPoint.Port }, loggers.CreateLogger<SdpServer>());
                sdp.Start();
                _sdp.Add(sdp);
            }
            catch (Exception e) when (e is InvalidOperationException or System.Net.Sockets.SocketException or System.Net.NetworkInformation.NetworkInformationException)
            {
                // an interface that is not there (yet): the SECC still serves EVs that connect directly
                Log.NoSdp(_logger, sdpInterface, e.Message);
                sdpInterfaces.Remove(sdpInterface);
            }
        }
        SdpInterfaces = sdpInterfaces;
        Log.Started(_logger, _server.LocalEndPoint.ToString(), sdpInterfaces.Count == 0 ? "off" : string.Join(", ", sdpInterfaces), o.Connector);
    }

    private void StartTls()
    {
        var o = options.Value;
        if (certificates.SeccCredentials is null && certificates.Iso20SeccCredentials.Count == 0)
        {
            Log.NoCertificate(_logger);
            return;
        }
        var tlsLogger = loggers.CreateLogger("Juice.Station.Tls");
        _tls = Listen(() => new V2gTcpServer(new V2gTcpServerOptions
        {
            Address = IPAddress.Parse(o.Address),
            Port = o.TlsPort,
            StreamFactory = async (stream, ct) =>
            {
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(ct);
                handshake.CancelAfter(TimeSpan.FromSeconds(o.TlsHandshakeSeconds));
                try
                {
                    // TLS 1.2 with the -2 certificate, TLS 1.3 with a -20 one: whichever the EV offers and the store holds,
                    // read per connection (a certificate renewed or imported applies to the next EV)
                    var setup = new V2gTlsServerSetup
                    {
                        Iso2 = () => certificates.SeccCredentials,
                        Iso20 = () => certificates.Iso20SeccCredentials,
                        VehicleRoots = certificates.Roots(CertificateKind.ManufacturerRootCertificate),
                        Time = time,
                    };
                    var tls = await V2gTls.AcceptAsync(stream, setup, handshake.Token);
                    Log.TlsUp(tlsLogger, tls.Version == V2gTlsVersion.Tls13 ? "1.3" : "1.2", tls.CipherSuite.ToString(),
                        tls.PeerChain.Count > 0 ? tls.PeerChain[0].SubjectDN.ToString() : "none");
                    return tls;
                }
                catch (Exception e) when (e is V2gTlsException or OperationCanceledException)
                {
                    Log.TlsFailed(tlsLogger, e.Message);
                    throw;
                }
            },
        }, _handler!.RunAsync, loggers.CreateLogger<V2gTcpServer>(), time), "Secc:TlsPort", o.Address, o.TlsPort);
        Log.TlsStarted(_logger, _tls.LocalEndPoint.ToString());
    }

    /// <summary>Binds and starts a listener; a port that is taken (or not allowed) becomes one line naming the key and the address.</summary>
    private static V2gTcpServer Listen(Func<V2gTcpServer> create, string key, string address, int port)
    {
        try
        {
            var server = create();
            server.Start();
            return server;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new StationStartupException([$"{key} = {port}: cannot listen on [{address}]:{port}: {e.Message}{(port is > 0 and < 1024 ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "")}"]);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        settings.Changed -= OnSettingsChanged;
        await Applied.ConfigureAwait(false);
        await _applying.WaitAsync().ConfigureAwait(false);
        try
        {
            await StopServersAsync().ConfigureAwait(false);
        }
        finally
        {
            _applying.Release();
        }
    }

    private async Task StopServersAsync()
    {
        foreach (var sdp in _sdp)
        {
            await sdp.DisposeAsync();
        }
        _sdp.Clear();
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
        if (_tls is not null)
        {
            await _tls.DisposeAsync();
            _tls = null;
        }
        _handler = null;
    }

    private static int? InterfaceIndex(string name) =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == name)?.GetIPProperties().GetIPv6Properties()?.Index;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "SECC listening on {EndPoint}, SDP on interface {Interface}, for connector {Connector}")]
        public static partial void Started(ILogger logger, string endPoint, string @interface, int connector);

        [LoggerMessage(2, LogLevel.Information, "ISO 15118 is off (15118 Configuration): no SECC")]
        public static partial void Off(ILogger logger);

        [LoggerMessage(4, LogLevel.Information, "SECC TLS server (Plug & Charge) listening on {EndPoint}")]
        public static partial void TlsStarted(ILogger logger, string endPoint);

        [LoggerMessage(5, LogLevel.Warning, "Plug & Charge is on but no SECC certificate is installed (Pnc:Pki, Pnc:SeccCertificateChain or Pnc:Iso20Pki): no TLS server")]
        public static partial void NoCertificate(ILogger logger);

        [LoggerMessage(6, LogLevel.Information, "TLS {Version} handshake done, cipher suite {Suite}, vehicle certificate {Vehicle}")]
        public static partial void TlsUp(ILogger logger, string version, string suite, string vehicle);

        [LoggerMessage(7, LogLevel.Warning, "TLS handshake refused: {Reason}")]
        public static partial void TlsFailed(ILogger logger, string reason);

        [LoggerMessage(8, LogLevel.Error, "SDP on interface {Interface} not started: {Reason}")]
        public static partial void NoSdp(ILogger logger, string @interface, string reason);

        [LoggerMessage(9, LogLevel.Information, "SECC TLS server (Plug & Charge) stopped")]
        public static partial void TlsStopped(ILogger logger);

        [LoggerMessage(11, LogLevel.Error, "{Problem}")]
        public static partial void CannotListen(ILogger logger, string problem);

        [LoggerMessage(10, LogLevel.Information, "15118 Configuration is now {Mode}: {Tls}")]
        public static partial void Applied(ILogger logger, string mode, string tls);

        [LoggerMessage(3, LogLevel.Information, "{Remote} {Direction} {Hex}\n{Xml}")]
        public static partial void Message(ILogger logger, string remote, string direction, string hex, string xml);
    }
}
