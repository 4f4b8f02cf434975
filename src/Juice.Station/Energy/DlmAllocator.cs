namespace Juice.Station.Energy;

/// <summary>
/// One EV (a connector with a vehicle that wants current) as the DLM master sees it: the grid phases it draws from,
/// the most it may take (the EV's own maximum and its station's limits) and its place in the queue (lower first).
/// </summary>
public sealed record DlmDemand(string Id, GridPhases Phases, double MaxA, long Rank);

/// <summary>
/// What the DLM master may distribute: the current per grid phase (the sub-distribution limits, lowered by the
/// schedule, the external input and the building's other loads), the Minimum Current Limit below which an EV
/// does not charge, and the Current Imbalance Limit (null: imbalance prevention off).
/// </summary>
public sealed record DlmLimits(PhaseCurrents Available, double MinimumCurrent, double? ImbalanceLimit = null);

/// <summary>The currents assigned (0: paused, queued) and their sum per grid phase.</summary>
public sealed record DlmAllocation(IReadOnlyDictionary<string, double> Amps, PhaseCurrents Applied);

/// <summary>
/// The DLM master's allocation: fair sharing under per-phase limits.
/// <list type="number">
/// <item>Admission in queue order (<see cref="DlmDemand.Rank"/>): an EV is admitted when the minimum current on its
/// phases still fits every phase (and the imbalance limit); the others wait with 0 A.</item>
/// <item>Water filling: every admitted EV is raised by the same amount until it reaches its own maximum, a phase it
/// draws from is full, or (imbalance prevention) the phase it loads is the one that would exceed the imbalance limit;
/// the current an EV cannot take goes to the others.</item>
/// <item>Currents are rounded down to 0.1 A (not below the minimum), so no rounding lifts a phase over its limit.</item>
/// </list>
/// The imbalance is the difference between the most and the least loaded grid phase of the currents DLM distributes.
/// Pure and deterministic: the same input gives the same output.
/// </summary>
public static class DlmAllocator
{
    private const double Epsilon = 1e-9;

    public static DlmAllocation Allocate(DlmLimits limits, IReadOnlyList<DlmDemand> demands)
    {
        double min = Math.Max(0, limits.MinimumCurrent);
        var limit = new[] { Math.Max(0, limits.Available.L1), Math.Max(0, limits.Available.L2), Math.Max(0, limits.Available.L3) };
        double imbalance = limits.ImbalanceLimit is { } l ? Math.Max(0, l) : double.PositiveInfinity;
        int n = demands.Count;
        var uses = new bool[n, 3];
        for (int i = 0; i < n; i++)
        {
            for (int p = 0; p < 3; p++)
            {
                uses[i, p] = ((int)demands[i].Phases & (1 << p)) != 0;
            }
        }

        // 1. admission at the minimum current, in queue order
        var current = new double[n];
        var load = new double[3];
        var admitted = new List<int>();
        foreach (int i in Enumerable.Range(0, n).OrderBy(i => demands[i].Rank).ThenBy(i => demands[i].Id, StringComparer.Ordinal))
        {
            if (demands[i].Phases == GridPhases.None || demands[i].MaxA + Epsilon < min || min <= 0)
            {
                continue;
            }
            var trial = (double[])load.Clone();
            for (int p = 0; p < 3; p++)
            {
                trial[p] += uses[i, p] ? min : 0;
            }
            if (Enumerable.Range(0, 3).All(p => trial[p] <= limit[p] + Epsilon) && trial.Max() - trial.Min() <= imbalance + Epsilon)
            {
                trial.CopyTo(load, 0);
                current[i] = min;
                admitted.Add(i);
            }
        }

        // 2. water filling: equal steps for all who can still rise; each round stops those a binding limit holds. An
        //    EV held by the imbalance may rise again once the phase it is compared with has risen, so filling repeats
        //    with everyone not at a maximum or on a full phase until a pass gains nothing.
        bool CanRise(int i) => current[i] < demands[i].MaxA - Epsilon && Enumerable.Range(0, 3).All(p => !uses[i, p] || load[p] < limit[p] - Epsilon);
        for (int pass = 0; pass < 20; pass++)
        {
            double before = load.Sum();
            Fill([.. admitted.Where(CanRise)]);
            if (load.Sum() - before < 1e-9 || double.IsInfinity(imbalance))
            {
                break;
            }
        }

        void Fill(HashSet<int> active)
        {
            var count = new int[3];
            while (active.Count > 0)
            {
                Array.Clear(count);
                foreach (int i in active)
                {
                    for (int p = 0; p < 3; p++)
                    {
                        count[p] += uses[i, p] ? 1 : 0;
                    }
                }
                double step = double.PositiveInfinity;
                Predicate<int>? stopped = null;
                void Bound(double candidate, Predicate<int> who)
                {
                    if (candidate < step)
                    {
                        step = candidate;
                        stopped = who;
                    }
                }
                foreach (int i in active)
                {
                    int k = i;
                    Bound(demands[i].MaxA - current[i], j => j == k);
                }
                for (int p = 0; p < 3; p++)
                {
                    int phase = p;
                    if (count[p] > 0)
                    {
                        Bound((limit[p] - load[p]) / count[p], j => uses[j, phase]);
                    }
                    for (int q = 0; q < 3 && !double.IsInfinity(imbalance); q++)
                    {
                        int other = q;
                        if (count[p] > count[q])
                        {
                            // the difference between p and q grows by (count p - count q) per step
                            Bound((imbalance - (load[p] - load[q])) / (count[p] - count[q]), j => uses[j, phase] && !uses[j, other]);
                        }
                    }
                }
                step = Math.Max(0, step);
                foreach (int i in active)
                {
                    current[i] += step;
                    for (int p = 0; p < 3; p++)
                    {
                        load[p] += uses[i, p] ? step : 0;
                    }
                }
                active.RemoveWhere(stopped!);
            }
        }

        // 3. round down to 0.1 A (never below the minimum an EV was admitted with). Rounding lowers no phase
        //    above its limit, but it can widen the imbalance (the lighter phase loses more): lower EVs on the heavier
        //    phase by 0.1 A until it holds again. Those above the minimum suffice, since with all of them at the
        //    minimum the imbalance is the one admission checked.
        var rounded = new double[n];
        for (int i = 0; i < n; i++)
        {
            rounded[i] = current[i] > 0 ? Math.Max(min, Math.Floor(current[i] * 10 + 1e-6) / 10) : 0;
        }
        var applied = new double[3];
        void Sum()
        {
            Array.Clear(applied);
            for (int i = 0; i < n; i++)
            {
                for (int p = 0; p < 3; p++)
                {
                    applied[p] += uses[i, p] ? rounded[i] : 0;
                }
            }
        }
        Sum();
        for (int guard = 0; guard < 100 * n + 100 && !double.IsInfinity(imbalance); guard++)
        {
            int high = Array.IndexOf(applied, applied.Max()), low = Array.IndexOf(applied, applied.Min());
            if (applied[high] - applied[low] <= imbalance + Epsilon)
            {
                break;
            }
            int j = Enumerable.Range(0, n).Where(i => uses[i, high] && !uses[i, low] && rounded[i] > min + Epsilon)
                .DefaultIfEmpty(-1).MaxBy(i => i < 0 ? 0 : rounded[i]);
            if (j < 0)
            {
                break;
            }
            rounded[j] = Math.Max(min, Math.Round(rounded[j] - 0.1, 6));
            Sum();
        }
        var amps = new Dictionary<string, double>(n, StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            amps[demands[i].Id] = rounded[i];
        }
        return new DlmAllocation(amps, new PhaseCurrents(applied[0], applied[1], applied[2]));
    }
}
