using System.Buffers;
using System.Buffers.Binary;

namespace Juice.Hlc.V2gtp;

/// <summary>
/// V2GTP payload types (ISO 15118-2:2014 §7.8.3, Table 10; DIN SPEC 70121 §8.7.3; ISO 15118-20:2022 §7.8.3,
/// Table 12). ISO 15118-2 and DIN carry every message as <see cref="Exi"/>; ISO 15118-20 puts supportedAppProtocol
/// there too and each message set on a stream of its own.
/// </summary>
public enum V2gtpPayloadType : ushort
{
    /// <summary>EXI encoded V2G message (ISO 15118-2, DIN); in ISO 15118-20 the supportedAppProtocol messages (SAP).</summary>
    Exi = 0x8001,

    /// <summary>ISO 15118-20: the CommonMessages stream (session setup, authorization, services, schedules, power delivery, stop).</summary>
    MainStream = 0x8002,

    /// <summary>ISO 15118-20: the AC messages.</summary>
    AcMainStream = 0x8003,

    /// <summary>ISO 15118-20: the DC messages.</summary>
    DcMainStream = 0x8004,

    /// <summary>ISO 15118-20: the ACDP (pantograph) messages.</summary>
    AcdpMainStream = 0x8005,

    /// <summary>ISO 15118-20: the WPT (wireless) messages.</summary>
    WptMainStream = 0x8006,

    /// <summary>ISO 15118-20: schedule renegotiation, multiplexed beside the charging loop.</summary>
    ScheduleRenegotiation = 0x8101,

    /// <summary>ISO 15118-20: metering confirmation, multiplexed beside the charging loop.</summary>
    MeteringConfirmation = 0x8102,

    /// <summary>ISO 15118-20: ACDP system status, multiplexed.</summary>
    AcdpSystemStatus = 0x8103,

    /// <summary>ISO 15118-20: parking status (WPT), multiplexed.</summary>
    ParkingStatus = 0x8104,

    /// <summary>SDP request (UDP).</summary>
    SdpRequest = 0x9000,

    /// <summary>SDP response (UDP).</summary>
    SdpResponse = 0x9001,

    /// <summary>ISO 15118-20: SDP request for wireless communication (ACDP, WPT).</summary>
    SdpRequestWireless = 0x9002,

    /// <summary>ISO 15118-20: SDP response for wireless communication.</summary>
    SdpResponseWireless = 0x9003,
}

/// <summary>
/// V2GTP framing (ISO 15118-2:2014 §7.8.3). Every message is a generic 8-byte header and its payload:
/// <code>
///  0        1        2        3        4        5        6        7
/// +--------+--------+--------+--------+--------+--------+--------+--------+-- - -
/// |version | ~vers. |   payload type  |           payload length          | payload
/// |  0x01  |  0xFE  |  (big endian)   |           (big endian)            |
/// +--------+--------+--------+--------+--------+--------+--------+--------+-- - -
/// </code>
/// </summary>
public static class V2gtpFrame
{
    public const int HeaderLength = 8;
    public const byte ProtocolVersion = 0x01;
    public const byte InverseProtocolVersion = 0xFE;

    /// <summary>
    /// Takes one frame from <paramref name="buffer"/>. Returns false while bytes are missing (nothing consumed).
    /// Throws <see cref="V2gtpException"/> for a header the receiver must reject: the size limit is checked before
    /// the rest of the frame is buffered.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxPayloadLength, out V2gtpPayloadType payloadType, out ReadOnlySequence<byte> payload)
    {
        payloadType = default;
        payload = default;
        if (buffer.Length < HeaderLength)
        {
            // A wrong version can be seen before the header is complete: reject early.
            if (buffer.Length >= 2)
            {
                Span<byte> two = stackalloc byte[2];
                buffer.Slice(0, 2).CopyTo(two);
                CheckVersion(two);
            }
            return false;
        }
        Span<byte> header = stackalloc byte[HeaderLength];
        buffer.Slice(0, HeaderLength).CopyTo(header);
        var (type, length) = ParseHeader(header, maxPayloadLength);
        if (buffer.Length - HeaderLength < length)
        {
            return false;
        }
        payloadType = type;
        payload = buffer.Slice(HeaderLength, length);
        buffer = buffer.Slice(HeaderLength + length);
        return true;
    }

    /// <summary>Checks a complete header and returns its payload type and length.</summary>
    public static (V2gtpPayloadType Type, int Length) ParseHeader(ReadOnlySpan<byte> header, int maxPayloadLength)
    {
        CheckVersion(header);
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(header.Slice(2));
        // ISO 15118-2 §7.8.3, Table 11: a payload type the receiver does not know is a negative acknowledgement.
        if (!Enum.IsDefined((V2gtpPayloadType)type))
        {
            throw new V2gtpException(V2gtpError.UnknownPayloadType, $"unknown V2GTP payload type 0x{type:x4}");
        }
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.Slice(4));
        // Table 11: a payload longer than the receiver's buffer is a negative acknowledgement.
        if (length > (uint)maxPayloadLength)
        {
            throw new V2gtpException(V2gtpError.PayloadTooLong, $"V2GTP payload length {length} exceeds the maximum of {maxPayloadLength}");
        }
        return ((V2gtpPayloadType)type, (int)length);
    }

    /// <summary>Checks the two version bytes at the start of a header.</summary>
    public static void CheckVersion(ReadOnlySpan<byte> header)
    {
        // Table 11: protocol version 0x01 and its inverse 0xFE, else a negative acknowledgement.
        if (header[0] != ProtocolVersion || header[1] != InverseProtocolVersion)
        {
            throw new V2gtpException(V2gtpError.IncorrectVersion, $"V2GTP version bytes {header[0]:x2} {header[1]:x2}, expected 01 fe");
        }
    }

    /// <summary>Writes the header for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, V2gtpPayloadType payloadType, int payloadLength)
    {
        destination[0] = ProtocolVersion;
        destination[1] = InverseProtocolVersion;
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(2), (ushort)payloadType);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(4), (uint)payloadLength);
    }

    /// <summary>Header and payload in one array, ready for a single send.</summary>
    public static byte[] Build(V2gtpPayloadType payloadType, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderLength + payload.Length];
        WriteHeader(frame, payloadType, payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderLength));
        return frame;
    }
}
