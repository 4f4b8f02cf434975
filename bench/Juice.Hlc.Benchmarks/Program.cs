using BenchmarkDotNet.Running;

// Locates ../shared/vectors/bench and bench/vectors (-20) for the benchmark processes (they run from a generated folder).
for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
{
    string candidate = Path.Combine(dir.FullName, "..", "shared", "vectors", "bench");
    if (File.Exists(Path.Combine(dir.FullName, "Juice.Hlc.sln")) && Directory.Exists(candidate))
    {
        Environment.SetEnvironmentVariable("JUICE_BENCH_VECTORS", Path.GetFullPath(candidate));
        Environment.SetEnvironmentVariable("JUICE_BENCH_VECTORS20", Path.Combine(dir.FullName, "bench", "vectors"));
        break;
    }
}
if (args is ["--dlm-load", ..])
{
    return await Juice.Hlc.Benchmarks.DlmLoad.Run(args);
}
if (args is ["--loop", ..])
{
    return Juice.Hlc.Benchmarks.LoopBench.Run(args);
}
BenchmarkSwitcher.FromAssembly(typeof(Juice.Hlc.Benchmarks.CodecBenchmarks).Assembly).Run(args);
return 0;
