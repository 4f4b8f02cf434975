using Juice.Station.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Juice.Station.Tests.Core;

/// <summary>
/// The meters' totals (Modbus 200-205 and 218, OCPP, transactions) survive a restart and never go down: a meter that
/// starts again at 0 (the simulated one, a replaced one) continues from the totals kept in the database; one that
/// falls back mid-run is lifted to what was reported before.
/// </summary>
public sealed class MeterTotalsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-meter-totals-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A meter whose totals the test sets (a real meter read over a bus, say).</summary>
    private sealed class SetMeter(TimeProvider time) : IEnergyMeter
    {
        public Phases EnergyWh { get; set; }

        public double ExportedWh { get; set; }

        public MeterValues Read() => new("SET-1", EnergyWh, default, default, new Phases(230, 230, 230), time.GetUtcNow(), ExportedWh);
    }

    [Fact]
    public void A_meter_continues_from_the_kept_totals_and_never_reports_less_than_before()
    {
        var time = new FakeTimeProvider();
        var inner = new SetMeter(time) { EnergyWh = new Phases(5, 5, 5) };
        var meter = new ContinuedMeter(inner, () => new MeterTotals(new Phases(1000, 2000, 3000), 40));
        var first = meter.Read();
        Assert.Equal(new Phases(1000, 2000, 3000), first.EnergyWh);   // the inner meter's 5 Wh are below the kept totals: lifted
        Assert.Equal(40, first.ExportedEnergyWh);
        inner.EnergyWh = new Phases(15, 15, 15);
        inner.ExportedWh = 2;
        var second = meter.Read();
        Assert.Equal(new Phases(1010, 2010, 3010), second.EnergyWh);   // and counts on from there
        Assert.Equal(42, second.ExportedEnergyWh);
        inner.EnergyWh = default;   // the meter was replaced mid-run
        inner.ExportedWh = 0;
        Assert.Equal(second.EnergyWh, meter.Read().EnergyWh);
        inner.EnergyWh = new Phases(1, 0, 0);
        Assert.Equal(new Phases(1011, 2010, 3010), meter.Read().EnergyWh);
        Assert.Equal(42, meter.Read().ExportedEnergyWh);
    }

    [Fact]
    public async Task The_totals_are_kept_when_the_station_stops_and_the_next_start_goes_on_from_them()
    {
        var time = TimeProvider.System;
        var meter = new SetMeter(time) { EnergyWh = new Phases(1000, 1100, 1200), ExportedWh = 7 };
        await using (var station = await TestStation.StartAsync(_dir, s => s.AddSingleton<Func<int, IEnergyMeter>>(_ => meter)))
        {
            Assert.Equal(3300, station.Station.Connector(1).Meter.Read().TotalEnergyWh);
        }
        // the same meter replaced by a new one that starts at 0: the station reports the old totals and counts on
        var replaced = new SetMeter(time);
        await using (var station = await TestStation.StartAsync(_dir, s => s.AddSingleton<Func<int, IEnergyMeter>>(_ => replaced)))
        {
            Assert.Equal(3300, station.Station.Connector(1).Meter.Read().TotalEnergyWh);
            replaced.EnergyWh = new Phases(10, 10, 10);
            var v = station.Station.Connector(1).Meter.Read();
            Assert.Equal(new Phases(1010, 1110, 1210), v.EnergyWh);
            Assert.Equal(7, v.ExportedEnergyWh);
        }
        // the station's own simulated meter (no meter given) goes on from the last totals too
        await using (var station = await TestStation.StartAsync(_dir))
        {
            Assert.Equal(3330, station.Station.Connector(1).Meter.Read().TotalEnergyWh);
        }
    }
}
