using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Juice.Hlc.V2gtp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Juice.Hlc.Sdp;

/// <summary>Where the SECC listens for SDP and what it announces.</summary>
public sealed record SdpServerOptions
{
    /// <summary>UDP port of SDP (ISO 15118-2:2014 §7.10.1: V2G_UDP_SDP_SERVER = 15118).</summary>
    public int Port { get; init; } = 15118;

    /// <summary>Interface whose link-local address is announced and on which ff02::1 is joined; null: unicast only.</summary>
    public string? InterfaceName { get; init; }

    /// <summary>Address to announce when no interface is named (e.g. ::1 in tests).</summary>
    public IPAddress? AnnouncedAddress { get; init; }

    /// <summary>TCP port of the V2G server to announce.</summary>
    public required ushort TcpPort { get; init; }

    /// <summary>Whether a TLS server is offered: the response security byte follows the request where it can.</summary>
    public bool OffersTls { get; init; }

    /// <summary>TCP port of the TLS server, announced when the answer is TLS (null: <see cref="TcpPort"/>, one server for both).</summary>
    public ushort? TlsPort { get; init; }

    /// <summary>Whether plain TCP is offered.</summary>
    public bool OffersTcp { get; init; } = true;
}

/// <summary>
/// The SECC side of SDP (ISO 15118-2:2014 §7.10.1): answers SDP requests received on UDP port 15118, multicast to
/// ff02::1 on the named interface or unicast, with the SECC's address, TCP port, security and transport.
/// </summary>
public sealed partial class SdpServer : IAsyncDisposable
{
    public static readonly IPAddress AllNodes = IPAddress.Parse("ff02::1");

    private readonly SdpServerOptions _options;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly IPAddress _announced;
    private readonly int? _interfaceIndex;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private volatile TlsOffer _tls;

    /// <summary>Whether a TLS server is offered and on which port: changed while running when Plug &amp; Charge is switched.</summary>
    private sealed record TlsOffer(bool Offered, ushort? Port);

    public SdpServer(SdpServerOptions options, ILogger<SdpServer>? logger = null)
    {
        _options = options;
        _tls = new TlsOffer(options.OffersTls, options.TlsPort);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _socket.Bind(new IPEndPoint(IPAddress.IPv6Any, options.Port));
        if (options.InterfaceName is { } name)
        {
            var (index, linkLocal) = LinkLocal(name);
            _socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.AddMembership, new IPv6MulticastOption(AllNodes, index));
            _announced = linkLocal;
            _interfaceIndex = index;
        }
        else
        {
            _announced = options.AnnouncedAddress ?? IPAddress.IPv6Loopback;
        }
    }

    /// <summary>The UDP endpoint the server is bound to (port 0 in the options picks one).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>The address put into responses.</summary>
    public IPAddress AnnouncedAddress => _announced;

    /// <summary>Index and link-local IPv6 address of a named interface.</summary>
    public static (int Index, IPAddress Address) LinkLocal(string interfaceName)
    {
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == interfaceName)
            ?? throw new InvalidOperationException($"network interface '{interfaceName}' not found");
        var props = nic.GetIPProperties();
        var ll = props.UnicastAddresses.Select(a => a.Address).FirstOrDefault(a => a.IsIPv6LinkLocal)
            ?? throw new InvalidOperationException($"interface '{interfaceName}' has no IPv6 link-local address");
        return (props.GetIPv6Properties().Index, ll);
    }

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Announces a TLS server from now on (its port; null: the TCP port), or none.</summary>
    public void OfferTls(bool offered, ushort? port = null) => _tls = new TlsOffer(offered, port);

    private async Task RunAsync(CancellationToken ct)
    {
        var buffer = new byte[512];
        while (!ct.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.IPv6Any, 0), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException) when (ct.IsCancellationRequested)
            {
                return;   // disposed between the loop's check and the receive
            }
            catch (SocketException e)
            {
                Log.ReceiveFailed(_logger, e.SocketErrorCode.ToString());
                continue;
            }
            var from = (IPEndPoint)received.RemoteEndPoint;
            if (_interfaceIndex is { } index && from.Address.IsIPv6LinkLocal && from.Address.ScopeId != index)
            {
                continue;   // a request on another link (a double station runs one SDP server per link, all on port 15118)
            }
            byte[]? response = Answer(buffer.AsSpan(0, received.ReceivedBytes), from);
            if (response is null)
            {
                continue;
            }
            try
            {
                await _socket.SendToAsync(response, SocketFlags.None, from, ct).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                Log.SendFailed(_logger, from.ToString(), e.SocketErrorCode.ToString());
            }
            catch (Exception e) when (e is OperationCanceledException || (e is ObjectDisposedException && ct.IsCancellationRequested))
            {
                return;   // disposed during the send
            }
        }
    }

    /// <summary>The V2GTP frame that answers one datagram, or null when the datagram is to be ignored.</summary>
    public byte[]? Answer(ReadOnlySpan<byte> datagram, IPEndPoint from)
    {
        V2gtpPayloadType type;
        int length;
        try
        {
            if (datagram.Length < V2gtpFrame.HeaderLength)
            {
                Log.Ignored(_logger, from.ToString(), "shorter than a V2GTP header");
                return null;
            }
            (type, length) = V2gtpFrame.ParseHeader(datagram, SdpRequest.Length);
        }
        catch (V2gtpException e)
        {
            Log.Ignored(_logger, from.ToString(), e.Message);
            return null;
        }
        var request = type == V2gtpPayloadType.SdpRequest && datagram.Length == V2gtpFrame.HeaderLength + length
            ? SdpRequest.TryParse(datagram.Slice(V2gtpFrame.HeaderLength))
            : null;
        if (request is not { } r)
        {
            Log.Ignored(_logger, from.ToString(), "not an SDP request");
            return null;
        }
        // The SECC answers with what it offers: the requested security where available, else the other one; a TLS
        // request gets plain TCP only when no TLS server runs at all.
        var tls = _tls;
        var security = r.Security switch
        {
            SdpSecurity.Tls when tls.Offered => SdpSecurity.Tls,
            SdpSecurity.NoTls when _options.OffersTcp => SdpSecurity.NoTls,
            _ => tls.Offered ? SdpSecurity.Tls : SdpSecurity.NoTls,
        };
        if (r.Security == SdpSecurity.Tls && security == SdpSecurity.NoTls)
        {
            Log.NoTls(_logger, from.ToString());
        }
        ushort port = security == SdpSecurity.Tls ? tls.Port ?? _options.TcpPort : _options.TcpPort;
        var response = new SdpResponse(_announced, port, security, SdpTransport.Tcp);
        Log.Answered(_logger, from.ToString(), r.Security.ToString(), _announced.ToString(), port, security.ToString());
        return V2gtpFrame.Build(V2gtpPayloadType.SdpResponse, response.ToBytes());
    }

    public async ValueTask DisposeAsync()
    {
        // the loop ends on the cancellation first; the socket goes after it
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _socket.Dispose();
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "SDP request from {From} (security {Security}): announced [{Address}]:{Port}, security {Answer}")]
        public static partial void Answered(ILogger logger, string from, string security, string address, int port, string answer);

        [LoggerMessage(2, LogLevel.Warning, "SDP datagram from {From} ignored: {Reason}")]
        public static partial void Ignored(ILogger logger, string from, string reason);

        [LoggerMessage(3, LogLevel.Warning, "SDP receive failed: {Error}")]
        public static partial void ReceiveFailed(ILogger logger, string error);

        [LoggerMessage(5, LogLevel.Warning, "SDP request from {From} asks for TLS, but no TLS server runs (Plug & Charge off or no SECC certificate): answered with plain TCP")]
        public static partial void NoTls(ILogger logger, string from);

        [LoggerMessage(4, LogLevel.Warning, "SDP response to {To} failed: {Error}")]
        public static partial void SendFailed(ILogger logger, string to, string error);
    }
}
