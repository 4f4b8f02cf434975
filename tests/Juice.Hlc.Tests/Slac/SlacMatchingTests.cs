using System.Net.NetworkInformation;
using Juice.Hlc.Session;
using Juice.Hlc.Slac;

namespace Juice.Hlc.Tests.Slac;

/// <summary>
/// SLAC between our EVSE and our EV through the PLC emulator on in-memory Ethernet segments (EVSE host and
/// EVSE-side modem on one, EV host and EV-side modem on the other), on the real clock with the ISO 15118-3 timers
/// (a match takes about 1.3 s: the EV's TT_EV_atten_results). Every frame of each segment is kept for assertions.
/// </summary>
public sealed class SlacMatchingTests
{
    private static readonly PhysicalAddress EvseMac = PhysicalAddress.Parse("02-00-00-00-E5-01");
    private static readonly PhysicalAddress EvMac = PhysicalAddress.Parse("02-00-00-00-EE-01");
    private static readonly PhysicalAddress Ev2Mac = PhysicalAddress.Parse("02-00-00-00-EE-02");

    /// <summary>Short waits where a test waits for something that must not happen.</summary>
    private static readonly SlacTimers Quick = SlacTimers.Iso15118_3 with
    {
        EvseSlacInit = TimeSpan.FromSeconds(2),
        EvseMatchSession = TimeSpan.FromSeconds(1),
        SetKeyTimeout = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>
    /// Quick, but the EVSE waits long for an EV's first CM_SLAC_PARM.REQ where one must come: on a loaded machine the
    /// EV tasks can start later than 2 s after the EVSE (seen in CI: "no EV started SLAC").
    /// </summary>
    private static readonly SlacTimers Patient = Quick with { EvseSlacInit = TimeSpan.FromSeconds(30) };

    /// <summary>
    /// The standard's sequence with wide windows where a test counts what arrives within one: 10 sounds paced 20 ms
    /// apart fit the 600 ms TT_EVSE_match_MNBC on an idle machine, not always on a loaded one (seen in CI: 9 sounds).
    /// The EVSE still ends its window at the 10th sound.
    /// </summary>
    private static readonly SlacTimers Roomy = SlacTimers.Iso15118_3 with
    {
        MatchResponse = TimeSpan.FromSeconds(1),
        MatchSequence = TimeSpan.FromSeconds(3),
        EvseMatchMnbc = TimeSpan.FromSeconds(3),
        EvAttenResults = TimeSpan.FromSeconds(4),
    };

    private sealed class Line : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(60));
        private readonly Task _running;

        public Line(PlcEmulatorOptions? options = null)
        {
            EvseChannel = EvseSegment.Join(EvseMac);
            EvChannel = EvSegment.Join(EvMac);
            Emulator = new PlcEmulator(EvseSegment.Join(PhysicalAddress.Parse("02-00-00-AA-E5-0D"), promiscuous: true),
                EvSegment.Join(PhysicalAddress.Parse("02-00-00-AA-EE-0D"), promiscuous: true), options);
            _running = Emulator.RunAsync(_stop.Token);
        }

        public MemoryEthernet EvseSegment { get; } = new();
        public MemoryEthernet EvSegment { get; } = new();
        public IEthernetChannel EvseChannel { get; }
        public IEthernetChannel EvChannel { get; }
        public PlcEmulator Emulator { get; }
        public CancellationToken Token => _stop.Token;

        public List<(PhysicalAddress To, PhysicalAddress From, SlacMessage Message)> Messages(MemoryEthernet segment) =>
            [.. segment.Traffic.Select(f => SlacFrame.Parse(f, out _)).Where(p => p is not null).Select(p => p!.Value)];

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _running;
            _stop.Dispose();
        }
    }

    /// <summary>An IPv6 frame (not SLAC) from one host to another: what SDP and TCP look like to the emulator.</summary>
    private static byte[] Ipv6Frame(PhysicalAddress to, PhysicalAddress from) =>
        [.. to.GetAddressBytes(), .. from.GetAddressBytes(), 0x86, 0xDD, .. new byte[46]];

    private static async Task<bool> Arrives(IEthernetChannel channel, TimeSpan within)
    {
        using var wait = new CancellationTokenSource(within);
        try
        {
            while (true)
            {
                var frame = await channel.ReceiveAsync(wait.Token);
                if (frame[12] == 0x86 && frame[13] == 0xDD)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task The_EV_and_the_EVSE_match_and_only_then_the_link_carries_other_frames()
    {
        await using var line = new Line();
        var evse = new SlacEvse(line.EvseChannel, Roomy);
        await evse.SetKeyAsync(line.Token);
        Assert.Equal(NetworkKeys.NidFromNmk(evse.Nmk), evse.Nid);

        await line.EvChannel.SendAsync(Ipv6Frame(EvseMac, EvMac), line.Token);
        Assert.False(await Arrives(line.EvseChannel, TimeSpan.FromMilliseconds(200)), "no logical network yet: the frame must not cross");

        var matching = evse.MatchAsync(line.Token);
        var ev = await new SlacEv(line.EvChannel, new SlacEvOptions { Timers = Roomy }).MatchAsync(line.Token);
        var match = await matching;

        Assert.Equal(EvMac, match.EvMac);
        Assert.Equal(10, match.Sounds);
        Assert.InRange(match.AverageAttenuation, 17, 23);
        Assert.Equal(EvseMac, ev.EvseMac);
        Assert.Equal(evse.Nmk, ev.Nmk);
        Assert.Equal(evse.Nid, ev.Nid);
        Assert.True(line.Emulator.Linked);

        // the EVSE host heard exactly one run, answered in the ISO sequence
        var sent = line.Messages(line.EvseSegment).Where(m => m.From.Equals(EvseMac)).Select(m => m.Message.Name).ToList();
        Assert.Equal(["CM_SET_KEY.REQ", "CM_SLAC_PARM.CNF", "CM_ATTEN_CHAR.IND", "CM_SLAC_MATCH.CNF"], sent);
        var ind = line.Messages(line.EvseSegment).Select(m => m.Message).OfType<AttenCharInd>().Single();
        Assert.Equal(10, ind.NumSounds);
        Assert.Equal(58, ind.Aag.Length);
        // the EV: PARM, 3 START_ATTEN_CHAR, 10 sounds counting down, RSP, MATCH, then its own SET_KEY
        var evSent = line.Messages(line.EvSegment).Where(m => m.From.Equals(EvMac)).Select(m => m.Message).ToList();
        Assert.Equal(3, evSent.OfType<StartAttenCharInd>().Count());
        Assert.Equal(Enumerable.Range(0, 10).Reverse().Select(i => (byte)i), evSent.OfType<MnbcSoundInd>().Select(s => s.Cnt));
        Assert.IsType<SetKeyReq>(evSent[^1]);
        Assert.Equal(0x3E, evSent.OfType<SlacMatchReq>().Single().MvfLength);

        await line.EvChannel.SendAsync(Ipv6Frame(EvseMac, EvMac), line.Token);
        Assert.True(await Arrives(line.EvseChannel, TimeSpan.FromSeconds(2)), "the logical network carries IPv6");

        // unplugged: a new NMK drops the EV from the network [V2G3-M09-17]
        byte[] before = evse.Nmk;
        await evse.LeaveAsync(line.Token);
        Assert.NotEqual(before, evse.Nmk);
        Assert.False(line.Emulator.Linked);
        await line.EvChannel.SendAsync(Ipv6Frame(EvseMac, EvMac), line.Token);
        Assert.False(await Arrives(line.EvseChannel, TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task An_EVSE_heard_with_too_high_an_attenuation_is_not_matched()
    {
        await using var line = new Line(new PlcEmulatorOptions { AttenuationDb = 55 });
        var evse = new SlacEvse(line.EvseChannel, Quick);
        await evse.SetKeyAsync(line.Token);
        var matching = evse.MatchAsync(line.Token);
        var e = await Assert.ThrowsAsync<SlacException>(() => new SlacEv(line.EvChannel, new SlacEvOptions { Timers = Quick with { MaxMatchAttempts = 1 } }).MatchAsync(line.Token));
        Assert.Contains("above the threshold of 40 dB", e.Message);
        var refused = await Assert.ThrowsAsync<SlacException>(() => matching);
        Assert.Contains("no EV started SLAC", refused.Message);
        Assert.False(line.Emulator.Linked);
        Assert.DoesNotContain(line.Messages(line.EvSegment), m => m.Message is SlacMatchReq);
    }

    [Fact]
    public async Task A_modem_that_never_answers_SET_KEY_gives_a_clear_error()
    {
        await using var line = new Line(new PlcEmulatorOptions { EvseModemAnswers = false });
        var evse = new SlacEvse(line.EvseChannel, Quick);
        var e = await Assert.ThrowsAsync<SlacException>(() => evse.SetKeyAsync(line.Token));
        Assert.Contains("does not answer CM_SET_KEY (3 requests, 100 ms each)", e.Message);
        Assert.Contains("HomePlug Green PHY modem", e.Message);
        Assert.Equal(3, line.Messages(line.EvseSegment).Count(m => m.Message is SetKeyReq));
        await Assert.ThrowsAsync<InvalidOperationException>(() => evse.MatchAsync(line.Token));
    }

    [Theory]
    [InlineData(0x00, true)]
    [InlineData(0x01, true)]
    [InlineData(0x02, false)]
    public async Task SET_KEY_results_0x00_and_0x01_are_success(byte result, bool accepted)
    {
        await using var line = new Line(new PlcEmulatorOptions { SetKeyResult = result });
        var evse = new SlacEvse(line.EvseChannel, Quick);
        if (accepted)
        {
            await evse.SetKeyAsync(line.Token);
            Assert.Equal(16, evse.Nmk.Length);
        }
        else
        {
            var e = await Assert.ThrowsAsync<SlacException>(() => evse.SetKeyAsync(line.Token));
            Assert.Contains("refused the network key (CM_SET_KEY.CNF result 0x02)", e.Message);
        }
    }

    [Fact]
    public async Task Two_EVs_sounding_at_once_are_kept_apart_and_only_the_one_on_this_cable_matches()
    {
        // crosstalk: a second EV on a neighbouring cable is heard too, far weaker
        await using var line = new Line(new PlcEmulatorOptions { AttenuationOf = mac => mac.Equals(Ev2Mac) ? 52 : 18 });
        var ev2Channel = line.EvSegment.Join(Ev2Mac);
        var evse = new SlacEvse(line.EvseChannel, Roomy with { EvseSlacInit = Patient.EvseSlacInit });
        await evse.SetKeyAsync(line.Token);
        var matching = evse.MatchAsync(line.Token);
        var once = new SlacEvOptions { Timers = Roomy with { MaxMatchAttempts = 1 } };
        var near = new SlacEv(line.EvChannel, once).MatchAsync(line.Token);
        var far = new SlacEv(ev2Channel, once).MatchAsync(line.Token);

        var match = await matching;
        Assert.Equal(EvMac, match.EvMac);
        Assert.Equal(EvseMac, (await near).EvseMac);
        Assert.Contains("above the threshold", (await Assert.ThrowsAsync<SlacException>(() => far)).Message);

        var profiles = line.Messages(line.EvseSegment).Where(m => m.Message is AttenCharInd).ToDictionary(m => m.To, m => (AttenCharInd)m.Message);
        Assert.Equal(2, profiles.Count);
        Assert.Equal(10, profiles[EvMac].NumSounds);
        Assert.Equal(10, profiles[Ev2Mac].NumSounds);
        Assert.InRange(profiles[EvMac].Average, 15, 21);
        Assert.InRange(profiles[Ev2Mac].Average, 49, 55);
        Assert.NotEqual(profiles[EvMac].RunId, profiles[Ev2Mac].RunId);
    }

    /// <summary>A hand-driven EV host: the messages a test sends itself, to see what the EVSE does with them.</summary>
    private static async Task<byte[]> SoundAsync(IEthernetChannel ev, CancellationToken ct)
    {
        byte[] runId = [1, 2, 3, 4, 5, 6, 7, 8];
        await ev.SendAsync(SlacFrame.Build(SlacFrame.Broadcast, ev.Mac, new SlacParmReq(runId)), ct);
        for (int i = 0; i < 3; i++)
        {
            await ev.SendAsync(SlacFrame.Build(SlacFrame.Broadcast, ev.Mac, new StartAttenCharInd(ev.Mac, runId)), ct);
        }
        for (int cnt = 9; cnt >= 0; cnt--)
        {
            await ev.SendAsync(SlacFrame.Build(SlacFrame.Broadcast, ev.Mac, new MnbcSoundInd((byte)cnt, runId, new byte[16])), ct);
        }
        return runId;
    }

    [Fact]
    public async Task An_unanswered_ATTEN_CHAR_IND_is_sent_again_up_to_C_EV_match_retry_times()
    {
        await using var line = new Line();
        var evse = new SlacEvse(line.EvseChannel, Quick);
        await evse.SetKeyAsync(line.Token);
        var matching = evse.MatchAsync(line.Token);
        await SoundAsync(line.EvChannel, line.Token);
        await Assert.ThrowsAsync<SlacException>(() => matching);
        var indications = line.Messages(line.EvseSegment).Where(m => m.Message is AttenCharInd).ToList();
        Assert.Equal(1 + Quick.MatchRetries, indications.Count);   // [V2G3-A09-46]
        Assert.All(indications, m => Assert.Equal(EvMac, m.To));
    }

    [Fact]
    public async Task A_MATCH_REQ_with_a_big_endian_MVFLength_is_ignored_and_the_right_one_is_answered()
    {
        await using var line = new Line();
        var evse = new SlacEvse(line.EvseChannel, Patient);
        await evse.SetKeyAsync(line.Token);
        var matching = evse.MatchAsync(line.Token);
        byte[] runId = await SoundAsync(line.EvChannel, line.Token);
        AttenCharInd? ind = null;
        while (ind is null)
        {
            ind = SlacFrame.Parse(await line.EvChannel.ReceiveAsync(line.Token), out _)?.Message as AttenCharInd;
        }
        await line.EvChannel.SendAsync(SlacFrame.Build(EvseMac, EvMac, new AttenCharRsp(EvMac, runId)), line.Token);
        await line.EvChannel.SendAsync(SlacFrame.Build(EvseMac, EvMac, new SlacMatchReq(EvMac, EvseMac, runId, MvfLength: 0x3E00)), line.Token);
        await Task.Delay(300);
        Assert.DoesNotContain(line.Messages(line.EvSegment), m => m.Message is SlacMatchCnf);
        await line.EvChannel.SendAsync(SlacFrame.Build(EvseMac, EvMac, new SlacMatchReq(EvMac, EvseMac, runId)), line.Token);
        var match = await matching;
        Assert.Equal(EvMac, match.EvMac);
        var cnf = (SlacMatchCnf)line.Messages(line.EvseSegment).Single(m => m.Message is SlacMatchCnf).Message;
        Assert.Equal(evse.Nmk, cnf.Nmk);
        Assert.Equal(runId, cnf.RunId);
    }

    [Fact]
    public void The_PARM_CNF_we_send_is_the_captured_one_byte_for_byte()
    {
        var row = File.ReadAllLines(Path.Combine(Vectors.Shared, "vectors", "slac", "01-qca-evse_vs_qca-pev", "frames-evse-side.tsv"))[4].Split('\t');
        var built = SlacFrame.Build(PhysicalAddress.Parse("02-00-00-00-EE-01"), PhysicalAddress.Parse("02-00-00-00-E5-01"),
            new SlacParmCnf(PhysicalAddress.Parse("02-00-00-00-EE-01"), Convert.FromHexString("02000000ee010001"),
                (byte)SlacTimers.Iso15118_3.MatchSounds, (byte)(SlacTimers.Iso15118_3.EvseMatchMnbc.TotalMilliseconds / 100)));
        Assert.Equal(row[9], Convert.ToHexStringLower(built));
    }
}
