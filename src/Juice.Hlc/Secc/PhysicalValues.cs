namespace Juice.Hlc.Secc;

/// <summary>
/// The scaling both DIN SPEC 70121 and ISO 15118-2 use for physical values: value × 10^multiplier with a 16-bit
/// value and a multiplier in -3..3.
/// </summary>
internal static class PhysicalValues
{
    /// <summary>
    /// The representation other implementations send: multiplier 0 for a whole number that fits, else the coarsest
    /// negative multiplier that is exact (6.5 A = 65 × 10^-1), else the finest multiplier that fits (rounded).
    /// </summary>
    public static (sbyte Multiplier, short Value) Scale(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), $"{value} is not a physical value");
        }
        for (sbyte m = 0; m >= -3; m--)
        {
            double scaled = value * Math.Pow(10, -m);
            double rounded = Math.Round(scaled);
            if (rounded is >= short.MinValue and <= short.MaxValue && Math.Abs(scaled - rounded) < 1e-6)
            {
                return (m, (short)rounded);
            }
        }
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
