using System.Diagnostics;

namespace Juice.Station.Tests;

/// <summary>
/// The station and the EV simulator as separate processes in two network namespaces joined by a veth pair, as a
/// real car and charger are joined by the PLC link: the EV finds the SECC by SDP multicast on its interface
/// (link-local IPv6 with scope), connects over TCP and charges. Needs root (CI runs as root).
/// </summary>
public sealed class NamespaceEndToEndTests : IDisposable
{
    private readonly string _id = (Environment.ProcessId % 100000).ToString(System.Globalization.CultureInfo.InvariantCulture);
    private readonly string _data = Directory.CreateTempSubdirectory("juice-ns-").FullName;
    private string SeccNs => "jt-secc-" + _id;
    private string EvNs => "jt-ev-" + _id;
    private string SeccIf => "vs" + _id;
    private string EvIf => "ve" + _id;

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }

    private static void Ip(params string[] args)
    {
        var (code, output) = Run("ip", args);
        Assert.True(code == 0, $"ip {string.Join(' ', args)}: {output}");
    }

    private void SetUpLink()
    {
        Ip("netns", "add", SeccNs);
        Ip("netns", "add", EvNs);
        Ip("link", "add", SeccIf, "type", "veth", "peer", "name", EvIf);
        Ip("link", "set", SeccIf, "netns", SeccNs);
        Ip("link", "set", EvIf, "netns", EvNs);
        foreach (var (ns, dev) in new[] { (SeccNs, SeccIf), (EvNs, EvIf) })
        {
            // link-local addresses usable at once: no duplicate address detection on a two-host link
            Ip("netns", "exec", ns, "sysctl", "-qw", $"net.ipv6.conf.{dev}.accept_dad=0");
            Ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
            Ip("netns", "exec", ns, "ip", "link", "set", dev, "up");
        }
    }

    [Fact]
    public async Task An_EV_finds_the_station_by_SDP_over_a_link_and_charges_with_DIN_and_ISO_15118_2()
    {
        SetUpLink();
        // the station authorizes by free charging (written to its database before it starts)
        using (var db = new Persistence.StationDatabase(Microsoft.Extensions.Options.Options.Create(new Persistence.DatabaseOptions { Path = Path.Combine(_data, "juice.db") })))
        {
            db.Migrate();
            new Persistence.SettingsStore(db).Update(s => s with { FreeCharging = true });
        }
        string bin = AppContext.BaseDirectory;
        var station = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", SeccNs, "dotnet", Path.Combine(bin, "Juice.Station.dll"),
            "--Secc:Address=::", "--Secc:Port=0", "--Secc:Interface=" + SeccIf, "--Database:Path=" + Path.Combine(_data, "juice.db"), "--Modbus:Port=0", "--Api:Urls=http://127.0.0.1:0" })
        {
            station.ArgumentList.Add(a);
        }
        using var host = Process.Start(station)!;
        try
        {
            var listening = new TaskCompletionSource();
            host.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.Contains("SECC listening", StringComparison.Ordinal) == true)
                {
                    listening.TrySetResult();
                }
            };
            host.BeginOutputReadLine();
            await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));

            foreach (var protocol in new[] { "din", "iso2" })
            {
                var (code, output) = await Task.Run(() => Run("ip", "netns", "exec", EvNs, "dotnet", Path.Combine(bin, "juice.dll"), "ev",
                    "--interface", EvIf, "--protocol", protocol, "--energy", "dc", "--duration", "0.5", "--interval-ms", "50", "--message-timeout", "15"));
                Assert.True(code == 0, output);
                Assert.Contains("SDP: SECC at [fe80::", output);
                Assert.Contains("session ended normally", output);
                Assert.Contains(protocol == "din" ? "(Din70121)" : "(Iso15118_2)", output);
            }
        }
        finally
        {
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync();
        }
    }

    public void Dispose()
    {
        Run("ip", "netns", "del", SeccNs);
        Run("ip", "netns", "del", EvNs);
        Directory.Delete(_data, recursive: true);
    }
}
