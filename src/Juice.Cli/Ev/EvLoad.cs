using System.Diagnostics;
using System.Globalization;
using System.Net;
using Juice.Hlc.Evcc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;

namespace Juice.Cli.Ev;

/// <summary>
/// Load mode of <c>juice ev</c>: N simulated EVs, C at a time, against one SECC. Reports sessions per second, the
/// round trip of every request type (p50, p99, max) and memory per connected session, of this process and, given
/// its process id, of the SECC.
/// </summary>
internal static class EvLoad
{
    public static async Task<int> RunAsync(EvOptions options, EvTarget target, int sessions, int concurrency, TimeSpan rampUp, int? seccPid, bool threadPerEv, TextWriter output, CancellationToken stop, bool paced = false)
    {
        // with --tls every EV does its own handshake (TLS 1.2 for -2/DIN, 1.3 for -20), as a car would
        var streams = target.StreamFactory(null, TextWriter.Null);
        if (await target.ResolveAsync(null, output, stop) is not { } endpoint)
        {
            return 2;
        }
        var random = new Random(options.Seed ?? Environment.TickCount);
        var trips = new RoundTrips();

        // One short session first, outside the count, so that both processes have their code loaded before the baseline.
        try
        {
            await RunOneAsync(endpoint, streams, options with { Duration = TimeSpan.FromMilliseconds(200), Pause = false }, null, stop);
        }
        catch (Exception e) when (e is EvSessionException or IOException or System.Net.Sockets.SocketException or Juice.Hlc.V2gtp.V2gtpException)
        {
            output.WriteLine($"load: the warm-up session failed: {e.Message}");
            return 1;
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long evBase = GC.GetTotalMemory(forceFullCollection: true);
        long? seccBase = seccPid is { } pid0 ? Rss(pid0) : null;

        int started = 0, active = 0, completed = 0, failed = 0;
        string? firstFailure = null;
        var peak = new MemoryPeak();
        var clock = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(concurrency);
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var sampler = Task.Run(async () =>
        {
            try
            {
                for (int tick = 0; !sampling.IsCancellationRequested; tick++)
                {
                    await Task.Delay(100, sampling.Token);
                    // memory at the most sessions seen connected at once (all of them, unless a slow machine never gets there)
                    int now = Volatile.Read(ref active);
                    if (now > 0 && now >= peak.Sessions)
                    {
                        peak.Sample(now, GC.GetTotalMemory(false), seccPid is { } pid ? Rss(pid) : null);
                    }
                    if (tick % 5 != 4)
                    {
                        continue;
                    }
                    output.Write(string.Create(CultureInfo.InvariantCulture,
                        $"\rload: {Volatile.Read(ref started)} started, {now} active, {Volatile.Read(ref completed)} completed, {Volatile.Read(ref failed)} failed   "));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        // Either every simulated EV is an async task on the shared thread pool (cheap), or each has a thread of its
        // own with blocking I/O and waits (EVs do not share an event loop, as real EVs do not).
        var threads = new List<Thread>(sessions);
        var runs = new List<Task>(sessions);
        var blocking = threadPerEv ? options with { Delay = BlockingDelay } : options;
        for (int i = 0; i < sessions && !stop.IsCancellationRequested; i++)
        {
            await gate.WaitAsync(stop);
            int index = i;
            if (index < concurrency && rampUp > TimeSpan.Zero)
            {
                await Task.Delay(rampUp / concurrency, stop);
            }
            Interlocked.Increment(ref started);
            var ev = blocking with
            {
                Evccid = EvccidOf(options.Evccid, index),
                LoopPhase = paced ? options.LoopInterval * (index % concurrency) / concurrency : null,
                StartSoc = Math.Clamp(options.StartSoc + random.Next(-5, 6), 0, Math.Max(0, options.TargetSoc - 1)),
            };
            async Task Run()
            {
                Interlocked.Increment(ref active);
                try
                {
                    if (threadPerEv)
                    {
                        RunOne(endpoint, streams, ev, trips, stop);
                    }
                    else
                    {
                        await RunOneAsync(endpoint, streams, ev, trips, stop);
                    }
                    Interlocked.Increment(ref completed);
                }
                catch (Exception e) when (e is EvSessionException or IOException or System.Net.Sockets.SocketException or Juice.Hlc.V2gtp.V2gtpException or OperationCanceledException)
                {
                    Interlocked.Increment(ref failed);
                    Interlocked.CompareExchange(ref firstFailure, e.Message, null);
                }
                finally
                {
                    Interlocked.Decrement(ref active);
                    gate.Release();
                }
            }
            if (threadPerEv)
            {
                var thread = new Thread(() => Run().GetAwaiter().GetResult(), 256 * 1024) { IsBackground = true, Name = $"ev-{index}" };
                thread.Start();
                threads.Add(thread);
            }
            else
            {
                runs.Add(Task.Run(Run, CancellationToken.None));
            }
        }
        foreach (var thread in threads)
        {
            await Task.Run(thread.Join, CancellationToken.None);
        }
        await Task.WhenAll(runs);
        clock.Stop();
        await sampling.CancelAsync();
        await sampler;

        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"load: {sessions} sessions, {concurrency} concurrent, {completed} completed, {failed} failed in {clock.Elapsed.TotalSeconds:0.0} s: {completed / clock.Elapsed.TotalSeconds:0.00} sessions/s"));
        if (firstFailure is not null)
        {
            output.WriteLine($"first failure: {firstFailure}");
        }
        output.WriteLine("round trip (ms)              count      p50      p99      max");
        foreach (var (kind, count, p50, p99, max) in trips.Summary())
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{kind,-26} {count,8} {p50,8:0.000} {p99,8:0.000} {max,8:0.000}"));
        }
        if (peak.Sessions > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"memory at {peak.Sessions} connected sessions: EV process {(peak.EvBytes - evBase) / 1024.0 / peak.Sessions:0.0} KB per session (managed heap)"));
            if (seccBase is { } b && peak.SeccRss is { } rss)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"memory at {peak.Sessions} connected sessions: SECC (pid {seccPid}) {(rss - b) / 1024.0 / peak.Sessions:0.0} KB per session (RSS {b / 1048576.0:0.0} MB -> {rss / 1048576.0:0.0} MB)"));
            }
        }
        return failed == 0 && completed == sessions ? 0 : 1;
    }

    private static Task BlockingDelay(TimeSpan delay, CancellationToken stop)
    {
        stop.WaitHandle.WaitOne(delay);
        stop.ThrowIfCancellationRequested();
        return Task.CompletedTask;
    }

    /// <summary>One EV session on the calling thread: every read, write and wait blocks it, nothing is scheduled elsewhere.</summary>
    /// <param name="streams">The connection's stream (TLS where asked for); null: plain TCP.</param>
    private static void RunOne(IPEndPoint endpoint, Func<Stream, CancellationToken, ValueTask<Stream>>? streams, EvOptions options, IEvRoundTrips? trips, CancellationToken stop)
    {
        var socket = new System.Net.Sockets.Socket(endpoint.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(endpoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        Stream stream = new BlockingSocketStream(socket);
        if (streams is { } tls)
        {
            stream = tls(stream, stop).AsTask().GetAwaiter().GetResult();   // this EV's own thread: blocking is its mode
        }
        var connection = new Juice.Hlc.V2gtp.V2gtpConnection(stream);
        try
        {
            var result = new EvClient(options, roundTrips: trips).RunAsync(connection, null, stop).GetAwaiter().GetResult();
            if (!result.Completed)
            {
                throw new EvSessionException(result.Reason);
            }
        }
        finally
        {
            connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static async Task RunOneAsync(IPEndPoint endpoint, Func<Stream, CancellationToken, ValueTask<Stream>>? streams, EvOptions options, IEvRoundTrips? trips,
        CancellationToken stop)
    {
        await using var connection = await V2gTcpClient.ConnectAsync(endpoint, streamFactory: streams, ct: stop);
        var result = await new EvClient(options, roundTrips: trips).RunAsync(connection, null, stop);
        if (!result.Completed)
        {
            throw new EvSessionException(result.Reason);
        }
    }

    /// <summary>A distinct EVCCID per simulated EV: the last two bytes of the given one plus the index.</summary>
    private static byte[] EvccidOf(byte[] template, int index)
    {
        byte[] id = (byte[])template.Clone();
        int low = ((id[^2] << 8) | id[^1]) + index;
        id[^2] = (byte)(low >> 8);
        id[^1] = (byte)low;
        return id;
    }

    /// <summary>Resident set size of a process in bytes (Linux), or null.</summary>
    private static long? Rss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    private sealed class MemoryPeak
    {
        public int Sessions { get; private set; }
        public long EvBytes { get; private set; }
        public long? SeccRss { get; private set; }

        public void Sample(int sessions, long evBytes, long? seccRss)
        {
            if (sessions >= Sessions)
            {
                Sessions = sessions;
                EvBytes = Math.Max(EvBytes, evBytes);
                SeccRss = seccRss is { } r ? Math.Max(SeccRss ?? 0, r) : SeccRss;
            }
        }
    }

    /// <summary>Round trips per request type, in microseconds.</summary>
    private sealed class RoundTrips : IEvRoundTrips
    {
        private readonly Dictionary<V2gMessageKind, List<double>> _byKind = [];

        public void Record(V2gMessageKind kind, TimeSpan roundTrip)
        {
            lock (_byKind)
            {
                if (!_byKind.TryGetValue(kind, out var list))
                {
                    _byKind[kind] = list = [];
                }
                list.Add(roundTrip.TotalMilliseconds);
            }
        }

        public IEnumerable<(V2gMessageKind Kind, int Count, double P50, double P99, double Max)> Summary()
        {
            lock (_byKind)
            {
                foreach (var (kind, list) in _byKind.OrderBy(k => k.Key))
                {
                    list.Sort();
                    yield return (kind, list.Count, Percentile(list, 0.50), Percentile(list, 0.99), list[^1]);
                }
            }
        }

        private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
