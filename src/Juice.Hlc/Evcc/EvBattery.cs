namespace Juice.Hlc.Evcc;

/// <summary>What the charger said in one charging-loop response.</summary>
internal readonly record struct LoopAnswer(double PowerW, double? LimitA, bool StopRequested, bool RenegotiationRequested = false);

/// <summary>How a charging loop ended: the EV stops (with the reason), or the charger asked to renegotiate.</summary>
internal readonly record struct LoopEnd(bool Renegotiate, string Reason);

/// <summary>
/// The simulated battery and the charging loop shared by the protocols: state of charge, energy integrated over
/// the injected clock (or over simulated time in the seeded deterministic mode), the charger's current limit, and
/// the conditions that end charging.
/// </summary>
internal sealed class EvBattery(EvOptions options, TimeProvider time)
{
    private long _started;
    private int _loops;
    private bool _renegotiatedOnItsOwn;

    public double Soc { get; private set; } = options.StartSoc;
    public double EnergyWh { get; private set; }

    /// <summary>Energy the battery fed back (bidirectional power), Wh.</summary>
    public double DischargedWh { get; private set; }
    public double LimitA { get; set; } = options.MaxCurrentA;

    public sbyte SocByte => (sbyte)Math.Clamp(Math.Floor(Soc), 0, 100);
    public bool Full => Soc >= options.TargetSoc;
    public double NeededWh => Math.Round(Math.Max(0, (options.TargetSoc - Soc) / 100 * options.BatteryCapacityWh));

    /// <summary>DC: the current to ask for within the EV's and the charger's limits.</summary>
    public double DcCurrentA => Math.Round(Math.Max(0, Math.Min(Math.Min(options.MaxCurrentA, LimitA), options.MaxPowerW / options.TargetVoltageV)), 1);

    /// <summary>The wait before the next loop request: the interval, or until the next slot of a fixed-period loop.</summary>
    private TimeSpan NextLoopWait()
    {
        if (options.LoopPhase is not { } phase || options.LoopInterval <= TimeSpan.Zero)
        {
            return options.LoopInterval;
        }
        double f = time.TimestampFrequency;
        long period = Math.Max(1, (long)(options.LoopInterval.TotalSeconds * f));
        long offset = (long)(phase.TotalSeconds * f) % period;
        long now = time.GetTimestamp();
        // the slot after the last one (a timer that wakes a little early must not send twice in one slot); after
        // a late answer, the first slot still ahead
        _slot = _slot == 0 || _slot + period <= now ? ((now - offset) / period + 1) * period + offset : _slot + period;
        return TimeSpan.FromSeconds(Math.Max(0, _slot - now) / f);
    }

    private long _slot;

    /// <summary>Time spent in the charging loop (over all its passes): wall clock, or simulated in deterministic mode.</summary>
    private TimeSpan Charging => options.Seed is null ? (_started == 0 ? TimeSpan.Zero : time.GetElapsedTime(_started)) : options.LoopInterval * _loops;

    /// <summary>
    /// Sends loop requests through <paramref name="exchange"/> until a stop condition, or until the charger asks to
    /// renegotiate (the caller renegotiates and calls again). <paramref name="canRenegotiate"/>: the protocol has a
    /// renegotiation (ISO 15118-2), so <see cref="EvOptions.RenegotiateAfter"/> applies.
    /// </summary>
    public async Task<LoopEnd> ChargeAsync(Func<Task<LoopAnswer>> exchange, string step, IProgress<EvProgress>? progress, CancellationToken stop, bool canRenegotiate = false)
    {
        if (_started == 0)
        {
            _started = time.GetTimestamp();
        }
        long last = time.GetTimestamp();
        while (true)
        {
            var answer = await exchange().ConfigureAwait(false);
            if (answer.LimitA is { } l)
            {
                LimitA = l;
            }
            long now = time.GetTimestamp();
            var elapsed = options.Seed is null ? time.GetElapsedTime(last, now) : options.LoopInterval;
            last = now;
            _loops++;
            double wh = answer.PowerW * elapsed.TotalHours;
            EnergyWh += wh;
            DischargedWh += Math.Max(0, -wh);
            Soc = Math.Clamp(Soc + wh / options.BatteryCapacityWh * 100, 0, 100);
            progress?.Report(new EvProgress(step, Soc, EnergyWh, answer.PowerW, LimitA));
            if (Full)
            {
                return new(false, $"target SoC {options.TargetSoc:0} % reached");
            }
            if (answer.StopRequested)
            {
                return new(false, "the charger asked to stop");
            }
            if (options.Duration is { } d && Charging >= d)
            {
                return new(false, $"duration of {d.TotalSeconds:0.###} s elapsed");
            }
            if (answer.RenegotiationRequested)
            {
                return new(true, "the charger asked to renegotiate");
            }
            if (canRenegotiate && options.RenegotiateAfter is { } n && !_renegotiatedOnItsOwn && _loops >= n)
            {
                _renegotiatedOnItsOwn = true;
                return new(true, $"the EV renegotiates after {n} loop messages");
            }
            try
            {
                var wait = NextLoopWait();
                await (options.Delay?.Invoke(wait, stop) ?? Task.Delay(wait, time, stop)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return new(false, "stopped by the user");
            }
        }
    }
}

/// <summary>Repeating a request the charger answers with EVSEProcessing = Ongoing, within the EV's timeout for that loop.</summary>
internal static class EvRetry
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> send, Func<T, bool> finished, string what, TimeSpan timeout, TimeProvider time,
        Func<TimeSpan, CancellationToken, Task>? delay = null)
    {
        long start = time.GetTimestamp();
        while (true)
        {
            var response = await send().ConfigureAwait(false);
            if (finished(response))
            {
                return response;
            }
            if (time.GetElapsedTime(start) > timeout)
            {
                throw new EvSessionException($"{what} not finished within {timeout.TotalSeconds:0} s");
            }
            var pause = TimeSpan.FromMilliseconds(100);
            await (delay?.Invoke(pause, CancellationToken.None) ?? Task.Delay(pause, time)).ConfigureAwait(false);
        }
    }
}

/// <summary>The ResponseCode of a generated response type, read through a delegate built once per type.</summary>
internal static class ResponseCodeOf<TResponse, TCode>
{
    public static readonly Func<TResponse, TCode> Get = (Func<TResponse, TCode>)Delegate.CreateDelegate(
        typeof(Func<TResponse, TCode>), typeof(TResponse).GetProperty("ResponseCode")!.GetGetMethod()!);
}
