using System.Net;
using System.Net.Sockets;
using Juice.Hlc.V2gtp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Juice.Hlc.Transport;

/// <summary>Where and how the V2G TCP server listens.</summary>
public sealed record V2gTcpServerOptions
{
    /// <summary>Address to bind; the default <c>::</c> takes IPv6 and (dual mode) IPv4.</summary>
    public IPAddress Address { get; init; } = IPAddress.IPv6Any;

    /// <summary>TCP port; 0 picks a free one in the dynamic range (announced through SDP), see <see cref="V2gPorts"/>.</summary>
    public int Port { get; init; }

    public V2gtpOptions V2gtp { get; init; } = V2gtpOptions.Default;

    /// <summary>
    /// Runs each connection on a thread of its own with blocking socket I/O instead of the shared thread pool: one
    /// wake-up per message instead of two, for the lowest round trip (a charger has one or two EVs; load tests many).
    /// </summary>
    public bool ThreadPerConnection { get; init; }

    /// <summary>Pending connections the kernel queues (many EVs at once in load tests).</summary>
    public int Backlog { get; init; } = 1024;

    /// <summary>
    /// Turns an accepted socket's stream into the stream V2GTP runs over: the stream itself for TCP; the Plug &amp;
    /// Charge issue puts TLS here.
    /// </summary>
    public Func<Stream, CancellationToken, ValueTask<Stream>> StreamFactory { get; init; } = static (s, _) => ValueTask.FromResult(s);

    /// <summary>Called with the remote and local end points of each accepted connection before the stream factory (captures).</summary>
    public Func<Stream, IPEndPoint, IPEndPoint, Stream>? Observe { get; init; }
}

/// <summary>
/// Accepts V2G connections and runs a handler per connection. A handler that fails is logged and its connection
/// closed; the server keeps serving the next EV.
/// </summary>
public sealed partial class V2gTcpServer : IAsyncDisposable
{
    private readonly V2gTcpServerOptions _options;
    private readonly Func<V2gtpConnection, IPEndPoint, CancellationToken, Task> _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private Task? _accept;

    public V2gTcpServer(V2gTcpServerOptions options, Func<V2gtpConnection, IPEndPoint, CancellationToken, Task> handler, ILogger? logger = null, TimeProvider? time = null)
    {
        _options = options;
        _handler = handler;
        _logger = logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _listener = new Socket(options.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (options.Address.AddressFamily == AddressFamily.InterNetworkV6 && options.Address.Equals(IPAddress.IPv6Any))
        {
            _listener.DualMode = true;
        }
        if (options.Port == 0)
        {
            V2gPorts.BindDynamic(_listener, options.Address);
        }
        else
        {
            _listener.Bind(new IPEndPoint(options.Address, options.Port));
        }
        _listener.Listen(options.Backlog);
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public void Start()
    {
        Log.Listening(_logger, LocalEndPoint.ToString());
        _accept = Task.Run(() => AcceptLoopAsync(_stop.Token));
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException e) when (!ct.IsCancellationRequested)
            {
                Log.AcceptFailed(_logger, e.SocketErrorCode.ToString());
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            client.NoDelay = true;
            Task task;
            if (_options.ThreadPerConnection)
            {
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var thread = new Thread(() =>
                {
                    try
                    {
                        ServeAsync(client, ct).GetAwaiter().GetResult();
                    }
                    finally
                    {
                        done.SetResult();
                    }
                }, 256 * 1024) { IsBackground = true, Name = "v2g-connection" };
                thread.Start();
                task = done.Task;
            }
            else
            {
                task = ServeAsync(client, ct);
            }
            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(task);
            }
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken ct)
    {
        var remote = (IPEndPoint)client.RemoteEndPoint!;
        Log.Accepted(_logger, remote.ToString());
        try
        {
            Stream stream = _options.ThreadPerConnection ? new BlockingSocketStream(client) : new NetworkStream(client, ownsSocket: true);
            using var stopping = _options.ThreadPerConnection ? ct.UnsafeRegister(static s => BlockingSocketStream.ShutDown((Socket)s!), client) : default;
            if (_options.Observe is { } observe)
            {
                stream = observe(stream, remote, (IPEndPoint)client.LocalEndPoint!);
            }
            stream = await _options.StreamFactory(stream, ct).ConfigureAwait(false);
            await using var connection = new V2gtpConnection(stream, _options.V2gtp, _time);
            await _handler(connection, remote, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // one EV's failure never stops the server
            Log.ConnectionFailed(_logger, remote.ToString(), e.GetType().Name, e.Message);
        }
        finally
        {
            client.Dispose();
            Log.Closed(_logger, remote.ToString());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        if (_accept is not null)
        {
            await _accept.ConfigureAwait(false);
        }
        Task[] pending;
        lock (_connections)
        {
            pending = [.. _connections];
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "V2G TCP server listening on {EndPoint}")]
        public static partial void Listening(ILogger logger, string endPoint);

        [LoggerMessage(2, LogLevel.Information, "V2G connection from {Remote}")]
        public static partial void Accepted(ILogger logger, string remote);

        [LoggerMessage(3, LogLevel.Warning, "V2G connection from {Remote} ended with {Error}: {Message}")]
        public static partial void ConnectionFailed(ILogger logger, string remote, string error, string message);

        [LoggerMessage(4, LogLevel.Information, "V2G connection from {Remote} closed")]
        public static partial void Closed(ILogger logger, string remote);

        [LoggerMessage(5, LogLevel.Warning, "accepting a V2G connection failed: {Error}")]
        public static partial void AcceptFailed(ILogger logger, string error);
    }
}

/// <summary>
/// The SECC's TCP port (the destination port of the V2G data, V2G_DST_TCP_DATA) is a dynamic port, 49152–65535:
/// ISO 15118-2:2014 §7.3 Table 15 and DIN SPEC 70121 §8.3 Table 7 (ISO 15118-20 the same); 15118 is the UDP port of
/// SDP. EVs check it: Josev's EVCC refuses an SDP answer with another port.
/// </summary>
public static class V2gPorts
{
    public const int DynamicMin = 49152;
    public const int DynamicMax = 65535;

    public const string Rule = "the SECC's TCP port is a dynamic port, 49152-65535 (ISO 15118-2:2014 §7.3 Table 15, DIN SPEC 70121 §8.3 Table 7: V2G_DST_TCP_DATA)";

    public static bool IsDynamic(int port) => port is >= DynamicMin and <= DynamicMax;

    /// <summary>
    /// Binds to a free port of the dynamic range, chosen at random (the kernel's own ephemeral range on Linux starts
    /// at 32768, so port 0 alone could give a port the standard does not allow).
    /// </summary>
    public static void BindDynamic(Socket socket, IPAddress address)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = Random.Shared.Next(DynamicMin, DynamicMax + 1);
            try
            {
                socket.Bind(new IPEndPoint(address, port));
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 200)
            {
            }
        }
    }
}

/// <summary>The EV side: connects to the SECC's V2G server.</summary>
public static class V2gTcpClient
{
    public static async Task<V2gtpConnection> ConnectAsync(IPEndPoint server, V2gtpOptions? options = null,
        Func<Stream, CancellationToken, ValueTask<Stream>>? streamFactory = null, TimeProvider? time = null, CancellationToken ct = default)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(server, ct).ConfigureAwait(false);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (streamFactory is not null)
            {
                stream = await streamFactory(stream, ct).ConfigureAwait(false);
            }
            return new V2gtpConnection(stream, options, time);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
