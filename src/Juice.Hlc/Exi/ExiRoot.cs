using System.Xml.Linq;

namespace Juice.Hlc.Exi;

/// <summary>The root of an EXI document or the one element of an EXI fragment: its qualified name and its model value.</summary>
public sealed record ExiRoot(XName Name, object Value);

/// <summary>Marks the constructors the decoders use: they set required members themselves.</summary>
public sealed class ExiDecoding
{
    internal static readonly ExiDecoding Instance = new();

    private ExiDecoding()
    {
    }
}

/// <summary>The EXI header as V2G uses it (EXI 1.0 §5): one byte, distinguishing bits 10, no options, final version 1.</summary>
public static class ExiHeader
{
    public const uint Value = 0x80;
    public const int Bits = 8;

    public static void Read(ref ExiReader reader)
    {
        uint header = reader.ReadBits(Bits);
        if (header != Value)
        {
            string why = (header & 0xC0) != 0x80
                ? "distinguishing bits are not 10 (an EXI cookie or not an EXI stream)"
                : (header & 0x20) != 0 ? "EXI options in the header are not used by V2G" : "unsupported EXI format version";
            throw new ExiContentException(0, $"EXI header 0x{header:x2}: {why}; V2G streams start with 0x80");
        }
    }
}

/// <summary>Facet checks shared by the generated value helpers.</summary>
public static class ExiFacets
{
    public static void CheckLength(int length, int min, int max, string type)
    {
        if (length < min || length > max)
        {
            throw new InvalidOperationException(min == max
                ? $"{type}: length {length}, the schema requires {min}"
                : $"{type}: length {length} is outside {min}..{(max == int.MaxValue ? "unbounded" : max)}");
        }
    }

    public static byte[] EmptyBinary(ref ExiReader reader, int minLength, string type) =>
        minLength > 0 ? throw reader.Error($"{type}: empty value is below minLength {minLength}") : [];
}

/// <summary>Encodes into a growing pooled buffer and returns an exact array.</summary>
public static class ExiBuffers
{
    public delegate int SpanEncoder<T>(T value, Span<byte> destination);

    public static byte[] Encode<T>(T value, SpanEncoder<T> encode)
    {
        for (int size = 1024; ; size *= 4)
        {
            byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(size);
            try
            {
                int written = encode(value, rented);
                return rented.AsSpan(0, written).ToArray();
            }
            catch (ExiBufferTooSmallException) when (size < 64 * 1024 * 1024)
            {
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
