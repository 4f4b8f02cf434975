using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Juice.Hlc.Transport;

/// <summary>
/// Writes V2G traffic as a classic libpcap file (LINKTYPE_ETHERNET) that Wireshark and tshark open: UDP datagrams
/// (SDP) and TCP connections with handshake, sequence and acknowledgement numbers and checksums, rebuilt from what
/// the socket API sent and received. Each connection gets its own <see cref="TcpFlow"/>. Thread-safe.
/// </summary>
public sealed class PcapWriter : IDisposable
{
    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeIpv6 = 0x86DD;
    private const byte Tcp = 6;
    private const byte Udp = 17;

    private readonly Stream _out;
    private readonly TimeProvider _time;
    private readonly object _gate = new();

    public PcapWriter(Stream output, TimeProvider? time = null)
    {
        _out = output;
        _time = time ?? TimeProvider.System;
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xA1B2C3D4);   // microsecond timestamps, little-endian file
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 262_144);  // snaplen
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], 1);        // LINKTYPE_ETHERNET
        _out.Write(header);
        _out.Flush();
    }

    public static PcapWriter Create(string path, TimeProvider? time = null) => new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read), time);

    /// <summary>Link-layer address used for a host: locally administered, derived from the IP address.</summary>
    public static byte[] MacFor(IPAddress address)
    {
        byte[] b = address.GetAddressBytes();
        return [0x02, 0x00, b[^4], b[^3], b[^2], b[^1]];
    }

    /// <summary>One UDP datagram from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public void WriteUdp(IPEndPoint source, IPEndPoint destination, ReadOnlySpan<byte> payload)
    {
        byte[] udp = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), (ushort)destination.Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
        payload.CopyTo(udp.AsSpan(8));
        ushort sum = Checksum(source.Address, destination.Address, Udp, udp);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(6), sum == 0 ? (ushort)0xFFFF : sum);
        WritePacket(source.Address, destination.Address, Udp, udp);
    }

    /// <summary>Starts a TCP connection from <paramref name="client"/> to <paramref name="server"/> (writes the handshake).</summary>
    public TcpFlow OpenTcp(IPEndPoint client, IPEndPoint server) => new(this, client, server);

    internal void WriteTcp(IPEndPoint source, IPEndPoint destination, uint seq, uint ack, byte flags, ReadOnlySpan<byte> payload)
    {
        byte[] tcp = new byte[20 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(2), (ushort)destination.Port);
        BinaryPrimitives.WriteUInt32BigEndian(tcp.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp.AsSpan(8), ack);
        tcp[12] = 5 << 4;                                   // data offset: 5 words, no options
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(14), 65535);
        payload.CopyTo(tcp.AsSpan(20));
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(16), Checksum(source.Address, destination.Address, Tcp, tcp));
        WritePacket(source.Address, destination.Address, Tcp, tcp);
    }

    private static bool IsV4(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork || a.IsIPv4MappedToIPv6;

    private static byte[] Bytes(IPAddress a) => IsV4(a) ? a.MapToIPv4().GetAddressBytes() : a.GetAddressBytes();

    private void WritePacket(IPAddress source, IPAddress destination, byte protocol, byte[] transport)
    {
        bool v4 = IsV4(source) && IsV4(destination);
        byte[] src = Bytes(source), dst = Bytes(destination);
        int ipLength = (v4 ? 20 : 40) + transport.Length;
        byte[] frame = new byte[14 + ipLength];
        MacFor(destination).CopyTo(frame, 0);
        MacFor(source).CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), v4 ? EtherTypeIpv4 : EtherTypeIpv6);
        var ip = frame.AsSpan(14);
        if (v4)
        {
            ip[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)ipLength);
            ip[6] = 0x40;   // don't fragment
            ip[8] = 64;
            ip[9] = protocol;
            src.CopyTo(ip[12..]);
            dst.CopyTo(ip[16..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Fold(Sum(ip[..20], 0)));
            transport.CopyTo(ip[20..]);
        }
        else
        {
            ip[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)transport.Length);
            ip[6] = protocol;
            ip[7] = 64;
            src.CopyTo(ip[8..]);
            dst.CopyTo(ip[24..]);
            transport.CopyTo(ip[40..]);
        }
        var now = _time.GetUtcNow();
        long micros = (now - DateTimeOffset.UnixEpoch).Ticks / 10;
        Span<byte> record = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(micros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(micros % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)frame.Length);
        lock (_gate)
        {
            _out.Write(record);
            _out.Write(frame);
            _out.Flush();
        }
    }

    /// <summary>The Internet checksum of a TCP or UDP segment with its IPv4 or IPv6 pseudo-header (RFC 793, RFC 8200 §8.1).</summary>
    private static ushort Checksum(IPAddress source, IPAddress destination, byte protocol, ReadOnlySpan<byte> segment)
    {
        byte[] src = Bytes(source), dst = Bytes(destination);
        uint sum = Sum(src, 0);
        sum = Sum(dst, sum);
        sum += protocol;
        sum += (uint)segment.Length;
        return Fold(Sum(segment, sum));
    }

    private static uint Sum(ReadOnlySpan<byte> data, uint sum)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
        }
        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8);
        }
        return sum;
    }

    private static ushort Fold(uint sum)
    {
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _out.Dispose();
        }
    }
}

/// <summary>One TCP connection in a capture: data in either direction becomes segments with consistent numbers.</summary>
public sealed class TcpFlow
{
    private const byte Fin = 0x01, Syn = 0x02, Psh = 0x08, Ack = 0x10;
    private readonly PcapWriter _pcap;
    private readonly IPEndPoint _client;
    private readonly IPEndPoint _server;
    private readonly object _gate = new();
    private uint _clientSeq = 0x1000_0000;
    private uint _serverSeq = 0x2000_0000;
    private bool _closed;

    internal TcpFlow(PcapWriter pcap, IPEndPoint client, IPEndPoint server)
    {
        _pcap = pcap;
        _client = client;
        _server = server;
        pcap.WriteTcp(client, server, _clientSeq++, 0, Syn, []);
        pcap.WriteTcp(server, client, _serverSeq++, _clientSeq, Syn | Ack, []);
        pcap.WriteTcp(client, server, _clientSeq, _serverSeq, Ack, []);
    }

    /// <summary>Bytes the client (EV) sent.</summary>
    public void ClientSent(ReadOnlySpan<byte> data) => Segment(fromClient: true, data);

    /// <summary>Bytes the server (SECC) sent.</summary>
    public void ServerSent(ReadOnlySpan<byte> data) => Segment(fromClient: false, data);

    private void Segment(bool fromClient, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }
        lock (_gate)
        {
            if (fromClient)
            {
                _pcap.WriteTcp(_client, _server, _clientSeq, _serverSeq, Psh | Ack, data);
                _clientSeq += (uint)data.Length;
            }
            else
            {
                _pcap.WriteTcp(_server, _client, _serverSeq, _clientSeq, Psh | Ack, data);
                _serverSeq += (uint)data.Length;
            }
        }
    }

    /// <summary>The connection ends: FIN from both sides and the last acknowledgements.</summary>
    public void Close()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            _pcap.WriteTcp(_client, _server, _clientSeq++, _serverSeq, Fin | Ack, []);
            _pcap.WriteTcp(_server, _client, _serverSeq++, _clientSeq, Fin | Ack, []);
            _pcap.WriteTcp(_client, _server, _clientSeq, _serverSeq, Ack, []);
        }
    }
}

/// <summary>A stream that records what passes through it into a <see cref="TcpFlow"/>.</summary>
public sealed class RecordingStream(Stream inner, TcpFlow flow, bool localIsClient = true) : Stream
{
    private void Received(ReadOnlySpan<byte> data)
    {
        if (localIsClient)
        {
            flow.ServerSent(data);
        }
        else
        {
            flow.ClientSent(data);
        }
    }

    private void Sent(ReadOnlySpan<byte> data)
    {
        if (localIsClient)
        {
            flow.ClientSent(data);
        }
        else
        {
            flow.ServerSent(data);
        }
    }

    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => false;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = inner.Read(buffer, offset, count);
        Received(buffer.AsSpan(offset, n));
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Received(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        inner.Write(buffer, offset, count);
        Sent(buffer.AsSpan(offset, count));
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        Sent(buffer.Span);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            flow.Close();
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        flow.Close();
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
