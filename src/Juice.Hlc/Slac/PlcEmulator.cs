using System.Buffers.Binary;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Juice.Hlc.Slac;

/// <summary>How the emulated power-line link behaves.</summary>
public sealed record PlcEmulatorOptions
{
    /// <summary>Mean attenuation the EVSE modem measures on the EV's sounds, dB per carrier group.</summary>
    public int AttenuationDb { get; init; } = 20;

    /// <summary>The mean attenuation per EV host (several EVs on one line, as with crosstalk); null: <see cref="AttenuationDb"/> for all.</summary>
    public Func<PhysicalAddress, int>? AttenuationOf { get; init; }

    /// <summary>Spread around the mean (± dB), from a seeded generator.</summary>
    public int JitterDb { get; init; } = 3;

    public int Seed { get; init; } = 1;

    /// <summary>The result byte of CM_SET_KEY.CNF (0x01: what QCA firmware sends; 0x00: the HomePlug spec).</summary>
    public byte SetKeyResult { get; init; } = 0x01;

    /// <summary>Whether the EVSE side's modem answers CM_SET_KEY at all (false: a modem that never answers).</summary>
    public bool EvseModemAnswers { get; init; } = true;

    public bool EvModemAnswers { get; init; } = true;

    /// <summary>How long the modems take to form the logical network once they hold the same NMK.</summary>
    public TimeSpan JoinDelay { get; init; }

    /// <summary>Pass the EV's CM_MNBC_SOUND.IND up to the EVSE host too (some modems do; the EVSE must not need it).</summary>
    public bool ForwardSounds { get; init; } = true;
}

/// <summary>
/// Two HomePlug Green PHY modems and the line between them, for tests and for users without hardware: joins an
/// EVSE-side and an EV-side Ethernet link; answers each host's CM_SET_KEY as its modem; turns every M-sound of the
/// EV into one CM_ATTEN_PROFILE.IND (58 groups, the configured attenuation) to the EVSE host; carries the SLAC messages
/// across at any time (they travel unassociated), and every other frame (SDP, TCP) only while both modems hold the
/// same NMK, that is once the EV has joined the EVSE's logical network.
/// </summary>
public sealed partial class PlcEmulator(IEthernetChannel evseSide, IEthernetChannel evSide, PlcEmulatorOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
{
    private readonly PlcEmulatorOptions _options = options ?? new PlcEmulatorOptions();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly Random _random = new(options?.Seed ?? 1);
    private readonly object _gate = new();
    private readonly Side _evse = new("EVSE", evseSide);
    private readonly Side _ev = new("EV", evSide);
    private long _sameKeySince;

    private sealed class Side(string name, IEthernetChannel channel)
    {
        public string Name { get; } = name;
        public IEthernetChannel Channel { get; } = channel;
        public byte[]? Nmk { get; set; }
        public PhysicalAddress? Host { get; set; }

        /// <summary>The emulated modem's own MAC: the Qualcomm OUI and the host's last three bytes.</summary>
        public PhysicalAddress Modem { get; } = new([0x00, 0xB0, 0x52, .. channel.Mac.GetAddressBytes()[3..]]);
    }

    /// <summary>True while both modems hold the same NMK (and the join delay has passed): the logical network exists.</summary>
    public bool Linked
    {
        get
        {
            lock (_gate)
            {
                return _evse.Nmk is { } a && _ev.Nmk is { } b && a.AsSpan().SequenceEqual(b) && _time.GetElapsedTime(_sameKeySince) >= _options.JoinDelay;
            }
        }
    }

    public Task RunAsync(CancellationToken ct)
    {
        Log.Up(_logger, _evse.Modem.ToString(), _ev.Modem.ToString(), _options.AttenuationDb);
        return Task.WhenAll(PumpAsync(_evse, _ev, ct), PumpAsync(_ev, _evse, ct));
    }

    private async Task PumpAsync(Side from, Side to, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                byte[] frame = await from.Channel.ReceiveAsync(ct).ConfigureAwait(false);
                await HandleAsync(from, to, frame, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
    }

    private async Task HandleAsync(Side from, Side to, byte[] frame, CancellationToken ct)
    {
        if (frame.Length < 14)
        {
            return;
        }
        from.Host = new PhysicalAddress(frame[6..12]);
        bool homePlug = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == SlacFrame.EtherType;
        if (!homePlug)
        {
            if (Linked)
            {
                await ForwardAsync(to, frame, ct).ConfigureAwait(false);
            }
            return;
        }
        if (SlacFrame.Parse(frame, out _) is not { } parsed)
        {
            return;   // vendor MMEs stay with the modem that was asked
        }
        var (destination, source, message) = parsed;
        switch (message)
        {
            case SetKeyReq key when destination.Equals(SlacFrame.LocalModem) || destination.Equals(from.Modem):
                lock (_gate)
                {
                    from.Nmk = key.Nmk;
                    if (_evse.Nmk is { } a && _ev.Nmk is { } b && a.AsSpan().SequenceEqual(b))
                    {
                        _sameKeySince = _time.GetTimestamp();
                    }
                }
                Log.Key(_logger, from.Name, Convert.ToHexString(key.Nid), Linked);
                if (from == _evse ? _options.EvseModemAnswers : _options.EvModemAnswers)
                {
                    await from.Channel.SendAsync(SlacFrame.Build(source, from.Modem, new SetKeyCnf(_options.SetKeyResult, [0x5A, 0x5A, 0x5A, 0x5A], key.MyNonce)), ct).ConfigureAwait(false);
                }
                return;
            case MnbcSoundInd when from == _ev:
                if (_options.ForwardSounds)
                {
                    await ForwardAsync(to, frame, ct).ConfigureAwait(false);
                }
                // the EVSE modem measures the sound and tells its host
                var aag = new byte[58];
                int mean = _options.AttenuationOf?.Invoke(source) ?? _options.AttenuationDb;
                lock (_random)
                {
                    for (int g = 0; g < aag.Length; g++)
                    {
                        aag[g] = (byte)Math.Clamp(mean + _random.Next(-_options.JitterDb, _options.JitterDb + 1), 1, 255);
                    }
                }
                await to.Channel.SendAsync(SlacFrame.Build(_evse.Host ?? SlacFrame.Broadcast, _evse.Modem, new AttenProfileInd(source, aag)), ct).ConfigureAwait(false);
                return;
            case SetKeyReq or SetKeyCnf or AttenProfileInd:
                return;
            default:
                await ForwardAsync(to, frame, ct).ConfigureAwait(false);   // the SLAC messages cross the line unassociated
                return;
        }
    }

    private static async Task ForwardAsync(Side to, byte[] frame, CancellationToken ct) =>
        await to.Channel.SendAsync(frame, ct).ConfigureAwait(false);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "PLC emulator up: EVSE-side modem {EvseModem}, EV-side modem {EvModem}, attenuation {Attenuation} dB")]
        public static partial void Up(ILogger logger, string evseModem, string evModem, int attenuation);

        [LoggerMessage(2, LogLevel.Information, "PLC emulator: {Side} modem got network key NID {Nid}; logical network formed: {Linked}")]
        public static partial void Key(ILogger logger, string side, string nid, bool linked);
    }
}
