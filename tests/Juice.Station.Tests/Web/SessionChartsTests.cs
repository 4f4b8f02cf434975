using Juice.Station.Api;

namespace Juice.Station.Tests.Web;

/// <summary>The dashboard chart's series: short sessions whole, long ones thinned evenly to at most 600 points.</summary>
public sealed class SessionChartsTests
{
    private static List<SessionCharts.Sample> Samples(int n) =>
        [.. Enumerable.Range(0, n).Select(i => new SessionCharts.Sample(DateTimeOffset.UnixEpoch.AddSeconds(i), 11_000, i * 3.0))];

    [Fact]
    public void A_short_series_is_sent_whole()
    {
        var samples = Samples(600);
        Assert.Equal(samples, SessionCharts.Thin(samples));
    }

    [Fact]
    public void A_day_long_series_is_thinned_evenly_keeping_the_first_and_last_sample()
    {
        var samples = Samples(86_400);
        var thin = SessionCharts.Thin(samples);
        Assert.Equal(600, thin.Length);
        Assert.Equal(samples[0], thin[0]);
        Assert.Equal(samples[^1], thin[^1]);
        var steps = thin.Zip(thin.Skip(1), (a, b) => (b.At - a.At).TotalSeconds).ToList();
        Assert.All(steps, s => Assert.InRange(s, 144, 145));   // 86,399 s over 599 steps
    }
}
