using System.Globalization;
using Juice.Hlc.Evcc;

namespace Juice.Cli.Ev;

/// <summary>
/// The EV's status while it charges. On a terminal one line rewritten in place (carriage return); when the output
/// goes to a file, a pipe or a CI log, a plain line when the step or the charger's limit changes, and otherwise every
/// <see cref="Every"/>, so that a log holds readable lines, not one line of many kilobytes.
/// </summary>
internal sealed class LiveLine(TextWriter output, bool terminal, TimeProvider? time = null) : IProgress<EvProgress>
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private string? _step;
    private double _limit = double.NaN;
    private long _printed;
    private bool _pending;

    public static readonly TimeSpan Every = TimeSpan.FromSeconds(5);

    private static string Format(EvProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"{p.Step}: SoC {p.Soc,5:0.0} %  {p.EnergyWh / 1000,7:0.000} kWh  {p.PowerW / 1000,6:0.0} kW  limit {p.CurrentLimitA,5:0} A");

    public void Report(EvProgress value)
    {
        lock (_gate)
        {
            if (terminal)
            {
                output.Write("\r" + Format(value) + "   ");
                _pending = true;
                return;
            }
            bool changed = value.Step != _step || value.CurrentLimitA != _limit;
            if (changed || _time.GetElapsedTime(_printed) >= Every)
            {
                output.WriteLine(Format(value));
                _step = value.Step;
                _limit = value.CurrentLimitA;
                _printed = _time.GetTimestamp();
            }
        }
    }

    /// <summary>Ends the live line (on a terminal, the cursor goes to the next line) before other output.</summary>
    public void End()
    {
        lock (_gate)
        {
            if (_pending)
            {
                output.WriteLine();
                _pending = false;
            }
        }
    }
}
