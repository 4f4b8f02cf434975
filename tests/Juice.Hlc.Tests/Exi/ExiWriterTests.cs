using System.Numerics;
using Juice.Hlc.Exi;

namespace Juice.Hlc.Tests.Exi;

public sealed class ExiWriterTests
{
    private delegate void WriteAction(ref ExiWriter w);

    private static string Hex(WriteAction write)
    {
        var buffer = new byte[64];
        var w = new ExiWriter(buffer);
        write(ref w);
        return Convert.ToHexStringLower(buffer.AsSpan(0, w.Finish()));
    }

    [Theory]
    [InlineData(0UL, "00")]
    [InlineData(1UL, "01")]
    [InlineData(127UL, "7f")]
    [InlineData(128UL, "8001")]
    [InlineData(16384UL, "808001")]
    [InlineData(ulong.MaxValue, "ffffffffffffffffff01")]
    public void Unsigned_integers_are_7_bit_groups_least_significant_first(ulong value, string hex) =>
        Assert.Equal(hex, Hex((ref ExiWriter w) => w.WriteUnsigned(value)));

    [Fact]
    public void Unsigned_integers_beyond_64_bits_continue_the_groups()
    {
        var value = BigInteger.Pow(2, 70);   // 10 groups of zero, then 2^70 = 1 << (7 * 10)
        Assert.Equal("8080808080808080808001", Hex((ref ExiWriter w) => w.WriteUnsigned(value)));
        Assert.Equal(Hex((ref ExiWriter w) => w.WriteUnsigned(ulong.MaxValue)), Hex((ref ExiWriter w) => w.WriteUnsigned(new BigInteger(ulong.MaxValue))));
    }

    [Theory]
    [InlineData(0L, "0000")]      // sign 0, magnitude 0 -> bits 0 00000000 -> padded
    [InlineData(-1L, "8000")]     // sign 1, magnitude - 1 = 0
    [InlineData(-2L, "8080")]     // sign 1, magnitude 1
    [InlineData(long.MinValue, "ffffffffffffffffbf80")]
    public void Signed_integers_are_a_sign_bit_and_the_magnitude(long value, string hex) =>
        Assert.Equal(hex, Hex((ref ExiWriter w) => w.WriteInteger(value)));

    [Fact]
    public void Strings_count_code_points_and_write_each_as_an_unsigned_integer()
    {
        // "a😀": 2 code points -> literal length 2 + 2 = 4; 'a' = 0x61; U+1F600 = 128512 = 0x80 0xEC 0x07 in 7-bit groups
        string s = "a\U0001F600";
        Assert.Equal(2, ExiWriter.CountCodePoints(s));
        Assert.Equal("046180ec07", Hex((ref ExiWriter w) => w.WriteStringLiteral(s, 2)));
    }

    [Fact]
    public void Unpaired_surrogates_are_refused()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Hex((ref ExiWriter w) => w.WriteStringLiteral("\uD800x", 2)));
        Assert.Contains("surrogate", ex.Message);
    }

    [Fact]
    public void Bits_are_packed_msb_first_and_the_last_byte_is_zero_padded()
    {
        Assert.Equal("a0", Hex((ref ExiWriter w) => { w.WriteBits(1, 1); w.WriteBits(1, 2); }));
        Assert.Equal("ffffffff80", Hex((ref ExiWriter w) => { w.WriteBits(uint.MaxValue, 32); w.WriteBits(1, 1); }));
    }

    [Fact]
    public void Binary_takes_the_aligned_path_and_the_unaligned_path_to_the_same_bits()
    {
        byte[] data = [1, 2, 3, 4, 5];
        Assert.Equal("050102030405", Hex((ref ExiWriter w) => w.WriteBinary(data)));
        // one bit first: every following bit shifts by one
        Assert.Equal("82808101820280", Hex((ref ExiWriter w) => { w.WriteBits(1, 1); w.WriteBinary(data); }));
    }

    [Fact]
    public void A_too_small_buffer_is_reported_not_overrun()
    {
        var buffer = new byte[3];
        Assert.Throws<ExiBufferTooSmallException>(() =>
        {
            var w = new ExiWriter(buffer);
            w.WriteBinary(new byte[10]);
            w.Finish();
        });
    }
}
