using Juice.Station.Persistence;
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
/// The web interface's operator sessions: a random id in an HttpOnly cookie and an anti-forgery token, 12 hours.
/// Kept in the database (the id only as its SHA-256), so a restart — from the page or of the process — keeps the
/// operator logged in; a password change ends them all.
/// </summary>
public sealed class WebSessions(Persistence.StationDatabase database, TimeProvider time)
{
    public const string Cookie = "juice_session";
    public const string CsrfHeader = "X-CSRF-Token";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private static string Hash(string id) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id)));

    public (string Id, string Csrf, DateTimeOffset Expires) Open()
    {
        string id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        string csrf = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var now = time.GetUtcNow();
        var expires = now + Lifetime;
        database.Write(cmd =>
        {
            cmd.With("DELETE FROM web_session WHERE expires_utc < $now", ("$now", Persistence.Sql.Utc(now))).ExecuteNonQuery();
            cmd.With("INSERT INTO web_session (id_hash, csrf, expires_utc) VALUES ($id, $csrf, $expires)",
                ("$id", Hash(id)), ("$csrf", csrf), ("$expires", Persistence.Sql.Utc(expires))).ExecuteNonQuery();
        });
        return (id, csrf, expires);
    }

    /// <summary>The anti-forgery token of a live session, or null.</summary>
    public string? Csrf(string? id) => id is null ? null : database.Read(cmd =>
        cmd.With("SELECT csrf FROM web_session WHERE id_hash = $id AND expires_utc > $now", ("$id", Hash(id)), ("$now", Persistence.Sql.Utc(time.GetUtcNow())))
            .ExecuteScalar() as string);

    public void Close(string? id)
    {
        if (id is not null)
        {
            database.Write(cmd => cmd.With("DELETE FROM web_session WHERE id_hash = $id", ("$id", Hash(id))).ExecuteNonQuery());
        }
    }

    public void CloseAll() => database.Write(cmd => cmd.With("DELETE FROM web_session").ExecuteNonQuery());

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
/// One throttle for every way the operator's password can be tried — the web form (POST /api/session), POST
/// /api/login, HTTP Basic on /api/*, the current password of a password change — per client address, with a growing
/// delay instead of a lockout: the first <see cref="FreeTries"/> wrong passwords cost nothing; after that the tries
/// from that address are taken one at a time and each waits before it is checked (1 s, 2 s, 4 s … at most
/// <see cref="MaxDelay"/>), so a guesser is slowed to about one try a minute while the right password still gets in
/// after the wait. A success, or <see cref="Forget"/> without failures, starts afresh. Every failure is logged with its
/// source and way in. Time from the injected clock.
/// </summary>
public sealed partial class LoginThrottle(TimeProvider time, ILogger<LoginThrottle> logger)
{
    public const int FreeTries = 5;
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan Forget = TimeSpan.FromMinutes(15);
    private readonly ConcurrentDictionary<string, Client> _clients = new();

    private sealed class Client
    {
        public readonly SemaphoreSlim Turn = new(1, 1);
        public int Failures;
        public DateTimeOffset Last;
    }

    private static string Key(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "local socket";

    /// <summary>The wait before a try after <paramref name="failures"/> wrong passwords in a row (none for the free tries).</summary>
    public static TimeSpan Delay(int failures) =>
        failures < FreeTries ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(MaxDelay.TotalSeconds, Math.Pow(2, failures - FreeTries)));

    /// <summary>The wrong passwords in a row from this client (0 once forgotten).</summary>
    public int Failures(HttpContext context)
    {
        if (_clients.TryGetValue(Key(context), out var c))
        {
            lock (c)
            {
                if (time.GetUtcNow() - c.Last <= Forget)
                {
                    return c.Failures;
                }
                c.Failures = 0;
            }
        }
        return 0;
    }

    /// <summary>
    /// This client's turn to try a password: at once during the free tries; after them one try at a time, after the
    /// delay its failures have earned. Dispose the turn once the try is decided.
    /// </summary>
    public async Task<IDisposable> TurnAsync(HttpContext context, CancellationToken ct)
    {
        if (Failures(context) < FreeTries)
        {
            return NoTurn.Instance;
        }
        var c = _clients.GetOrAdd(Key(context), _ => new Client());
        await c.Turn.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await Task.Delay(Delay(Failures(context)), time, ct).ConfigureAwait(false);
        }
        catch
        {
            c.Turn.Release();
            throw;
        }
        return new Release(c.Turn);
    }

    /// <summary>A wrong password by <paramref name="way"/>: logged; returns the tries left before each try waits.</summary>
    public int Failed(HttpContext context, string way)
    {
        var c = _clients.GetOrAdd(Key(context), _ => new Client());
        int failures;
        lock (c)
        {
            var now = time.GetUtcNow();
            c.Failures = now - c.Last > Forget ? 1 : c.Failures + 1;
            c.Last = now;
            failures = c.Failures;
        }
        Log.WrongPassword(logger, way, Key(context), failures, Delay(failures).TotalSeconds);
        return Math.Max(0, FreeTries - failures);
    }

    public void Succeeded(HttpContext context)
    {
        if (_clients.TryGetValue(Key(context), out var c))
        {
            lock (c)
            {
                c.Failures = 0;
            }
        }
    }

    /// <summary>The answer to a wrong password: 401 (or <paramref name="status"/>) with the tries left before each try waits.</summary>
    public static IResult Wrong(int triesLeft, string error = "wrong password", int status = StatusCodes.Status401Unauthorized) =>
        ApiProblem.Of(status, error, new { triesLeft });

    private sealed class NoTurn : IDisposable
    {
        public static readonly NoTurn Instance = new();

        public void Dispose()
        {
        }
    }

    private sealed class Release(SemaphoreSlim turn) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                turn.Release();
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Wrong operator password ({Way}) from {Remote}: failure {Failures} in a row, the next try from there waits {Delay} s")]
        public static partial void WrongPassword(ILogger logger, string way, string remote, int failures, double delay);
    }
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
        api.MapPost("/session", async (LoginRequest request, HttpContext context, OperatorAuthenticator auth, WebSessions sessions, LoginThrottle throttle, ILoggerFactory loggers) =>
        {
            var logger = loggers.CreateLogger("Juice.Station.WebUi");
            using var turn = await throttle.TurnAsync(context, context.RequestAborted);
            if (string.IsNullOrEmpty(request.Password) || !auth.CheckPassword(request.Password))
            {
                return LoginThrottle.Wrong(throttle.Failed(context, "web login"));
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
            sessions.Csrf(context.Request.Cookies[WebSessions.Cookie]) is { } csrf ? Results.Ok(new { csrf }) : ApiProblem.Of(StatusCodes.Status401Unauthorized, "not logged in"));
        api.MapDelete("/session", (HttpContext context, WebSessions sessions) =>
        {
            sessions.Close(context.Request.Cookies[WebSessions.Cookie]);
            context.Response.Cookies.Delete(WebSessions.Cookie, new CookieOptions { Path = "/", SameSite = SameSiteMode.Strict, HttpOnly = true });
            return Results.NoContent();
        });

        api.MapGet("/system", (ChargingStation station, Persistence.StationDatabase database, StationStarted started, TimeProvider time,
            Microsoft.Extensions.Options.IOptions<Modbus.ModbusOptions> modbus) => Results.Ok(new
        {
            version = typeof(WebUi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
            runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            started = started.At,
            uptimeSeconds = Math.Round((time.GetUtcNow() - started.At).TotalSeconds),
            database = database.Path,
            connectors = station.Connectors.Count,
            modbusConfiguredPort = modbus.Value.Port,
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
}

/// <summary>When this run of the station started (the host's start; a restart from the page starts a new run).</summary>
public sealed record StationStarted(DateTimeOffset At);
