using System.Security.Cryptography;

namespace Juice.Hlc.Secc;

/// <summary>
/// The scaling both DIN SPEC 70121 and ISO 15118-2 use for physical values: value × 10^multiplier with a 16-bit
/// value and a multiplier in -3..3.
/// </summary>
internal static class PhysicalValues
{
    /// <summary>The finest multiplier whose value fits in a short.</summary>
    public static (sbyte Multiplier, short Value) Scale(double value)
    {
        for (sbyte m = -3; m <= 3; m++)
        {
            double scaled = Math.Round(value / Math.Pow(10, m));
            if (scaled is >= short.MinValue and <= short.MaxValue)
            {
                return (m, (short)scaled);
            }
        }
        throw new ArgumentOutOfRangeException(nameof(value), $"{value} does not fit a PhysicalValue (|value| < 32768 × 1000)");
    }

    public static double Si(sbyte multiplier, short value) => value * Math.Pow(10, multiplier);
}

/// <summary>Session IDs as the SECC hands them out (both protocols: eight bytes; zero from an EV means "new").</summary>
internal static class SessionIds
{
    private static readonly byte[] None = new byte[8];

    /// <summary>The old ID when the EV asks to resume the paused session, else a fresh random one.</summary>
    public static (byte[] Id, bool Resumed) ForSetup(byte[] requested, byte[]? paused) =>
        paused is not null && requested.AsSpan().SequenceEqual(paused) && !requested.AsSpan().SequenceEqual(None)
            ? (paused, true)
            : (RandomNumberGenerator.GetBytes(8), false);
}
