using Juice.Station.Api;
using Juice.Station.Authorization;
using Juice.Station.Core;
using Juice.Station.Hlc;
using Juice.Station.Modbus;
using Juice.Station.Ocpp;
using Juice.Station.Persistence;
using Juice.Station.Pnc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Juice.Station;

/// <summary>The station host: one call to build it, the same for Program.cs and the tests.</summary>
public static class StationApp
{
    /// <summary>
    /// The station: charging core, authorization, SQLite persistence, SECC, Modbus server and the operator API, with
    /// configuration from appsettings.json, environment variables (Secc__Port) and the command line (--Secc:Port=…).
    /// </summary>
    public static WebApplication Build(string[] args) => Build(args, null);

    /// <summary>The station with more services (DataTransfer handlers of a vendor extension, a real energy meter, …).</summary>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? services)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddStation();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseWebUi();
        app.MapOperatorApi();
        return app;
    }

    /// <summary>
    /// The BACKEND page's OCPP settings (stored by the operator, taking effect at the next start) over the configured
    /// <c>Ocpp:*</c> keys. A database that cannot be opened here is left to the start-up checks, which report it.
    /// </summary>
    private static void ApplyStoredBackendSettings(ConfigurationManager configuration)
    {
        var options = configuration.GetSection(DatabaseOptions.Section).Get<DatabaseOptions>() ?? new DatabaseOptions();
        OperatorSettings stored;
        try
        {
            if (!File.Exists(options.Path))
            {
                return;
            }
            using var database = new StationDatabase(Options.Create(options));
            database.Migrate();
            stored = new SettingsStore(database).Current;
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return;
        }
        var overrides = new Dictionary<string, string?>();
        if (stored.OcppUrl is not null)
        {
            overrides["Ocpp:Url"] = stored.OcppUrl;   // "" switches OCPP off
        }
        if (stored.OcppChargeBoxId is { Length: > 0 } id)
        {
            overrides["Ocpp:ChargeBoxId"] = id;
        }
        if (stored.OcppProxy is not null)
        {
            overrides["Ocpp:Proxy"] = stored.OcppProxy.Length == 0 ? null : stored.OcppProxy;
        }
        if (stored.OcppPassword is not null)
        {
            overrides["Ocpp:Password"] = stored.OcppPassword.Length == 0 ? null : stored.OcppPassword;
        }
        if (overrides.Count > 0)
        {
            configuration.AddInMemoryCollection(overrides);
        }
    }

    public static WebApplicationBuilder AddStation(this WebApplicationBuilder builder)
    {
        var api = builder.Configuration.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new ApiOptions();
        builder.WebHost.UseUrls(api.Urls);
        builder.Logging.AddProvider(MemoryLog.Shared);
        // a start a service refused with its reason (StationFailure): no second entry with the host's stack trace
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", level => level >= LogLevel.Information && !(level >= LogLevel.Error && StationFailure.Pending));
        // console lines with their time: ISO 8601 in UTC, one line per entry (the in-memory log carries its own time)
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
            o.UseUtcTimestamp = true;
        });
        // the operator API described for integrators (GET /api/openapi.json), from the routes themselves
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new() { Title = "Juice station operator API", Version = "1", Description = "The routes of README.md's operator API: HTTP Basic (operator) or the web interface's session; every route but login, health and this document needs the operator." };
            return Task.CompletedTask;
        }));
        ApplyStoredBackendSettings(builder.Configuration);
        var (errors, warnings) = StationConfiguration.Check(builder.Configuration);
        foreach (var warning in warnings)
        {
            Console.Error.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} warn: {warning}");
        }
        if (errors.Count > 0)
        {
            throw new StationStartupException(errors);
        }
        var s = builder.Services;
        // a body an endpoint cannot read throws, so the API answers it as problem details (OperatorApi)
        s.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        s.AddOptions<StationOptions>().BindConfiguration(StationOptions.Section);
        s.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section);
        s.AddOptions<SeccHostOptions>().BindConfiguration(SeccHostOptions.Section);
        s.AddOptions<ModbusOptions>().BindConfiguration(ModbusOptions.Section);
        s.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section);
        s.AddOptions<OcppOptions>().BindConfiguration(OcppOptions.Section);
        s.AddOptions<PncOptions>().BindConfiguration(PncOptions.Section);
        s.AddOptions<SlacOptions>().BindConfiguration(SlacOptions.Section);
        s.AddOptions<Energy.ExternalInputOptions>().BindConfiguration(Energy.ExternalInputOptions.Section);
        s.AddOptions<Energy.Dlm.DlmOptions>().BindConfiguration(Energy.Dlm.DlmOptions.Section);
        s.AddOptions<Energy.GridMeterOptions>().BindConfiguration(Energy.GridMeterOptions.Section);
        s.AddOptions<Energy.Semp.SempOptions>().BindConfiguration(Energy.Semp.SempOptions.Section);
        s.AddSingleton(TimeProvider.System);
        s.AddSingleton(sp => new StationStarted(sp.GetRequiredService<TimeProvider>().GetUtcNow()));
        s.AddSingleton<StationDatabase>();
        s.AddSingleton<SettingsStore>();
        s.AddSingleton<WhitelistStore>();
        s.AddSingleton<TransactionQueue>();
        s.AddSingleton(sp => new OcppConfiguration(sp.GetRequiredService<StationDatabase>(), sp.GetRequiredService<SettingsStore>(),
            sp.GetRequiredService<IOptions<OcppOptions>>().Value, sp.GetRequiredService<IOptions<StationOptions>>().Value));
        s.AddSingleton<ITransactionJournal, OcppTransactionJournal>();
        s.AddSingleton<HistoryStore>();
        s.AddSingleton<MeterTotalsStore>();
        s.AddSingleton<CertificateStore>();
        s.AddSingleton<OperatorAccount>();
        s.AddSingleton<OperatorAuthenticator>();
        s.AddSingleton<BackendLink>();
        s.AddSingleton<ContractBackendLink>();
        s.AddSingleton(sp => new Authorizer(sp.GetRequiredService<SettingsStore>(), sp.GetRequiredService<WhitelistStore>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<Authorizer>>(), sp.GetRequiredService<BackendLink>(), sp.GetRequiredService<ContractBackendLink>()));
        s.AddSingleton<ChargingStation>();
        s.AddSingleton<WebSessions>();
        s.AddSingleton<LoginThrottle>();
        s.AddSingleton<SessionCharts>();
        // hosted services start in this order: the database and the core first
        s.AddHostedService<StationStartup>();
        s.AddSingleton<SeccHostedService>();
        s.AddHostedService(sp => sp.GetRequiredService<SeccHostedService>());
        s.AddSingleton<SlacHostedService>();
        s.AddHostedService(sp => sp.GetRequiredService<SlacHostedService>());
        s.AddSingleton<ModbusHostedService>();
        s.AddHostedService(sp => sp.GetRequiredService<ModbusHostedService>());
        s.AddHostedService<StationTicker>();
        s.AddHostedService<MeterTotalsKeeper>();
        s.AddSingleton<Energy.ExternalInput>();
        s.AddSingleton<Energy.GridMeter>();
        s.AddHostedService(sp => sp.GetRequiredService<Energy.GridMeter>());
        s.AddSingleton<Energy.SurplusCharging>();
        s.AddHostedService(sp => sp.GetRequiredService<Energy.SurplusCharging>());
        s.AddSingleton<Energy.LocalLimits>();
        s.AddHostedService(sp => sp.GetRequiredService<Energy.LocalLimits>());
        s.AddSingleton<Energy.Semp.SempService>();
        s.AddHostedService(sp => sp.GetRequiredService<Energy.Semp.SempService>());
        s.AddSingleton<Energy.Dlm.DlmService>();
        s.AddHostedService(sp => sp.GetRequiredService<Energy.Dlm.DlmService>());
        s.AddHostedService(sp => sp.GetRequiredService<SessionCharts>());
        s.AddSingleton<PncExtension>();
        s.AddSingleton<IDataTransferHandler>(sp => sp.GetRequiredService<PncExtension>());
        s.AddSingleton<OcppClient>();
        s.AddSingleton<IOcppBackend>(sp => sp.GetRequiredService<OcppClient>());
        s.AddHostedService(sp => sp.GetRequiredService<OcppClient>());
        s.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
        });
        return builder;
    }
}
