using System.Text;
using Juice.Station.Energy.Semp;

namespace Juice.Station.Tests.Energy.Semp;

/// <summary>A DeviceControl turned into a current and a phase count; the EM2Device reader's answers to bad input.</summary>
public sealed class SempDecisionTests
{
    private static SempControl On(double? watts) => new("F-4A554943-000000000001-00", true, watts, null);

    [Theory]
    // evcc's phase switch powers: 1518 W fits only one phase (6.6 A), 9936 W only three (14.4 A)
    [InlineData(1518, 3, 6.6, 1)]
    [InlineData(9936, 1, 14.4, 3)]
    // both fit: the phases stay as they are
    [InlineData(5000, 3, 7.2, 3)]
    [InlineData(5000, 1, 21.7, 1)]
    // one phase up to the station's 32 A, three beyond
    [InlineData(7360, 1, 32, 1)]
    [InlineData(7500, 1, 10.8, 3)]
    public void A_recommendation_selects_the_phases_that_carry_it_at_six_amperes_or_more(double watts, int phasesNow, double amps, int phases)
    {
        var d = SempDecision.Of(On(watts), 230, 32, phasesNow, canSwitch: true);
        Assert.Equal(amps, d.LimitA);
        Assert.Equal(phases, d.Phases);
    }

    [Fact]
    public void Below_six_amperes_on_one_phase_pauses_and_the_heartbeat_above_the_maximum_sets_no_limit()
    {
        Assert.Equal(0, SempDecision.Of(On(1300), 230, 32, 3, canSwitch: true).LimitA);
        var heartbeat = SempDecision.Of(On(0xffff), 230, 32, 1, canSwitch: true);
        Assert.Null(heartbeat.LimitA);
        Assert.Null(heartbeat.Phases);   // evcc: "will not trigger a phase switch"
        Assert.Null(SempDecision.Of(On(null), 230, 32, 3, canSwitch: true).LimitA);
        Assert.Equal(0, SempDecision.Of(new SempControl("x", false, 5000, null), 230, 32, 3, canSwitch: true).LimitA);
    }

    [Fact]
    public void Without_phase_switching_the_power_is_shared_by_the_phases_in_use()
    {
        var three = SempDecision.Of(On(9936), 230, 32, 3, canSwitch: false);
        Assert.Equal(14.4, three.LimitA);
        Assert.Null(three.Phases);
        Assert.Equal(0, SempDecision.Of(On(1518), 230, 32, 3, canSwitch: false).LimitA);   // 2.2 A on three phases: pause
        Assert.Equal(6.6, SempDecision.Of(On(1518), 230, 32, 1, canSwitch: false).LimitA);
    }

    [Theory]
    [InlineData("<EM2Device", "not XML")]
    [InlineData("<Device2EM xmlns=\"http://www.sma.de/communication/schema/SEMP/v1\"/>", "expected an EM2Device")]
    [InlineData("<EM2Device><DeviceControl><On>true</On></DeviceControl></EM2Device>", "needs its DeviceId")]
    [InlineData("<EM2Device><DeviceControl><DeviceId>F-1</DeviceId><On>true</On><RecommendedPowerConsumption>lots</RecommendedPowerConsumption></DeviceControl></EM2Device>", "not a power")]
    [InlineData("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><EM2Device/>", "not XML")]
    public void A_control_document_that_is_not_one_is_refused_with_the_reason(string body, string reason)
    {
        Assert.Null(SempMessages.ReadControls(new MemoryStream(Encoding.UTF8.GetBytes(body)), out var problem));
        Assert.Contains(reason, problem);
    }

    [Fact]
    public void The_control_of_evccs_SEMP_connection_is_read()
    {
        const string body = """
            <EM2Device xmlns="http://www.sma.de/communication/schema/SEMP/v1">
              <DeviceControl><DeviceId>F-4A554943-000000000001-00</DeviceId><On>true</On><RecommendedPowerConsumption>1518</RecommendedPowerConsumption><Timestamp>1764849600</Timestamp></DeviceControl>
            </EM2Device>
            """;
        var c = Assert.Single(SempMessages.ReadControls(new MemoryStream(Encoding.UTF8.GetBytes(body)), out _)!);
        Assert.Equal(new SempControl("F-4A554943-000000000001-00", true, 1518, 1764849600), c);
    }
}
