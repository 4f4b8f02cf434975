using System.Net.NetworkInformation;
using System.Security.Cryptography;
using Juice.Hlc.Session;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Juice.Hlc.Slac;

/// <summary>What the EV side of SLAC accepts.</summary>
public sealed record SlacEvOptions
{
    public SlacTimers Timers { get; init; } = SlacTimers.Iso15118_3;

    /// <summary>An EVSE heard with a higher average attenuation is not matched (dB; open-plc-utils' pev takes 1 to 40).</summary>
    public double AttenuationThreshold { get; init; } = 40;

    /// <summary>CM_SLAC_PARM.REQ attempts per matching (the standard's 1 + C_EV_match_retry proves too few with real chargers).</summary>
    public int ParmAttempts { get; init; } = 10;
}

/// <summary>The EVSE an EV matched with and the network it joined.</summary>
public sealed record SlacEvResult(PhysicalAddress EvseMac, byte[] Nid, byte[] Nmk, double AverageAttenuation);

/// <summary>
/// The EV side of SLAC for the simulator (ISO 15118-3 §9): a new RunID per attempt, CM_SLAC_PARM.REQ (repeated
/// every TT_match_response), three CM_START_ATTEN_CHAR.IND and the M-sounds (CM_MNBC_SOUND.IND, Cnt counting down),
/// every CM_ATTEN_CHAR.IND within TT_EV_atten_results answered, the EVSE with the lowest attenuation (below the
/// threshold) asked with CM_SLAC_MATCH.REQ, and its NMK set in the own modem. A failed attempt is retried after
/// TT_matching_rate, up to C_conn_max_match attempts.
/// </summary>
public sealed partial class SlacEv(IEthernetChannel channel, SlacEvOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
{
    private readonly SlacEvOptions _options = options ?? new SlacEvOptions();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    private SlacTimers T => _options.Timers;

    public PhysicalAddress Mac => channel.Mac;

    public async Task<SlacEvResult> MatchAsync(CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await AttemptAsync(ct).ConfigureAwait(false);
            }
            catch (SlacException e) when (attempt < T.MaxMatchAttempts)
            {
                Log.Retry(_logger, attempt, e.Message);
                await Task.Delay(T.MatchingRate, _time, ct).ConfigureAwait(false);   // [V2G3-A09-124]
            }
        }
    }

    private async Task SendAsync(PhysicalAddress to, SlacMessage message, CancellationToken ct) =>
        await channel.SendAsync(SlacFrame.Build(to, channel.Mac, message), ct).ConfigureAwait(false);

    private async Task<SlacEvResult> AttemptAsync(CancellationToken ct)
    {
        byte[] runId = RandomNumberGenerator.GetBytes(8);
        bool Ours(byte[] id) => id.AsSpan().SequenceEqual(runId);

        SlacParmCnf? parm = null;
        for (int i = 0; i < _options.ParmAttempts && parm is null; i++)
        {
            await SendAsync(SlacFrame.Broadcast, new SlacParmReq(runId), ct).ConfigureAwait(false);
            parm = await SlacWait.ForAsync(channel, _time, T.MatchResponse, (_, m) => m is SlacParmCnf c && Ours(c.RunId) ? c : null, ct).ConfigureAwait(false);
        }
        if (parm is null)
        {
            throw new SlacException($"no EVSE answered CM_SLAC_PARM.REQ ({_options.ParmAttempts} requests)");
        }

        // sounding: TT_EV_atten_results runs from the first CM_START_ATTEN_CHAR.IND [V2G3-A09-30]
        long resultsUntil = _time.GetTimestamp() + (long)(T.EvAttenResults.TotalSeconds * _time.TimestampFrequency);
        // one indication every TP_EV_batch_msg_interval, on a schedule from the first (late timers do not add up and
        // push the last sounds out of the EVSE's window)
        long start = _time.GetTimestamp();
        int sent = 0;
        async Task PacedAsync(SlacMessage message)
        {
            var due = TimeSpan.FromTicks(T.BatchMessageInterval.Ticks * sent++) - _time.GetElapsedTime(start);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, _time, ct).ConfigureAwait(false);
            }
            await SendAsync(SlacFrame.Broadcast, message, ct).ConfigureAwait(false);
        }
        for (int i = 0; i < T.StartAttenCharInds; i++)
        {
            await PacedAsync(new StartAttenCharInd(channel.Mac, runId, (byte)T.MatchSounds, parm.TimeOut)).ConfigureAwait(false);
        }
        for (int cnt = T.MatchSounds - 1; cnt >= 0; cnt--)
        {
            await PacedAsync(new MnbcSoundInd((byte)cnt, runId, RandomNumberGenerator.GetBytes(16))).ConfigureAwait(false);
        }

        // every EVSE that heard us answers with its profile [V2G3-A09-31]
        var heard = new Dictionary<PhysicalAddress, double>();
        while (await SlacWait.UntilAsync(channel, _time, resultsUntil, (from, m) => m is AttenCharInd a && Ours(a.RunId) ? new Profile(from, a) : null, ct).ConfigureAwait(false)
            is var (evse, profile))
        {
            await SendAsync(evse, new AttenCharRsp(channel.Mac, runId), ct).ConfigureAwait(false);
            heard[evse] = profile.Average;
            Log.Heard(_logger, evse.ToString(), profile.Average, profile.NumSounds);
        }
        if (heard.Count == 0)
        {
            throw new SlacException("no EVSE sent CM_ATTEN_CHAR.IND within TT_EV_atten_results");
        }
        var (chosen, attenuation) = heard.MinBy(h => h.Value);
        if (attenuation > _options.AttenuationThreshold)
        {
            throw new SlacException($"the best EVSE ({chosen}) is heard at {attenuation:0.0} dB, above the threshold of {_options.AttenuationThreshold:0} dB: not matched");
        }

        SlacMatchCnf? match = null;
        for (int i = 0; i <= T.MatchRetries && match is null; i++)
        {
            await SendAsync(chosen, new SlacMatchReq(channel.Mac, chosen, runId), ct).ConfigureAwait(false);
            match = await SlacWait.ForAsync(channel, _time, T.MatchResponse, (from, m) => m is SlacMatchCnf c && Ours(c.RunId) && from.Equals(chosen) ? c : null, ct).ConfigureAwait(false);
        }
        if (match is null)
        {
            throw new SlacException($"the EVSE {chosen} did not answer CM_SLAC_MATCH.REQ");
        }
        if (!NetworkKeys.NidFromNmk(match.Nmk).AsSpan().SequenceEqual(match.Nid))
        {
            Log.OddNid(_logger, Convert.ToHexString(match.Nid));
        }
        await SlacEvse.SetKeyAsync(channel, match.Nmk, match.Nid, T, _time, _logger, ct).ConfigureAwait(false);
        Log.Matched(_logger, chosen.ToString(), attenuation, Convert.ToHexString(match.Nid));
        return new SlacEvResult(chosen, match.Nid, match.Nmk, attenuation);
    }

    /// <summary>Unplugged: the own modem leaves the EVSE's network for one of its own (a new random NMK).</summary>
    public Task LeaveAsync(CancellationToken ct) => SlacEvse.NewNetworkAsync(channel, T, _time, _logger, ct);

    private sealed record Profile(PhysicalAddress From, AttenCharInd Indication);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "SLAC: EVSE {Evse} heard us at {Average:0.0} dB ({Sounds} sounds)")]
        public static partial void Heard(ILogger logger, string evse, double average, int sounds);

        [LoggerMessage(2, LogLevel.Information, "SLAC: matched with EVSE {Evse} ({Average:0.0} dB), joined network {Nid}")]
        public static partial void Matched(ILogger logger, string evse, double average, string nid);

        [LoggerMessage(3, LogLevel.Warning, "SLAC: matching attempt {Attempt} failed: {Reason}")]
        public static partial void Retry(ILogger logger, int attempt, string reason);

        [LoggerMessage(4, LogLevel.Warning, "SLAC: the NID {Nid} of CM_SLAC_MATCH.CNF is not the one derived from its NMK")]
        public static partial void OddNid(ILogger logger, string nid);
    }
}
