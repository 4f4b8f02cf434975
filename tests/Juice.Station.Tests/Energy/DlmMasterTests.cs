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

    private bool Report(string slave, bool ev, double applied, double measured = -1, int phases = 3, double max = 32) =>
        _master.Report(new DlmDatagram
        {
            T = "report", Net = 1, From = slave, Seq = _seq[slave] = _seq.GetValueOrDefault(slave) + 1, Rotation = "L1L2L3",
            Connectors = [new DlmConnectorReport(1, ev, phases, max, applied, [measured < 0 ? applied : measured, phases == 3 ? (measured < 0 ? applied : measured) : 0, phases == 3 ? (measured < 0 ? applied : measured) : 0])],
        }, new IPEndPoint(IPAddress.Loopback, 1000 + slave.Length));

    private static double Of(IReadOnlyList<(string Slave, EndPoint? To, DlmConnectorAssignment[] Assignments, long Seq)> round, string slave) =>
        round.Single(r => r.Slave == slave).Assignments.Single().Amps;

    [Fact]
    public void A_newcomer_is_raised_only_after_the_others_confirm_their_lowering()
    {
        Report("a", ev: true, applied: 0);
        var first = _master.Allocate(Settings);
        Assert.Equal(32, Of(first, "a"));
        Report("a", ev: true, applied: 32);

        Assert.True(Report("b", ev: true, applied: 0));   // an event
        var round = _master.Allocate(Settings);
        Assert.Equal(16, Of(round, "a"));   // lowered at once
        Assert.Equal(0, Of(round, "b"));    // a still draws 32 A as far as the master knows
        Report("b", ev: true, applied: 0);
        Assert.Equal(0, Of(_master.Grant(), "b"));
        Assert.False(_master.Raised);

        Report("a", ev: true, applied: 16);   // a confirms
        var after = _master.Grant();
        Assert.True(_master.Raised);
        Assert.Equal(16, Of(after, "b"));
    }

    [Fact]
    public void A_lost_slave_keeps_its_current_reserved_until_it_must_have_fallen_back_then_the_disconnected_limit_and_is_forgotten_later()
    {
        Report("a", ev: true, applied: 0);
        Report("b", ev: true, applied: 0);
        _master.Allocate(Settings);
        Report("a", ev: true, applied: 16);
        Report("b", ev: true, applied: 16);
        _master.Allocate(Settings);

        _time.Advance(TimeSpan.FromSeconds(5));
        Report("a", ev: true, applied: 16);   // b goes silent
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(["b"], _master.CheckLost());
        Report("a", ev: true, applied: 16);
        var round = _master.Allocate(Settings);
        Assert.Equal(16, Of(round, "a"));   // b may still draw its 16 A until its own master timeout
        Assert.DoesNotContain(round, r => r.Slave == "b");
        Assert.Equal(1, _master.Status().SlavesLost);

        _time.Advance(TimeSpan.FromSeconds(11));   // b has surely fallen to its disconnected limit of 6 A
        Report("a", ev: true, applied: 16);
        Assert.Equal(26, Of(_master.Allocate(Settings), "a"));

        _time.Advance(TimeSpan.FromMinutes(10));
        Report("a", ev: true, applied: 26);
        Assert.Equal(32, Of(_master.Allocate(Settings), "a"));   // forgotten
        Assert.Equal(0, _master.Status().SlavesLost);
    }

    [Fact]
    public void An_idle_EV_keeps_the_minimum_with_wakeup_and_nothing_without_and_the_others_share_the_rest()
    {
        Report("a", ev: true, applied: 0);
        Report("b", ev: true, applied: 0);
        _master.Allocate(Settings);
        Report("a", ev: true, applied: 16);
        Report("b", ev: true, applied: 16, measured: 0);   // b holds 16 A and draws nothing (full)
        _master.Allocate(Settings);
        _time.Advance(TimeSpan.FromSeconds(61));
        Report("a", ev: true, applied: 16);
        Report("b", ev: true, applied: 16, measured: 0);
        var round = _master.Allocate(Settings);
        Assert.Equal(6, Of(round, "b"));
        Report("b", ev: true, applied: 6, measured: 0);
        Assert.Equal(26, Of(_master.Grant(), "a"));
        Assert.True(_master.Status().Connectors.Single(c => c.Slave == "b").Idle);

        var noWakeup = Settings with { AllowEvWakeup = false };
        Report("b", ev: true, applied: 6, measured: 0);
        Assert.Equal(0, Of(_master.Allocate(noWakeup), "b"));

        // drawing again makes it a full demand again
        _master.Allocate(Settings);
        Report("b", ev: true, applied: 6, measured: 6);
        Report("a", ev: true, applied: 26);
        Assert.Equal(16, Of(_master.Allocate(Settings), "a"));
    }

    [Fact]
    public void An_EV_that_charged_long_enough_while_another_waits_goes_to_the_back_of_the_queue()
    {
        var tight = Settings with { Available = PhaseCurrents.Same(10) };   // room for one EV at 6 A
        Report("a", ev: true, applied: 0);
        Assert.Equal(10, Of(_master.Allocate(tight), "a"));
        Report("a", ev: true, applied: 10);
        Report("b", ev: true, applied: 0);
        var round = _master.Allocate(tight);
        Assert.Equal(10, Of(round, "a"));
        Assert.Equal(0, Of(round, "b"));   // waits

        _time.Advance(TimeSpan.FromMinutes(31));
        Report("a", ev: true, applied: 10);
        Report("b", ev: true, applied: 0);
        round = _master.Allocate(tight);
        Assert.Equal(0, Of(round, "a"));   // a's turn is over: lowered to 0 at once
        Assert.Equal(0, Of(round, "b"));   // b only after a confirms
        Report("a", ev: true, applied: 0);
        Assert.Equal(10, Of(_master.Grant(), "b"));
    }
}
