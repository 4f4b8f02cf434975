using Juice.Hlc.Exi;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Exi.Iso2;

namespace Juice.Hlc.Tests.Exi;

/// <summary>Malformed streams end in one exception type, with the bit offset and the reason.</summary>
public sealed class BadInputTests
{
    public static TheoryData<string> Folders() => [.. ReferenceVectorTests.Folders];

    [Theory]
    [MemberData(nameof(Folders))]
    public void Every_truncation_of_every_vector_is_an_ExiContentException(string folder)
    {
        var codec = ReferenceVectorTests.CodecFor(folder);
        int cases = 0;
        foreach (var name in Vectors.Names(folder))
        {
            byte[] exi = Vectors.ReadHex(Path.Combine(Vectors.ExiFolder(folder), name + ".exi"));
            for (int length = 0; length < exi.Length; length++)
            {
                var ex = Assert.Throws<ExiContentException>(() => codec.Decode(exi[..length]));
                Assert.InRange(ex.BitOffset, 0, length * 8L);
                cases++;
            }
        }
        Assert.True(cases > 0);
    }

    [Theory]
    [InlineData("", "truncated")]
    [InlineData("24455849", "distinguishing bits")]   // "$EXI" cookie
    [InlineData("a0", "options")]                     // options present
    [InlineData("c0", "distinguishing bits")]
    public void The_header_must_be_0x80(string hex, string reason)
    {
        var ex = Assert.Throws<ExiContentException>(() => Iso2Exi.Decode(Convert.FromHexString(hex)));
        Assert.Contains(reason, ex.Reason);
    }

    [Fact]
    public void An_enumeration_index_beyond_the_enumeration_is_refused()
    {
        // header | SE(supportedAppProtocolRes) = 01 | SE(ResponseCode) = 0 | CH = 0 | index 3 of 3 values = 11
        var ex = Assert.Throws<ExiContentException>(() => AppHandshakeExi.DecodeSupportedAppProtocolRes([0x80, 0x4C, 0x00]));
        Assert.Equal(12, ex.BitOffset);
        Assert.Contains("enumeration index 3", ex.Reason);
    }

    [Fact]
    public void An_undefined_document_event_code_is_refused()
    {
        var ex = Assert.Throws<ExiContentException>(() => AppHandshakeExi.DecodeDocument([0x80, 0xC0]));   // code 3 of SE(G0), SE(G1), SE(*)
        Assert.Contains("undefined", ex.Reason);
        ex = Assert.Throws<ExiContentException>(() => AppHandshakeExi.DecodeDocument([0x80, 0x80]));       // SE(*)
        Assert.Contains("SE(*)", ex.Reason);
    }

    [Fact]
    public void A_schema_deviation_is_refused_and_named()
    {
        // header | SE(supportedAppProtocolReq) = 00 | escape = 1 | second level 5 of 7 = SE(*)
        var ex = Assert.Throws<ExiContentException>(() => AppHandshakeExi.DecodeSupportedAppProtocolReq([0x80, 0x34]));
        Assert.Equal(10, ex.BitOffset);
        Assert.Contains("SE(*)", ex.Reason);
    }

    [Fact]
    public void A_premature_end_of_a_complex_element_is_refused()
    {
        // header | SE(supportedAppProtocolReq) = 00 | escape = 1 | second level 0 = EE: the required AppProtocol is missing
        var ex = Assert.Throws<ExiContentException>(() => AppHandshakeExi.DecodeSupportedAppProtocolReq([0x80, 0x20]));
        Assert.Contains("ended before its required content", ex.Reason);
    }

    [Fact]
    public void Bytes_after_the_end_document_are_refused()
    {
        byte[] exi = Vectors.ReadHex(Path.Combine(Vectors.Shared, "vectors", "bench", "iso2-session-setup-req.exi"));
        var ex = Assert.Throws<ExiContentException>(() => Iso2Exi.Decode([.. exi, 0x00]));
        Assert.Contains("after the end", ex.Reason);
    }

    [Fact]
    public void A_bounded_integer_beyond_its_facet_is_refused()
    {
        // Priority (1..20) is a 5-bit offset from 1. Priority 1 codes as 00000 and 20 as 10011, so the first bit in
        // which the two encodings differ is the field's first bit; 11111 there means 32.
        var one = new SupportedAppProtocolReq { AppProtocol = [ModelTests.Protocol(1)] };
        var twenty = new SupportedAppProtocolReq { AppProtocol = [ModelTests.Protocol(1)] };
        twenty.AppProtocol[0].Priority = 20;
        byte[] exi = AppHandshakeExi.EncodeSupportedAppProtocolReq(one);
        int field = FirstDifferentBit(exi, AppHandshakeExi.EncodeSupportedAppProtocolReq(twenty));
        for (int i = 0; i < 5; i++)
        {
            SetBit(exi, field + i);
        }
        var ex = Assert.Throws<ExiContentException>(() => AppHandshakeExi.DecodeSupportedAppProtocolReq(exi));
        Assert.Equal(field, ex.BitOffset);
        Assert.Contains("above maxInclusive 20", ex.Reason);
    }

    private static int FirstDifferentBit(byte[] a, byte[] b)
    {
        for (int i = 0; i < a.Length * 8; i++)
        {
            if (GetBit(a, i) != GetBit(b, i))
            {
                return i;
            }
        }
        throw new InvalidOperationException("no difference");
    }

    private static bool GetBit(byte[] d, int i) => (d[i >> 3] & (0x80 >> (i & 7))) != 0;

    private static void SetBit(byte[] d, int i) => d[i >> 3] |= (byte)(0x80 >> (i & 7));
}
