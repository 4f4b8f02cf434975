using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Modbus;

/// <summary>Modbus exception codes (Modbus Application Protocol V1.1b3 §7).</summary>
public enum ModbusException : byte
{
    None = 0,
    IllegalFunction = 0x01,
    IllegalDataAddress = 0x02,
    IllegalDataValue = 0x03,
    ServerDeviceFailure = 0x04,
}

/// <summary>The register set a Modbus server serves (holding registers; input registers read the same).</summary>
public interface IModbusRegisters
{
    /// <summary>Reads <paramref name="values"/>.Length registers from <paramref name="start"/>.</summary>
    ModbusException Read(ushort start, Span<ushort> values);

    /// <summary>Writes registers from <paramref name="start"/> (FC 6 writes one, FC 16 several).</summary>
    ModbusException Write(ushort start, ReadOnlySpan<ushort> values);

    /// <summary>Any request arrived (the master's watchdog).</summary>
    void Activity();
}

/// <summary>
/// A Modbus TCP server (Modbus Messaging on TCP/IP Implementation Guide V1.0b): MBAP header, any unit id, function
/// codes 3 and 4 (read), 6 and 16 (write); every other function is answered with exception 01. A malformed frame
/// (protocol id not 0, a length beyond 254) closes the connection with a log line. Several masters may be connected.
/// </summary>
public sealed partial class ModbusTcpServer : IAsyncDisposable
{
    private const int MbapLength = 7;
    private const int MaxPdu = 253;
    private readonly IModbusRegisters _registers;
    private readonly ILogger _logger;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private Task? _accept;

    public ModbusTcpServer(IPEndPoint endpoint, IModbusRegisters registers, ILogger logger)
    {
        _registers = registers;
        _logger = logger;
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            _listener.DualMode = true;
        }
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(endpoint);
        _listener.Listen(16);
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>How long a connection may stay silent before the server closes it.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public void Start() => _accept = Task.Run(AcceptLoopAsync);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                Log.AcceptFailed(_logger, e.SocketErrorCode.ToString());
                continue;
            }
            client.NoDelay = true;
            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(ServeAsync(client));
            }
        }
    }

    private async Task ServeAsync(Socket client)
    {
        string remote = client.RemoteEndPoint?.ToString() ?? "?";
        Log.Connected(_logger, remote);
        var buffer = new byte[MbapLength + MaxPdu];
        var response = new byte[MbapLength + MaxPdu];
        try
        {
            using (client)
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    idle.CancelAfter(IdleTimeout);
                    if (!await ReceiveExactlyAsync(client, buffer.AsMemory(0, MbapLength), idle.Token).ConfigureAwait(false))
                    {
                        break;
                    }
                    ushort protocol = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2));
                    ushort length = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(4));
                    if (protocol != 0 || length < 2 || length > MaxPdu + 1)
                    {
                        Log.BadFrame(_logger, remote, protocol, length);
                        break;
                    }
                    if (!await ReceiveExactlyAsync(client, buffer.AsMemory(MbapLength, length - 1), idle.Token).ConfigureAwait(false))
                    {
                        Log.Truncated(_logger, remote);
                        break;
                    }
                    _registers.Activity();
                    int pduLength = Handle(buffer.AsSpan(MbapLength, length - 1), response.AsSpan(MbapLength));
                    buffer.AsSpan(0, 4).CopyTo(response);   // transaction id and protocol id echoed
                    BinaryPrimitives.WriteUInt16BigEndian(response.AsSpan(4), (ushort)(pduLength + 1));
                    response[6] = buffer[6];                // the unit id, whatever it is
                    await client.SendAsync(response.AsMemory(0, MbapLength + pduLength), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
            Log.Idle(_logger, remote, IdleTimeout.TotalSeconds);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        Log.Disconnected(_logger, remote);
    }

    private static async Task<bool> ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer[got..], SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }
            got += n;
        }
        return true;
    }

    /// <summary>Handles one PDU (function code and data) and writes the response PDU; returns its length.</summary>
    internal int Handle(ReadOnlySpan<byte> pdu, Span<byte> response)
    {
        byte function = pdu[0];
        var data = pdu[1..];
        ModbusException error;
        switch (function)
        {
            case 3 or 4 when data.Length == 4:
            {
                ushort start = BinaryPrimitives.ReadUInt16BigEndian(data);
                ushort count = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
                if (count is < 1 or > 125)
                {
                    error = ModbusException.IllegalDataValue;
                    break;
                }
                if (start + count > 0x10000)
                {
                    error = ModbusException.IllegalDataAddress;
                    break;
                }
                Span<ushort> values = stackalloc ushort[count];
                error = _registers.Read(start, values);
                if (error != ModbusException.None)
                {
                    break;
                }
                response[0] = function;
                response[1] = (byte)(count * 2);
                for (int i = 0; i < count; i++)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(response[(2 + 2 * i)..], values[i]);
                }
                return 2 + 2 * count;
            }
            case 6 when data.Length == 4:
            {
                ushort address = BinaryPrimitives.ReadUInt16BigEndian(data);
                ushort value = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
                error = _registers.Write(address, [value]);
                if (error != ModbusException.None)
                {
                    break;
                }
                pdu[..5].CopyTo(response);   // the echo of the request
                return 5;
            }
            case 16 when data.Length >= 5:
            {
                ushort start = BinaryPrimitives.ReadUInt16BigEndian(data);
                ushort count = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
                byte bytes = data[4];
                if (count is < 1 or > 123 || bytes != count * 2 || data.Length != 5 + bytes)
                {
                    error = ModbusException.IllegalDataValue;
                    break;
                }
                if (start + count > 0x10000)
                {
                    error = ModbusException.IllegalDataAddress;
                    break;
                }
                Span<ushort> values = stackalloc ushort[count];
                for (int i = 0; i < count; i++)
                {
                    values[i] = BinaryPrimitives.ReadUInt16BigEndian(data[(5 + 2 * i)..]);
                }
                error = _registers.Write(start, values);
                if (error != ModbusException.None)
                {
                    break;
                }
                response[0] = function;
                BinaryPrimitives.WriteUInt16BigEndian(response[1..], start);
                BinaryPrimitives.WriteUInt16BigEndian(response[3..], count);
                return 5;
            }
            case 3 or 4 or 6 or 16:
                error = ModbusException.IllegalDataValue;   // a known function with a malformed body
                break;
            default:
                error = ModbusException.IllegalFunction;
                break;
        }
        Log.Exception(_logger, function, error.ToString());
        response[0] = (byte)(function | 0x80);
        response[1] = (byte)error;
        return 2;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        if (_accept is not null)
        {
            await _accept.ConfigureAwait(false);
        }
        Task[] open;
        lock (_connections)
        {
            open = [.. _connections];
        }
        await Task.WhenAll(open).ConfigureAwait(false);
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Modbus master {Remote} connected")]
        public static partial void Connected(ILogger logger, string remote);

        [LoggerMessage(2, LogLevel.Information, "Modbus master {Remote} disconnected")]
        public static partial void Disconnected(ILogger logger, string remote);

        [LoggerMessage(3, LogLevel.Warning, "Modbus master {Remote}: malformed MBAP header (protocol id {Protocol}, length {Length}): connection closed")]
        public static partial void BadFrame(ILogger logger, string remote, ushort protocol, ushort length);

        [LoggerMessage(4, LogLevel.Warning, "Modbus master {Remote}: frame cut off: connection closed")]
        public static partial void Truncated(ILogger logger, string remote);

        [LoggerMessage(5, LogLevel.Debug, "Modbus function {Function}: exception {Error}")]
        public static partial void Exception(ILogger logger, byte function, string error);

        [LoggerMessage(6, LogLevel.Information, "Modbus master {Remote} silent for {Seconds} s: connection closed")]
        public static partial void Idle(ILogger logger, string remote, double seconds);

        [LoggerMessage(7, LogLevel.Warning, "Modbus: accepting a connection failed: {Error}")]
        public static partial void AcceptFailed(ILogger logger, string error);
    }
}
