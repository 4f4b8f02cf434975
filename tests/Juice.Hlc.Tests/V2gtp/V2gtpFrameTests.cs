using System.Buffers;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Tests.V2gtp;

public sealed class V2gtpFrameTests
{
    private static bool TryRead(string hex, out V2gtpPayloadType type, out byte[] payload, out long rest, int max = 65536)
    {
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString(hex));
        bool ok = V2gtpFrame.TryReadFrame(ref buffer, max, out type, out var p);
        payload = p.ToArray();
        rest = buffer.Length;
        return ok;
    }

    [Theory]
    [InlineData("01fe80010000000480400040", V2gtpPayloadType.Exi, "80400040")]             // supportedAppProtocolRes of a captured session
    [InlineData("01fe900000000002" + "1000", V2gtpPayloadType.SdpRequest, "1000")]
    [InlineData("01fe80010000000000", V2gtpPayloadType.Exi, "")]
    public void Frames_are_read(string hex, V2gtpPayloadType type, string payload)
    {
        Assert.True(TryRead(hex, out var t, out var p, out long rest));
        Assert.Equal(type, t);
        Assert.Equal(payload, Convert.ToHexStringLower(p));
        Assert.Equal(hex.Length / 2 - 8 - payload.Length / 2, rest);
        Assert.Equal(hex[..((8 + payload.Length / 2) * 2)], Convert.ToHexStringLower(V2gtpFrame.Build(type, Convert.FromHexString(payload))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("01fe8001")]
    [InlineData("01fe800100000004804000")]
    public void Incomplete_frames_wait(string hex) => Assert.False(TryRead(hex, out _, out _, out _));

    [Theory]
    [InlineData("02fd", V2gtpError.IncorrectVersion)]                         // detected from the first two bytes
    [InlineData("01ff800100000000", V2gtpError.IncorrectVersion)]
    [InlineData("01fe123400000000", V2gtpError.UnknownPayloadType)]
    [InlineData("01fe800100010001", V2gtpError.PayloadTooLong)]               // 65537 > 65536, refused before the payload arrives
    [InlineData("01fe8001ffffffff", V2gtpError.PayloadTooLong)]
    public void Bad_headers_are_rejected(string hex, V2gtpError error) =>
        Assert.Equal(error, Assert.Throws<V2gtpException>(() => TryRead(hex, out _, out _, out _)).Error);
}
