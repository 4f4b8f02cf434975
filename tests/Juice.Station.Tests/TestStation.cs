using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Juice.Station.Authorization;
using Juice.Station.Core;
using Juice.Station.Hlc;
using Juice.Station.Modbus;
using Juice.Station.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Juice.Station.Tests;

/// <summary>The whole station in-process on free loopback ports, with its own database file; disposed with it.</summary>
internal sealed class TestStation : IAsyncDisposable
{
    public const string Password = "test-operator-1";

    private TestStation(WebApplication app, string directory)
    {
        App = app;
        Directory = directory;
        Http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:" + Password)));
    }

    public WebApplication App { get; }

    public string Directory { get; }

    public HttpClient Http { get; }

    public ChargingStation Station => App.Services.GetRequiredService<ChargingStation>();

    public SettingsStore Settings => App.Services.GetRequiredService<SettingsStore>();

    public WhitelistStore Whitelists => App.Services.GetRequiredService<WhitelistStore>();

    public HistoryStore History => App.Services.GetRequiredService<HistoryStore>();

    public IPEndPoint SeccEndPoint => App.Services.GetRequiredService<SeccHostedService>().EndPoint!;

    public IPEndPoint ModbusEndPoint => App.Services.GetRequiredService<ModbusHostedService>().EndPoints[0];

    public static Task<TestStation> StartAsync(string? directory = null, params string[] args) => StartAsync(directory, null, args);

    public static async Task<TestStation> StartAsync(string? directory, Action<IServiceCollection>? services, params string[] args)
    {
        directory ??= System.IO.Directory.CreateTempSubdirectory("juice-station-").FullName;
        var app = StationApp.Build([
            "--Database:Path=" + Path.Combine(directory, "juice.db"), "--Secc:Port=0", "--Secc:TlsPort=0", "--Modbus:Port=0", "--Api:Urls=http://127.0.0.1:0",
            "--Api:InitialPassword=" + Password, "--Logging:LogLevel:Default=Warning",
            "--Dlm:MasterPort=0", "--Dlm:DiscoveryAddress=127.255.255.255",
            "--Semp:Port=0", "--Semp:SsdpInterface=127.0.0.1", .. args], services);   // DLM and SEMP stay on loopback, on free ports
        await app.StartAsync();
        return new TestStation(app, directory);
    }

    public void Configure(Func<OperatorSettings, OperatorSettings> change) => Settings.Update(change);

    public void Whitelist(string id, string label = "")
    {
        Assert.True(WhitelistEntry.TryParse(id, Settings.Current.AutochargePrefix, out var entry, out var error, label: label), error);
        Whitelists.Add(WhitelistName.Local, entry);
    }

    public async Task<T> Get<T>(string path) => (await Http.GetFromJsonAsync<T>(path, Json))!;

    public static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    /// <summary>Deletes the station's folder (after <see cref="DisposeAsync"/>).</summary>
    public void DeleteFiles() => System.IO.Directory.Delete(Directory, recursive: true);

    public static async Task WaitFor(Func<bool> condition, string what, int seconds = 20)
    {
        for (int i = 0; i < seconds * 50 && !condition(); i++)
        {
            await Task.Delay(20);
        }
        Assert.True(condition(), "timed out waiting for " + what);
    }
}
