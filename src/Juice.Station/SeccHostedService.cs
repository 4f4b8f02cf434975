using System.Net;
using Juice.Hlc.Sdp;
using Juice.Hlc.Secc;
using Juice.Hlc.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station;

/// <summary>Where the station's SECC listens. Configuration section <c>Secc</c>.</summary>
public sealed class SeccHostOptions
{
    public const string Section = "Secc";

    /// <summary>Address of the V2G TCP server: <c>::1</c> (loopback, the embedded default) or <c>::</c> for every interface.</summary>
    public string Address { get; set; } = "::1";

    /// <summary>TCP port of the V2G server; 0 picks a free one (announced by SDP).</summary>
    public int Port { get; set; } = 15118;

    /// <summary>Interface for SDP (multicast ff02::1, its link-local address announced); none: no SDP, EVs connect directly.</summary>
    public string? Interface { get; set; }
}

/// <summary>Runs the SECC: the V2G TCP server and, when an interface is configured, the SDP server.</summary>
internal sealed partial class SeccHostedService(IOptions<SeccHostOptions> options, IChargingPoint chargingPoint, ILoggerFactory loggers, TimeProvider time) : IHostedService, IAsyncDisposable
{
    private V2gTcpServer? _server;
    private SdpServer? _sdp;
    private readonly ILogger _logger = loggers.CreateLogger<SeccHostedService>();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var handler = new SeccConnectionHandler(chargingPoint, new SeccOptions(), loggers.CreateLogger<SeccConnectionHandler>(), time);
        _server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.Parse(o.Address), Port = o.Port }, handler.RunAsync, loggers.CreateLogger<V2gTcpServer>(), time);
        _server.Start();
        if (o.Interface is { } name)
        {
            _sdp = new SdpServer(new SdpServerOptions { InterfaceName = name, TcpPort = (ushort)_server.LocalEndPoint.Port }, loggers.CreateLogger<SdpServer>());
            _sdp.Start();
        }
        Log.Started(_logger, _server.LocalEndPoint.ToString(), o.Interface ?? "off");
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (_sdp is not null)
        {
            await _sdp.DisposeAsync();
            _sdp = null;
        }
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "SECC listening on {EndPoint}, SDP on interface {Interface}")]
        public static partial void Started(ILogger logger, string endPoint, string @interface);
    }
}
