using System.Net.NetworkInformation;
using System.Security.Cryptography;
using Juice.Hlc.Session;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Juice.Hlc.Slac;

/// <summary>SLAC did not come to a match, or the own modem does not work with us; the message says why.</summary>
public sealed class SlacException(string message) : Exception(message);

/// <summary>An EV matched by SLAC: its host MAC (an identity for Autocharge), the run, the network it joined, how well it was heard.</summary>
public sealed record SlacMatch(PhysicalAddress EvMac, byte[] RunId, byte[] Nid, double AverageAttenuation, int Sounds);

/// <summary>Receives frames of a channel until one matches (by its sender and message), or the time runs out.</summary>
internal static class SlacWait
{
    public static Task<T?> ForAsync<T>(IEthernetChannel channel, TimeProvider time, TimeSpan timeout,
        Func<PhysicalAddress, SlacMessage, T?> match, CancellationToken ct) where T : class =>
        UntilAsync(channel, time, time.GetTimestamp() + (long)(timeout.TotalSeconds * time.TimestampFrequency), match, ct);

    /// <summary>The same up to <paramref name="until"/>, a timestamp of <paramref name="time"/>.</summary>
    public static async Task<T?> UntilAsync<T>(IEthernetChannel channel, TimeProvider time, long until,
        Func<PhysicalAddress, SlacMessage, T?> match, CancellationToken ct) where T : class
    {
        while (await NextAsync(channel, time, until, ct).ConfigureAwait(false) is { } frame)
        {
            if (SlacFrame.Parse(frame, out _) is { } parsed && match(parsed.Source, parsed.Message) is { } found)
            {
                return found;
            }
        }
        return null;
    }

    /// <summary>
    /// The next frame, or null once <paramref name="until"/> (a timestamp of <paramref name="time"/>) has passed with
    /// nothing queued: frames that came in time are handled even when this process was slow to read them.
    /// </summary>
    public static async Task<byte[]?> NextAsync(IEthernetChannel channel, TimeProvider time, long until, CancellationToken ct)
    {
        if (channel.TryReceive(out var queued))
        {
            return queued;
        }
        var left = TimeSpan.FromSeconds((double)(until - time.GetTimestamp()) / time.TimestampFrequency);
        if (left <= TimeSpan.Zero)
        {
            return null;
        }
        using var expiry = new CancellationTokenSource(left, time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, expiry.Token);
        try
        {
            return await channel.ReceiveAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return channel.TryReceive(out var late) ? late : null;
        }
    }
}

/// <summary>
/// The EVSE side of SLAC (ISO 15118-3 §9 and Annex A): the NMK of the logical network is set in the own modem
/// (CM_SET_KEY; result 0x00 or the 0x01 QCA firmware sends), then matching answers CM_SLAC_PARM.REQ, collects the
/// attenuation of the EV's sounds from CM_ATTEN_PROFILE.IND over the sound window, sends the averaged
/// CM_ATTEN_CHAR.IND (repeated while unanswered [V2G3-A09-46]) and gives the NMK in CM_SLAC_MATCH.CNF. Several runs
/// (EV MAC, RunID) are kept apart, as crosstalk from a neighbouring cable brings other EVs' messages
/// [V2G3-A09-16]; the EV is published only once matched. Leaving (unplug) sets a new NMK [V2G3-M09-17].
/// </summary>
public sealed partial class SlacEvse(IEthernetChannel channel, SlacTimers? timers = null, TimeProvider? time = null, ILogger? logger = null)
{
    private const int Groups = 58;
    private readonly SlacTimers _timers = timers ?? SlacTimers.Iso15118_3;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public byte[] Nmk { get; private set; } = [];

    public byte[] Nid { get; private set; } = [];

    public PhysicalAddress Mac => channel.Mac;

    /// <summary>A new random NMK into the own modem; <see cref="SlacException"/> when the modem does not take it.</summary>
    public async Task SetKeyAsync(CancellationToken ct) =>
        (Nmk, Nid) = await NewNetworkAsync(channel, _timers, _time, _logger, ct).ConfigureAwait(false);

    /// <summary>A network of its own for the modem: a random NMK and the NID derived from it, set with CM_SET_KEY.</summary>
    internal static async Task<(byte[] Nmk, byte[] Nid)> NewNetworkAsync(IEthernetChannel channel, SlacTimers timers, TimeProvider time, ILogger logger, CancellationToken ct)
    {
        var nmk = NetworkKeys.NewNmk();
        var nid = NetworkKeys.NidFromNmk(nmk);
        await SetKeyAsync(channel, nmk, nid, timers, time, logger, ct).ConfigureAwait(false);
        return (nmk, nid);
    }

    /// <summary>The own modem joins the network of <paramref name="nmk"/>: CM_SET_KEY.REQ to the local management address, CNF awaited and retried.</summary>
    internal static async Task SetKeyAsync(IEthernetChannel channel, byte[] nmk, byte[] nid, SlacTimers timers, TimeProvider time, ILogger logger, CancellationToken ct)
    {
        byte[] nonce = RandomNumberGenerator.GetBytes(4);
        for (int attempt = 1; attempt <= timers.SetKeyAttempts; attempt++)
        {
            await channel.SendAsync(SlacFrame.Build(SlacFrame.LocalModem, channel.Mac, new SetKeyReq(nid, nmk, nonce)), ct).ConfigureAwait(false);
            var cnf = await SlacWait.ForAsync(channel, time, timers.SetKeyTimeout, (_, m) => m as SetKeyCnf, ct).ConfigureAwait(false);
            if (cnf is null)
            {
                continue;
            }
            if (!cnf.Applied)
            {
                throw new SlacException($"the PLC modem refused the network key (CM_SET_KEY.CNF result 0x{cnf.Result:X2})");
            }
            Log.KeySet(logger, Convert.ToHexString(nid), cnf.Result);
            return;
        }
        throw new SlacException($"the PLC modem does not answer CM_SET_KEY ({timers.SetKeyAttempts} requests, {timers.SetKeyTimeout.TotalMilliseconds:0} ms each): "
            + "is a HomePlug Green PHY modem attached to this interface?");
    }

    /// <summary>Leaves the network of the last EV: a new NMK, which drops it from the AVLN [V2G3-M09-17].</summary>
    public Task LeaveAsync(CancellationToken ct) => SetKeyAsync(ct);

    private enum Step
    {
        WaitStart,
        Sounding,
        WaitResponse,
        WaitMatch,
    }

    private sealed class Run(PhysicalAddress ev, byte[] runId)
    {
        public PhysicalAddress Ev { get; } = ev;
        public byte[] RunId { get; } = runId;
        public Step Step { get; set; }
        public long Deadline { get; set; }
        public int[] Sums { get; } = new int[Groups];
        public int Sounds { get; set; }
        public int Expected { get; set; }
        public int Attempts { get; set; }
        public AttenCharInd? Sent { get; set; }

        public bool Is(PhysicalAddress ev, byte[] runId) => Ev.Equals(ev) && RunId.AsSpan().SequenceEqual(runId);
    }

    private long After(TimeSpan t) => _time.GetTimestamp() + (long)(t.TotalSeconds * _time.TimestampFrequency);

    /// <summary>
    /// Matches the next EV: runs until one EV has received CM_SLAC_MATCH.CNF; <see cref="SlacException"/> when no
    /// EV starts within TT_EVSE_SLAC_init. <see cref="SetKeyAsync"/> must have run.
    /// </summary>
    public async Task<SlacMatch> MatchAsync(CancellationToken ct)
    {
        if (Nmk.Length == 0)
        {
            throw new InvalidOperationException("SetKeyAsync first: the modem has no network key");
        }
        long init = After(_timers.EvseSlacInit);
        var runs = new List<Run>();
        while (true)
        {
            long next = runs.Count == 0 ? init : Math.Min(init, runs.Min(r => r.Deadline));
            byte[]? frame = await SlacWait.NextAsync(channel, _time, next, ct).ConfigureAwait(false);
            if (frame is not null)
            {
                if (SlacFrame.Parse(frame, out _) is { } parsed && await HandleAsync(runs, parsed.Source, parsed.Message, ct).ConfigureAwait(false) is { } match)
                {
                    return match;
                }
                continue;   // what is queued first: a deadline counts only once nothing that came before it waits
            }
            foreach (var run in runs.Where(r => _time.GetTimestamp() >= r.Deadline).ToList())
            {
                await ExpiredAsync(runs, run, ct).ConfigureAwait(false);
            }
            if (runs.Count == 0 && _time.GetTimestamp() >= init)
            {
                throw new SlacException($"no EV started SLAC (CM_SLAC_PARM.REQ) within TT_EVSE_SLAC_init ({_timers.EvseSlacInit.TotalSeconds:0} s)");
            }
        }
    }

    private async Task<SlacMatch?> HandleAsync(List<Run> runs, PhysicalAddress source, SlacMessage message, CancellationToken ct)
    {
        switch (message)
        {
            case SlacParmReq { ApplicationType: 0, SecurityType: 0 } r:
            {
                // [V2G3-A09-16]: the same EV and RunID again restarts that run; other runs go on
                runs.RemoveAll(x => x.Is(source, r.RunId));
                var run = new Run(source, r.RunId) { Step = Step.WaitStart, Deadline = After(_timers.MatchSequence), Expected = _timers.MatchSounds };
                runs.Add(run);
                await SendAsync(source, new SlacParmCnf(source, r.RunId, (byte)_timers.MatchSounds, (byte)(_timers.EvseMatchMnbc.TotalMilliseconds / 100)), ct).ConfigureAwait(false);
                Log.Parm(_logger, source.ToString(), Convert.ToHexString(r.RunId));
                return null;
            }
            case StartAttenCharInd s when s is { ApplicationType: 0, SecurityType: 0, RespType: 1, NumSounds: > 0, TimeOut: > 0 }
                && runs.FirstOrDefault(x => x.Is(s.ForwardingSta, s.RunId) && x.Step == Step.WaitStart) is { } run:
                // the first of the three starts the sound window; the repetitions find the run sounding and are ignored
                run.Step = Step.Sounding;
                run.Expected = Math.Min(s.NumSounds, (byte)_timers.MatchSounds);
                run.Deadline = After(_timers.EvseMatchMnbc);
                return null;
            case AttenProfileInd p when runs.FirstOrDefault(x => x.Ev.Equals(p.PevMac) && x.Step == Step.Sounding) is { } run:
                if (p.Aag.Length != Groups)
                {
                    return null;
                }
                for (int g = 0; g < Groups; g++)
                {
                    run.Sums[g] += p.Aag[g];
                }
                run.Sounds++;
                if (run.Sounds >= run.Expected)
                {
                    await CharacterizeAsync(run, ct).ConfigureAwait(false);   // all sounds in: no need to wait for the window's end
                }
                return null;
            case AttenCharRsp a when runs.FirstOrDefault(x => x.Is(a.SourceAddress, a.RunId) && x.Step == Step.WaitResponse) is { } run:
                if (a.Result != 0 || !a.ZeroIds || a is not { ApplicationType: 0, SecurityType: 0 })
                {
                    return null;   // [V2G3-A09-47]: ignored
                }
                run.Step = Step.WaitMatch;
                run.Deadline = After(_timers.EvseMatchSession);
                return null;
            case ValidateMessage { Request: true }:
                // [V2G3-A09-51]: the EVSE may decline validation
                await SendAsync(source, new ValidateMessage(false, 0, 0, 4), ct).ConfigureAwait(false);
                return null;
            case SlacMatchReq m when runs.FirstOrDefault(x => x.Is(m.PevMac, m.RunId) && x.Step == Step.WaitMatch) is { } run:
                // [V2G3-A09-98]: a request that is not exactly right is ignored
                if (m.MvfLength != 0x3E || !m.ZeroIds || !m.EvseMac.Equals(channel.Mac) || !source.Equals(run.Ev) || m is not { ApplicationType: 0, SecurityType: 0 })
                {
                    Log.BadMatch(_logger, source.ToString(), m.MvfLength);
                    return null;
                }
                await SendAsync(source, new SlacMatchCnf(run.Ev, channel.Mac, run.RunId, Nid, Nmk), ct).ConfigureAwait(false);
                double average = run.Sent?.Average ?? double.NaN;
                Log.Matched(_logger, run.Ev.ToString(), average, run.Sounds);
                return new SlacMatch(run.Ev, run.RunId, Nid, average, run.Sounds);
            default:
                return null;
        }
    }

    /// <summary>The sound window is over (or every sound is in): the averaged profile goes to the EV [V2G3-A09-19].</summary>
    private async Task CharacterizeAsync(Run run, CancellationToken ct)
    {
        var aag = run.Sums.Select(s => (byte)(run.Sounds == 0 ? 0 : s / run.Sounds)).ToArray();
        run.Sent = new AttenCharInd(run.Ev, run.RunId, (byte)run.Sounds, aag);
        run.Step = Step.WaitResponse;
        run.Attempts = 1;
        run.Deadline = After(_timers.MatchResponse);
        await SendAsync(run.Ev, run.Sent, ct).ConfigureAwait(false);
    }

    private async Task ExpiredAsync(List<Run> runs, Run run, CancellationToken ct)
    {
        switch (run.Step)
        {
            case Step.Sounding when run.Sounds > 0:
                await CharacterizeAsync(run, ct).ConfigureAwait(false);
                break;
            case Step.Sounding:
                Log.NoSounds(_logger, run.Ev.ToString());
                runs.Remove(run);
                break;
            case Step.WaitResponse when run.Attempts <= _timers.MatchRetries:
                // [V2G3-A09-46]: CM_ATTEN_CHAR.IND again while the RSP does not come
                run.Attempts++;
                run.Deadline = After(_timers.MatchResponse);
                await SendAsync(run.Ev, run.Sent!, ct).ConfigureAwait(false);
                break;
            default:
                Log.RunTimedOut(_logger, run.Ev.ToString(), run.Step.ToString());
                runs.Remove(run);
                break;
        }
    }

    private async Task SendAsync(PhysicalAddress to, SlacMessage message, CancellationToken ct) =>
        await channel.SendAsync(SlacFrame.Build(to, channel.Mac, message), ct).ConfigureAwait(false);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "SLAC: network key set in the PLC modem (NID {Nid}, CM_SET_KEY.CNF result 0x{Result:X2})")]
        public static partial void KeySet(ILogger logger, string nid, byte result);

        [LoggerMessage(2, LogLevel.Information, "SLAC: CM_SLAC_PARM.REQ from {Ev}, RunID {RunId}")]
        public static partial void Parm(ILogger logger, string ev, string runId);

        [LoggerMessage(3, LogLevel.Information, "SLAC: EV {Ev} matched ({Average:0.0} dB average over {Sounds} sounds)")]
        public static partial void Matched(ILogger logger, string ev, double average, int sounds);

        [LoggerMessage(4, LogLevel.Warning, "SLAC: no sound of EV {Ev} was heard in the sound window")]
        public static partial void NoSounds(ILogger logger, string ev);

        [LoggerMessage(5, LogLevel.Information, "SLAC: the run of EV {Ev} timed out in {Step}")]
        public static partial void RunTimedOut(ILogger logger, string ev, string step);

        [LoggerMessage(6, LogLevel.Warning, "SLAC: CM_SLAC_MATCH.REQ from {Ev} ignored (MVFLength 0x{Length:X4}, or IDs/addresses not as ISO 15118-3 requires)")]
        public static partial void BadMatch(ILogger logger, string ev, ushort length);
    }
}
