namespace Juice.Hlc.Evcc;

/// <summary>
/// The simulated battery and the charging loop shared by the protocols: state of charge, energy integrated over
/// the injected clock, the charger's current limit, and the conditions that end charging.
/// </summary>
internal sealed class EvBattery(EvOptions options, TimeProvider time)
{
    public double Soc { get; private set; } = options.StartSoc;
    public double EnergyWh { get; private set; }
    public double LimitA { get; set; } = options.MaxCurrentA;

    public sbyte SocByte => (sbyte)Math.Clamp(Soc, 0, 100);
    public bool Full => Soc >= options.TargetSoc;
    public double NeededWh => Math.Max(0, (options.TargetSoc - Soc) / 100 * options.BatteryCapacityWh);

    /// <summary>DC: the current to ask for within the EV's and the charger's limits.</summary>
    public double DcCurrentA => Math.Min(Math.Min(options.MaxCurrentA, LimitA), options.MaxPowerW / options.TargetVoltageV);

    /// <summary>
    /// Sends loop requests through <paramref name="exchange"/> (which returns the present power, the charger's
    /// current limit if given, and whether the charger asks to stop) until a stop condition; returns the reason.
    /// </summary>
    public async Task<string> ChargeAsync(Func<Task<(double PowerW, double? LimitA, bool StopRequested)>> exchange, string step, IProgress<EvProgress>? progress, CancellationToken stop)
    {
        long started = time.GetTimestamp();
        long last = started;
        while (true)
        {
            var (power, limit, stopRequested) = await exchange().ConfigureAwait(false);
            if (limit is { } l)
            {
                LimitA = l;
            }
            long now = time.GetTimestamp();
            double wh = power * time.GetElapsedTime(last, now).TotalHours;
            last = now;
            EnergyWh += wh;
            Soc = Math.Min(100, Soc + wh / options.BatteryCapacityWh * 100);
            progress?.Report(new EvProgress(step, Soc, EnergyWh, power, LimitA));
            if (Full)
            {
                return $"target SoC {options.TargetSoc:0} % reached";
            }
            if (stopRequested)
            {
                return "the charger asked to stop";
            }
            if (options.Duration is { } d && time.GetElapsedTime(started) >= d)
            {
                return $"duration of {d.TotalSeconds:0} s elapsed";
            }
            try
            {
                await Task.Delay(options.LoopInterval, time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return "stopped by the user";
            }
        }
    }
}

/// <summary>Repeating a request the charger answers with EVSEProcessing = Ongoing.</summary>
internal static class EvRetry
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> send, Func<T, bool> finished, string what, TimeSpan ongoingTimeout, TimeProvider time)
    {
        long start = time.GetTimestamp();
        while (true)
        {
            var response = await send().ConfigureAwait(false);
            if (finished(response))
            {
                return response;
            }
            if (time.GetElapsedTime(start) > ongoingTimeout)
            {
                throw new EvSessionException($"{what} not finished within {ongoingTimeout.TotalSeconds:0} s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), time).ConfigureAwait(false);
        }
    }
}
