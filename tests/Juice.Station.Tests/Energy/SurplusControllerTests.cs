using System.Globalization;
using Juice.Station.Energy;
using Microsoft.Extensions.Time.Testing;

namespace Juice.Station.Tests.Energy;

/// <summary>
/// Surplus charging over a whole day on a fake clock: sunny-day.csv (PV and household load per minute, with passing
/// clouds) read every 10 s; the EV (3 phases, at most 16 A) draws what it is allowed. Energy from the surplus vs the
/// grid, and the starts (no flapping).
/// </summary>
public sealed class SurplusControllerTests
{
    private sealed record Day(double EvWh, double FromSurplusWh, double FromGridWh, List<TimeSpan> Starts, int Stops);

    internal static IEnumerable<(int Minute, double Pv, double House)> Profile()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Energy", "sunny-day.csv");
        foreach (var line in File.ReadLines(path).Where(l => l.Length > 0 && char.IsDigit(l[0])))
        {
            var f = line.Split(',');
            yield return (int.Parse(f[0], CultureInfo.InvariantCulture), double.Parse(f[1], CultureInfo.InvariantCulture), double.Parse(f[2], CultureInfo.InvariantCulture));
        }
    }

    private static Day Run(SurplusMode mode, int cycleMinutes = 10)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 21, 5, 0, 0, TimeSpan.Zero));
        var controller = new SurplusController(time);
        double limit = 0, evWh = 0, surplusWh = 0, gridWh = 0;
        var starts = new List<TimeSpan>();
        int stops = 0;
        bool charging = false;
        foreach (var (minute, pv, house) in Profile())
        {
            for (int step = 0; step < 6; step++)
            {
                double evW = limit >= 6 ? Math.Min(limit, 16) * 3 * 230 : 0;
                double gridW = house + evW - pv;
                var d = controller.Decide(mode, gridW, evW, phases: 3, voltage: 230, maxCurrent: 16,
                    startDelay: TimeSpan.FromSeconds(60), stopDelay: TimeSpan.FromSeconds(300), minimumCycle: TimeSpan.FromMinutes(cycleMinutes));
                limit = d.LimitA ?? 16;
                bool now = limit >= 6;
                if (now && !charging)
                {
                    starts.Add(TimeSpan.FromMinutes(minute));
                }
                stops += !now && charging ? 1 : 0;
                charging = now;
                double w = now ? Math.Min(limit, 16) * 3 * 230 : 0;
                double fromSurplus = Math.Min(w, Math.Max(0, pv - house));
                evWh += w * 10 / 3600;
                surplusWh += fromSurplus * 10 / 3600;
                gridWh += (w - fromSurplus) * 10 / 3600;
                time.Advance(TimeSpan.FromSeconds(10));
            }
        }
        return new Day(evWh, surplusWh, gridWh, starts, stops);
    }

    [Fact]
    public void From_the_export_only_the_EV_charges_almost_all_from_surplus_and_starts_at_most_once_per_ten_minutes()
    {
        var day = Run(SurplusMode.Pv);
        Assert.True(day.EvWh > 30_000, $"charged {day.EvWh:0} Wh");
        double share = day.FromSurplusWh / day.EvWh;
        Assert.True(share > 0.9, $"{share:P1} from surplus ({day.FromSurplusWh:0} of {day.EvWh:0} Wh, {day.FromGridWh:0} Wh from the grid)");
        // the washing machine's heating (1.9 kW every 14 min) and the clouds pause it; never two starts within 10 min
        Assert.True(day.Starts.Count >= 3, "starts at " + string.Join(", ", day.Starts));
        for (int i = 1; i < day.Starts.Count; i++)
        {
            Assert.True(day.Starts[i] - day.Starts[i - 1] >= TimeSpan.FromMinutes(10), string.Join(", ", day.Starts));
        }
        // a longer minimum cycle starts less often, each start at least that far apart
        var calm = Run(SurplusMode.Pv, cycleMinutes: 30);
        Assert.True(calm.Starts.Count < day.Starts.Count, $"{calm.Starts.Count} vs {day.Starts.Count} starts");
        for (int i = 1; i < calm.Starts.Count; i++)
        {
            Assert.True(calm.Starts[i] - calm.Starts[i - 1] >= TimeSpan.FromMinutes(30), string.Join(", ", calm.Starts));
        }
        Assert.True(day.Starts[0] > TimeSpan.FromHours(6), $"the first start at {day.Starts[0]}: not before the sun gives 4.1 kW above the household");
        Assert.Equal(day.Starts.Count, day.Stops);   // and it ends the day paused
    }

    [Fact]
    public void Min_plus_PV_charges_from_the_first_minute_with_more_energy_and_more_of_it_from_the_grid()
    {
        var pv = Run(SurplusMode.Pv);
        var min = Run(SurplusMode.MinPv);
        Assert.Single(min.Starts);
        Assert.Equal(TimeSpan.FromHours(5), min.Starts[0]);
        Assert.Equal(0, min.Stops);
        Assert.True(min.EvWh > pv.EvWh, $"{min.EvWh:0} vs {pv.EvWh:0} Wh");
        Assert.True(min.FromGridWh > pv.FromGridWh, $"{min.FromGridWh:0} vs {pv.FromGridWh:0} Wh from the grid");
        Assert.True(min.FromSurplusWh >= pv.FromSurplusWh - 1, $"{min.FromSurplusWh:0} vs {pv.FromSurplusWh:0} Wh of surplus used");
    }
}
