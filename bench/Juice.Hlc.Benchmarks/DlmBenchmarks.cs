using BenchmarkDotNet.Attributes;
using Juice.Station.Energy;
using Juice.Station.Energy.Dlm;

namespace Juice.Hlc.Benchmarks;

/// <summary>
/// The CPU of one DLM allocation round at the master with 250 slaves of one EV each (every fifth single-phase, on
/// the three grid phases by their rotation): the whole round (table, idle and queue bookkeeping, allocation, the
/// lower-first grants) and the allocator alone, with and without imbalance prevention.
/// </summary>
[MemoryDiagnoser]
public class DlmBenchmarks
{
    [Params(250)]
    public int Slaves { get; set; }

    private DlmMaster _master = null!;
    private DlmMasterSettings _settings = null!;
    private List<DlmDemand> _demands = null!;
    private DlmLimits _limits = null!;

    [GlobalSetup]
    public void Setup()
    {
        _master = new DlmMaster(new DlmOptions(), TimeProvider.System);
        string[] rotations = ["L1L2L3", "L2L3L1", "L3L1L2"];
        for (int i = 0; i < Slaves; i++)
        {
            int phases = i % 5 == 0 ? 1 : 3;
            _master.Report(new DlmDatagram
            {
                T = "report", Net = 1, From = "slave-" + i, Seq = 1, Rotation = rotations[i % 3],
                Connectors = [new DlmConnectorReport(1, true, phases, 32, 0, [0, 0, 0])],
            }, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 10_000 + i));
        }
        _settings = new DlmMasterSettings(PhaseCurrents.Same(2000), 6, 20, true, 6);
        _demands = [.. Enumerable.Range(0, Slaves).Select(i => new DlmDemand("ev" + i, i % 5 == 0 ? (GridPhases)(1 << (i % 3)) : GridPhases.All, 32, i))];
        _limits = new DlmLimits(PhaseCurrents.Same(2000), 6, 20);
    }

    [Benchmark]
    public int AllocationRound() => _master.Allocate(_settings).Count;

    [Benchmark]
    public int AllocatorWithImbalancePrevention() => DlmAllocator.Allocate(_limits, _demands).Amps.Count;

    [Benchmark]
    public int AllocatorWithoutImbalancePrevention() => DlmAllocator.Allocate(_limits with { ImbalanceLimit = null }, _demands).Amps.Count;
}
