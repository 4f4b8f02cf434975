using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Juice.Tests;

/// <summary>
/// Network namespaces and veth links a test creates for itself (root is needed; CI runs as root), and the processes
/// it runs in them. Everything is removed on dispose, also when the test failed: processes killed, namespaces (and
/// with them their interfaces) deleted. Names carry the test process id and a counter, so parallel tests do not meet.
/// </summary>
public sealed class NetworkLab : IDisposable
{
    private static int _labs;
    private readonly string _id = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId % 10000}{Interlocked.Increment(ref _labs) % 100}");
    private readonly List<string> _namespaces = [];
    private readonly List<LabProcess> _processes = [];

    /// <summary>A namespace of this lab, created with its loopback up: <c>jt-ID-name</c>.</summary>
    public string Namespace(string name)
    {
        string ns = $"jt-{_id}-{name}";
        Ip("netns", "add", ns);
        _namespaces.Add(ns);
        Ip("-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>A veth pair from <paramref name="nsA"/>/<paramref name="ifA"/> to <paramref name="nsB"/>/<paramref name="ifB"/>, both ends up.</summary>
    /// <param name="macA">The MAC of end A (the host's NIC: an EV MAC the test knows), or random.</param>
    /// <param name="bridgeB">End B belongs to the emulator (a modem): no IPv6 of its own, so it sends nothing itself.</param>
    public void Link(string nsA, string ifA, string nsB, string ifB, string? macA = null, bool bridgeB = false)
    {
        Ip("link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB);
        if (macA is not null)
        {
            Ip("-n", nsA, "link", "set", ifA, "address", macA);
        }
        // link-local addresses usable at once: no duplicate address detection on a two-host link
        Run("ip", "netns", "exec", nsA, "sysctl", "-qw", $"net.ipv6.conf.{ifA}.accept_dad=0");
        Run("ip", "netns", "exec", nsB, "sysctl", "-qw", bridgeB ? $"net.ipv6.conf.{ifB}.disable_ipv6=1" : $"net.ipv6.conf.{ifB}.accept_dad=0");
        Ip("-n", nsA, "link", "set", ifA, "up");
        Ip("-n", nsB, "link", "set", ifB, "up");
        if (bridgeB)
        {
            // the emulator forwards frames as the host's NIC handed them over: with veth offloads they would carry
            // unfinished checksums and TCP segments beyond the MTU, which a real NIC finishes in hardware
            var (code, output) = Run("ip", "netns", "exec", nsA, "ethtool", "-K", ifA, "tx", "off", "tso", "off", "gso", "off");
            if (code != 0)
            {
                throw new InvalidOperationException($"ethtool -K {ifA}: {output}");
            }
        }
        // the offload change takes the link down and up again; a frame sent before the carrier is back is lost
        // (seen on a loaded machine: open-plc-utils' first CM_SET_KEY.REQ went nowhere), so wait for both ends
        WaitForCarrier(nsA, ifA);
        WaitForCarrier(nsB, ifB);
    }

    /// <summary>Waits (up to 20 s) until <paramref name="iface"/> in <paramref name="ns"/> has its carrier (LOWER_UP).</summary>
    public static void WaitForCarrier(string ns, string iface)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string output = "";
        while (DateTime.UtcNow < deadline)
        {
            (_, output) = Run("ip", "-n", ns, "link", "show", iface);
            if (output.Contains("LOWER_UP", StringComparison.Ordinal))
            {
                return;
            }
            Thread.Sleep(20);
        }
        throw new InvalidOperationException($"{iface} in {ns} has no carrier after 20 s: {output}");
    }

    public static void Ip(params string[] args)
    {
        var (code, output) = Run("ip", args);
        if (code != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {output}");
        }
    }

    public static (int Code, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd() + stderr.Result;
        p.WaitForExit();
        return (p.ExitCode, output);
    }

    /// <summary><c>dotnet juice.dll ARGS</c> in <paramref name="ns"/>, kept running (killed at dispose).</summary>
    public LabProcess StartJuice(string ns, params string[] args) => Start(ns, "dotnet", [Path.Combine(AppContext.BaseDirectory, "juice.dll"), .. args]);

    public LabProcess Start(string ns, string file, params string[] args)
    {
        var p = new LabProcess(["netns", "exec", ns, file, .. args]);
        lock (_processes)
        {
            _processes.Add(p);
        }
        return p;
    }

    /// <summary>Runs a program in <paramref name="ns"/> to its end (killed after <paramref name="timeout"/>): its exit code and output.</summary>
    public async Task<(int Code, string Output)> RunAsync(string ns, TimeSpan timeout, string file, params string[] args)
    {
        var p = Start(ns, file, args);
        return await p.WaitAsync(timeout);
    }

    public Task<(int Code, string Output)> RunJuiceAsync(string ns, TimeSpan timeout, params string[] args) =>
        RunAsync(ns, timeout, "dotnet", [Path.Combine(AppContext.BaseDirectory, "juice.dll"), .. args]);

    public void Dispose()
    {
        lock (_processes)
        {
            foreach (var p in _processes)
            {
                p.Dispose();
            }
        }
        foreach (var ns in _namespaces)
        {
            Run("ip", "netns", "del", ns);
        }
    }
}

/// <summary>A process of a <see cref="NetworkLab"/>: its output collected line by line, awaitable lines.</summary>
public sealed class LabProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _waits = [];

    public LabProcess(string[] ipArgs)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in ipArgs)
        {
            psi.ArgumentList.Add(a);
        }
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Line(e.Data);
        _process.ErrorDataReceived += (_, e) => Line(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Line(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var w in _waits.Where(w => line.Contains(w.Text, StringComparison.Ordinal)))
            {
                w.Seen.TrySetResult();
            }
        }
    }

    /// <summary>Until a line containing <paramref name="text"/> is printed (also one printed before).</summary>
    public async Task WaitForLineAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.ToString().Contains(text, StringComparison.Ordinal))
            {
                return;
            }
            _waits.Add((text, seen));
        }
        try
        {
            await seen.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no line with '{text}' within {timeout.TotalSeconds:0} s; output:\n{Output}");
        }
    }

    public async Task<(int Code, string Output)> WaitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Dispose();
            throw new TimeoutException($"still running after {timeout.TotalSeconds:0} s; output:\n{Output}");
        }
        _process.WaitForExit();   // the last lines of output
        return (_process.ExitCode, Output);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }
}
