using System.Diagnostics;
using System.Globalization;
using Juice.Station.Core;
using Juice.Station.Energy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Juice.Station.Tests.Energy;

/// <summary>
/// Surplus charging at a whole station on a fake clock, through a real Modbus TCP grid meter (Debian's pymodbus,
/// tests/peers/grid-meter.py, SDM630 map): sunny-day.csv's PV and household load, plus what the station's EV draws
/// now, are served as the grid power every 20 s of the day; the station polls the meter, decides and signals the
/// basic 3-phase car its current. Energy from the surplus vs the grid, and the starts (no flapping).
/// </summary>
public sealed class SurplusDayTests : IAsyncLifetime
{
    private const int StepSeconds = 20;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 6, 21, 5, 0, 0, TimeSpan.Zero));
    private readonly int _meterPort = GridMeterTests.FreePort();
    private Process _meter = null!;
    private TestStation _station = null!;
    private readonly System.Threading.Channels.Channel<string> _echo = System.Threading.Channels.Channel.CreateUnbounded<string>();

    public async Task InitializeAsync()
    {
        _meter = await GridMeterTests.StartMeter(_meterPort, "sdm630");
        _ = Task.Run(async () =>
        {
            while (await _meter.StandardOutput.ReadLineAsync() is { } line)
            {
                await _echo.Writer.WriteAsync(line);
            }
        });
        _station = await TestStation.StartAsync(null, s => s.AddSingleton<TimeProvider>(_time),
            "--GridMeter:Address=127.0.0.1:" + _meterPort, "--GridMeter:PollSeconds=" + StepSeconds, "--GridMeter:StaleSeconds=" + 3 * StepSeconds, "--Station:MaxCurrent=16");
    }

    public async Task DisposeAsync()
    {
        await _station.DisposeAsync();
        _station.DeleteFiles();
        _meter.Kill();
        await _meter.WaitForExitAsync();
        _meter.Dispose();
    }

    private sealed record Day(double EvWh, double FromSurplusWh, double FromGridWh, double MeterWh, List<TimeSpan> Starts, int Stops, double SurplusWh);

    /// <summary>
    /// Serves the grid power, moves the clock on by a step and waits until the station has read it (and decided on
    /// it); returns the time that passed. The meter's poll waits on the fake clock: a poll still running when the clock
    /// moved waits for the next second, so the clock goes on a second at a time until the reading is there.
    /// </summary>
    private async Task<TimeSpan> Serve(double gridW)
    {
        double amps = Math.Abs(gridW) / 3 / 230;
        await _meter.StandardInput.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{amps} {amps} {amps} {gridW}"));
        await _meter.StandardInput.FlushAsync();
        Assert.StartsWith("set", await _echo.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        var meter = _station.App.Services.GetRequiredService<GridMeter>();
        var read = new TaskCompletionSource<GridReading>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnRead(GridReading r)
        {
            if (Math.Abs(r.PowerW - gridW) < 1)
            {
                read.TrySetResult(r);
            }
        }
        meter.Read += OnRead;   // after SurplusCharging's handler: the decision is made when this one runs
        try
        {
            var start = _time.GetUtcNow();
            _time.Advance(TimeSpan.FromSeconds(StepSeconds));
            for (int i = 0; i < 120 && await Task.WhenAny(read.Task, Task.Delay(250)) != read.Task; i++)
            {
                _time.Advance(TimeSpan.FromSeconds(1));
            }
            await read.Task.WaitAsync(TimeSpan.FromSeconds(1));
            return _time.GetUtcNow() - start;
        }
        finally
        {
            meter.Read -= OnRead;
        }
    }

    private async Task<Day> RunDay(SurplusMode mode)
    {
        _station.Configure(s => s with { FreeCharging = true, SurplusMode = mode, SurplusStartSeconds = 60, SurplusStopSeconds = 300, SurplusMinimumCycleMinutes = 10 });
        // the first reading (no EV yet) sets the surplus limit; the car plugged in after it waits for the sun
        var (_, pv0, house0) = SurplusControllerTests.Profile().First();
        await Serve(house0 - pv0);
        _station.Station.SetVehicleState(1, CpState.C);
        Assert.Equal(0, _station.Station.Snapshot(1).SignalledCurrentA);
        double evWh = 0, fromSurplus = 0, fromGrid = 0, surplusWh = 0;
        double meterStart = _station.Station.Snapshot(1).Meter.TotalEnergyWh;
        var starts = new List<TimeSpan>();
        int stops = 0;
        bool charging = false;
        foreach (var (minute, pv, house) in SurplusControllerTests.Profile())
        {
            for (int step = 0; step < 60 / StepSeconds; step++)
            {
                double evW = _station.Station.Snapshot(1).Meter.TotalPowerW;
                double hours = (await Serve(house + evW - pv)).TotalHours;
                // what the EV drew since the last reading, with the sun and the household of this minute
                double available = Math.Max(0, pv - house);
                evWh += evW * hours;
                fromSurplus += Math.Min(evW, available) * hours;
                fromGrid += Math.Max(0, evW - available) * hours;
                surplusWh += available * hours;
                var now = _station.Station.Snapshot(1);
                bool on = now.SignalledCurrentA >= 6;
                if (on && !charging)
                {
                    starts.Add(TimeSpan.FromMinutes(minute) + TimeSpan.FromSeconds(step * StepSeconds));
                }
                stops += !on && charging ? 1 : 0;
                charging = on;
            }
        }
        return new Day(evWh, fromSurplus, fromGrid, _station.Station.Snapshot(1).Meter.TotalEnergyWh - meterStart, starts, stops, surplusWh);
    }

    [Fact]
    public async Task A_sunny_day_through_the_meter_charges_from_the_surplus_with_at_most_one_start_per_minimum_cycle()
    {
        var day = await RunDay(SurplusMode.Pv);
        string summary = $"EV {day.EvWh / 1000:0.00} kWh (station meter {day.MeterWh / 1000:0.00} kWh): {day.FromSurplusWh / 1000:0.00} kWh from the surplus, {day.FromGridWh / 1000:0.00} kWh from the grid; " +
            $"surplus of the day {day.SurplusWh / 1000:0.00} kWh; starts at {string.Join(", ", day.Starts.Select(s => s.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture)))}; {day.Stops} stops";
        // the station's own meter counted what the test integrated from its signalled current
        Assert.True(Math.Abs(day.MeterWh - day.EvWh) <= 0.01 * day.EvWh, summary);
        Assert.True(day.FromSurplusWh >= 0.9 * day.EvWh, summary);   // charged from the sun
        Assert.True(day.EvWh >= 0.5 * day.SurplusWh, summary);       // and most of the sun went into the car
        // the washing machine and the passing clouds pause it; it starts again, never sooner than the minimum cycle
        Assert.True(day.Starts.Count >= 3, summary);
        Assert.All(day.Starts.Zip(day.Starts.Skip(1)), p => Assert.True(p.Second - p.First >= TimeSpan.FromMinutes(10), summary));
        Assert.True(day.Starts[0] > TimeSpan.FromHours(6), summary);   // not before the sun covers 6 A on three phases
        Assert.Equal(day.Starts.Count, day.Stops);                      // and it ends the day paused
        Assert.Equal(0, _station.App.Services.GetRequiredService<SurplusCharging>().Decision?.LimitA);
        Console.WriteLine(summary);
    }
}
