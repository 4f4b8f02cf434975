using System.Buffers.Binary;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station.Energy;

/// <summary>Configuration section <c>GridMeter</c>: the meter at the grid connection, read over Modbus TCP.</summary>
public sealed class GridMeterOptions
{
    public const string Section = "GridMeter";

    /// <summary>The meter's Modbus TCP server, host or host:port (port 502 when none); null: no grid meter.</summary>
    public string? Address { get; set; }

    public byte UnitId { get; set; } = 1;

    /// <summary>The register map: <c>sdm630</c> (Eastron SDM630 and compatible) or <c>sunspec</c> (a SunSpec meter model 201–204).</summary>
    public string Map { get; set; } = "sdm630";

    public double PollSeconds { get; set; } = 1;

    /// <summary>A reading older than this is stale: load management then counts on no meter (see the README).</summary>
    public double StaleSeconds { get; set; } = 30;

    public IEnumerable<string> Validate()
    {
        if (Address is { Length: > 0 } a && !DlmEndpoint.TryParse(a, out _, 502))
        {
            yield return $"GridMeter:Address '{a}' must be host or host:port";
        }
        if (Map is not ("sdm630" or "sunspec"))
        {
            yield return $"GridMeter:Map '{Map}' must be sdm630 or sunspec";
        }
        if (PollSeconds is < 0.1 or > 60 || StaleSeconds < PollSeconds)
        {
            yield return "GridMeter:PollSeconds must be 0.1 to 60 s and GridMeter:StaleSeconds not below it";
        }
    }
}

/// <summary>One reading of the grid meter: the current per phase (A) and the total active power (W; positive: drawn from the grid, negative: fed in).</summary>
public sealed record GridReading(PhaseCurrents Currents, double PowerW, DateTimeOffset At);

/// <summary>
/// The grid-connection meter, polled every GridMeter:PollSeconds. Register maps (facts from the makers' public
/// register tables): <b>sdm630</b> — input registers (FC 4), IEEE 754 float32, high word first: phase currents at
/// 6, 8, 10 (30007…), total system power at 52 (30053); <b>sunspec</b> — holding registers from 40000 ("SunS"), the
/// first meter model (201 single phase, 202 split phase, 203 wye, 204 delta): AphA/AphB/AphC at offsets 1–3 with the
/// scale factor A_SF at 4, W at 16 with W_SF at 20 (int16 × 10^SF). A failed read keeps the last reading (it goes stale) and is logged once per failure spell.
/// </summary>
public sealed partial class GridMeter(IOptions<GridMeterOptions> options, TimeProvider time, ILogger<GridMeter> logger) : BackgroundService
{
    private readonly GridMeterOptions _options = options.Value;
    private GridReading? _latest;
    private string? _problem;

    public bool Configured => !string.IsNullOrWhiteSpace(_options.Address);

    /// <summary>The last reading, or null when none is fresh (older than GridMeter:StaleSeconds, or none yet).</summary>
    public GridReading? Fresh => Volatile.Read(ref _latest) is { } r && time.GetUtcNow() - r.At <= TimeSpan.FromSeconds(_options.StaleSeconds) ? r : null;

    public GridReading? Latest => Volatile.Read(ref _latest);

    /// <summary>Why the last read failed (null while reads succeed).</summary>
    public string? Problem => Volatile.Read(ref _problem);

    public event Action<GridReading>? Read;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Configured)
        {
            return;
        }
        if (!DlmEndpoint.TryParse(_options.Address, out var at, 502))
        {
            Log.BadAddress(logger, _options.Address!);
            return;
        }
        await using var client = new ModbusTcpClient(at.Host, at.Port, _options.UnitId, TimeSpan.FromSeconds(Math.Max(1, _options.PollSeconds * 3)));
        ushort? sunspecModel = null;
        Log.Polling(logger, at.ToString(), _options.Map);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var reading = _options.Map == "sunspec"
                    ? await ReadSunSpecAsync(client, sunspecModel ??= await FindSunSpecMeterAsync(client, stoppingToken), stoppingToken)
                    : await ReadSdm630Async(client, stoppingToken);
                Volatile.Write(ref _latest, reading);
                if (Interlocked.Exchange(ref _problem, null) is not null)
                {
                    Log.Recovered(logger, at.ToString());
                }
                Read?.Invoke(reading);
            }
            catch (ModbusClientException e)
            {
                if (Interlocked.Exchange(ref _problem, e.Message) is null)
                {
                    Log.Failed(logger, at.ToString(), e.Message);
                }
                sunspecModel = null;   // find the model again after a failure
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(_options.PollSeconds), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<GridReading> ReadSdm630Async(ModbusTcpClient client, CancellationToken ct)
    {
        var currents = await client.ReadAsync(4, 6, 6, ct);
        var power = await client.ReadAsync(4, 52, 2, ct);
        static double F(ushort[] r, int i) => BinaryPrimitives.ReadSingleBigEndian([(byte)(r[i] >> 8), (byte)r[i], (byte)(r[i + 1] >> 8), (byte)r[i + 1]]);
        var phases = new PhaseCurrents(F(currents, 0), F(currents, 2), F(currents, 4));
        return Checked(phases, F(power, 0));
    }

    /// <summary>The start of the first meter model (its ID register) after the SunSpec marker at 40000.</summary>
    private static async Task<ushort> FindSunSpecMeterAsync(ModbusTcpClient client, CancellationToken ct)
    {
        var marker = await client.ReadAsync(3, 40000, 2, ct);
        if (marker[0] != 0x5375 || marker[1] != 0x6E53)
        {
            throw new ModbusClientException("no SunSpec marker \"SunS\" at 40000");
        }
        ushort address = 40002;
        for (int i = 0; i < 32; i++)
        {
            var header = await client.ReadAsync(3, address, 2, ct);
            if (header[0] == 0xFFFF)
            {
                break;   // the end model
            }
            if (header[0] is >= 201 and <= 204)
            {
                return address;
            }
            address = (ushort)(address + 2 + header[1]);
        }
        throw new ModbusClientException("no SunSpec meter model (201-204)");
    }

    private async Task<GridReading> ReadSunSpecAsync(ModbusTcpClient client, ushort model, CancellationToken ct)
    {
        var r = await client.ReadAsync(3, (ushort)(model + 2), 21, ct);
        static double Scaled(ushort value, ushort scale) => (short)value * Math.Pow(10, (short)scale);
        var phases = new PhaseCurrents(Scaled(r[1], r[4]), Scaled(r[2], r[4]), Scaled(r[3], r[4]));
        return Checked(phases, Scaled(r[16], r[20]));
    }

    private GridReading Checked(PhaseCurrents phases, double powerW)
    {
        if (!double.IsFinite(phases.L1 + phases.L2 + phases.L3 + powerW) || phases.Min < 0 || phases.Max > 10_000)
        {
            throw new ModbusClientException($"implausible values: {phases}, {powerW} W");
        }
        return new GridReading(phases, powerW, time.GetUtcNow());
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Grid meter: reading {Address} ({Map})")]
        public static partial void Polling(ILogger logger, string address, string map);

        [LoggerMessage(2, LogLevel.Warning, "Grid meter {Address}: {Problem}; the last reading goes stale")]
        public static partial void Failed(ILogger logger, string address, string problem);

        [LoggerMessage(3, LogLevel.Information, "Grid meter {Address}: reading again")]
        public static partial void Recovered(ILogger logger, string address);

        [LoggerMessage(4, LogLevel.Error, "Grid meter: GridMeter:Address '{Address}' is no host or host:port")]
        public static partial void BadAddress(ILogger logger, string address);
    }
}
