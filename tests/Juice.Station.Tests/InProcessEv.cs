using Juice.Hlc.Evcc;
using Juice.Hlc.Secc;
using Juice.Hlc.Transport;

namespace Juice.Station.Tests;

/// <summary>An ISO 15118-2 AC EV in the test process, charging at a <see cref="TestStation"/>; the current limits it was offered are recorded.</summary>
internal sealed class InProcessEv : IAsyncDisposable, IProgress<EvProgress>
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<double> _limits = [];

    private InProcessEv()
    {
    }

    /// <summary>The session: its result, or the <see cref="EvSessionException"/> of a charger that refused it.</summary>
    public Task<EvResult> Session { get; private set; } = null!;

    /// <summary>Connects to the station's SECC and runs a session (until stopped, or for <paramref name="duration"/>).</summary>
    public static async Task<InProcessEv> StartAsync(TestStation station, string mac, TimeSpan? duration = null)
    {
        var ev = new InProcessEv();
        var options = new EvOptions
        {
            Energy = EnergyTransfer.AcThreePhase,
            Evccid = Convert.FromHexString(mac),
            TargetSoc = 100,
            StartSoc = 40,
            MaxCurrentA = 32,
            LoopInterval = TimeSpan.FromMilliseconds(50),
            MessageTimeout = TimeSpan.FromSeconds(15),
            Duration = duration,
        };
        var connection = await V2gTcpClient.ConnectAsync(station.SeccEndPoint);
        ev.Session = Task.Run(async () =>
        {
            await using (connection)
            {
                return await new EvClient(options).RunAsync(connection, ev, ev._stop.Token);
            }
        });
        return ev;
    }

    public void Report(EvProgress value)
    {
        lock (_limits)
        {
            _limits.Add(value.CurrentLimitA);
        }
    }

    public double? LastLimit
    {
        get
        {
            lock (_limits)
            {
                return _limits.Count > 0 ? _limits[^1] : null;
            }
        }
    }

    public Task WaitForLimit(double amps) => TestStation.WaitFor(() => LastLimit == amps, $"the EV to be offered {amps} A (last {LastLimit})");

    /// <summary>Stops the session (PowerDelivery(Stop), SessionStop) and waits for its end.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Session.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is OperationCanceledException or EvSessionException)
        {
        }
        _stop.Dispose();
    }
}
