using Juice.Station.Api;
using Juice.Station.Core;
using Juice.Station.Hlc;
using Juice.Station.Modbus;
using Juice.Station.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station;

/// <summary>
/// The first thing the station does: checks the configuration (every problem in one clear error), creates and
/// migrates the database, closes transactions a previous run left open, and creates the operator account on the
/// very first start. The other services start after it.
/// </summary>
internal sealed partial class StationStartup(
    StationDatabase database, ChargingStation station, OperatorAccount account,
    IOptions<StationOptions> stationOptions, IOptions<SeccHostOptions> secc, IOptions<ModbusOptions> modbus, IOptions<ApiOptions> api,
    IOptions<Ocpp.OcppOptions> ocpp, IOptions<Pnc.PncOptions> pnc, IOptions<Hlc.SlacOptions> slac, IOptions<Energy.GridMeterOptions> gridMeter, IOptions<Energy.Semp.SempOptions> semp, Pnc.CertificateStore certificates, Pnc.PncExtension pncExtension,
    StationStarted started, ILogger<StationStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = started;   // this run's start time, taken now (SYSTEM's "Up since")
        var problems = stationOptions.Value.Validate()
            .Concat(secc.Value.Validate(stationOptions.Value.Connectors))
            .Concat(modbus.Value.Validate())
            .Concat(api.Value.Validate())
            .Concat(ocpp.Value.Validate())
            .Concat(pnc.Value.Validate())
            .Concat(slac.Value.Validate(stationOptions.Value.Connectors, secc.Value))
            .Concat(gridMeter.Value.Validate())
            .Concat(semp.Value.Validate())
            .ToList();
        if (problems.Count > 0)
        {
            foreach (var p in problems)
            {
                Log.BadConfiguration(logger, p);
            }
            throw new OptionsValidationException("Station", typeof(StationOptions), problems);
        }
        int version = database.Migrate();
        Log.Started(logger, database.Path, version);
        station.Recover();
        pnc.Value.Seed(certificates, logger);
        _ = pncExtension;   // registers the backend's Plug & Charge services before the SECC and OCPP start
        if (!account.Exists)
        {
            string? configured = api.Value.InitialPassword;
            string password = string.IsNullOrEmpty(configured) ? OperatorAccount.GeneratePassword() : configured;
            account.SetPassword(password);
            if (string.IsNullOrEmpty(configured))
            {
                // shown once, on the console only: not through the logging, whose lines the in-memory log keeps and
                // SYSTEM → Download log hands out (a log sent to support must not carry it); only its salted hash is kept
                Console.Out.WriteLine($"First start: operator account '{OperatorAccount.Name}' created with password {password} (shown only this once, here on the console; log in at the web interface and change it under System)");
                Console.Out.Flush();
                Log.InitialPassword(logger, OperatorAccount.Name);
            }
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Juice station started; database {Path} (schema version {Version})")]
        public static partial void Started(ILogger logger, string path, int version);

        [LoggerMessage(2, LogLevel.Critical, "Invalid configuration: {Problem}")]
        public static partial void BadConfiguration(ILogger logger, string problem);

        [LoggerMessage(3, LogLevel.Warning, "First start: operator account '{Name}' created; its password was printed to the console only")]
        public static partial void InitialPassword(ILogger logger, string name);
    }
}

/// <summary>The charging core's clock: timeouts, the Modbus watchdog and the meter of open transactions, once a second.</summary>
internal sealed partial class StationTicker(ChargingStation station, TimeProvider time, ILogger<StationTicker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    station.Tick();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.TickFailed(logger, e);   // logged; the next second tries again
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "The charging core's periodic work failed")]
        public static partial void TickFailed(ILogger logger, Exception e);
    }
}
