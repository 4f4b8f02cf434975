using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Juice.Station.Authorization;
using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Juice.Station.Api;

/// <summary>The operator API (configuration section <c>Api</c>).</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Where the API (and the web interface) listen: loopback by default; port 0 picks a free one.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>The operator password set at the very first start (otherwise a random one is printed once).</summary>
    public string? InitialPassword { get; set; }

    public IEnumerable<string> Validate()
    {
        foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            {
                yield return $"Api:Urls '{url}' is not an http(s) URL";
            }
        }
        if (InitialPassword is { Length: > 0 and < 8 })
        {
            yield return "Api:InitialPassword must have at least 8 characters";
        }
    }
}

/// <summary>
/// Checks the operator's credentials: HTTP Basic (operator:password) or a bearer token from /api/login. The
/// PBKDF2 check is slow by design, so a password verified once is remembered (by its SHA-256, in memory, for a
/// few minutes) and forgotten when the password changes.
/// </summary>
public sealed class OperatorAuthenticator(OperatorAccount account, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _verified = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _tokens = new();

    public bool CheckPassword(string password)
    {
        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(password)));
        var now = time.GetUtcNow();
        if (_verified.TryGetValue(key, out var until) && until > now)
        {
            return true;
        }
        if (!account.Verify(password))
        {
            return false;
        }
        _verified[key] = now.AddMinutes(10);
        return true;
    }

    public (string Token, DateTimeOffset Expires) IssueToken()
    {
        string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var expires = time.GetUtcNow().AddHours(12);
        _tokens[token] = expires;
        return (token, expires);
    }

    public bool CheckToken(string token) => _tokens.TryGetValue(token, out var expires) && expires > time.GetUtcNow();

    public void ChangePassword(string password)
    {
        account.SetPassword(password);
        _verified.Clear();
        _tokens.Clear();
    }

    /// <summary>True when the request carries valid operator credentials.</summary>
    public bool Authenticate(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        if (header is null)
        {
            return false;
        }
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return CheckToken(header[7..].Trim());
        }
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                int colon = decoded.IndexOf(':', StringComparison.Ordinal);
                return colon > 0 && decoded[..colon] == OperatorAccount.Name && CheckPassword(decoded[(colon + 1)..]);
            }
            catch (FormatException)
            {
                return false;
            }
        }
        return false;
    }
}

public sealed record LoginRequest(string Password);
public sealed record PasswordChange(string Current, string New);
public sealed record NewEntry(string Id, string? Label);
public sealed record VehicleInput(CpState State);
public sealed record CardInput(string IdTag);
public sealed record ConfigurationInput(string? Value);
public sealed record AvailabilityInput(Availability Availability);

/// <summary>The routes of the operator API (documented in README.md and served as OpenAPI at /api/openapi.json). Every route but login, health and the OpenAPI document needs the operator.</summary>
public static class OperatorApi
{
    public static WebApplication MapOperatorApi(this WebApplication app)
    {
        // every 4xx of the API as problem details: a body the endpoint could not read (not JSON, a value of the wrong
        // type), and the 4xx that would go out without a body (an unknown route, a method the route does not take)
        app.Use(async (context, next) =>
        {
            if (!context.Request.Path.StartsWithSegments("/api"))
            {
                await next();
                return;
            }
            try
            {
                await next();
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                var (detail, errors) = ApiProblem.Unreadable(e);
                await ApiProblem.WriteAsync(context, e.StatusCode is >= 400 and < 500 ? e.StatusCode : StatusCodes.Status400BadRequest, detail, errors);
                return;
            }
            if (!context.Response.HasStarted && context.Response.StatusCode is >= 400 and < 500 && context.Response.ContentLength is null or 0 && context.Response.ContentType is null)
            {
                await ApiProblem.WriteAsync(context, context.Response.StatusCode, context.Response.StatusCode switch
                {
                    StatusCodes.Status404NotFound => $"no such route: {context.Request.Method} {context.Request.Path}",
                    StatusCodes.Status405MethodNotAllowed => $"{context.Request.Path} does not take {context.Request.Method}",
                    var other => ReasonPhrases.GetReasonPhrase(other),
                });
            }
        });
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            bool open = path.StartsWithSegments("/api/login") || path.StartsWithSegments("/api/health") || path.StartsWithSegments("/api/openapi.json")
                || (path.StartsWithSegments("/api/session") && (HttpMethods.IsPost(context.Request.Method) || HttpMethods.IsGet(context.Request.Method)));
            if (path.StartsWithSegments("/api") && !open)
            {
                var auth = context.RequestServices.GetRequiredService<OperatorAuthenticator>();
                var (session, refusal) = context.RequestServices.GetRequiredService<WebSessions>().Check(context.Request);
                if (refusal is not null)
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    await ApiProblem.WriteAsync(context, StatusCodes.Status403Forbidden, refusal);
                    return;
                }
                if (!session)
                {
                    var throttle = context.RequestServices.GetRequiredService<LoginThrottle>();
                    bool basic = context.Request.Headers.Authorization.ToString().StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
                    using var turn = basic ? await throttle.TurnAsync(context, context.RequestAborted) : null;
                    if (!auth.Authenticate(context.Request))
                    {
                        int left = basic ? throttle.Failed(context, "HTTP Basic on " + path) : LoginThrottle.FreeTries;
                        context.Response.Headers.WWWAuthenticate = "Basic realm=\"Juice station\"";
                        await (basic ? ApiProblem.Of(StatusCodes.Status401Unauthorized, "wrong operator credentials", new { triesLeft = left })
                            : ApiProblem.Of(StatusCodes.Status401Unauthorized, "operator credentials required")).ExecuteAsync(context);
                        return;
                    }
                    if (basic)
                    {
                        throttle.Succeeded(context);
                    }
                }
            }
            await next();
        });

        app.MapOpenApi("/api/openapi.json");
        var api = app.MapGroup("/api");
        WebUi.MapWebRoutes(api);
        api.MapNetwork();
        api.MapCertificates();
        api.MapLoadManagement();
        api.MapGet("/health", () => Results.Ok(new { status = "ok" }));
        api.MapPost("/login", async (LoginRequest request, OperatorAuthenticator auth, LoginThrottle throttle, HttpContext context) =>
        {
            using var turn = await throttle.TurnAsync(context, context.RequestAborted);
            if (request.Password is not { Length: > 0 } || !auth.CheckPassword(request.Password))
            {
                return LoginThrottle.Wrong(throttle.Failed(context, "POST /api/login"));
            }
            throttle.Succeeded(context);
            var (token, expires) = auth.IssueToken();
            return Results.Ok(new { token, expires });
        });
        api.MapPost("/operator/password", async (PasswordChange change, OperatorAuthenticator auth, WebSessions sessions, LoginThrottle throttle, HttpContext context) =>
        {
            using var turn = await throttle.TurnAsync(context, context.RequestAborted);
            if (!auth.CheckPassword(change.Current))
            {
                return LoginThrottle.Wrong(throttle.Failed(context, "password change"), "the current password is wrong", StatusCodes.Status403Forbidden);
            }
            if (change.New is not { Length: >= 8 })
            {
                return ApiProblem.Invalid("new", "at least 8 characters");
            }
            auth.ChangePassword(change.New);
            sessions.CloseAll();   // every browser logs in again with the new password
            return Results.NoContent();
        });

        api.MapGet("/status", (ChargingStation station, Ocpp.OcppClient ocpp) => Results.Ok(new
        {
            connectors = station.Connectors.Select(c => station.Snapshot(c.Id)).ToList(),
            hemsLimit = station.HemsLimit,
            hemsDischargeRequestW = station.HemsDischargeRequest,
            hardwareLimit = station.Options.MaxCurrent,
            backend = ocpp.State,
        }));

        // the BACKEND page: connection state, the messages waiting for the central system, configuration keys, profiles
        api.MapGet("/ocpp", (Ocpp.OcppClient ocpp, Microsoft.Extensions.Options.IOptions<Ocpp.OcppOptions> options) => Results.Ok(new
        {
            state = ocpp.State,
            // the URL and identity in use (stored on this page, or configured), and the manual's connection options
            url = options.Value.Url,
            chargeBoxId = options.Value.ChargeBoxId,
            proxy = options.Value.Proxy,
            options = BackendOptions.Of(options.Value, ocpp.Configuration),
            queue = ocpp.Configured ? ocpp.Queue.All() : [],
            configuration = ocpp.Configuration.Keys.Select(k => new { key = k.Name, @readonly = k.ReadOnly, value = k.Read() }),
            chargingProfiles = ocpp.Configured ? ocpp.Profiles.All : [],
        }));
        // Plug & Charge: the installed certificates, the SECC certificate and its renewal through the backend
        api.MapGet("/slac", (Hlc.SlacHostedService slac) => Results.Ok(slac.Links));
        api.MapGet("/pnc", (Pnc.CertificateStore store, Pnc.PncExtension pnc, SettingsStore settings) => Results.Ok(new
        {
            enabled = settings.Current.Iso15118 == Iso15118Mode.OnWithPlugAndCharge,
            dialect = pnc.Dialect.Name,
            vendorId = pnc.Dialect.VendorId,
            secc = store.SeccCredentials is { } c
                ? new { subject = c.Chain[0].SubjectDN.ToString(), serial = c.Chain[0].SerialNumber.ToString(16), notAfter = c.Chain[0].NotAfter, sha256 = Juice.Hlc.Security.V2gCertificates.Fingerprint(c.Chain[0]) }
                : null,
            // the ISO 15118-20 SECC certificates (TLS 1.3), one per algorithm
            iso20Secc = store.Iso20SeccCredentials.Select(x => new
            {
                algorithm = x.Algorithm.ToString().ToLowerInvariant(),
                subject = x.Chain[0].SubjectDN.ToString(),
                notAfter = x.Chain[0].NotAfter,
                sha256 = Juice.Hlc.Security.V2gCertificates.Fingerprint(x.Chain[0]),
            }),
            renewalPending = store.PendingKey is not null,
            seccOcsp = store.SeccOcsp is { } o ? new { status = o.Status, at = o.At } : null,
            certificates = store.Installed().Select(x => new
            {
                kind = x.Kind.ToString(),
                sha256 = Juice.Hlc.Security.V2gCertificates.Fingerprint(x.Chain[0]),
                subject = x.Chain[0].SubjectDN.ToString(),
                notAfter = x.Chain[0].NotAfter,
                hashData = x.HashData,
            }),
        }));
        api.MapPost("/pnc/secc-certificate/renew", async (Pnc.PncExtension pnc, CancellationToken ct) =>
        {
            try
            {
                return Results.Ok(new { status = await pnc.RenewSeccCertificateAsync(ct) });
            }
            catch (Ocpp.OcppOfflineException e)
            {
                return ApiProblem.Of(StatusCodes.Status409Conflict, "the backend is not reachable: " + e.Message);
            }
        });
        api.MapPost("/pnc/secc-certificate/status", async (Pnc.PncExtension pnc, CancellationToken ct) =>
        {
            try
            {
                return Results.Ok(new { status = await pnc.CheckSeccCertificateAsync(ct) });
            }
            catch (Ocpp.OcppOfflineException e)
            {
                return ApiProblem.Of(StatusCodes.Status409Conflict, "the backend is not reachable: " + e.Message);
            }
        });
        api.MapGet("/history/{id:long}/receipts", (long id, HistoryStore history) => Results.Ok(history.Receipts(id)));

        // a configuration key set by the operator, as the central system's ChangeConfiguration would
        api.MapPut("/ocpp/configuration/{key}", (string key, ConfigurationInput input, Ocpp.OcppClient ocpp) =>
        {
            var status = ocpp.Configuration.Change(key, input.Value ?? "");
            return status switch
            {
                Ocpp.ConfigurationStatus.Accepted => Results.Ok(new { key, value = ocpp.Configuration.Value(key) }),
                Ocpp.ConfigurationStatus.NotSupported => ApiProblem.Of(StatusCodes.Status404NotFound, $"no configuration key {key}"),
                _ => ApiProblem.Invalid("value", $"{key} does not take '{input.Value}' ({status})"),
            };
        });

        api.MapGet("/settings", (SettingsStore settings) => Results.Ok(settings.Current));
        // fields the request leaves out keep their values (a whole object replaces all of them)
        api.MapPut("/settings", (System.Text.Json.Nodes.JsonObject changes, SettingsStore settings, ChargingStation station, Energy.GridMeter meter) =>
        {
            var (proposed, errors) = settings.Current.With(changes, station.Options.MaxCurrent);
            if (proposed.DlmExternalMeter && !meter.Configured && !settings.Current.DlmExternalMeter)
            {
                errors[nameof(OperatorSettings.DlmExternalMeter)] = "needs a grid meter: set GridMeter:Address (and GridMeter:Map) in the configuration";
            }
            if (proposed.SurplusMode != Energy.SurplusMode.Off && !meter.Configured && settings.Current.SurplusMode == Energy.SurplusMode.Off)
            {
                errors[nameof(OperatorSettings.SurplusMode)] = "needs a grid meter: set GridMeter:Address (and GridMeter:Map) in the configuration";
            }
            if (errors.Count > 0)
            {
                return ApiProblem.Invalid(errors);
            }
            settings.Save(proposed);
            return Results.Ok(settings.Current);
        });

        MapWhitelists(api);
        MapHistory(api);
        MapConnectors(api);
        return app;
    }

    private static void MapWhitelists(RouteGroupBuilder api)
    {
        api.MapGet("/whitelists/{list}", (string list, string? search, WhitelistStore store) =>
            ListName(list) is { } name ? Results.Ok(store.Search(name, search)) : ApiProblem.Of(StatusCodes.Status404NotFound, $"no whitelist '{list}' (local, ocpp)"));
        api.MapDelete("/whitelists/{list}", (string list, WhitelistStore store) =>
            ListName(list) is { } name ? Results.Ok(new { deleted = store.Clear(name) }) : ApiProblem.Of(StatusCodes.Status404NotFound, $"no whitelist '{list}'"));
        api.MapPost("/whitelists/local", (NewEntry entry, WhitelistStore store, SettingsStore settings, TimeProvider time) =>
        {
            if (!WhitelistEntry.TryParse(entry.Id, settings.Current.AutochargePrefix, out var parsed, out string error, time.GetUtcNow(), entry.Label?.Trim() ?? ""))
            {
                return ApiProblem.Invalid("id", error);
            }
            store.Add(WhitelistName.Local, parsed);
            return Results.Created($"/api/whitelists/local/{Uri.EscapeDataString(parsed.Id)}", parsed);
        });
        api.MapDelete("/whitelists/local/{id}", (string id, WhitelistStore store) =>
            store.Remove(WhitelistName.Local, id.ToUpperInvariant()) || store.Remove(WhitelistName.Local, id) ? Results.NoContent() : ApiProblem.Of(StatusCodes.Status404NotFound, $"no entry {id}"));
        api.MapPost("/whitelists/local/import", async (HttpRequest request, WhitelistStore store, SettingsStore settings, TimeProvider time) =>
        {
            if (request.ContentLength > WhitelistStore.MaxImportBytes)
            {
                return ApiProblem.Of(StatusCodes.Status413PayloadTooLarge, $"the file has more than {WhitelistStore.MaxImportBytes} bytes: nothing was imported");
            }
            // read line by line as it arrives (the store stops at its limits); the body is buffered first only so the
            // synchronous reader does not block a request thread on the network
            request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: WhitelistStore.MaxImportBytes + 1);
            try
            {
                await Microsoft.AspNetCore.WebUtilities.StreamHelperExtensions.DrainAsync(request.Body, request.HttpContext.RequestAborted);
            }
            catch (IOException)
            {
                return ApiProblem.Of(StatusCodes.Status413PayloadTooLarge, $"the file has more than {WhitelistStore.MaxImportBytes} bytes: nothing was imported");
            }
            request.Body.Position = 0;
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            var report = store.Import(reader, settings.Current.AutochargePrefix, time.GetUtcNow());
            if (report.Refused is { } why)
            {
                return ApiProblem.Of(StatusCodes.Status413PayloadTooLarge, why);
            }
            return Results.Ok(new
            {
                imported = report.Imported,
                added = report.Added,
                updated = report.Updated,
                rejected = report.Rejected.Count,
                errors = report.Rejected,
                duplicates = report.Duplicates,
            });
        });
        api.MapGet("/whitelists/local/export", (WhitelistStore store) =>
            Results.Text(store.Export(WhitelistName.Local), "text/csv; charset=utf-8", Encoding.UTF8));
        api.MapPost("/whitelists/local/learn", (Authorizer authorizer) =>
        {
            authorizer.StartLearning(TimeSpan.FromMinutes(2));
            return Results.Accepted("/api/whitelists/local/learn", new { state = "waiting" });
        });
        api.MapGet("/whitelists/local/learn", (Authorizer authorizer, SettingsStore settings) =>
        {
            var request = authorizer.Learning;
            if (request is null)
            {
                return Results.Ok(new { state = "none" });
            }
            if (request.Result.IsCompletedSuccessfully)
            {
                var (id, source) = request.Result.Result;
                WhitelistEntry.TryParse(id, settings.Current.AutochargePrefix, out var entry, out _);
                return Results.Ok(new { state = "learned", id = entry?.Id ?? id, source });
            }
            return Results.Ok(new { state = request.Result.IsCompleted ? "expired" : "waiting" });
        });
        api.MapDelete("/whitelists/local/learn", (Authorizer authorizer) =>
        {
            authorizer.StopLearning();
            return Results.NoContent();
        });
    }

    private static WhitelistName? ListName(string list) => list.ToLowerInvariant() switch
    {
        "local" => WhitelistName.Local,
        "ocpp" => WhitelistName.Ocpp,
        _ => null,
    };

    private static void MapHistory(RouteGroupBuilder api)
    {
        api.MapGet("/history", (int? days, HistoryStore history, TimeProvider time) =>
            Results.Ok(history.Since(time.GetUtcNow().AddDays(-Math.Clamp(days ?? 30, 1, 3650))).Select(s => new
            {
                s.Id, s.Connector, s.IdTag, s.Source, s.Start, s.Stop, durationSeconds = Math.Round(s.Duration.TotalSeconds), energyWh = Math.Round(s.EnergyWh),
                s.MeterStartWh, s.MeterStopWh, s.Reason, s.OcppTransactionId, s.Contract, exportedWh = Math.Round(s.ExportedWh),
            })));
        api.MapGet("/history/export", (int? days, HistoryStore history, ChargingStation station, TimeProvider time) =>
        {
            var sessions = history.Since(time.GetUtcNow().AddDays(-Math.Clamp(days ?? 30, 1, 3650)));
            var csv = HistoryStore.ToCsv(sessions, station.Options.Zone);
            return Results.File(Encoding.UTF8.GetBytes(csv), "text/csv; charset=utf-8", $"charging-history-{time.GetUtcNow():yyyy-MM-dd}.csv");
        });
        api.MapGet("/dashboard", (HistoryStore history, TimeProvider time) => Results.Ok(history.Dashboard(time.GetUtcNow())));
    }

    private static void MapConnectors(RouteGroupBuilder api)
    {
        api.MapGet("/connectors/{id:int}", (int id, ChargingStation station) =>
            id >= 1 && id <= station.Connectors.Count ? Results.Ok(station.Snapshot(id)) : ApiProblem.Of(StatusCodes.Status404NotFound, $"no connector {id}"));
        // simulated hardware inputs: the control pilot as a car drives it, the card reader, the authorization input
        api.MapPost("/connectors/{id:int}/vehicle", (int id, VehicleInput input, ChargingStation station) => WithConnector(station, id, () =>
        {
            station.SetVehicleState(id, input.State);
            return Results.Ok(station.Snapshot(id));
        }));
        api.MapPost("/connectors/{id:int}/rfid", async (int id, CardInput input, ChargingStation station) =>
        {
            if (id < 1 || id > station.Connectors.Count)
            {
                return ApiProblem.Of(StatusCodes.Status404NotFound, $"no connector {id}");
            }
            if (input.IdTag is not { Length: > 0 and <= 20 })
            {
                return ApiProblem.Invalid("idTag", "1 to 20 characters");
            }
            var decision = await station.PresentIdAsync(id, new IdToken(input.IdTag.Trim().ToUpperInvariant(), IdSource.Rfid));
            return Results.Ok(decision);
        });
        api.MapPost("/connectors/{id:int}/input-auth", async (int id, ChargingStation station) =>
            id < 1 || id > station.Connectors.Count ? ApiProblem.Of(StatusCodes.Status404NotFound, $"no connector {id}")
            : Results.Ok(await station.PresentIdAsync(id, new IdToken(WhitelistEntry.InputAuthTag, IdSource.InputAuth))));
        api.MapPost("/connectors/{id:int}/availability", (int id, AvailabilityInput input, ChargingStation station) => WithConnector(station, id, () =>
        {
            station.SetAvailability(id, input.Availability);
            return Results.Ok(station.Snapshot(id));
        }));
        api.MapPost("/connectors/{id:int}/stop", (int id, ChargingStation station) => WithConnector(station, id, () =>
            station.StopTransaction(id, StopReason.Local) ? Results.Ok(station.Snapshot(id)) : ApiProblem.Of(StatusCodes.Status409Conflict, "no transaction to stop")));
    }

    private static IResult WithConnector(ChargingStation station, int id, Func<IResult> action) =>
        id >= 1 && id <= station.Connectors.Count ? action() : ApiProblem.Of(StatusCodes.Status404NotFound, $"no connector {id}");
}
