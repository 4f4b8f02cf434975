using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Juice.Station;

/// <summary>Starts the station: prepares the database. The charging core, HLC, Modbus and OCPP join in later issues.</summary>
internal sealed partial class StationService(StationDatabase database, ILogger<StationService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        int version = database.Migrate();
        Log.Started(logger, database.Path, version);
        return Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Juice station started; database {Path} (schema version {Version})")]
        public static partial void Started(ILogger logger, string path, int version);
    }
}
