using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Juice.Station.Tests.Modbus;

namespace Juice.Station.Tests.Ocpp;

/// <summary>
/// A real third-party OCPP 1.6J central system for the tests: tests/peers/csms.js, built on the npm package ocpp-rpc
/// in strict mode (every message in both directions is validated against the OCPP 1.6 JSON schemas). Its events
/// arrive as JSON lines on stdout; commands go to its stdin.
/// </summary>
internal sealed class Csms : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<JsonElement> _events = [];
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<int> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _ref;

    private Csms(string[] args)
    {
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(ThirdPartyModbusTests.RepositoryRoot(), "tests", "peers", "csms.js"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Line(e.Data);
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Port { get; private set; }

    /// <summary>The URL the station is given (the charge box identity is appended to it).</summary>
    public string Url => $"{(Tls ? "wss" : "ws")}://127.0.0.1:{Port}";

    public bool Tls { get; private init; }

    private void Line(string? line)
    {
        if (string.IsNullOrEmpty(line))
        {
            return;
        }
        JsonElement e;
        try
        {
            e = JsonDocument.Parse(line).RootElement.Clone();
        }
        catch (JsonException)
        {
            return;
        }
        lock (_events)
        {
            _events.Add(e);
        }
        if (e.GetProperty("event").GetString() == "listening")
        {
            _listening.TrySetResult(e.GetProperty("port").GetInt32());
        }
    }

    /// <summary>Starts the central system on <paramref name="port"/> (0: a free one).</summary>
    public static async Task<Csms> StartAsync(int port = 0, string? password = null, (string Cert, string Key)? tls = null, int firstTransaction = 1000)
    {
        var args = new List<string> { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--first-transaction", firstTransaction.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (password is not null)
        {
            args.AddRange(["--password", password]);
        }
        if (tls is { } t)
        {
            args.AddRange(["--tls", t.Cert, t.Key]);
        }
        var csms = new Csms([.. args]) { Tls = tls is not null };
        try
        {
            csms.Port = await csms._listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException("csms.js did not start: " + csms.Stderr);
        }
        return csms;
    }

    /// <summary>A loopback port that is free now (for a central system that starts later, or starts again).</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public IReadOnlyList<JsonElement> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>The calls the charge point made (and how they were answered), oldest first.</summary>
    public IReadOnlyList<JsonElement> Calls(string? action = null) =>
        [.. Events.Where(e => e.GetProperty("event").GetString() == "call" && (action is null || e.GetProperty("action").GetString() == action))];

    /// <summary>The raw messages the charge point sent.</summary>
    public IReadOnlyList<string> Received => [.. Events.Where(e => e.GetProperty("event").GetString() == "received").Select(e => e.GetProperty("message").GetString()!)];

    /// <summary>Every message that ocpp-rpc's strict validation refused, in either direction: must stay empty.</summary>
    public IReadOnlyList<JsonElement> Violations => [.. Events.Where(e => e.GetProperty("event").GetString() == "strictValidationFailure")];

    public int Connections => Events.Count(e => e.GetProperty("event").GetString() == "connected");

    public async Task<JsonElement> WaitFor(Func<JsonElement, bool> match, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (Events.FirstOrDefault(match) is { ValueKind: JsonValueKind.Object } e)
            {
                return e;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"timed out waiting for {what}; events:\n{string.Join('\n', Events.TakeLast(40).Select(x => x.GetRawText()))}\n{Stderr}");
    }

    /// <summary>Waits for the <paramref name="n"/>-th call (1-based) of <paramref name="action"/> that matches.</summary>
    public async Task<JsonElement> WaitForCall(string action, Func<JsonElement, bool>? match = null, int n = 1, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            var calls = Calls(action).Where(c => match is null || match(c.GetProperty("params"))).ToList();
            if (calls.Count >= n)
            {
                return calls[n - 1];
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"timed out waiting for {action} #{n}; events:\n{string.Join('\n', Events.TakeLast(40).Select(x => x.GetRawText()))}\n{Stderr}");
    }

    public Task WaitForConnection(int n = 1, int seconds = 30) =>
        WaitFor(_ => Connections >= n, $"connection #{n}", seconds);

    private async Task Send(object command)
    {
        await _process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(command));
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Changes how the central system answers (keys of csms.js: boot, interval, authorize, defaultAuthorize, startStatus, dataTransfer, delay).</summary>
    public Task Set(string key, object value) => Send(new { cmd = "set", key, value });

    /// <summary>A call of the central system to the charge point; its CALLRESULT payload, or an exception with the CALLERROR.</summary>
    public async Task<JsonElement> Call(string action, object parameters, int seconds = 30)
    {
        int r = Interlocked.Increment(ref _ref);
        await Send(new { cmd = "call", @ref = r, action, @params = parameters, timeoutMs = seconds * 1000 });
        var answer = await WaitFor(e => e.TryGetProperty("ref", out var x) && x.ValueKind == JsonValueKind.Number && x.GetInt32() == r
            && e.GetProperty("event").GetString() is "result" or "error", $"the answer to {action}", seconds + 5);
        if (answer.GetProperty("event").GetString() == "error")
        {
            throw new CallErrorException(answer.GetProperty("code").GetString()!, answer.GetProperty("message").GetString()!);
        }
        return answer.GetProperty("result");
    }

    /// <summary>An OCA Plug &amp; Charge call (DataTransfer) to the charge point; the answer with csms.js's OCPP 2.0.1 schema checks of request and response.</summary>
    public async Task<JsonElement> Pnc(string messageId, object payload, int seconds = 30)
    {
        int r = Interlocked.Increment(ref _ref);
        await Send(new { cmd = "pnc", @ref = r, messageId, payload });
        return await WaitFor(e => e.TryGetProperty("ref", out var x) && x.ValueKind == JsonValueKind.Number && x.GetInt32() == r
            && e.GetProperty("event").GetString() is "result" or "error", $"the answer to {messageId}", seconds + 5);
    }

    /// <summary>The OCPP 2.0.1 schema checks of the OCA payloads the charge point sent.</summary>
    public IReadOnlyList<JsonElement> PncValidations => [.. Events.Where(e => e.GetProperty("event").GetString() == "pncValidation")];

    /// <summary>Sends raw text, as a broken central system would.</summary>
    public async Task Raw(string data)
    {
        int r = Interlocked.Increment(ref _ref);
        await Send(new { cmd = "raw", @ref = r, data });
        await WaitFor(e => e.GetProperty("event").GetString() == "sent" && e.GetProperty("ref").GetInt32() == r, "the raw message to be sent");
    }

    /// <summary>Closes the charge point's connection (the central system stays up).</summary>
    public Task CloseConnection() => Send(new { cmd = "close" });

    /// <summary>Stops the central system at once (SIGKILL), like a backend that goes down.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    public sealed class CallErrorException(string code, string message) : Exception($"{code}: {message}")
    {
        public string Code { get; } = code;
    }
}
