using System.Buffers.Binary;
using System.Net.Sockets;

namespace Juice.Station.Energy;

/// <summary>A Modbus exception response or a malformed answer from a Modbus server.</summary>
public sealed class ModbusClientException(string message) : Exception(message);

/// <summary>
/// A minimal Modbus TCP client (MODBUS Application Protocol V1.1b3, MODBUS Messaging on TCP/IP V1.0b): read holding
/// (FC 3) and input registers (FC 4), one request at a time on one connection. Every answer is checked (transaction
/// id, protocol id, unit, function, byte count); an exception response becomes <see cref="ModbusClientException"/>.
/// </summary>
public sealed class ModbusTcpClient(string host, int port, byte unit, TimeSpan timeout) : IAsyncDisposable
{
    private TcpClient? _tcp;
    private ushort _transaction;

    public async Task<ushort[]> ReadAsync(byte function, ushort start, ushort count, CancellationToken cancellationToken)
    {
        if (function is not (3 or 4) || count is 0 or > 125)
        {
            throw new ArgumentOutOfRangeException(nameof(count), "FC 3 or 4, 1 to 125 registers");
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            if (_tcp is not { Connected: true })
            {
                _tcp?.Dispose();
                _tcp = new TcpClient { NoDelay = true };
                await _tcp.ConnectAsync(host, port, cts.Token);
            }
            var stream = _tcp.GetStream();
            var request = new byte[12];
            BinaryPrimitives.WriteUInt16BigEndian(request, ++_transaction);
            BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), 6);
            request[6] = unit;
            request[7] = function;
            BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(8), start);
            BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(10), count);
            await stream.WriteAsync(request, cts.Token);
            var header = new byte[7];
            await stream.ReadExactlyAsync(header, cts.Token);
            int length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
            if (BinaryPrimitives.ReadUInt16BigEndian(header) != _transaction || BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2)) != 0 || length is < 3 or > 254)
            {
                throw Broken("an answer that does not belong to the request (transaction, protocol or length)");
            }
            var pdu = new byte[length - 1];
            await stream.ReadExactlyAsync(pdu, cts.Token);
            if (pdu[0] == (function | 0x80))
            {
                throw new ModbusClientException($"exception {pdu[1]:x2} reading {count} register(s) at {start} (FC {function})");
            }
            if (pdu[0] != function || pdu[1] != count * 2 || pdu.Length != 2 + count * 2)
            {
                throw Broken($"a malformed answer (function {pdu[0]}, {pdu[1]} bytes for {count} registers)");
            }
            var registers = new ushort[count];
            for (int i = 0; i < count; i++)
            {
                registers[i] = BinaryPrimitives.ReadUInt16BigEndian(pdu.AsSpan(2 + 2 * i));
            }
            return registers;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Broken($"no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is SocketException or IOException or EndOfStreamException)
        {
            throw Broken(e.Message);
        }
    }

    private ModbusClientException Broken(string why)
    {
        _tcp?.Dispose();
        _tcp = null;   // the next read connects again
        return new ModbusClientException(why);
    }

    public ValueTask DisposeAsync()
    {
        _tcp?.Dispose();
        return ValueTask.CompletedTask;
    }
}
