using System.Net;
using Juice.Hlc.Exi;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Exi.Din;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Secc.Din;
using Juice.Hlc.Secc.Iso2;
using Juice.Hlc.Secc.Iso20;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;
using Juice.Hlc.V2gtp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Juice.Hlc.Secc;

/// <summary>Configuration of the SECC.</summary>
public sealed record SeccOptions
{
    /// <summary>Protocols offered in the supportedAppProtocol negotiation, in the SECC's order of preference.</summary>
    public IReadOnlyList<AppProtocolVersion> Protocols { get; init; } = [AppProtocolVersion.Iso2, AppProtocolVersion.Din];

    /// <summary>The protocols and their order read anew for each connection (an operator setting); null: <see cref="Protocols"/>.</summary>
    public Func<IReadOnlyList<AppProtocolVersion>?>? ProtocolsNow { get; init; }

    public SeccSessionOptions Session { get; init; } = new();

    public V2gTimers Timers => Session.Timers;

    /// <summary>Called with every EXI message exchanged: remote end point, "ev->se" or "se->ev", schema, EXI bytes.</summary>
    public Action<IPEndPoint, string, ExiCodec, byte[]>? Trace { get; init; }

    /// <summary>
    /// How long a new connection waits for a charging point that is busy: the connection of an EV that reconnects
    /// at once (after its SessionStop, or a broken link) may still be closing. Well inside the EV's 2 s for
    /// supportedAppProtocolRes.
    /// </summary>
    public TimeSpan BusyWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Open connections at most. Beyond it a new connection closes the oldest one that has not sent a valid
    /// supportedAppProtocolReq yet, or is refused when all have.
    /// </summary>
    public int MaxConnections { get; init; } = 64;

    /// <summary>Open connections from one address at most (the same rule as <see cref="MaxConnections"/>).</summary>
    public int MaxConnectionsPerPeer { get; init; } = 8;

    /// <summary>
    /// Offer the ISO 15118-20 protocols of <see cref="Protocols"/> although the connection is not TLS 1.3, which -20
    /// requires; a test mode (default off: -20 is then offered only over TLS 1.3).
    /// </summary>
    public bool Iso20AllowPlainTcp { get; init; }
}

/// <summary>
/// Chooses the charging point for an EV that has connected; null when none is free (the connection is closed). A
/// charging point that is <see cref="IDisposable"/> is disposed when the connection ends.
/// </summary>
public delegate IChargingPoint? ChargingPointSelector(IPEndPoint remote);

/// <summary>
/// Runs EV connections on the SECC: the supportedAppProtocol handshake, then the negotiated protocol's session,
/// each request read within the standard's timeout. Bad input ends the connection with a log line; a charging point
/// whose session started always hears how it ended, with energy transfer off. One handler serves every connection
/// of a server; sessions paused by one connection can be resumed by the next. A connection takes a charging point
/// only with its first valid supportedAppProtocolReq, so an idle or silent connection blocks no EV
/// (<see cref="SeccConnections"/>: caps, and the takeover by a new connection of the same EV).
/// </summary>
public sealed partial class SeccConnectionHandler
{
    private readonly ChargingPointSelector _select;
    private readonly SeccOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly PausedSessions _paused;
    private readonly SeccConnections _connections;

    public SeccConnectionHandler(ChargingPointSelector select, SeccOptions? options = null, ILogger? logger = null, TimeProvider? time = null)
    {
        _select = select;
        _options = options ?? new SeccOptions();
        _logger = logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _paused = new PausedSessions(_time);
        _connections = new SeccConnections(Math.Max(1, _options.MaxConnections), Math.Max(1, _options.MaxConnectionsPerPeer));
    }

    /// <summary>Connections open now (bound to a charging point or still in their handshake).</summary>
    public int OpenConnections => _connections.Count;

    /// <summary>One charging point, one EV at a time: a second EV that connects while a session runs is turned away.</summary>
    public SeccConnectionHandler(IChargingPoint chargingPoint, SeccOptions? options = null, ILogger? logger = null, TimeProvider? time = null)
        : this(OneAtATime(chargingPoint), options, logger, time)
    {
    }

    private static ChargingPointSelector OneAtATime(IChargingPoint chargingPoint)
    {
        var gate = new ExclusiveChargingPoint(chargingPoint);
        return _ => gate.TryAcquire();
    }

    public async Task RunAsync(V2gtpConnection connection, IPEndPoint remote, CancellationToken cancellationToken)
    {
        using var entry = _connections.Open(remote, out var evicted);
        foreach (var e in evicted)
        {
            Log.Evicted(_logger, e.Remote.ToString(), remote.ToString());
        }
        if (entry is null)
        {
            Log.TooMany(_logger, remote.ToString(), _options.MaxConnections, _options.MaxConnectionsPerPeer);
            return;
        }
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, entry.Closing);
        try
        {
            await RunAsync(connection, entry, closing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (entry.Closing.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            if (entry.Reason == SeccConnections.CloseReason.TakenOver)
            {
                Log.TakenOver(_logger, remote.ToString());
            }
        }
    }

    private async Task RunAsync(V2gtpConnection connection, SeccConnections.Entry entry, CancellationToken cancellationToken)
    {
        var remote = entry.Remote;
        // [V2G2-716]: the SECC has V2G_SECC_CommunicationSetup_Performance_Time from the connection to SessionSetupRes
        long connected = _time.GetTimestamp();
        using var timeout = new ReusableTimeout(_time, cancellationToken);
        var first = await ReadAsync(connection, timeout, _options.Timers.SeccCommunicationSetup, "supportedAppProtocolReq", cancellationToken).ConfigureAwait(false);
        if (first is not { } payload)
        {
            return;
        }
        _options.Trace?.Invoke(remote, "ev->se", ExiCodec.AppHandshake, payload);
        SupportedAppProtocolReq offer;
        try
        {
            offer = AppHandshakeExi.DecodeSupportedAppProtocolReq(payload);
        }
        catch (ExiContentException e)
        {
            Log.BadMessage(_logger, remote.ToString(), "supportedAppProtocolReq", e.Message);
            return;
        }
        // only now, with a valid handshake, does the connection take a charging point
        var chargingPoint = await AcquireAsync(entry, cancellationToken).ConfigureAwait(false);
        if (chargingPoint is null)
        {
            Log.Busy(_logger, remote.ToString());
            return;
        }
        try
        {
            await NegotiateAndRunAsync(connection, remote, chargingPoint, offer, timeout, connected, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // a charging point that holds a resource per connection (a connector, a lease) releases it here
            (chargingPoint as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// The charging point for a connection with a valid handshake. Busy: a bound connection of the same EV (address)
    /// is closed and its point awaited; another EV's point is waited for up to <see cref="SeccOptions.BusyWait"/>.
    /// </summary>
    private async Task<IChargingPoint?> AcquireAsync(SeccConnections.Entry entry, CancellationToken cancellationToken)
    {
        var chargingPoint = _select(entry.Remote);
        if (chargingPoint is null)
        {
            foreach (var old in _connections.TakeOver(entry))
            {
                Log.TakingOver(_logger, entry.Remote.ToString(), old.Remote.ToString());
            }
        }
        long since = _time.GetTimestamp();
        while (chargingPoint is null && _time.GetElapsedTime(since) < _options.BusyWait)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, cancellationToken).ConfigureAwait(false);
            chargingPoint = _select(entry.Remote);
        }
        if (chargingPoint is not null)
        {
            _connections.Bind(entry);
        }
        return chargingPoint;
    }

    private async Task NegotiateAndRunAsync(V2gtpConnection connection, IPEndPoint remote, IChargingPoint chargingPoint, SupportedAppProtocolReq offer,
        ReusableTimeout timeout, long connected, CancellationToken cancellationToken)
    {
        // [V2G20-2458] ISO 15118-20 runs over TLS 1.3 only: over TCP or TLS 1.2 -20 is not offered (an EV that offers
        // only -20 gets Failed_NoNegotiation), unless the operator allows it (Iso20AllowPlainTcp, a test mode other
        // stacks' simulators have too). DIN and -2 stay possible over TLS 1.3 (-20 Table 5).
        var offered = _options.ProtocolsNow?.Invoke() ?? _options.Protocols;
        bool tls13 = connection.Stream is V2gTlsStream { Version: V2gTlsVersion.Tls13 };
        var protocols = _options.Iso20AllowPlainTcp || tls13 ? offered : [.. offered.Where(p => !p.IsIso20)];
        var negotiation = AppProtocolNegotiation.Negotiate(offer, protocols);
        byte[] answer = AppHandshakeExi.EncodeSupportedAppProtocolRes(negotiation.Response);
        _options.Trace?.Invoke(remote, "se->ev", ExiCodec.AppHandshake, answer);
        await connection.WriteAsync(V2gtpPayloadType.Exi, answer, cancellationToken).ConfigureAwait(false);
        Log.Negotiated(_logger, remote.ToString(), negotiation.Response.ResponseCode.ToString(), negotiation.Selected?.Protocol.ToString() ?? "none");
        var setupDeadline = _options.Timers.SeccCommunicationSetup - _time.GetElapsedTime(connected);
        switch (negotiation.Selected?.Protocol)
        {
            case V2gProtocol.Iso15118_2:
                await RunSessionAsync(connection, remote, chargingPoint, new Iso2SeccSession(chargingPoint, _options.Session, _time, _paused, connection.Stream is V2gTlsStream),
                    SessionFraming<Juice.Hlc.Exi.Iso2.V2G_Message>.Exi(ExiCodec.Iso2, b => Iso2Exi.Decode(b), m => Iso2Exi.Encode(m)), timeout, setupDeadline, cancellationToken).ConfigureAwait(false);
                break;
            case V2gProtocol.Din70121:
                await RunSessionAsync(connection, remote, chargingPoint, new DinSeccSession(chargingPoint, _options.Session, _time, _paused),
                    SessionFraming<Juice.Hlc.Exi.Din.V2G_Message>.Exi(ExiCodec.Din, b => DinExi.Decode(b), m => DinExi.Encode(m)), timeout, setupDeadline, cancellationToken).ConfigureAwait(false);
                break;
            case V2gProtocol.Iso15118_20Ac or V2gProtocol.Iso15118_20Dc:
                await RunSessionAsync(connection, remote, chargingPoint, new Iso20SeccSession(chargingPoint, negotiation.Selected!.Protocol, _options.Session, _time, _paused, tls13,
                    tls13 ? (connection.Stream as V2gTlsStream)?.Local?.PrivateKey : null),
                    Iso20Framing.Session, timeout, setupDeadline, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>Reads, decodes, handles and answers requests until the session ends; the charging point hears how.</summary>
    private async Task RunSessionAsync<TMessage>(V2gtpConnection connection, IPEndPoint remote, IChargingPoint chargingPoint, ISeccSession<TMessage> session,
        SessionFraming<TMessage> framing, ReusableTimeout timer, TimeSpan setupDeadline, CancellationToken ct)
    {
        SessionEndReason end = SessionEndReason.ConnectionLost;
        try
        {
            while (true)
            {
                // [V2G2-443]: V2G_SECC_Sequence_Timeout between a response and the next request
                var timeout = session.Started ? _options.Timers.SeccSequenceTimeout : setupDeadline;
                var frame = await ReadFrameAsync(connection, timer, timeout, session.StateName, framing.Carries, ct).ConfigureAwait(false);
                if (frame is not { } received)
                {
                    end = SessionEndReason.Timeout;
                    return;
                }
                long receivedAt = _time.GetTimestamp();
                TMessage request;
                try
                {
                    (request, var codec) = framing.Decode(received);
                    _options.Trace?.Invoke(remote, "ev->se", codec, received.Payload);
                }
                catch (ExiContentException e)
                {
                    // No message type to answer with: the session ends.
                    Log.BadMessage(_logger, remote.ToString(), session.StateName, e.Message);
                    end = SessionEndReason.Error;
                    return;
                }
                var kind = session.KindOf(request);
                var reply = await session.HandleAsync(request, received.Payload, ct).ConfigureAwait(false);
                var (type, response, responseCodec) = reply.Exi is { } exi ? (framing.TypeOf(reply.Response), exi, framing.CodecOf(reply.Response)) : framing.Encode(reply.Response);
                type = framing.ReplyOn(received.PayloadType, type);
                _options.Trace?.Invoke(remote, "se->ev", responseCodec, response);
                await connection.WriteAsync(type, response, ct).ConfigureAwait(false);
                var took = _time.GetElapsedTime(receivedAt);
                if (kind is { } k && took > _options.Timers.SeccPerformance(k))
                {
                    Log.Slow(_logger, remote.ToString(), k.ToString(), took.TotalMilliseconds, _options.Timers.SeccPerformance(k).TotalMilliseconds);
                }
                if (reply.Next == SeccNext.Close)
                {
                    end = reply.End ?? SessionEndReason.Error;
                    if (reply.Problem is { } problem)
                    {
                        Log.Failed(_logger, remote.ToString(), problem);
                    }
                    return;
                }
            }
        }
        catch (V2gtpException e)
        {
            Log.BadFrame(_logger, remote.ToString(), e.Error.ToString(), e.Message);
            end = SessionEndReason.Error;
        }
        catch (IOException e)
        {
            Log.Lost(_logger, remote.ToString(), e.Message);
            end = SessionEndReason.ConnectionLost;
        }
        finally
        {
            if (session.Started)
            {
                await chargingPoint.SetEnergyTransferAsync(false, CancellationToken.None).ConfigureAwait(false);
                chargingPoint.SessionEnded(end);
                Log.Ended(_logger, remote.ToString(), end.ToString(), chargingPoint.ReadMeter().EnergyWh);
            }
        }
    }

    /// <summary>The next EXI payload of the plain EXI payload type (the handshake), or null when the EV closed the connection or the timer ran out.</summary>
    private async Task<byte[]?> ReadAsync(V2gtpConnection connection, ReusableTimeout timer, TimeSpan timeout, string waitingFor, CancellationToken ct) =>
        (await ReadFrameAsync(connection, timer, timeout, waitingFor, static t => t == V2gtpPayloadType.Exi, ct).ConfigureAwait(false))?.Payload;

    /// <summary>The next frame of a payload type the session takes (another one ends it: Table 11), or null when the EV closed the connection or the timer ran out.</summary>
    private async Task<V2gtpMessage?> ReadFrameAsync(V2gtpConnection connection, ReusableTimeout timer, TimeSpan timeout, string waitingFor, Func<V2gtpPayloadType, bool> carries,
        CancellationToken ct)
    {
        if (timeout <= TimeSpan.Zero)
        {
            Log.TimedOut(_logger, waitingFor, 0);
            return null;
        }
        timer.Arm(timeout);
        try
        {
            var message = await connection.ReadAsync(timer.Token).ConfigureAwait(false);
            if (message is not { } m)
            {
                Log.Closed(_logger, waitingFor);
                return null;
            }
            if (!carries(m.PayloadType))
            {
                throw new V2gtpException(V2gtpError.UnknownPayloadType, $"payload type {m.PayloadType} on the V2G TCP connection");
            }
            return m;
        }
        catch (OperationCanceledException) when (timer.Expired && !ct.IsCancellationRequested)
        {
            Log.TimedOut(_logger, waitingFor, timeout.TotalSeconds);
            return null;
        }
        finally
        {
            timer.Disarm();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "{Remote}: supportedAppProtocol {Code}, protocol {Protocol}")]
        public static partial void Negotiated(ILogger logger, string remote, string code, string protocol);

        [LoggerMessage(2, LogLevel.Warning, "{Remote}: undecodable message in {State}: {Reason}")]
        public static partial void BadMessage(ILogger logger, string remote, string state, string reason);

        [LoggerMessage(3, LogLevel.Warning, "{Remote}: V2GTP {Error}: {Reason}")]
        public static partial void BadFrame(ILogger logger, string remote, string error, string reason);

        [LoggerMessage(4, LogLevel.Warning, "no request within {Seconds} s while in {State}: the session ends")]
        public static partial void TimedOut(ILogger logger, string state, double seconds);

        [LoggerMessage(5, LogLevel.Information, "EV closed the connection while the SECC was in {State}")]
        public static partial void Closed(ILogger logger, string state);

        [LoggerMessage(6, LogLevel.Information, "{Remote}: session ended ({Reason}), meter {EnergyWh:0.0} Wh")]
        public static partial void Ended(ILogger logger, string remote, string reason, double energyWh);

        [LoggerMessage(7, LogLevel.Warning, "{Remote}: session ends with a FAILED response: {Problem}")]
        public static partial void Failed(ILogger logger, string remote, string problem);

        [LoggerMessage(8, LogLevel.Warning, "{Remote}: {Kind} answered in {Took:0.0} ms, beyond V2G_SECC_Msg_Performance_Time ({Budget:0.0} ms)")]
        public static partial void Slow(ILogger logger, string remote, string kind, double took, double budget);

        [LoggerMessage(9, LogLevel.Warning, "{Remote}: no free charging point, connection closed")]
        public static partial void Busy(ILogger logger, string remote);

        [LoggerMessage(10, LogLevel.Warning, "{Remote}: connection lost: {Reason}")]
        public static partial void Lost(ILogger logger, string remote, string reason);

        [LoggerMessage(11, LogLevel.Warning, "{Remote}: connection closed to make room for {Newer}: it had not sent a supportedAppProtocolReq")]
        public static partial void Evicted(ILogger logger, string remote, string newer);

        [LoggerMessage(12, LogLevel.Warning, "{Remote}: connection refused: {Max} connections in total or {MaxPerPeer} per address are open and every one is in a session")]
        public static partial void TooMany(ILogger logger, string remote, int max, int maxPerPeer);

        [LoggerMessage(13, LogLevel.Warning, "{Remote}: a new connection of the same EV takes over from {Old}")]
        public static partial void TakingOver(ILogger logger, string remote, string old);

        [LoggerMessage(14, LogLevel.Information, "{Remote}: connection closed, a newer connection of the same EV took over")]
        public static partial void TakenOver(ILogger logger, string remote);
    }
}

/// <summary>Hands one charging point to one connection at a time.</summary>
internal sealed class ExclusiveChargingPoint(IChargingPoint inner)
{
    private int _taken;

    private IChargingPoint Inner => inner;

    public IChargingPoint? TryAcquire() => Interlocked.CompareExchange(ref _taken, 1, 0) == 0 ? new Lease(this) : null;

    /// <summary>The charging point for the duration of one connection.</summary>
    internal sealed class Lease(ExclusiveChargingPoint owner) : IChargingPoint, IDisposable
    {
        private int _released;
        private IChargingPoint Inner => owner.Inner;

        public string EvseId => Inner.EvseId;
        public EnergyTransfer Supported => Inner.Supported;
        public EvseLimits Limits => Inner.Limits;
        public EvseRequest Request => Inner.Request;
        public void SessionStarted(EvIdentity ev) => Inner.SessionStarted(ev);
        public ValueTask<AuthorizationStatus> AuthorizeAsync(AuthorizationRequest request, CancellationToken cancellationToken) => Inner.AuthorizeAsync(request, cancellationToken);
        public void EvNeedsChanged(EvNeeds needs) => Inner.EvNeedsChanged(needs);
        public ValueTask<bool> SetEnergyTransferAsync(bool on, CancellationToken cancellationToken) => Inner.SetEnergyTransferAsync(on, cancellationToken);
        public IsolationStatus CheckIsolation() => Inner.CheckIsolation();
        public void DcTarget(double voltageV, double currentA) => Inner.DcTarget(voltageV, currentA);
        public void AcPower(double watts) => Inner.AcPower(watts);
        public MeterReading ReadMeter() => Inner.ReadMeter();
        public void RequestHandled(EvseRequest request) => Inner.RequestHandled(request);
        public void SessionEnded(SessionEndReason reason) => Inner.SessionEnded(reason);
        public ValueTask<CertificateServiceResult> CertificateServiceAsync(CertificateServiceRequest request, CancellationToken cancellationToken) =>
            Inner.CertificateServiceAsync(request, cancellationToken);
        public void MeteringReceiptSigned(MeteringReceipt receipt) => Inner.MeteringReceiptSigned(receipt);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Volatile.Write(ref owner._taken, 0);
            }
        }
    }
}
