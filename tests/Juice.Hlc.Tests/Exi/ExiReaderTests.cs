using System.Numerics;
using Juice.Hlc.Exi;

namespace Juice.Hlc.Tests.Exi;

public sealed class ExiReaderTests
{
    private delegate T ReadFunc<T>(ref ExiReader r);

    private static T Read<T>(string hex, ReadFunc<T> read)
    {
        var r = new ExiReader(Convert.FromHexString(hex));
        return read(ref r);
    }

    private static ExiContentException Fails<T>(string hex, ReadFunc<T> read) =>
        Assert.Throws<ExiContentException>(() => Read(hex, read));

    [Theory]
    [InlineData("00", 0UL)]
    [InlineData("7f", 127UL)]
    [InlineData("8001", 128UL)]
    [InlineData("ffffffffffffffffff01", ulong.MaxValue)]
    public void Unsigned_integers(string hex, ulong value) => Assert.Equal(value, Read(hex, (ref ExiReader r) => r.ReadUnsigned()));

    [Fact]
    public void Unsigned_integers_beyond_64_bits_are_an_error_for_ulong_and_exact_as_BigInteger()
    {
        var ex = Fails("ffffffffffffffffff02", (ref ExiReader r) => r.ReadUnsigned());
        Assert.Equal(0, ex.BitOffset);
        Assert.Equal(BigInteger.Pow(2, 70), Read("8080808080808080808001", (ref ExiReader r) => r.ReadUnsignedBig()));
        Assert.Equal(BigInteger.Pow(2, 64), Read("80808080808080808002", (ref ExiReader r) => r.ReadUnsignedBig()));
    }

    [Theory]
    [InlineData("0000", 0L)]
    [InlineData("8000", -1L)]
    [InlineData("ffffffffffffffffbf80", long.MinValue)]
    [InlineData("7fffffffffffffffbf80", long.MaxValue)]
    public void Signed_integers(string hex, long value) => Assert.Equal(value, Read(hex, (ref ExiReader r) => r.ReadInteger()));

    [Fact]
    public void A_truncated_stream_names_the_bit_offset()
    {
        var ex = Fails("80", (ref ExiReader r) => r.ReadUnsigned());   // continuation bit set, nothing follows
        Assert.Equal(8, ex.BitOffset);
        Assert.Contains("truncated", ex.Reason);
    }

    [Fact]
    public void Strings_with_non_BMP_code_points()
    {
        Assert.Equal("a\U0001F600", Read("046180ec07", (ref ExiReader r) => r.ReadStringValue(10)));
    }

    [Theory]
    [InlineData("00", "string table reference")]          // local value hit: impossible with valuePartitionCapacity 0
    [InlineData("01", "string table reference")]          // global value hit
    [InlineData("0d", "exceeds maxLength 10")]           // 11 characters where 10 are allowed
    [InlineData("ffffffff0f", "exceeds maxLength")]      // a claimed length of 4 Gi characters
    [InlineData("06", "points past the end")]            // 4 characters claimed, none present
    [InlineData("03808044", "invalid Unicode code point")]  // 0x110000
    [InlineData("03ffb703", "invalid Unicode code point")]    // a surrogate (U+DBFF)
    public void Bad_strings_are_refused_with_a_reason(string hex, string reason)
    {
        var ex = Fails(hex, (ref ExiReader r) => r.ReadStringValue(10));
        Assert.Contains(reason, ex.Reason);
    }

    [Fact]
    public void A_claimed_gigabyte_binary_is_refused_before_anything_is_allocated()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Fails("808080800400", (ref ExiReader r) => r.ReadBinary(0, int.MaxValue));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("points past the end", ex.Reason);
        Assert.True(allocated < 100_000, $"allocated {allocated} bytes");
        Assert.Contains("exceeds maxLength 8", Fails("09", (ref ExiReader r) => r.ReadBinary(0, 8)).Reason);
        Assert.Contains("below minLength 16", Fails("0100", (ref ExiReader r) => r.ReadBinary(16, 16)).Reason);
    }

    [Fact]
    public void Bytes_after_the_end_of_the_body_are_an_error()
    {
        var ex = Assert.Throws<ExiContentException>(() =>
        {
            var r = new ExiReader([0x80, 0x00]);
            r.ReadBits(8);
            r.EnsureEnd();
        });
        Assert.Contains("after the end", ex.Reason);
    }
}
