using System.Diagnostics;

namespace Juice.Hlc.Benchmarks;

/// <summary>
/// The method of the C reference's harness (shared/peers/libcbv2g/bench.c), so that ours and C's can be timed in one
/// run on one machine: per message and operation a batch of N calls sized to about 25 ms, the messages round-robin,
/// one line per sample (<c>message encode|decode ns-per-call</c>); take medians. Half a second of warm-up per
/// message and operation first (tiered compilation). Also one line per message with the bytes allocated by one
/// encode and one decode (<c>message allocated ENCODE DECODE</c>). Decode makes a new model object;
/// encode writes into a reused 16 KiB buffer. <c>--loop ROUNDS [MESSAGE...]</c>.
/// </summary>
internal static class LoopBench
{
    public static int Run(string[] args)
    {
        int rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 21;
        var names = args.Length > 2 ? args[2..] : [.. CodecBenchmarks.Messages];
        var benches = names.Select(n => { var b = new CodecBenchmarks { Message = n }; b.Setup(); return b; }).ToArray();
        // warm-up: let tiered compilation reach its optimized code before anything is timed
        for (int m = 0; m < benches.Length; m++)
        {
            for (int op = 0; op < 2; op++)
            {
                long start = Stopwatch.GetTimestamp();
                while (Stopwatch.GetElapsedTime(start).TotalMilliseconds < 500)
                {
                    Time(benches[m], op, 64);
                }
            }
        }
        var counts = new long[benches.Length, 2];
        for (int m = 0; m < benches.Length; m++)
        {
            for (int op = 0; op < 2; op++)
            {
                for (long n = 16; ; n *= 2)
                {
                    double ns = Time(benches[m], op, n);
                    if (ns * n > 5e6)
                    {
                        counts[m, op] = Math.Max(1, (long)(25e6 / ns));
                        break;
                    }
                }
            }
        }
        var results = new double[benches.Length, 2, rounds];
        for (int r = 0; r < rounds; r++)
        {
            for (int m = 0; m < benches.Length; m++)
            {
                for (int op = 0; op < 2; op++)
                {
                    results[m, op, r] = Time(benches[m], op, counts[m, op]);
                }
            }
        }
        for (int m = 0; m < benches.Length; m++)
        {
            // bytes allocated per call, on this thread (the model a decode returns; nothing for an encode)
            long before = GC.GetAllocatedBytesForCurrentThread();
            benches[m].Encode();
            long encoded = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            benches[m].Decode();
            long decoded = GC.GetAllocatedBytesForCurrentThread() - before;
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{names[m]} allocated {encoded} {decoded}"));
            for (int op = 0; op < 2; op++)
            {
                for (int r = 0; r < rounds; r++)
                {
                    Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{names[m]} {(op == 0 ? "encode" : "decode")} {results[m, op, r]:0.0}"));
                }
            }
        }
        return 0;
    }

    /// <summary>Nanoseconds per call over a batch of <paramref name="n"/> calls.</summary>
    private static double Time(CodecBenchmarks bench, int op, long n)
    {
        long start = Stopwatch.GetTimestamp();
        if (op == 0)
        {
            for (long i = 0; i < n; i++)
            {
                bench.Encode();
            }
        }
        else
        {
            for (long i = 0; i < n; i++)
            {
                bench.Decode();
            }
        }
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / n;
    }
}
