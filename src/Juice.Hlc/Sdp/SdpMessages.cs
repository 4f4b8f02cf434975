using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Juice.Hlc.Sdp;

/// <summary>SDP security byte (ISO 15118-2:2014 §7.10.1, Table 13).</summary>
public enum SdpSecurity : byte
{
    Tls = 0x00,
    NoTls = 0x10,
}

/// <summary>SDP transport protocol byte (ISO 15118-2:2014 §7.10.1, Table 13).</summary>
public enum SdpTransport : byte
{
    Tcp = 0x00,
    Udp = 0x10,
}

/// <summary>
/// SDP request (V2GTP payload type 0x9000): two bytes.
/// <code>
/// +----------+-----------+
/// | security | transport |
/// +----------+-----------+
/// </code>
/// </summary>
public readonly record struct SdpRequest(SdpSecurity Security, SdpTransport Transport)
{
    public const int Length = 2;

    public byte[] ToBytes() => [(byte)Security, (byte)Transport];

    /// <summary>Parses a request payload; null when it is malformed (a malformed request is ignored, not answered).</summary>
    public static SdpRequest? TryParse(ReadOnlySpan<byte> payload)
    {
        if (payload.Length != Length || !Enum.IsDefined((SdpSecurity)payload[0]) || !Enum.IsDefined((SdpTransport)payload[1]))
        {
            return null;
        }
        return new SdpRequest((SdpSecurity)payload[0], (SdpTransport)payload[1]);
    }
}

/// <summary>
/// SDP response (V2GTP payload type 0x9001): twenty bytes.
/// <code>
/// +-------------------- 16 --------------------+--- 2 ---+----------+-----------+
/// | SECC IPv6 address                          |  port   | security | transport |
/// +--------------------------------------------+---------+----------+-----------+
/// </code>
/// </summary>
public readonly record struct SdpResponse(IPAddress Address, ushort Port, SdpSecurity Security, SdpTransport Transport)
{
    public const int Length = 20;

    public byte[] ToBytes()
    {
        if (Address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new InvalidOperationException("SDP announces an IPv6 address");
        }
        var b = new byte[Length];
        Address.TryWriteBytes(b, out _);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(16), Port);
        b[18] = (byte)Security;
        b[19] = (byte)Transport;
        return b;
    }

    /// <summary>Parses a response payload; null when it is malformed. The scope id comes from the interface it arrived on.</summary>
    public static SdpResponse? TryParse(ReadOnlySpan<byte> payload, long scopeId = 0)
    {
        if (payload.Length != Length || !Enum.IsDefined((SdpSecurity)payload[18]) || !Enum.IsDefined((SdpTransport)payload[19]))
        {
            return null;
        }
        var address = new IPAddress(payload[..16], scopeId);
        return new SdpResponse(address, BinaryPrimitives.ReadUInt16BigEndian(payload.Slice(16)), (SdpSecurity)payload[18], (SdpTransport)payload[19]);
    }
}
