using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Juice.Station.Energy.Dlm;
using Juice.Station.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Juice.Hlc.Benchmarks;

/// <summary>
/// `--dlm-load [N]`: a real station process's DLM master (MasterStandalone, 10,000 A per phase) and N simulated
/// slaves of one 3-phase EV (80 A) each over UDP on loopback. Each slave reports every 2 s and, like the station's
/// slave, at once after applying an assignment. Measured: from an event (the N-th EV arrives: everyone lowers
/// 40.1 → 40.0 A and the newcomer is raised once the lowering is confirmed; an EV leaves: the others rise again)
/// to every slave holding its new assignment; and the master process's CPU per second at rest (N slaves reporting).
/// </summary>
public static class DlmLoad
{
    private sealed class Slave
    {
        public required UdpClient Udp { get; init; }
        public required string Id { get; init; }
        public bool Ev { get; set; }
        public double Assigned { get; set; } = -1;
        public long Seq { get; set; }
    }

    public static async Task<int> Run(string[] args)
    {
        int n = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 250;
        string dir = Directory.CreateTempSubdirectory("juice-dlm-load-").FullName;
        var app = Juice.Station.StationApp.Build([
            "--Database:Path=" + Path.Combine(dir, "juice.db"), "--Secc:Port=0", "--Secc:TlsPort=0", "--Modbus:Enabled=false", "--Api:Urls=http://127.0.0.1:0",
            "--Api:InitialPassword=dlm-load-1", "--Logging:LogLevel:Default=Warning", "--Dlm:MasterPort=0", "--Dlm:DiscoveryAddress=127.255.255.255", "--Dlm:Port=0",
            "--Dlm:StationId=master"], null);
        await app.StartAsync();
        app.Services.GetRequiredService<SettingsStore>().Update(s => s with
        {
            DlmMode = DlmMode.MasterStandalone, DlmNetworkId = 7, DlmDisableDiscoveryBroadcasting = true, DlmSampleRateSeconds = 30,
            DlmSubDistributionL1 = 10_000, DlmSubDistributionL2 = 10_000, DlmSubDistributionL3 = 10_000,
            DlmOperatorSubDistributionL1 = 10_000, DlmOperatorSubDistributionL2 = 10_000, DlmOperatorSubDistributionL3 = 10_000,
        });
        var dlm = app.Services.GetRequiredService<DlmService>();
        while (dlm.MasterEndPoint is null)
        {
            await Task.Delay(50);
        }
        var master = new IPEndPoint(IPAddress.Loopback, dlm.MasterEndPoint.Port);
        var slaves = Enumerable.Range(0, n).Select(i => new Slave { Udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)), Id = "slave-" + i, Ev = i < n - 1 }).ToList();
        using var stop = new CancellationTokenSource();
        var changed = new SemaphoreSlim(0);

        static double Applied(Slave s) => s.Ev ? Math.Max(0, s.Assigned) : 0;   // a station signals nothing without its EV

        async Task Report(Slave s)
        {
            var d = new DlmDatagram
            {
                T = "report", Net = 7, From = s.Id, Seq = ++s.Seq, Rotation = "L1L2L3",
                Connectors = [new DlmConnectorReport(1, s.Ev, 3, 80, Applied(s), [Applied(s), Applied(s), Applied(s)])],
            };
            await s.Udp.SendAsync(d.Encode(), master, stop.Token);
        }

        async Task Listen(Slave s)
        {
            while (!stop.IsCancellationRequested)
            {
                var r = await s.Udp.ReceiveAsync(stop.Token);
                var d = DlmDatagram.Decode(r.Buffer, out _);
                double amps = d?.Assignments?.FirstOrDefault()?.Amps ?? -1;
                if (amps >= 0 && amps != s.Assigned)
                {
                    s.Assigned = amps;
                    await Report(s);   // confirm what is applied now
                    changed.Release();
                }
            }
        }

        async Task Periodic()
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var s in slaves)
                {
                    await Report(s);
                }
                await Task.Delay(2000, stop.Token);
            }
        }

        var tasks = slaves.Select(Listen).Append(Periodic()).ToList();
        async Task<TimeSpan> Until(Func<bool> done)
        {
            var watch = Stopwatch.StartNew();
            while (!done())
            {
                await changed.WaitAsync(TimeSpan.FromMilliseconds(100));
                if (watch.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new TimeoutException("no convergence within 60 s");
                }
            }
            return watch.Elapsed;
        }

        await Until(() => slaves.Take(n - 1).All(s => s.Assigned == Math.Floor(10_000.0 / (n - 1) * 10) / 10));
        var rest = Process.GetCurrentProcess().TotalProcessorTime;
        var restWatch = Stopwatch.StartNew();
        await Task.Delay(10_000);
        double cpuAtRest = (Process.GetCurrentProcess().TotalProcessorTime - rest).TotalMilliseconds / restWatch.Elapsed.TotalSeconds;

        double share = Math.Floor(10_000.0 / n * 10) / 10, before = Math.Floor(10_000.0 / (n - 1) * 10) / 10;
        var joins = new List<double>();
        var leaves = new List<double>();
        for (int round = 0; round < 10; round++)
        {
            var last = slaves[^1];
            last.Ev = true;
            var watch = Stopwatch.StartNew();
            await Report(last);
            await Until(() => slaves.All(s => s.Assigned == share));
            joins.Add(watch.Elapsed.TotalMilliseconds);
            last.Ev = false;
            watch.Restart();
            await Report(last);
            await Until(() => slaves.Take(n - 1).All(s => s.Assigned == before) && last.Assigned == 0);
            leaves.Add(watch.Elapsed.TotalMilliseconds);
        }
        await stop.CancelAsync();
        await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        await app.StopAsync();
        await app.DisposeAsync();
        Directory.Delete(dir, recursive: true);
        static string Stats(List<double> x) { x.Sort(); return string.Create(CultureInfo.InvariantCulture, $"median {x[x.Count / 2]:0.0} ms, max {x[^1]:0.0} ms"); }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"DLM load: 1 master, {n} slaves (one 3-phase EV each), 10 rounds"));
        Console.WriteLine($"  EV arrives (everyone lowered {before} -> {share} A, then the newcomer raised to {share} A): {Stats(joins)}");
        Console.WriteLine($"  EV leaves (the others raised to {before} A): {Stats(leaves)}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  CPU at rest (master and the simulated slaves, one process): {cpuAtRest:0} ms per second"));
        return 0;
    }
}
