using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace Juice.Station.Tests;

/// <summary>
/// The station as a separate process (dotnet Juice.Station.dll) on free loopback ports, as an operator runs it; the
/// ports are read from its log. It can be killed like a power cut (SIGKILL) and restarted on the same database.
/// </summary>
internal sealed partial class StationProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int ApiPort { get; private set; }
    public int SeccPort { get; private set; }
    public int ModbusPort { get; private set; }
    public int TlsPort { get; private set; }
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public HttpClient Http { get; private set; } = null!;

    private readonly List<(string Text, TaskCompletionSource Seen)> _waiting = [];

    /// <summary>Waits until a log line contains <paramref name="text"/> (at once if one does already); fails after <paramref name="timeout"/> (default 30 s).</summary>
    public async Task WaitForLog(string text, TimeSpan? timeout = null)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_log)
        {
            if (_log.ToString().Contains(text, StringComparison.Ordinal))
            {
                return;
            }
            _waiting.Add((text, seen));
        }
        try
        {
            await seen.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"the station did not log '{text}'; its log:\n{Log}");
        }
    }

    [GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ApiLine();

    [GeneratedRegex(@"SECC listening on \[(?:::1|::)\]:(\d+)")]
    private static partial Regex SeccLine();

    [GeneratedRegex(@"Modbus TCP server listening on 127\.0\.0\.1:(\d+) for connector 1")]
    private static partial Regex ModbusLine();

    [GeneratedRegex(@"SECC TLS server \(Plug & Charge\) listening on \[(?:::1|::)\]:(\d+)")]
    private static partial Regex TlsLine();

    private readonly string? _apiSocket;

    private StationProcess(string database, string[] args, string? netns = null, string? apiSocket = null)
    {
        _apiSocket = apiSocket;
        var psi = new ProcessStartInfo(netns is null ? "dotnet" : "ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        string[] prefix = netns is null ? [] : ["netns", "exec", netns, "dotnet"];
        foreach (var a in prefix.Concat([Path.Combine(AppContext.BaseDirectory, "Juice.Station.dll"), "--Database:Path=" + database, "--Secc:Port=0", "--Modbus:Port=0",
            "--Secc:TlsPort=0", "--Api:Urls=" + (apiSocket is null ? "http://127.0.0.1:0" : "http://unix:" + apiSocket), "--Api:InitialPassword=" + TestStation.Password]).Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Line(e.Data);
        _process.ErrorDataReceived += (_, e) => Line(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Line(string? line)
    {
        if (line is null)
        {
            return;
        }
        List<(string Text, TaskCompletionSource Seen)> seen;
        lock (_log)
        {
            _log.AppendLine(line);
            seen = [.. _waiting.Where(w => line.Contains(w.Text, StringComparison.Ordinal))];
            _waiting.RemoveAll(seen.Contains);
        }
        foreach (var w in seen)
        {
            w.Seen.TrySetResult();
        }
        if (ApiLine().Match(line) is { Success: true } a)
        {
            ApiPort = int.Parse(a.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        if (SeccLine().Match(line) is { Success: true } s)
        {
            SeccPort = int.Parse(s.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        if (ModbusLine().Match(line) is { Success: true } m)
        {
            ModbusPort = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        if (TlsLine().Match(line) is { Success: true } t)
        {
            TlsPort = int.Parse(t.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        if (_apiSocket is not null && line.Contains("Now listening on: http://unix:", StringComparison.Ordinal))
        {
            ApiPort = -1;
        }
        if (ApiPort != 0 && SeccPort != 0 && ModbusPort != 0)
        {
            _ready.TrySetResult();
        }
    }

    public static Task<StationProcess> StartAsync(string database, params string[] args) => StartAsync(new StationProcess(database, args));

    /// <summary>The station in network namespace <paramref name="netns"/>; its API on a Unix socket, which the test reaches from outside.</summary>
    public static Task<StationProcess> StartInNamespaceAsync(string netns, string database, string apiSocket, params string[] args) =>
        StartAsync(new StationProcess(database, args, netns, apiSocket));

    private static async Task<StationProcess> StartAsync(StationProcess p)
    {
        try
        {
            await p._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException("the station did not start:\n" + p.Log);
        }
        if (p._apiSocket is { } socket)
        {
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                    await s.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(socket), ct);
                    return new System.Net.Sockets.NetworkStream(s, ownsSocket: true);
                },
            };
            p.Http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost") };
        }
        else
        {
            p.Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{p.ApiPort}") };
        }
        p.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:" + TestStation.Password)));
        return p;
    }

    /// <summary>SIGKILL: no shutdown code runs, as with a power cut.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: the station shuts down in order, as at a service stop.</summary>
    public async Task StopAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (!_process.HasExited)
        {
            await KillAsync();
        }
        _process.Dispose();
    }

    /// <summary>Runs <c>juice ev</c> against this station's SECC; returns its exit code and output.</summary>
    public Task<(int Code, string Output)> Ev(params string[] args) =>
        Juice.Hlc.Tests.ChildProcess.JuiceAsync(["ev", "--host", "::1", "--port", SeccPort.ToString(CultureInfo.InvariantCulture), "--message-timeout", "15", .. args]);

    /// <summary>Starts <c>juice ev</c> without waiting for it.</summary>
    public Process StartEv(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "juice.dll"), "ev", "--host", "::1", "--port", SeccPort.ToString(CultureInfo.InvariantCulture),
            "--message-timeout", "15" }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }
}
