using CsCheck;
using Juice.Station.Energy;

namespace Juice.Station.Tests.Energy;

public sealed class DlmAllocatorTests
{
    private static DlmDemand Three(string id, double max = 32, long rank = 0) => new(id, GridPhases.All, max, rank);

    private static DlmDemand One(string id, GridPhases phase, double max = 32, long rank = 0) => new(id, phase, max, rank);

    [Fact]
    public void The_manuals_63_A_feed_is_shared_equally_by_five_cars_and_then_six()
    {
        var limits = new DlmLimits(PhaseCurrents.Same(63), 6);
        var five = Enumerable.Range(1, 5).Select(i => Three($"ev{i}", rank: i)).ToList();
        var a = DlmAllocator.Allocate(limits, five);
        Assert.All(a.Amps.Values, x => Assert.Equal(12.6, x));
        Assert.Equal(PhaseCurrents.Same(63), a.Applied);

        var six = DlmAllocator.Allocate(limits, [.. five, Three("ev6", rank: 6)]);
        Assert.All(six.Amps.Values, x => Assert.Equal(10.5, x));
        Assert.Equal(63, six.Applied.L1, 6);
    }

    [Fact]
    public void What_an_EV_cannot_take_goes_to_the_others()
    {
        var a = DlmAllocator.Allocate(new DlmLimits(PhaseCurrents.Same(63), 6), [Three("small", max: 10), Three("big1"), Three("big2")]);
        Assert.Equal(10, a.Amps["small"]);
        Assert.Equal(26.5, a.Amps["big1"]);
        Assert.Equal(26.5, a.Amps["big2"]);
    }

    [Fact]
    public void Below_the_minimum_current_the_last_in_the_queue_waits_with_0_A()
    {
        // 20 A: three cars at 6 A fit, the fourth would need 24 A
        var a = DlmAllocator.Allocate(new DlmLimits(PhaseCurrents.Same(20), 6), [Three("a", rank: 1), Three("b", rank: 2), Three("c", rank: 3), Three("d", rank: 4)]);
        Assert.Equal(0, a.Amps["d"]);
        Assert.All(new[] { "a", "b", "c" }, id => Assert.Equal(6.6, a.Amps[id]));
        // the queue decides, not the name: d first
        var b = DlmAllocator.Allocate(new DlmLimits(PhaseCurrents.Same(20), 6), [Three("a", rank: 5), Three("b", rank: 2), Three("c", rank: 3), Three("d", rank: 1)]);
        Assert.Equal(0, b.Amps["a"]);
    }

    [Fact]
    public void Single_phase_cars_on_one_phase_are_held_to_the_imbalance_limit_and_spread_by_rotation_they_are_not()
    {
        var limits = new DlmLimits(PhaseCurrents.Same(63), 6, ImbalanceLimit: 20);
        var samePhase = DlmAllocator.Allocate(limits, [One("a", GridPhases.L1), One("b", GridPhases.L1), One("c", GridPhases.L1)]);
        Assert.All(samePhase.Amps.Values, x => Assert.Equal(6.6, x));   // 3 × 6.67 = 20 A on L1, 0 on L2/L3
        Assert.True(samePhase.Applied.Max - samePhase.Applied.Min <= 20);

        var rotated = new[] { PhaseRotation.Standard, new PhaseRotation(1, 2, 0), new PhaseRotation(2, 0, 1) };
        var spread = DlmAllocator.Allocate(limits, [.. rotated.Select((r, i) => One($"ev{i}", r.Grid(1)))]);
        Assert.All(spread.Amps.Values, x => Assert.Equal(32, x));
        Assert.Equal(PhaseCurrents.Same(32), spread.Applied);

        // without prevention the same three cars on L1 share the whole 63 A
        var off = DlmAllocator.Allocate(limits with { ImbalanceLimit = null }, [One("a", GridPhases.L1), One("b", GridPhases.L1), One("c", GridPhases.L1)]);
        Assert.All(off.Amps.Values, x => Assert.Equal(21, x));
    }

    [Fact]
    public void A_three_phase_car_beside_single_phase_ones_takes_what_the_imbalance_leaves()
    {
        var limits = new DlmLimits(new PhaseCurrents(32, 32, 32), 6, ImbalanceLimit: 10);
        var a = DlmAllocator.Allocate(limits, [Three("three"), One("one", GridPhases.L2)]);
        // L2 = three + one ≤ 32; L2 - L1 = one ≤ 10
        Assert.Equal(10, a.Amps["one"]);
        Assert.Equal(22, a.Amps["three"]);
    }

    [Fact]
    public void Property_no_phase_over_its_limit_nobody_over_their_maximum_nobody_below_the_minimum_and_nothing_left_unused()
    {
        var phases = Gen.OneOfConst(GridPhases.L1, GridPhases.L2, GridPhases.L3, GridPhases.All, GridPhases.All);
        var demand = Gen.Select(phases, Gen.Double[0, 80], Gen.Long[0, 20]);
        var gen = Gen.Select(Gen.Double[0, 250].Array[3], Gen.Double[6, 16], Gen.Double[0, 40].Nullable(), demand.Array[0, 40]);
        gen.Sample((limit, min, imbalance, ds) =>
        {
            var demands = ds.Select((d, i) => new DlmDemand($"ev{i}", d.Item1, d.Item2, d.Item3)).ToList();
            var limits = new DlmLimits(new PhaseCurrents(limit[0], limit[1], limit[2]), min, imbalance);
            var a = DlmAllocator.Allocate(limits, demands);
            var load = new double[3];
            foreach (var d in demands)
            {
                double x = a.Amps[d.Id];
                Assert.True(x == 0 || (x >= min - 1e-9 && x <= d.MaxA + 1e-9), $"{d}: {x}");
                for (int p = 0; p < 3; p++)
                {
                    load[p] += ((int)d.Phases & (1 << p)) != 0 ? x : 0;
                }
            }
            for (int p = 0; p < 3; p++)
            {
                Assert.True(load[p] <= limits.Available[p] + 1e-6, $"phase {p + 1}: {load[p]} > {limits.Available[p]}");
                Assert.Equal(load[p], a.Applied[p], 6);
            }
            if (imbalance is { } l)
            {
                Assert.True(load.Max() - load.Min() <= l + 1e-6, $"imbalance {load.Max() - load.Min()} > {l}");
            }
            // the unused current is redistributed: an EV below its maximum is stopped by a full phase or the imbalance
            // (up to the 0.1 A each EV loses in rounding)
            double slack = 0.1 * demands.Count + 1e-6;
            foreach (var d in demands.Where(d => a.Amps[d.Id] > 0 && a.Amps[d.Id] < d.MaxA - 0.1 - 1e-9))
            {
                bool full = Enumerable.Range(0, 3).Any(p => ((int)d.Phases & (1 << p)) != 0 && limits.Available[p] - load[p] <= slack);
                bool unbalanced = imbalance is { } m && Enumerable.Range(0, 3).Any(p => ((int)d.Phases & (1 << p)) != 0
                    && Enumerable.Range(0, 3).Any(q => ((int)d.Phases & (1 << q)) == 0 && m - (load[p] - load[q]) <= slack));
                Assert.True(full || unbalanced, $"{d} at {a.Amps[d.Id]} A with room left: {string.Join("/", load)} of {limits.Available}");
            }
            // an EV that waits could not have been admitted at the minimum beside those charging before it in the queue
            foreach (var d in demands.Where(d => a.Amps[d.Id] == 0 && d.MaxA >= min && d.Phases != GridPhases.None))
            {
                var before = demands.Where(e => a.Amps[e.Id] > 0 && (e.Rank < d.Rank || (e.Rank == d.Rank && string.CompareOrdinal(e.Id, d.Id) < 0)));
                var atMin = new double[3];
                foreach (var e in before.Append(d))
                {
                    for (int p = 0; p < 3; p++)
                    {
                        atMin[p] += ((int)e.Phases & (1 << p)) != 0 ? min : 0;
                    }
                }
                bool fits = Enumerable.Range(0, 3).All(p => atMin[p] <= limits.Available[p] + 1e-9) && (imbalance is not { } m || atMin.Max() - atMin.Min() <= m + 1e-9);
                Assert.False(fits, $"{d} waits although it fits at the minimum");
            }
        }, iter: 10_000);
    }
}
