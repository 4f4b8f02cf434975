using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Juice.Station;

public static class StationExtensions
{
    /// <summary>Registers the station's services. Configuration: <c>Station:DataDirectory</c> (default <c>data</c>).</summary>
    public static IHostApplicationBuilder AddStation(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StationOptions>().BindConfiguration(StationOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<StationDatabase>();
        builder.Services.AddHostedService<StationService>();
        return builder;
    }
}

public sealed class StationOptions
{
    public const string Section = "Station";

    /// <summary>Folder of the embedded SQLite database (created when missing).</summary>
    public string DataDirectory { get; set; } = "data";
}
