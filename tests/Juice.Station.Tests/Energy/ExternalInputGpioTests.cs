using System.Device.Gpio;
using Juice.Station.Energy;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Juice.Station.Tests.Energy;

/// <summary>
/// The external input on a GPIO line through System.Device.Gpio's GpioController. This machine has no GPIO chip (no
/// /dev/gpiochip*, no configfs for gpio-sim), so the line is a bench driver here: a contact the test opens and closes,
/// with the edges a libgpiod line reports. On a station the same code runs on LibGpiodDriver.
/// </summary>
public sealed class ExternalInputGpioTests
{
    /// <summary>One input line whose level the test sets; edges go to the registered callbacks, as a GPIO chip's would.</summary>
    private sealed class BenchLine(int line, bool high) : GpioDriver
    {
        private readonly List<(PinEventTypes Types, PinChangeEventHandler Callback)> _callbacks = [];
        private bool _high = high;

        public PinMode? Mode { get; private set; }

        public void Set(bool high)
        {
            if (high == _high)
            {
                return;
            }
            _high = high;
            var edge = high ? PinEventTypes.Rising : PinEventTypes.Falling;
            foreach (var (types, callback) in _callbacks.ToList())
            {
                if (types.HasFlag(edge))
                {
                    callback(this, new PinValueChangedEventArgs(edge, line));
                }
            }
        }

        protected override int PinCount => line + 1;

        protected override void OpenPin(int pinNumber) => Assert.Equal(line, pinNumber);

        protected override void ClosePin(int pinNumber)
        {
        }

        protected override void SetPinMode(int pinNumber, PinMode mode) => Mode = mode;

        protected override PinMode GetPinMode(int pinNumber) => Mode ?? PinMode.Input;

        protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => mode == PinMode.Input;

        protected override PinValue Read(int pinNumber) => _high ? PinValue.High : PinValue.Low;

        protected override void Write(int pinNumber, PinValue value) => throw new InvalidOperationException("an input line");

        protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
            throw new NotSupportedException("the station registers callbacks");

        protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) => _callbacks.Add((eventTypes, callback));

        protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) => _callbacks.RemoveAll(c => c.Callback == callback);
    }

    [Fact]
    public void The_line_is_read_at_start_and_each_edge_changes_the_level_and_whether_load_shedding_is_active()
    {
        var bench = new BenchLine(17, high: true);   // a normally-closed contact, closed: high
        int? askedChip = null;
        using var input = new ExternalInput(Options.Create(new ExternalInputOptions { GpioChip = 0, GpioLine = 17 }), NullLogger<ExternalInput>.Instance,
            chip => { askedChip = chip; return bench; });
        Assert.Equal(0, askedChip);
        Assert.True(input.Hardware);
        Assert.Equal("GPIO chip 0 line 17", input.Source);
        Assert.Equal(PinMode.Input, bench.Mode);
        Assert.True(input.High);
        Assert.False(input.Active(activeLow: true));
        Assert.False(input.Set(high: false));   // a hardware line is not set by hand

        var levels = new List<bool?>();
        input.Changed += levels.Add;
        bench.Set(false);   // the supplier opens the contact: load shedding
        Assert.False(input.High);
        Assert.True(input.Active(activeLow: true));
        Assert.False(input.Active(activeLow: false));
        bench.Set(true);
        Assert.Equal([false, true], levels);
    }
}
