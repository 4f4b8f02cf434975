using Juice.Hlc.Secc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Juice.Station;

public static class StationExtensions
{
    /// <summary>Registers the station's services: database, charging point, SECC (see README for the keys).</summary>
    public static IHostApplicationBuilder AddStation(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StationOptions>().BindConfiguration(StationOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<StationDatabase>();
        builder.Services.AddHostedService<StationService>();
        builder.Services.AddOptions<SeccHostOptions>().BindConfiguration(SeccHostOptions.Section);
        // The station's charging core replaces this in-process EVSE model (station issue).
        builder.Services.AddSingleton<IChargingPoint>(sp => new SimpleEvse(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddHostedService<SeccHostedService>();
        return builder;
    }
}

public sealed class StationOptions
{
    public const string Section = "Station";

    /// <summary>Folder of the embedded SQLite database (created when missing).</summary>
    public string DataDirectory { get; set; } = "data";
}
