using Juice.Hlc.Evcc;
using Microsoft.Extensions.Time.Testing;

namespace Juice.Hlc.Tests.Evcc;

/// <summary>
/// The fixed-period charging loop of the load mode: requests at phase + k × interval of the clock, whatever the
/// answer's delay, never two in one slot (a timer that wakes early), and a late answer skips to the next slot ahead.
/// </summary>
public sealed class EvLoopPacingTests
{
    [Fact]
    public async Task Loop_requests_keep_to_their_slots_of_the_period()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var sent = new List<double>();   // ms since the start
        long start = time.GetTimestamp();
        double Now() => time.GetElapsedTime(start).TotalMilliseconds;
        int n = 0;
        var options = new EvOptions
        {
            LoopInterval = TimeSpan.FromMilliseconds(100),
            LoopPhase = TimeSpan.FromMilliseconds(30),
            Duration = TimeSpan.FromSeconds(10),
            TargetSoc = 100,
            // the waits are applied to the fake clock, one of them a millisecond short (a timer waking early)
            Delay = (wait, _) =>
            {
                time.Advance(n == 3 ? wait - TimeSpan.FromMilliseconds(1) : wait);
                return Task.CompletedTask;
            },
        };
        var battery = new EvBattery(options, time);
        var end = await battery.ChargeAsync(() =>
        {
            sent.Add(Now());
            n++;
            time.Advance(TimeSpan.FromMilliseconds(n == 5 ? 150 : 2));   // the answer's round trip; the fifth one later than a period
            return Task.FromResult(new LoopAnswer(1000, null, StopRequested: n == 9));
        }, "CurrentDemand", null, CancellationToken.None);

        Assert.Equal("the charger asked to stop", end.Reason);
        // the first request at once, then the slots 30, 130, 230 … ms; the early wake-up (after the 3rd) sends at 229
        // and the next still waits for 330; the late fifth answer (at 480) skips the slot of 430
        Assert.Equal([0, 30, 130, 229, 330, 530, 630, 730, 830], sent.Select(t => Math.Round(t)));
    }
}
