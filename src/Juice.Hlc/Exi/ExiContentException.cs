namespace Juice.Hlc.Exi;

/// <summary>
/// The one exception type for malformed EXI input: a truncated stream, an event code that the grammar does not
/// allow, a value outside its schema facets, a length that points past the end. It carries the bit offset (from
/// the start of the EXI stream, header included) where decoding stopped, and the reason.
/// </summary>
public sealed class ExiContentException : Exception
{
    public ExiContentException(long bitOffset, string reason)
        : base($"bit {bitOffset}: {reason}")
    {
        BitOffset = bitOffset;
        Reason = reason;
    }

    /// <summary>Bit offset from the start of the stream at which the error was detected.</summary>
    public long BitOffset { get; }

    /// <summary>What was wrong, without the offset.</summary>
    public string Reason { get; }
}

/// <summary>Thrown by the encoder when the destination span cannot hold the stream; <c>TryEncode</c> turns it into <c>false</c>.</summary>
public sealed class ExiBufferTooSmallException : Exception
{
    public ExiBufferTooSmallException() : base("the destination buffer is too small for the EXI stream") { }
}

/// <summary>
/// Throw helpers for the generated value readers: the message is built here, on the cold path, so that the readers
/// stay small enough for the JIT to inline them into the element decoders.
/// </summary>
public static class ExiThrow
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ValueOutside(long at, object value, string range) => throw new ExiContentException(at, $"value {value} outside {range}");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ValueAbove(long at, long value, string limit) => throw new ExiContentException(at, $"value {value} above {limit}");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void EnumerationIndex(long at, uint index, string type) => throw new ExiContentException(at, $"enumeration index {index} out of range for {type}");
}
