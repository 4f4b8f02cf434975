using System.Diagnostics;

namespace Juice.Hlc.Tests;

/// <summary>Runs a program (juice, tshark, curl, ...) to its end: its exit code and its whole output (stdout, then stderr).</summary>
internal static class ChildProcess
{
    /// <summary>The juice tool built beside the tests.</summary>
    public static readonly string Juice = Path.Combine(AppContext.BaseDirectory, "juice.dll");

    public static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromMinutes(3));
        return (p.ExitCode, await stdout + await stderr);
    }

    /// <summary><c>dotnet juice.dll ARGS</c>.</summary>
    public static Task<(int Code, string Output)> JuiceAsync(params string[] args) => RunAsync("dotnet", [Juice, .. args]);
}

/// <summary>Processes a test starts and leaves running (a SECC, a replay); killed with their children when the test ends.</summary>
internal sealed class Background : IDisposable
{
    private readonly List<Process> _processes = [];

    public Process Start(ProcessStartInfo psi)
    {
        var process = Process.Start(psi)!;
        lock (_processes)
        {
            _processes.Add(process);
        }
        return process;
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
            }
            p.Dispose();
        }
    }
}
