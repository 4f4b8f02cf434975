using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Energy;

/// <summary>Configuration section <c>ExternalInput</c>: where the load-shedding contact ("Opto 1 In") is read.</summary>
public sealed class ExternalInputOptions
{
    public const string Section = "ExternalInput";

    /// <summary>The GPIO chip of the contact (the N of /dev/gpiochipN, read through libgpiod); null: no hardware input.</summary>
    public int? GpioChip { get; set; }

    /// <summary>The line (offset) on that chip.</summary>
    public int? GpioLine { get; set; }
}

/// <summary>
/// The external input's electrical level, from a GPIO line through System.Device.Gpio (libgpiod) when one is
/// configured, else the level the operator sets (operator API, <c>juice input</c>) — a station without the contact,
/// or a test. Whether a level means "load shedding" is the polarity setting's business, not the input's.
/// </summary>
public sealed partial class ExternalInput : IDisposable
{
    private readonly object _gate = new();
    private readonly ILogger<ExternalInput> _logger;
    private readonly GpioController? _gpio;
    private readonly int _line;
    private bool? _high;

    public ExternalInput(Microsoft.Extensions.Options.IOptions<ExternalInputOptions> options, ILogger<ExternalInput> logger)
        : this(options, logger, chip => new LibGpiodDriver(chip))
    {
    }

    /// <param name="driver">The GPIO driver of a chip: libgpiod on a station; a bench driver in the tests, where no GPIO chip exists.</param>
    internal ExternalInput(Microsoft.Extensions.Options.IOptions<ExternalInputOptions> options, ILogger<ExternalInput> logger, Func<int, GpioDriver> driver)
    {
        _logger = logger;
        var o = options.Value;
        if (o.GpioChip is { } chip && o.GpioLine is { } line)
        {
            // a configured line that cannot be opened is a start error with its reason, not a silent fallback
            try
            {
                _gpio = new GpioController(driver(chip));
                _line = line;
                _gpio.OpenPin(line, PinMode.Input);
                _high = _gpio.Read(line) == PinValue.High;
                _gpio.RegisterCallbackForPinValueChangedEvent(line, PinEventTypes.Rising | PinEventTypes.Falling, (_, e) => Level(e.ChangeType == PinEventTypes.Rising));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _gpio?.Dispose();
                string problem = $"ExternalInput:GpioChip {chip} / ExternalInput:GpioLine {line}: the input cannot be read ({e.GetType().Name}: {e.Message}); is /dev/gpiochip{chip} there and libgpiod installed?";
                StationFailure.Report([problem]);
                throw new StationStartupException([problem]);
            }
            Source = $"GPIO chip {chip} line {line}";
        }
    }

    /// <summary>Where the level comes from: "GPIO chip N line M" or "set by the operator".</summary>
    public string Source { get; } = "set by the operator";

    public bool Hardware => _gpio is not null;

    /// <summary>The level now (true: high); null: an operator input never set since start, which is never active.</summary>
    public bool? High
    {
        get
        {
            lock (_gate)
            {
                return _high;
            }
        }
    }

    public event Action<bool?>? Changed;

    /// <summary>The operator's (or a test's) level; refused while a GPIO line is the input.</summary>
    public bool Set(bool high)
    {
        if (_gpio is not null)
        {
            return false;
        }
        Level(high);
        return true;
    }

    private void Level(bool high)
    {
        lock (_gate)
        {
            if (_high == high)
            {
                return;
            }
            _high = high;
        }
        Log.LevelChanged(_logger, high ? "high" : "low", Source);
        Changed?.Invoke(high);
    }

    /// <summary>Whether load shedding is requested: the level against the polarity (active low: low is active).</summary>
    public bool Active(bool activeLow) => High is { } high && high != activeLow;

    public void Dispose() => _gpio?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "External input: the level is {Level} now ({Source})")]
        public static partial void LevelChanged(ILogger logger, string level, string source);
    }
}
