using System.Net;
using Juice.Station.Energy;
using Juice.Station.Energy.Dlm;
using Microsoft.Extensions.Time.Testing;

namespace Juice.Station.Tests.Energy;

/// <summary>The master's table and rounds on a fake clock: lower first then raise, lost slaves, idle EVs, the fair queue.</summary>
public sealed class DlmMasterTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private readonly DlmOptions _options = new() { SlaveTimeoutSeconds = 10, MasterTimeoutSeconds = 10, ForgetSlaveMinutes = 10, IdleSeconds = 60, RotationMinutes = 30 };
    private readonly DlmMaster _master;
    private readonly Dictionary<string, long> _seq = [];

    public DlmMasterTests() => _master = new DlmMaster(_options, _time);

    private static readonly DlmMasterSettings Settings = new(PhaseCurrents.Same(32), 6, null, AllowEvWakeup: true, DisconnectedLimit: 6);

    private readonly Dictionary<string, long> _applied = [];

    /// <summary>A round whose assignments every slave applies (a report after it confirms them).</summary>
    private IReadOnlyList<DlmAssignment> Allocate(DlmMasterSettings settings) => Applied(_master.Allocate(settings));

    private IReadOnlyList<DlmAssignment> Grant() => Applied(_master.Grant());

    private IReadOnlyList<DlmAssignment> Applied(IReadOnlyList<DlmAssignment> round)
    {
        foreach (var a in round)
        {
            _applied[a.Slave] = a.Round;
        }
        return round;
    }

    /// <summary>A report of a slave that applied the newest assignment it was sent (or <paramref name="ack"/>).</summary>
    private bool Report(string slave, bool ev, double applied, double measured = -1, int phases = 3, double max = 32, long? ack = null) =>
        _master.Report(new DlmDatagram
        {
            T = "report", Net = 1, From = slave, Seq = _seq[slave] = _seq.GetValueOrDefault(slave) + 1, Rotation = "L1L2L3", Ack = ack ?? _applied.GetValueOrDefault(slave),
            Connectors = [new DlmConnectorReport(1, ev, phases, max, applied, [measured < 0 ? applied : measured, phases == 3 ? (measured < 0 ? applied : measured) : 0, phases == 3 ? (measured < 0 ? applied : measured) : 0])],
        }, new IPEndPoint(IPAddress.Loopback, 1000 + slave.Length));

    private static double Of(IReadOnlyList<DlmAssignment> round, string slave) =>
        round.Single(r => r.Slave == slave).Assignments.Single().Amps;

    [Fact]
    public void A_newcomer_is_raised_only_after_the_others_confirm_their_lowering()
    {
        Report("a", ev: true, applied: 0);
        var first = Allocate(Settings);
        Assert.Equal(32, Of(first, "a"));
        Report("a", ev: true, applied: 32);

        Assert.True(Report("b", ev: true, applied: 0));   // an event
        var round = Allocate(Settings);
        Assert.Equal(16, Of(round, "a"));   // lowered at once
        Assert.Equal(0, Of(round, "b"));    // a still draws 32 A as far as the master knows
        Report("b", ev: true, applied: 0);
        Assert.Equal(0, Of(Grant(), "b"));
        Assert.False(_master.Raised);

        Report("a", ev: true, applied: 16);   // a confirms
        var after = Grant();
        Assert.True(_master.Raised);
        Assert.Equal(16, Of(after, "b"));
        // assignments are numbered as they are computed: a slave can tell a late one from the newest
        Assert.True(after.Single(r => r.Slave == "b").Round > round.Single(r => r.Slave == "b").Round);
        Assert.True(_master.AssignmentOf("b")!.Round > after.Max(r => r.Round));
    }

    [Fact]
    public void A_report_written_before_its_slave_applied_the_newest_assignment_makes_no_room()
    {
        Report("a", ev: true, applied: 0);
        Report("b", ev: true, applied: 0);
        Allocate(Settings);
        Report("a", ev: true, applied: 16);
        Report("b", ev: true, applied: 16);
        long before = _applied["a"];

        // b leaves: a is raised to 32 A; then a third EV arrives and a is lowered again before it confirmed the raise
        Report("b", ev: false, applied: 0);
        Assert.Equal(32, Of(Allocate(Settings), "a"));
        Report("c", ev: true, applied: 0);
        var round = Allocate(Settings);
        Assert.Equal(16, Of(round, "a"));
        // a's report written before it applied the raise says 16 A, but the raise may be applied now: c waits
        Report("a", ev: true, applied: 16, ack: before);
        Assert.Equal(0, Of(_master.Grant(), "c"));
        // a confirms the newest assignment: c is raised
        Report("a", ev: true, applied: 16, ack: _applied["a"]);
        Assert.Equal(16, Of(Grant(), "c"));
    }

    [Fact]
    public void A_lost_slave_keeps_its_current_reserved_until_it_must_have_fallen_back_then_the_disconnected_limit_and_is_forgotten_later()
    {
        Report("a", ev: true, applied: 0);
        Report("b", ev: true, applied: 0);
        Allocate(Settings);
        Report("a", ev: true, applied: 16);
        Report("b", ev: true, applied: 16);
        Allocate(Settings);

        _time.Advance(TimeSpan.FromSeconds(5));
        Report("a", ev: true, applied: 16);   // b goes silent
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(["b"], _master.CheckLost());
        Report("a", ev: true, applied: 16);
        var round = Allocate(Settings);
        Assert.Equal(16, Of(round, "a"));   // b may still draw its 16 A until its own master timeout
        Assert.DoesNotContain(round, r => r.Slave == "b");
        Assert.Equal(1, _master.Status().SlavesLost);

        _time.Advance(TimeSpan.FromSeconds(11));   // b has surely fallen to its disconnected limit of 6 A
        Report("a", ev: true, applied: 16);
        Assert.Equal(26, Of(Allocate(Settings), "a"));

        _time.Advance(TimeSpan.FromMinutes(10));
        Report("a", ev: true, applied: 26);
        Assert.Equal(32, Of(Allocate(Settings), "a"));   // forgotten
        Assert.Equal(0, _master.Status().SlavesLost);
    }

    [Fact]
    public void An_idle_EV_keeps_the_minimum_with_wakeup_and_nothing_without_and_the_others_share_the_rest()
    {
        Report("a", ev: true, applied: 0);
        Report("b", ev: true, applied: 0);
        Allocate(Settings);
        Report("a", ev: true, applied: 16);
        Report("b", ev: true, applied: 16, measured: 0);   // b holds 16 A and draws nothing (full)
        Allocate(Settings);
        _time.Advance(TimeSpan.FromSeconds(61));
        Report("a", ev: true, applied: 16);
        Report("b", ev: true, applied: 16, measured: 0);
        var round = Allocate(Settings);
        Assert.Equal(6, Of(round, "b"));
        Report("b", ev: true, applied: 6, measured: 0);
        Assert.Equal(26, Of(Grant(), "a"));
        Assert.True(_master.Status().Connectors.Single(c => c.Slave == "b").Idle);

        var noWakeup = Settings with { AllowEvWakeup = false };
        Report("b", ev: true, applied: 6, measured: 0);
        Assert.Equal(0, Of(Allocate(noWakeup), "b"));

        // drawing again makes it a full demand again
        Allocate(Settings);
        Report("b", ev: true, applied: 6, measured: 6);
        Report("a", ev: true, applied: 26);
        Assert.Equal(16, Of(Allocate(Settings), "a"));
    }

    [Fact]
    public void An_EV_that_charged_long_enough_while_another_waits_goes_to_the_back_of_the_queue()
    {
        var tight = Settings with { Available = PhaseCurrents.Same(10) };   // room for one EV at 6 A
        Report("a", ev: true, applied: 0);
        Assert.Equal(10, Of(Allocate(tight), "a"));
        Report("a", ev: true, applied: 10);
        Report("b", ev: true, applied: 0);
        var round = Allocate(tight);
        Assert.Equal(10, Of(round, "a"));
        Assert.Equal(0, Of(round, "b"));   // waits

        _time.Advance(TimeSpan.FromMinutes(31));
        Report("a", ev: true, applied: 10);
        Report("b", ev: true, applied: 0);
        round = Allocate(tight);
        Assert.Equal(0, Of(round, "a"));   // a's turn is over: lowered to 0 at once
        Assert.Equal(0, Of(round, "b"));   // b only after a confirms
        Report("a", ev: true, applied: 0);
        Assert.Equal(10, Of(Grant(), "b"));
    }
}
