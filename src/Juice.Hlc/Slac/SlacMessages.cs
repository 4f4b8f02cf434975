using System.Buffers.Binary;
using System.Net.NetworkInformation;
using System.Security.Cryptography;

namespace Juice.Hlc.Slac;

/// <summary>MMTYPE codes of the HomePlug Green PHY management messages around SLAC (ISO 15118-3 Annex A): base | mode.</summary>
public static class MmType
{
    public const ushort SetKeyReq = 0x6008, SetKeyCnf = 0x6009;
    public const ushort SlacParmReq = 0x6064, SlacParmCnf = 0x6065;
    public const ushort StartAttenCharInd = 0x606A;
    public const ushort AttenCharInd = 0x606E, AttenCharRsp = 0x606F;
    public const ushort MnbcSoundInd = 0x6076;
    public const ushort ValidateReq = 0x6078, ValidateCnf = 0x6079;
    public const ushort SlacMatchReq = 0x607C, SlacMatchCnf = 0x607D;
    public const ushort AttenProfileInd = 0x6086;

    public static string Name(ushort mmType) => mmType switch
    {
        SetKeyReq => "CM_SET_KEY.REQ",
        SetKeyCnf => "CM_SET_KEY.CNF",
        SlacParmReq => "CM_SLAC_PARM.REQ",
        SlacParmCnf => "CM_SLAC_PARM.CNF",
        StartAttenCharInd => "CM_START_ATTEN_CHAR.IND",
        AttenCharInd => "CM_ATTEN_CHAR.IND",
        AttenCharRsp => "CM_ATTEN_CHAR.RSP",
        MnbcSoundInd => "CM_MNBC_SOUND.IND",
        ValidateReq => "CM_VALIDATE.REQ",
        ValidateCnf => "CM_VALIDATE.CNF",
        SlacMatchReq => "CM_SLAC_MATCH.REQ",
        SlacMatchCnf => "CM_SLAC_MATCH.CNF",
        AttenProfileInd => "CM_ATTEN_PROFILE.IND",
        _ => $"MME 0x{mmType:X4}",
    };
}

/// <summary>
/// One SLAC management message (ISO 15118-3 Annex A, HomePlug Green PHY): the MME payload after the 5-byte
/// HomePlug AV 1.1 header. Byte strings (MACs, RunID, NID, NMK) are sent in the order held; 16-bit counts are
/// little-endian. Parsing accepts frames longer than the fields it needs (padding, open-plc-utils' 255-byte AAG area).
/// </summary>
public abstract record SlacMessage
{
    public abstract ushort MmType { get; }

    /// <summary>The payload length as this implementation sends it.</summary>
    public abstract int PayloadLength { get; }

    public abstract void WritePayload(Span<byte> payload);

    public string Name => Slac.MmType.Name(MmType);
}

/// <summary>CM_SLAC_PARM.REQ (EV → broadcast): a matching run begins.</summary>
public sealed record SlacParmReq(byte[] RunId, byte ApplicationType = 0, byte SecurityType = 0) : SlacMessage
{
    public override ushort MmType => Slac.MmType.SlacParmReq;
    public override int PayloadLength => 10;

    public override void WritePayload(Span<byte> p)
    {
        p[0] = ApplicationType;
        p[1] = SecurityType;
        RunId.CopyTo(p[2..10]);
    }
}

/// <summary>CM_SLAC_PARM.CNF (EVSE → EV): the sounding parameters of ISO 15118-3 Table A.2.</summary>
public sealed record SlacParmCnf(PhysicalAddress ForwardingSta, byte[] RunId, byte NumSounds = 10, byte TimeOut = 6, byte RespType = 1, byte ApplicationType = 0, byte SecurityType = 0)
    : SlacMessage
{
    public override ushort MmType => Slac.MmType.SlacParmCnf;
    public override int PayloadLength => 25;

    public override void WritePayload(Span<byte> p)
    {
        SlacFrame.Broadcast.GetAddressBytes().CopyTo(p);   // M-SOUND_TARGET
        p[6] = NumSounds;
        p[7] = TimeOut;
        p[8] = RespType;
        ForwardingSta.GetAddressBytes().CopyTo(p[9..]);
        p[15] = ApplicationType;
        p[16] = SecurityType;
        RunId.CopyTo(p[17..25]);
    }
}

/// <summary>CM_START_ATTEN_CHAR.IND (EV → broadcast, three times): sounding starts.</summary>
public sealed record StartAttenCharInd(PhysicalAddress ForwardingSta, byte[] RunId, byte NumSounds = 10, byte TimeOut = 6, byte RespType = 1, byte ApplicationType = 0, byte SecurityType = 0)
    : SlacMessage
{
    public override ushort MmType => Slac.MmType.StartAttenCharInd;
    public override int PayloadLength => 19;

    public override void WritePayload(Span<byte> p)
    {
        p[0] = ApplicationType;
        p[1] = SecurityType;
        p[2] = NumSounds;
        p[3] = TimeOut;
        p[4] = RespType;
        ForwardingSta.GetAddressBytes().CopyTo(p[5..]);
        RunId.CopyTo(p[11..19]);
    }
}

/// <summary>CM_MNBC_SOUND.IND (EV → broadcast, NUM_SOUNDS times): one M-sound; Cnt counts down to 0.</summary>
public sealed record MnbcSoundInd(byte Cnt, byte[] RunId, byte[] Rnd, byte ApplicationType = 0, byte SecurityType = 0) : SlacMessage
{
    public override ushort MmType => Slac.MmType.MnbcSoundInd;
    public override int PayloadLength => 52;

    public override void WritePayload(Span<byte> p)
    {
        p[0] = ApplicationType;
        p[1] = SecurityType;
        p[2..19].Clear();   // SenderID: zeros (ISO)
        p[19] = Cnt;
        RunId.CopyTo(p[20..28]);
        p[28..36].Clear();
        Rnd.CopyTo(p[36..52]);
    }
}

/// <summary>CM_ATTEN_PROFILE.IND (EVSE modem → EVSE host): the attenuation of one received sound, per carrier group.</summary>
public sealed record AttenProfileInd(PhysicalAddress PevMac, byte[] Aag) : SlacMessage
{
    public override ushort MmType => Slac.MmType.AttenProfileInd;
    public override int PayloadLength => 8 + Aag.Length;

    public override void WritePayload(Span<byte> p)
    {
        PevMac.GetAddressBytes().CopyTo(p);
        p[6] = (byte)Aag.Length;
        p[7] = 0;
        Aag.CopyTo(p[8..]);
    }
}

/// <summary>CM_ATTEN_CHAR.IND (EVSE → EV): the averaged attenuation profile.</summary>
public sealed record AttenCharInd(PhysicalAddress SourceAddress, byte[] RunId, byte NumSounds, byte[] Aag, byte ApplicationType = 0, byte SecurityType = 0) : SlacMessage
{
    public override ushort MmType => Slac.MmType.AttenCharInd;
    public override int PayloadLength => 52 + Aag.Length;

    public override void WritePayload(Span<byte> p)
    {
        p[0] = ApplicationType;
        p[1] = SecurityType;
        SourceAddress.GetAddressBytes().CopyTo(p[2..]);
        RunId.CopyTo(p[8..16]);
        p[16..50].Clear();   // SOURCE_ID, RESP_ID
        p[50] = NumSounds;
        p[51] = (byte)Aag.Length;
        Aag.CopyTo(p[52..]);
    }

    /// <summary>The mean attenuation over the groups, dB.</summary>
    public double Average => Aag.Length == 0 ? double.PositiveInfinity : Aag.Average(a => (double)a);
}

/// <summary>CM_ATTEN_CHAR.RSP (EV → EVSE): the profile arrived.</summary>
public sealed record AttenCharRsp(PhysicalAddress SourceAddress, byte[] RunId, byte Result = 0, byte ApplicationType = 0, byte SecurityType = 0) : SlacMessage
{
    public override ushort MmType => Slac.MmType.AttenCharRsp;
    public override int PayloadLength => 51;

    /// <summary>True when SOURCE_ID and RESP_ID were zero, as ISO requires (parsed frames only).</summary>
    public bool ZeroIds { get; init; } = true;

    public override void WritePayload(Span<byte> p)
    {
        p[0] = ApplicationType;
        p[1] = SecurityType;
        SourceAddress.GetAddressBytes().CopyTo(p[2..]);
        RunId.CopyTo(p[8..16]);
        p[16..50].Clear();
        p[50] = Result;
    }
}

/// <summary>CM_VALIDATE.REQ (EV → EVSE) / .CNF (EVSE → EV): the optional toggle validation.</summary>
public sealed record ValidateMessage(bool Request, byte SignalType, byte TimerOrToggles, byte Result) : SlacMessage
{
    public override ushort MmType => Request ? Slac.MmType.ValidateReq : Slac.MmType.ValidateCnf;
    public override int PayloadLength => 3;

    public override void WritePayload(Span<byte> p)
    {
        p[0] = SignalType;
        p[1] = TimerOrToggles;
        p[2] = Result;
    }
}

/// <summary>CM_SLAC_MATCH.REQ (EV → chosen EVSE): MVFLength 0x003E, little-endian.</summary>
public sealed record SlacMatchReq(PhysicalAddress PevMac, PhysicalAddress EvseMac, byte[] RunId, ushort MvfLength = 0x3E, byte ApplicationType = 0, byte SecurityType = 0) : SlacMessage
{
    public override ushort MmType => Slac.MmType.SlacMatchReq;
    public override int PayloadLength => 66;

    /// <summary>True when PEV_ID and EVSE_ID were zero (parsed frames only).</summary>
    public bool ZeroIds { get; init; } = true;

    public override void WritePayload(Span<byte> p)
    {
        p[0] = ApplicationType;
        p[1] = SecurityType;
        BinaryPrimitives.WriteUInt16LittleEndian(p[2..], MvfLength);
        p[4..21].Clear();
        PevMac.GetAddressBytes().CopyTo(p[21..]);
        p[27..44].Clear();
        EvseMac.GetAddressBytes().CopyTo(p[44..]);
        RunId.CopyTo(p[50..58]);
        p[58..66].Clear();
    }
}

/// <summary>CM_SLAC_MATCH.CNF (EVSE → EV): the network to join, its NID and NMK.</summary>
public sealed record SlacMatchCnf(PhysicalAddress PevMac, PhysicalAddress EvseMac, byte[] RunId, byte[] Nid, byte[] Nmk, byte ApplicationType = 0, byte SecurityType = 0) : SlacMessage
{
    public override ushort MmType => Slac.MmType.SlacMatchCnf;
    public override int PayloadLength => 90;

    public override void WritePayload(Span<byte> p)
    {
        p[0] = ApplicationType;
        p[1] = SecurityType;
        BinaryPrimitives.WriteUInt16LittleEndian(p[2..], 0x56);
        p[4..21].Clear();
        PevMac.GetAddressBytes().CopyTo(p[21..]);
        p[27..44].Clear();
        EvseMac.GetAddressBytes().CopyTo(p[44..]);
        RunId.CopyTo(p[50..58]);
        p[58..66].Clear();
        Nid.CopyTo(p[66..73]);
        p[73] = 0;
        Nmk.CopyTo(p[74..90]);
    }
}

/// <summary>CM_SET_KEY.REQ (host → its own modem): the NMK (and its NID) of the network to form or join.</summary>
public sealed record SetKeyReq(byte[] Nid, byte[] Nmk, byte[] MyNonce, byte[]? YourNonce = null, byte KeyType = 1, byte Pid = 4, ushort Prn = 0, byte Pmn = 0, byte NewEks = 1) : SlacMessage
{
    public override ushort MmType => Slac.MmType.SetKeyReq;
    public override int PayloadLength => 38;

    public override void WritePayload(Span<byte> p)
    {
        p[0] = KeyType;
        MyNonce.CopyTo(p[1..5]);
        (YourNonce ?? new byte[4]).CopyTo(p[5..9]);
        p[9] = Pid;
        BinaryPrimitives.WriteUInt16LittleEndian(p[10..], Prn);
        p[12] = Pmn;
        p[13] = 0;   // CCo capability
        Nid.CopyTo(p[14..21]);
        p[21] = NewEks;
        Nmk.CopyTo(p[22..38]);
    }
}

/// <summary>CM_SET_KEY.CNF (modem → host): 0x00 is success by the HomePlug spec; QCA firmware answers 0x01 when the key was applied.</summary>
public sealed record SetKeyCnf(byte Result, byte[] MyNonce, byte[] YourNonce, byte Pid = 4, ushort Prn = 0, byte Pmn = 0) : SlacMessage
{
    public override ushort MmType => Slac.MmType.SetKeyCnf;
    public override int PayloadLength => 14;

    /// <summary>Both 0x00 (the spec) and 0x01 (QCA) mean the key was taken.</summary>
    public bool Applied => Result is 0x00 or 0x01;

    public override void WritePayload(Span<byte> p)
    {
        p[0] = Result;
        MyNonce.CopyTo(p[1..5]);
        YourNonce.CopyTo(p[5..9]);
        p[9] = Pid;
        BinaryPrimitives.WriteUInt16LittleEndian(p[10..], Prn);
        p[12] = Pmn;
        p[13] = 0;
    }
}

/// <summary>
/// Ethernet II frames of HomePlug AV management messages: destination, source, EtherType 0x88E1, MMV 0x01,
/// MMTYPE (little-endian), two FMI bytes (0: SLAC messages are never fragmented), the payload, zero padding to 60.
/// </summary>
public static class SlacFrame
{
    public const ushort EtherType = 0x88E1;
    public const int HeaderLength = 19;
    public const int MinimumLength = 60;

    public static readonly PhysicalAddress Broadcast = new([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);

    /// <summary>The "local management" address QCA modems answer as their own host's modem.</summary>
    public static readonly PhysicalAddress LocalModem = new([0x00, 0xB0, 0x52, 0x00, 0x00, 0x01]);

    public static byte[] Build(PhysicalAddress destination, PhysicalAddress source, SlacMessage message)
    {
        var frame = new byte[Math.Max(MinimumLength, HeaderLength + message.PayloadLength)];
        destination.GetAddressBytes().CopyTo(frame, 0);
        source.GetAddressBytes().CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType);
        frame[14] = 0x01;   // MMV: HomePlug AV 1.1
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(15), message.MmType);
        message.WritePayload(frame.AsSpan(HeaderLength, message.PayloadLength));
        return frame;
    }

    /// <summary>The addresses and the message of a frame; null (with why) for another EtherType, MMV or an unknown or short MME.</summary>
    public static (PhysicalAddress Destination, PhysicalAddress Source, SlacMessage Message)? Parse(ReadOnlySpan<byte> frame, out string? problem)
    {
        problem = null;
        if (frame.Length < HeaderLength || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != EtherType)
        {
            problem = "not a HomePlug AV frame";
            return null;
        }
        if (frame[14] != 0x01)
        {
            problem = $"MMV {frame[14]} (SLAC messages are HomePlug AV 1.1, MMV 1)";
            return null;
        }
        if (frame[17] != 0)
        {
            problem = "a fragmented MME (SLAC messages are never fragmented)";
            return null;
        }
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(frame[15..]);
        var p = frame[HeaderLength..];
        var message = ParsePayload(type, p);
        if (message is null)
        {
            problem = $"{Slac.MmType.Name(type)} of {frame.Length} bytes is not understood";
            return null;
        }
        return (new PhysicalAddress(frame[..6].ToArray()), new PhysicalAddress(frame[6..12].ToArray()), message);
    }

    private static PhysicalAddress Mac(ReadOnlySpan<byte> p) => new(p[..6].ToArray());

    private static SlacMessage? ParsePayload(ushort type, ReadOnlySpan<byte> p)
    {
        static bool Zero(ReadOnlySpan<byte> s) => !s.ContainsAnyExcept((byte)0);
        switch (type)
        {
            case Slac.MmType.SlacParmReq when p.Length >= 10:
                return new SlacParmReq(p[2..10].ToArray(), p[0], p[1]);
            case Slac.MmType.SlacParmCnf when p.Length >= 25:
                return new SlacParmCnf(Mac(p[9..]), p[17..25].ToArray(), p[6], p[7], p[8], p[15], p[16]);
            case Slac.MmType.StartAttenCharInd when p.Length >= 19:
                return new StartAttenCharInd(Mac(p[5..]), p[11..19].ToArray(), p[2], p[3], p[4], p[0], p[1]);
            case Slac.MmType.MnbcSoundInd when p.Length >= 28:
                // open-plc-utils 0.0.6 (Debian's pev) sends a 64-byte frame that cuts Rnd short: the sound counts all the same
                var rnd = new byte[16];
                if (p.Length > 36)
                {
                    p[36..Math.Min(52, p.Length)].CopyTo(rnd);
                }
                return new MnbcSoundInd(p[19], p[20..28].ToArray(), rnd, p[0], p[1]);
            case Slac.MmType.AttenProfileInd when p.Length >= 8 && p.Length >= 8 + p[6]:
                return new AttenProfileInd(Mac(p), p[8..(8 + p[6])].ToArray());
            case Slac.MmType.AttenCharInd when p.Length >= 52 && p.Length >= 52 + p[51]:
                return new AttenCharInd(Mac(p[2..]), p[8..16].ToArray(), p[50], p[52..(52 + p[51])].ToArray(), p[0], p[1]);
            case Slac.MmType.AttenCharRsp when p.Length >= 51:
                return new AttenCharRsp(Mac(p[2..]), p[8..16].ToArray(), p[50], p[0], p[1]) { ZeroIds = Zero(p[16..50]) };
            case Slac.MmType.ValidateReq or Slac.MmType.ValidateCnf when p.Length >= 3:
                return new ValidateMessage(type == Slac.MmType.ValidateReq, p[0], p[1], p[2]);
            case Slac.MmType.SlacMatchReq when p.Length >= 66:
                return new SlacMatchReq(Mac(p[21..]), Mac(p[44..]), p[50..58].ToArray(), BinaryPrimitives.ReadUInt16LittleEndian(p[2..]), p[0], p[1])
                {
                    ZeroIds = Zero(p[4..21]) && Zero(p[27..44]),
                };
            case Slac.MmType.SlacMatchCnf when p.Length >= 90:
                return new SlacMatchCnf(Mac(p[21..]), Mac(p[44..]), p[50..58].ToArray(), p[66..73].ToArray(), p[74..90].ToArray(), p[0], p[1]);
            case Slac.MmType.SetKeyReq when p.Length >= 38:
                return new SetKeyReq(p[14..21].ToArray(), p[22..38].ToArray(), p[1..5].ToArray(), p[5..9].ToArray(), p[0], p[9],
                    BinaryPrimitives.ReadUInt16LittleEndian(p[10..]), p[12], p[21]);
            case Slac.MmType.SetKeyCnf when p.Length >= 13:
                return new SetKeyCnf(p[0], p[1..5].ToArray(), p[5..9].ToArray(), p[9], BinaryPrimitives.ReadUInt16LittleEndian(p[10..]), p[12]);
            default:
                return null;
        }
    }
}

/// <summary>Keys of the logical network (AVLN).</summary>
public static class NetworkKeys
{
    /// <summary>
    /// The NID of an NMK (HomePlug AV): SHA-256 of the NMK, hashed four more times; the first 6 bytes, then the
    /// top nibble of the 7th shifted down (security level 0: the two top bits stay 0).
    /// </summary>
    public static byte[] NidFromNmk(ReadOnlySpan<byte> nmk, int securityLevel = 0)
    {
        byte[] h = SHA256.HashData(nmk);
        for (int i = 0; i < 4; i++)
        {
            h = SHA256.HashData(h);
        }
        var nid = h[..7];
        nid[6] = (byte)((securityLevel << 4) | (h[6] >> 4));
        return nid;
    }

    /// <summary>A fresh random NMK (16 bytes) for a new network.</summary>
    public static byte[] NewNmk() => RandomNumberGenerator.GetBytes(16);
}
