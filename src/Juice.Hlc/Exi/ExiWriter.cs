using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Juice.Hlc.Exi;

/// <summary>
/// Bit-packed EXI body writer over a caller-owned span (EXI 1.0 §7, alignment "bit-packed", no compression).
/// Bits are gathered MSB first in a 64-bit accumulator and flushed four bytes at a time; byte strings take a
/// byte-aligned fast path. Nothing is allocated.
/// </summary>
public ref struct ExiWriter
{
    private readonly Span<byte> _buffer;
    private int _position;   // bytes flushed
    private ulong _acc;      // pending bits are the low _bits bits
    private int _bits;

    public ExiWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
        _acc = 0;
        _bits = 0;
    }

    /// <summary>Bits written so far (header included).</summary>
    public readonly long BitPosition => (long)_position * 8 + _bits;

    /// <summary>Writes the low <paramref name="count"/> bits of <paramref name="value"/>, MSB first (EXI §7.1.9). 0 ≤ count ≤ 32.</summary>
    public void WriteBits(uint value, int count)
    {
        if (count == 0)
        {
            return;
        }
        _acc = (_acc << count) | (value & (uint.MaxValue >> (32 - count)));
        _bits += count;
        if (_bits >= 32)
        {
            _bits -= 32;
            if (_position + 4 > _buffer.Length)
            {
                throw new ExiBufferTooSmallException();
            }
            BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(_position), (uint)(_acc >> _bits));
            _position += 4;
        }
    }

    public void WriteBoolean(bool value) => WriteBits(value ? 1u : 0u, 1);

    /// <summary>EXI Unsigned Integer (§7.1.6): 7-bit groups, least significant first, high bit = more follows.</summary>
    public void WriteUnsigned(ulong value)
    {
        while (value >= 0x80)
        {
            WriteBits((uint)(value & 0x7F) | 0x80, 8);
            value >>= 7;
        }
        WriteBits((uint)value, 8);
    }

    /// <summary>EXI Unsigned Integer of arbitrary magnitude.</summary>
    public void WriteUnsigned(BigInteger value)
    {
        if (value.Sign < 0)
        {
            throw new InvalidOperationException("an EXI unsigned integer cannot be negative");
        }
        if (value <= ulong.MaxValue)
        {
            WriteUnsigned((ulong)value);
            return;
        }
        Span<byte> le = stackalloc byte[value.GetByteCount(isUnsigned: true)];
        value.TryWriteBytes(le, out int written, isUnsigned: true, isBigEndian: false);
        int totalBits = written * 8;
        int significant = totalBits - BitOperations.LeadingZeroCount((uint)le[written - 1]) + 24;
        for (int bit = 0; bit < significant; bit += 7)
        {
            uint group = 0;
            for (int k = 0; k < 7 && bit + k < totalBits; k++)
            {
                int b = bit + k;
                group |= (uint)((le[b >> 3] >> (b & 7)) & 1) << k;
            }
            bool more = bit + 7 < significant;
            WriteBits(group | (more ? 0x80u : 0u), 8);
        }
    }

    /// <summary>EXI Integer (§7.1.5, unbounded form): sign bit, then the magnitude (minus one when negative).</summary>
    public void WriteInteger(long value)
    {
        if (value >= 0)
        {
            WriteBits(0, 1);
            WriteUnsigned((ulong)value);
        }
        else
        {
            WriteBits(1, 1);
            WriteUnsigned((ulong)~value);
        }
    }

    public void WriteInteger(BigInteger value)
    {
        if (value.Sign >= 0)
        {
            WriteBits(0, 1);
            WriteUnsigned(value);
        }
        else
        {
            WriteBits(1, 1);
            WriteUnsigned(-value - BigInteger.One);
        }
    }

    /// <summary>EXI Binary (§7.1.1): length as Unsigned Integer, then the octets.</summary>
    public void WriteBinary(ReadOnlySpan<byte> bytes)
    {
        WriteUnsigned((ulong)bytes.Length);
        WriteBytes(bytes);
    }

    private void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        if ((_bits & 7) == 0)
        {
            FlushWholeBytes();
            if (_position + bytes.Length > _buffer.Length)
            {
                throw new ExiBufferTooSmallException();
            }
            bytes.CopyTo(_buffer.Slice(_position));
            _position += bytes.Length;
            return;
        }
        int i = 0;
        for (; i + 4 <= bytes.Length; i += 4)
        {
            WriteBits(BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(i)), 32);
        }
        for (; i < bytes.Length; i++)
        {
            WriteBits(bytes[i], 8);
        }
    }

    /// <summary>
    /// A string value that misses the (empty, valuePartitionCapacity = 0) value table: length in code points + 2,
    /// then each code point as an Unsigned Integer (EXI §7.3.3, §7.1.10).
    /// </summary>
    public void WriteStringLiteral(string value, int codePoints)
    {
        WriteUnsigned((ulong)codePoints + 2);
        WriteCodePoints(value);
    }

    /// <summary>A string without string-table indicator (used for qname parts); length in code points, then the code points.</summary>
    public void WritePlainString(string value, int codePoints)
    {
        WriteUnsigned((ulong)codePoints);
        WriteCodePoints(value);
    }

    private void WriteCodePoints(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c < 0x80)
            {
                WriteBits(c, 8);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                WriteUnsigned((ulong)char.ConvertToUtf32(c, value[i + 1]));
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                throw new InvalidOperationException("string contains an unpaired surrogate");
            }
            else
            {
                WriteUnsigned(c);
            }
        }
    }

    /// <summary>Number of Unicode code points in <paramref name="value"/> (EXI string lengths count code points).</summary>
    public static int CountCodePoints(string value)
    {
        int n = value.Length;
        for (int i = 0; i < value.Length - 1; i++)
        {
            if (char.IsHighSurrogate(value[i]) && char.IsLowSurrogate(value[i + 1]))
            {
                n--;
                i++;
            }
        }
        return n;
    }

    /// <summary>Writes the event code of <paramref name="terminal"/> in grammar state <paramref name="state"/> and moves to the next state.</summary>
    public void Event(ExiGrammar grammar, ref int state, int terminal)
    {
        int entry = grammar.Encode[state * grammar.TerminalCount + terminal];
        if (entry < 0)
        {
            throw grammar.NotAllowed(state, terminal);
        }
        WriteBits((uint)(entry & ExiGrammar.CodeMask), grammar.Width1[state]);
        state = entry >> ExiGrammar.NextShift;
    }

    /// <summary>
    /// Ends an element whose simple content is empty: EE through the second-level production, as the reference
    /// encoder does (it never writes an empty CH).
    /// </summary>
    public void EmptyContentEnd(ExiGrammar grammar, int state)
    {
        if (!grammar.SecondLevelEndElement[state])
        {
            throw new InvalidOperationException($"{grammar.Name}: empty content is not possible in state {state}");
        }
        WriteBits(grammar.Count1[state], grammar.Width1[state]);
        WriteBits(0, grammar.Width2[state]);
    }

    private void FlushWholeBytes()
    {
        while (_bits >= 8)
        {
            _bits -= 8;
            if (_position >= _buffer.Length)
            {
                throw new ExiBufferTooSmallException();
            }
            _buffer[_position++] = (byte)(_acc >> _bits);
        }
    }

    /// <summary>Pads the last byte with zero bits and returns the number of bytes written.</summary>
    public int Finish()
    {
        FlushWholeBytes();
        if (_bits > 0)
        {
            if (_position >= _buffer.Length)
            {
                throw new ExiBufferTooSmallException();
            }
            _buffer[_position++] = (byte)(_acc << (8 - _bits));
            _bits = 0;
        }
        return _position;
    }
}
