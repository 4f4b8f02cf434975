using System.Net;
using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station.Modbus;

/// <summary>The Modbus TCP server. Configuration section <c>Modbus</c>.</summary>
public sealed class ModbusOptions
{
    public const string Section = "Modbus";

    public bool Enabled { get; set; } = true;

    /// <summary>Address to listen on: 127.0.0.1 (loopback, the embedded default), or 0.0.0.0 / :: for the network.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>Base port (the manual's "Modbus TCP Server Base Port"): connector 1 here, connector 2 on port + 1; 0 picks free ports.</summary>
    public int Port { get; set; } = 502;

    public IEnumerable<string> Validate()
    {
        if (!IPAddress.TryParse(Address, out _))
        {
            yield return $"Modbus:Address '{Address}' is not an IP address";
        }
        if (Port is < 0 or > 65534)
        {
            yield return "Modbus:Port must be 0 to 65534";
        }
    }
}

/// <summary>Runs one Modbus TCP server per connector (base port, base port + 1), when on in configuration and settings.</summary>
internal sealed partial class ModbusHostedService(IOptions<ModbusOptions> options, ChargingStation station, SettingsStore settings, ILoggerFactory loggers,
    Juice.Station.Energy.Dlm.DlmService? dlm = null)
    : IHostedService, IAsyncDisposable
{
    private readonly List<ModbusTcpServer> _servers = [];
    private readonly ILogger _logger = loggers.CreateLogger<ModbusHostedService>();

    public IReadOnlyList<IPEndPoint> EndPoints => [.. _servers.Select(s => s.LocalEndPoint)];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (!o.Enabled || !settings.Current.ModbusEnabled)
        {
            Log.Off(_logger);
            return Task.CompletedTask;
        }
        int basePort = settings.Current.ModbusPort ?? o.Port;
        foreach (var c in station.Connectors)
        {
            int port = basePort == 0 ? 0 : basePort + c.Id - 1;
            var registers = new BenderRegisters(station, settings, c.Id, loggers.CreateLogger<BenderRegisters>(), dlm);
            ModbusTcpServer server;
            try
            {
                server = new ModbusTcpServer(new IPEndPoint(IPAddress.Parse(o.Address), port), registers, loggers.CreateLogger<ModbusTcpServer>());
            }
            catch (System.Net.Sockets.SocketException e)
            {
                // the rest of the station runs on; the operator sees why Modbus does not
                Log.CannotListen(_logger, $"{o.Address}:{port}", e.Message, port < 1024 ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE: set Modbus:Port, e.g. 1502)" : "");
                continue;
            }
            server.Start();
            _servers.Add(server);
            Log.Started(_logger, server.LocalEndPoint.ToString(), c.Id);
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _servers)
        {
            await s.DisposeAsync();
        }
        _servers.Clear();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Modbus TCP server listening on {EndPoint} for connector {Connector}")]
        public static partial void Started(ILogger logger, string endPoint, int connector);

        [LoggerMessage(2, LogLevel.Information, "Modbus TCP server is off")]
        public static partial void Off(ILogger logger);

        [LoggerMessage(3, LogLevel.Error, "Modbus TCP server cannot listen on {EndPoint}: {Reason}{Hint}")]
        public static partial void CannotListen(ILogger logger, string endPoint, string reason, string hint);
    }
}
