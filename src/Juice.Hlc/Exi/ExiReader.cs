using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Juice.Hlc.Exi;

/// <summary>
/// Bit-packed EXI body reader over a span. Every malformed input ends in <see cref="ExiContentException"/> with the
/// bit offset; nothing is allocated in proportion to a length that the stream merely claims.
/// </summary>
public ref struct ExiReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private long _bitPosition;

    public ExiReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _bitPosition = 0;
    }

    public readonly long BitPosition => _bitPosition;

    public readonly long RemainingBits => (long)_buffer.Length * 8 - _bitPosition;

    public ExiContentException Error(string reason) => new(_bitPosition, reason);

    /// <summary>Reads <paramref name="count"/> bits (0..32), MSB first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint ReadBits(int count)
    {
        long byteIndex = _bitPosition >> 3;
        if (byteIndex + 8 > _buffer.Length)
        {
            return ReadBitsNearEnd(count);
        }
        // bounds checked just above: read 8 bytes at once (count 0 gives 0: the word is shifted out entirely)
        ulong word = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetReference(_buffer), (nint)byteIndex)));
        int offset = (int)(_bitPosition & 7);
        _bitPosition += count;
        return (uint)((word << offset) >> 1 >> (63 - count));
    }

    /// <summary>ReadBits within the last 8 bytes of the stream.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint ReadBitsNearEnd(int count)
    {
        if (count == 0)
        {
            return 0;
        }
        long byteIndex = _bitPosition >> 3;
        int offset = (int)(_bitPosition & 7);
        ulong word;
        if (_buffer.Length >= 8 && _bitPosition + count <= (long)_buffer.Length * 8)
        {
            // the stream's last word, shifted so that byteIndex comes first (zeros behind)
            word = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetReference(_buffer), _buffer.Length - 8)))
                << (int)((byteIndex - (_buffer.Length - 8)) * 8);
        }
        else
        {
            word = TailWord(byteIndex, count);
        }
        _bitPosition += count;
        return (uint)((word << offset) >> (64 - count));
    }

    /// <summary>The last bytes of the stream as a big-endian word padded with zeros; throws if <paramref name="count"/> bits are not there.</summary>
    private readonly ulong TailWord(long byteIndex, int count)
    {
        if (_bitPosition + count > (long)_buffer.Length * 8)
        {
            throw new ExiContentException(_bitPosition, $"stream truncated: {count} more bit(s) needed, {RemainingBits} left");
        }
        // fewer than 8 bytes are left: one copy into a zeroed word instead of a loop over single bytes
        ulong word = 0;
        _buffer.Slice((int)byteIndex).CopyTo(MemoryMarshal.AsBytes(new Span<ulong>(ref word)));
        return BinaryPrimitives.ReverseEndianness(word);
    }

    public bool ReadBoolean() => ReadBits(1) != 0;

    /// <summary>EXI Unsigned Integer (§7.1.6) that must fit in 64 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadUnsigned()
    {
        long byteIndex = _bitPosition >> 3;
        if (byteIndex + 8 <= _buffer.Length)
        {
            // the next 57+ bits in one word: up to 7 octets of 7-bit groups without a read per octet
            ulong word = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetReference(_buffer), (nint)byteIndex)))
                << (int)(_bitPosition & 7);
            ulong value = 0;
            for (int i = 0; i < 7; i++)
            {
                ulong octet = word >> 56;
                value |= (octet & 0x7F) << (7 * i);
                if ((octet & 0x80) == 0)
                {
                    _bitPosition += 8 * (i + 1);
                    return value;
                }
                word <<= 8;
            }
        }
        return ReadUnsignedOctets();
    }

    /// <summary>ReadUnsigned an octet at a time: near the end of the stream, or more than 7 octets.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong ReadUnsignedOctets()
    {
        long start = _bitPosition;
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            uint octet = ReadBits(8);
            ulong group = octet & 0x7F;
            if (shift == 63 ? group > 1 : shift > 63)
            {
                throw new ExiContentException(start, "unsigned integer does not fit in 64 bits");
            }
            value |= group << shift;
            if ((octet & 0x80) == 0)
            {
                return value;
            }
        }
    }

    /// <summary>EXI Unsigned Integer of arbitrary magnitude.</summary>
    public BigInteger ReadUnsignedBig()
    {
        ulong low = 0;
        int shift = 0;
        BigInteger big = BigInteger.Zero;
        bool isBig = false;
        while (true)
        {
            uint octet = ReadBits(8);
            ulong group = octet & 0x7F;
            if (!isBig && shift <= 56)
            {
                low |= group << shift;
            }
            else
            {
                if (!isBig)
                {
                    big = low;
                    isBig = true;
                }
                big |= new BigInteger(group) << shift;
            }
            shift += 7;
            if ((octet & 0x80) == 0)
            {
                return isBig ? big : low;
            }
        }
    }

    /// <summary>EXI Integer (§7.1.5), unbounded form, that must fit in a long.</summary>
    public long ReadInteger()
    {
        long start = _bitPosition;
        bool negative = ReadBits(1) != 0;
        ulong magnitude = ReadUnsigned();
        if (magnitude > long.MaxValue)
        {
            throw new ExiContentException(start, "integer does not fit in 64 bits");
        }
        return negative ? ~(long)magnitude : (long)magnitude;
    }

    public BigInteger ReadIntegerBig()
    {
        bool negative = ReadBits(1) != 0;
        BigInteger magnitude = ReadUnsignedBig();
        return negative ? -magnitude - BigInteger.One : magnitude;
    }

    /// <summary>Reads an Unsigned Integer used as a length and checks it against a facet and against what is left.</summary>
    private int ReadLength(int maxLength, int minBitsPerItem, string what)
    {
        long start = _bitPosition;
        ulong length = ReadUnsigned();
        if (length > (ulong)maxLength)
        {
            throw new ExiContentException(start, $"{what} length {length} exceeds maxLength {maxLength}");
        }
        if ((long)length * minBitsPerItem > RemainingBits)
        {
            throw new ExiContentException(start, $"{what} length {length} points past the end of the stream");
        }
        return (int)length;
    }

    /// <summary>EXI Binary (§7.1.1) with the schema's length facets.</summary>
    public byte[] ReadBinary(int minLength, int maxLength)
    {
        long start = _bitPosition;
        int length = ReadLength(maxLength, 8, "binary");
        if (length < minLength)
        {
            throw new ExiContentException(start, $"binary length {length} is below minLength {minLength}");
        }
        byte[] result = length == 0 ? [] : new byte[length];
        if ((_bitPosition & 7) == 0)
        {
            _buffer.Slice((int)(_bitPosition >> 3), length).CopyTo(result);
            _bitPosition += (long)length * 8;
        }
        else
        {
            for (int i = 0; i < length; i++)
            {
                result[i] = (byte)ReadBits(8);
            }
        }
        return result;
    }

    /// <summary>
    /// A string value (§7.3.3): with valuePartitionCapacity = 0 there are no table hits, so the prefix must be a
    /// literal (length + 2); the length counts code points. Only <paramref name="maxLength"/> is checked, before
    /// anything is allocated: the schema's minLength is no part of the EXI encoding (the application judges it).
    /// </summary>
    public string ReadStringValue(int maxLength)
    {
        long start = _bitPosition;
        ulong indicator = ReadUnsigned();
        if (indicator < 2)
        {
            throw new ExiContentException(start, "string table reference in a stream without a value string table (valuePartitionCapacity 0)");
        }
        ulong length = indicator - 2;
        if (length > (ulong)maxLength)
        {
            throw new ExiContentException(start, $"string length {length} exceeds maxLength {maxLength}");
        }
        return ReadCodePoints((long)length, start);
    }

    /// <summary>A string without string-table indicator (qname parts): length, then code points.</summary>
    public string ReadPlainString(int maxLength)
    {
        long start = _bitPosition;
        ulong length = ReadUnsigned();
        if (length > (ulong)maxLength)
        {
            throw new ExiContentException(start, $"string length {length} exceeds {maxLength}");
        }
        return ReadCodePoints((long)length, start);
    }

    private string ReadCodePoints(long length, long start)
    {
        if (length == 0)
        {
            return string.Empty;
        }
        if (length * 8 > RemainingBits)
        {
            throw new ExiContentException(start, $"string length {length} points past the end of the stream");
        }
        int capacity = (int)length * 2;
        char[]? rented = null;
        Span<char> chars = capacity <= 512 ? stackalloc char[capacity] : (rented = ArrayPool<char>.Shared.Rent(capacity));
        try
        {
            int n = 0;
            for (long i = 0; i < length; i++)
            {
                long at = _bitPosition;
                ulong cp = ReadUnsigned();
                if (cp < 0xD800)
                {
                    chars[n++] = (char)cp;   // the BMP below the surrogates: one UTF-16 unit (ASCII most of all)
                    continue;
                }
                if (cp > 0x10FFFF || cp <= 0xDFFF)
                {
                    throw new ExiContentException(at, $"invalid Unicode code point 0x{cp:X}");
                }
                n += new Rune((int)cp).EncodeToUtf16(chars.Slice(n));
            }
            return new string(chars.Slice(0, n));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Reads an event code in grammar state <paramref name="state"/>; returns the decoder action of the production
    /// and moves to its right-hand state. Returns <see cref="ExiGrammar.EmptyContentEnd"/> for EE through the
    /// second level (an element ended early, e.g. empty simple content). Any other undeclared (schema-deviation)
    /// production is rejected.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Event(ExiGrammar grammar, ref int state)
    {
        // the tables are the generator's and consistent (a state's productions lie within Productions): no bounds checks
        ref readonly ExiGrammar.StateInfo info = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(grammar.States), state);
        uint code = ReadBits(info.Width1);
        if (code < info.Count1)
        {
            int production = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(grammar.Productions), info.Offset + (int)code);
            state = production >>> 16;
            return (short)production;
        }
        return SecondLevel(grammar, state, (int)code);
    }

    /// <summary>
    /// For the generated event readers: a first-level code <paramref name="code"/> that is no production of
    /// <paramref name="state"/> (the escape to the second level, or an undefined code).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public int Escape(ExiGrammar grammar, int state, uint code) => SecondLevel(grammar, state, (int)code);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int SecondLevel(ExiGrammar grammar, int state, int code)
    {
        int count = grammar.Count1[state];
        long start = _bitPosition - grammar.Width1[state];
        if (code > count)
        {
            throw new ExiContentException(start, $"{grammar.Name}: event code {code} is not defined in state {state} ({count} productions)");
        }
        uint second = ReadBits(grammar.Width2[state]);
        if (second == 0 && grammar.SecondLevelEndElement[state])
        {
            return ExiGrammar.EmptyContentEnd;
        }
        throw new ExiContentException(start, $"{grammar.Name}: second-level event {count}.{second} ({grammar.DescribeSecondLevel(state, (int)second)}) is a schema deviation this codec does not accept");
    }

    /// <summary>
    /// The start of a simple type's element content (EXI §8.5.4.1.3.2, the grammar all simple types share): one
    /// first-level production, CH, coded in 1 bit; the escape leads to the second level, where only EE (empty
    /// content) is accepted. Returns false for the empty content. The shared grammar's tables are not consulted
    /// on the common path: the codes are fixed by its shape.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool SimpleContentStart(ExiGrammar simple)
    {
        if (ReadBits(1) == 0)
        {
            return true;
        }
        SecondLevel(simple, 0, 1);   // EE (empty content), or an exception
        return false;
    }

    /// <summary>
    /// A simple element's whole content when its value has the constant width <paramref name="width"/> (0 for CH,
    /// the value, 0 for EE) in one read; false, with nothing consumed, for anything else (empty content, an escape,
    /// the end of the stream), which the caller then reads production by production.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TrySimpleFixed(int width, out uint value)
    {
        long start = _bitPosition;
        if (RemainingBits >= width + 2)
        {
            uint bits = ReadBits(width + 2);
            if ((bits & ((1u << (width + 1)) | 1u)) == 0)
            {
                value = bits >> 1;
                return true;
            }
            _bitPosition = start;
        }
        value = 0;
        return false;
    }

    /// <summary>The end of a simple type's element content: EE, the only first-level production after CH (1 bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SimpleContentEnd(ExiGrammar simple)
    {
        if (ReadBits(1) != 0)
        {
            SecondLevel(simple, 1, 1);   // no second-level production is accepted here: throws
        }
    }

    /// <summary>After ED: the rest of the last byte is padding; no further bytes may follow.</summary>
    public readonly void EnsureEnd()
    {
        long usedBytes = (_bitPosition + 7) >> 3;
        if (usedBytes < _buffer.Length)
        {
            throw new ExiContentException(_bitPosition, $"{_buffer.Length - usedBytes} byte(s) after the end of the EXI body");
        }
    }
}
