using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Juice.Station.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Api;

/// <summary>
/// Browser sessions of the operator web interface: an HttpOnly, SameSite=Strict cookie holding a random session id,
/// and per session an anti-forgery token the page sends in <c>X-CSRF-Token</c> with every change (a cookie alone
/// never changes anything). Sessions end at logout, after 12 hours, and when the password changes.
/// </summary>
public sealed class WebSessions(TimeProvider time)
{
    public const string Cookie = "juice_session";
    public const string CsrfHeader = "X-CSRF-Token";
    private static WebSessions? _process;
    private readonly ConcurrentDictionary<string, (DateTimeOffset Expires, string Csrf)> _sessions = new();

    /// <summary>The sessions of this process: a restart of the host (the web interface's Restart) keeps the operator logged in.</summary>
    public static WebSessions ForProcess(TimeProvider time) => _process ??= new WebSessions(time);

    public (string Id, string Csrf, DateTimeOffset Expires) Open()
    {
        string id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        string csrf = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var expires = time.GetUtcNow().AddHours(12);
        _sessions[id] = (expires, csrf);
        return (id, csrf, expires);
    }

    /// <summary>The anti-forgery token of a live session, or null.</summary>
    public string? Csrf(string? id) => id is not null && _sessions.TryGetValue(id, out var s) && s.Expires > time.GetUtcNow() ? s.Csrf : null;

    public void Close(string? id)
    {
        if (id is not null)
        {
            _sessions.TryRemove(id, out _);
        }
    }

    public void CloseAll() => _sessions.Clear();

    /// <summary>
    /// A request with the session cookie: null when it may pass (a read, or a change carrying the session's
    /// anti-forgery token), otherwise the reason it is refused; false when there is no live session cookie.
    /// </summary>
    public (bool Session, string? Refusal) Check(HttpRequest request)
    {
        if (Csrf(request.Cookies[Cookie]) is not { } csrf)
        {
            return (false, null);
        }
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        {
            return (true, null);
        }
        string? sent = request.Headers[CsrfHeader];
        return sent is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(sent), Encoding.ASCII.GetBytes(csrf))
            ? (true, null)
            : (true, "anti-forgery token missing or wrong (X-CSRF-Token)");
    }
}

/// <summary>
/// Login rate limiting per client address: after <see cref="MaxFailures"/> wrong passwords within the window, further
/// attempts are refused (429 with Retry-After) until the window has passed, whatever password they carry.
/// </summary>
public sealed class LoginThrottle(TimeProvider time)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset Since)> _failures = new();

    private static string Key(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unix";

    /// <summary>How long this client must wait before it may try again, or null.</summary>
    public TimeSpan? Blocked(HttpContext context)
    {
        if (_failures.TryGetValue(Key(context), out var f) && f.Failures >= MaxFailures)
        {
            var left = f.Since + Window - time.GetUtcNow();
            if (left > TimeSpan.Zero)
            {
                return left;
            }
            _failures.TryRemove(Key(context), out _);
        }
        return null;
    }

    public void Failed(HttpContext context) => _failures.AddOrUpdate(Key(context), _ => (1, time.GetUtcNow()),
        (_, f) => time.GetUtcNow() - f.Since > Window ? (1, time.GetUtcNow()) : (f.Failures + 1, f.Since));

    public void Succeeded(HttpContext context) => _failures.TryRemove(Key(context), out _);
}

/// <summary>The station's recent log lines in memory (they survive a restart of the host), for the log download.</summary>
public sealed class MemoryLog : ILoggerProvider
{
    public static readonly MemoryLog Shared = new();
    private const int Capacity = 20_000;
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        while (_lines.Count > Capacity && _lines.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(MemoryLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            string text = formatter(state, exception) + (exception is null ? "" : " " + exception.GetType().Name + ": " + exception.Message);
            log.Add(FormattableString.Invariant($"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss.fff}Z {logLevel,-11} {category}: {text.ReplaceLineEndings(" | ")}"));
        }
    }
}

/// <summary>"Restart" of the web interface: the host stops and Program.cs builds and runs it again.</summary>
public static class StationRestart
{
    private static int _requested;

    public static void Request(IHostApplicationLifetime lifetime)
    {
        Interlocked.Exchange(ref _requested, 1);
        lifetime.StopApplication();
    }

    /// <summary>True once after a restart was asked for.</summary>
    public static bool Consume() => Interlocked.Exchange(ref _requested, 0) == 1;
}

/// <summary>The power and energy of each connector's running and last transaction, one sample a second, for the dashboard chart.</summary>
internal sealed class SessionCharts(ChargingStation station, TimeProvider time) : BackgroundService
{
    public sealed record Sample(DateTimeOffset At, double PowerW, double EnergyWh);

    public sealed record Chart(long? TransactionId, IReadOnlyList<Sample> Running, long? LastTransactionId, IReadOnlyList<Sample> Last);

    private readonly Dictionary<int, (long? Id, List<Sample> Running, long? LastId, List<Sample> Last)> _charts = [];

    /// <summary>At most this many samples per series go to the page (polled every 2 s): a long session is thinned evenly.</summary>
    private const int MaxPoints = 600;

    public Chart Of(int connector)
    {
        lock (_charts)
        {
            return _charts.TryGetValue(connector, out var c) ? new Chart(c.Id, Thin(c.Running), c.LastId, Thin(c.Last)) : new Chart(null, [], null, []);
        }
    }

    internal static Sample[] Thin(List<Sample> samples) =>
        samples.Count <= MaxPoints
            ? [.. samples]
            : [.. Enumerable.Range(0, MaxPoints).Select(i => samples[(int)((long)i * (samples.Count - 1) / (MaxPoints - 1))])];   // first and last kept

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var s in station.Connectors.Select(c => station.Snapshot(c.Id)).ToList())
                {
                    Record(s);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Record(ConnectorSnapshot s)
    {
        lock (_charts)
        {
            var c = _charts.TryGetValue(s.Id, out var existing) ? existing : (null, [], null, []);
            long? id = s.Transaction?.Id;
            if (c.Id is { } running && id != running)
            {
                c = (null, [], running, c.Running);   // the transaction ended: it becomes the last one
            }
            if (id is not null)
            {
                if (c.Id is null)
                {
                    c = (id, [], c.LastId, c.Last);
                }
                if (c.Running.Count < 24 * 3600)
                {
                    c.Running.Add(new Sample(s.At, Math.Round(s.Meter.TotalPowerW), Math.Round(s.SessionEnergyWh, 1)));
                }
            }
            _charts[s.Id] = c;
        }
    }
}

/// <summary>The web interface's routes and the security around the whole HTTP surface.</summary>
public static class WebUi
{
    /// <summary>Security headers on every response; the pages are static files of wwwroot.</summary>
    public static WebApplication UseWebUi(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var h = context.Response.Headers;
            h["Content-Security-Policy"] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";
            h["X-Content-Type-Options"] = "nosniff";
            h["X-Frame-Options"] = "DENY";
            h["Referrer-Policy"] = "no-referrer";
            h["Cross-Origin-Opener-Policy"] = "same-origin";
            h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
            if (context.Request.Path.StartsWithSegments("/api"))
            {
                h.CacheControl = "no-store";
            }
            await next();
        });
        app.UseDefaultFiles();
        app.UseStaticFiles();
        return app;
    }

    public static void MapWebRoutes(RouteGroupBuilder api)
    {
        api.MapPost("/session", (LoginRequest request, HttpContext context, OperatorAuthenticator auth, WebSessions sessions, LoginThrottle throttle, ILoggerFactory loggers) =>
        {
            var logger = loggers.CreateLogger("Juice.Station.WebUi");
            if (throttle.Blocked(context) is { } wait)
            {
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Results.Json(new { error = $"too many wrong passwords: try again in {Math.Ceiling(wait.TotalMinutes):0} min" }, statusCode: StatusCodes.Status429TooManyRequests);
            }
            if (string.IsNullOrEmpty(request.Password) || !auth.CheckPassword(request.Password))
            {
                throttle.Failed(context);
                logger.LogWarning("Web login refused from {Remote}: wrong password", context.Connection.RemoteIpAddress?.ToString() ?? "local socket");
                return Results.Json(new { error = "wrong password" }, statusCode: StatusCodes.Status401Unauthorized);
            }
            throttle.Succeeded(context);
            var (id, csrf, expires) = sessions.Open();
            context.Response.Cookies.Append(WebSessions.Cookie, id, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Path = "/",
                Expires = expires,
                IsEssential = true,
            });
            logger.LogInformation("Web login of the operator from {Remote}", context.Connection.RemoteIpAddress?.ToString() ?? "local socket");
            return Results.Ok(new { csrf, expires });
        });
        api.MapGet("/session", (HttpContext context, WebSessions sessions) =>
            sessions.Csrf(context.Request.Cookies[WebSessions.Cookie]) is { } csrf ? Results.Ok(new { csrf }) : Results.Json(new { error = "not logged in" }, statusCode: 401));
        api.MapDelete("/session", (HttpContext context, WebSessions sessions) =>
        {
            sessions.Close(context.Request.Cookies[WebSessions.Cookie]);
            context.Response.Cookies.Delete(WebSessions.Cookie, new CookieOptions { Path = "/", SameSite = SameSiteMode.Strict, HttpOnly = true });
            return Results.NoContent();
        });

        api.MapGet("/system", (ChargingStation station, Persistence.StationDatabase database) => Results.Ok(new
        {
            version = typeof(WebUi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
            runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            started = Started,
            uptimeSeconds = Math.Round((DateTimeOffset.UtcNow - Started).TotalSeconds),
            database = database.Path,
            connectors = station.Connectors.Count,
        }));
        api.MapPost("/system/restart", (IHostApplicationLifetime lifetime, ILoggerFactory loggers) =>
        {
            loggers.CreateLogger("Juice.Station.WebUi").LogWarning("Restart asked for by the operator");
            StationRestart.Request(lifetime);
            return Results.Accepted();
        });
        api.MapGet("/system/log", () => Results.File(Encoding.UTF8.GetBytes(string.Join('\n', MemoryLog.Shared.Lines) + "\n"), "text/plain; charset=utf-8",
            FormattableString.Invariant($"juice-station-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}.log")));
        api.MapGet("/connectors/{id:int}/chart", (int id, SessionCharts charts) => Results.Ok(charts.Of(id)));
    }

    private static readonly DateTimeOffset Started = DateTimeOffset.UtcNow;
}
