using Juice.Station;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Juice.Station.Tests;

public sealed class StationHostTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("juice-station-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task The_station_starts_creates_its_database_and_stops()
    {
        var builder = Host.CreateApplicationBuilder(["--Station:DataDirectory=" + _data]);
        builder.AddStation();
        using var host = builder.Build();
        await host.StartAsync();
        var database = host.Services.GetRequiredService<StationDatabase>();
        Assert.Equal(Path.Combine(_data, "juice.db"), database.Path);
        Assert.Equal(1, database.Migrate());
        Assert.True(File.Exists(database.Path));
        await host.StopAsync();
    }

    [Fact]
    public void Migrating_twice_keeps_one_schema_version()
    {
        var database = new StationDatabase(Microsoft.Extensions.Options.Options.Create(new StationOptions { DataDirectory = _data }));
        Assert.Equal(1, database.Migrate());
        Assert.Equal(1, database.Migrate());
    }
}
