using System.Net;
using Juice.Hlc.Exi;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Exi.Din;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Secc.Din;
using Juice.Hlc.Secc.Iso2;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Juice.Hlc.Secc;

/// <summary>Configuration of the SECC.</summary>
public sealed record SeccOptions
{
    /// <summary>Protocols offered in the supportedAppProtocol negotiation, in the SECC's order of preference.</summary>
    public IReadOnlyList<AppProtocolVersion> Protocols { get; init; } = [AppProtocolVersion.Iso2, AppProtocolVersion.Din];

    public SeccTimers Timers { get; init; } = SeccTimers.Iso15118_2;
}

/// <summary>
/// Runs one EV connection on the SECC: the supportedAppProtocol handshake, then the negotiated protocol's session,
/// each request read within the standard's timeout. Bad input ends the connection with a log line; the charging
/// point always hears how the session ended, so energy transfer stops.
/// </summary>
public sealed partial class SeccConnectionHandler(IChargingPoint chargingPoint, SeccOptions? options = null, ILogger? logger = null, TimeProvider? time = null)
{
    private readonly SeccOptions _options = options ?? new SeccOptions();
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private byte[]? _pausedSessionId;

    public async Task RunAsync(V2gtpConnection connection, IPEndPoint remote, CancellationToken cancellationToken)
    {
        var first = await ReadAsync(connection, _options.Timers.CommunicationSetupTimeout, "supportedAppProtocolReq", cancellationToken).ConfigureAwait(false);
        if (first is not { } payload)
        {
            return;
        }
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
        var negotiation = AppProtocolNegotiation.Negotiate(offer, _options.Protocols);
        await connection.WriteAsync(V2gtpPayloadType.Exi, AppHandshakeExi.EncodeSupportedAppProtocolRes(negotiation.Response), cancellationToken).ConfigureAwait(false);
        Log.Negotiated(_logger, remote.ToString(), negotiation.Response.ResponseCode.ToString(), negotiation.Selected?.Protocol.ToString() ?? "none");
        switch (negotiation.Selected?.Protocol)
        {
            case V2gProtocol.Iso15118_2:
                await RunSessionAsync(connection, remote, new Iso2SeccSession(chargingPoint, TakePaused()), b => Iso2Exi.Decode(b), m => Iso2Exi.Encode(m), cancellationToken).ConfigureAwait(false);
                break;
            case V2gProtocol.Din70121:
                await RunSessionAsync(connection, remote, new DinSeccSession(chargingPoint, TakePaused()), b => DinExi.Decode(b), m => DinExi.Encode(m), cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private byte[]? TakePaused()
    {
        var id = _pausedSessionId;
        _pausedSessionId = null;
        return id;
    }

    /// <summary>Reads, decodes, handles and answers requests until the session ends; the charging point hears how.</summary>
    private async Task RunSessionAsync<TMessage>(V2gtpConnection connection, IPEndPoint remote, ISeccSession<TMessage> session,
        Func<byte[], TMessage> decode, Func<TMessage, byte[]> encode, CancellationToken ct)
    {
        SessionEndReason end = SessionEndReason.ConnectionLost;
        try
        {
            while (true)
            {
                var timeout = session.Started ? _options.Timers.SequenceTimeout : _options.Timers.CommunicationSetupTimeout;
                var payload = await ReadAsync(connection, timeout, session.StateName, ct).ConfigureAwait(false);
                if (payload is null)
                {
                    end = SessionEndReason.Timeout;
                    return;
                }
                TMessage request;
                try
                {
                    request = decode(payload);
                }
                catch (ExiContentException e)
                {
                    // No message type to answer with: the session ends.
                    Log.BadMessage(_logger, remote.ToString(), session.StateName, e.Message);
                    end = SessionEndReason.Error;
                    return;
                }
                var reply = await session.HandleAsync(request, ct).ConfigureAwait(false);
                await connection.WriteAsync(V2gtpPayloadType.Exi, encode(reply.Response), ct).ConfigureAwait(false);
                if (reply.Next == SeccNext.Close)
                {
                    end = reply.End ?? SessionEndReason.Error;
                    if (end == SessionEndReason.EvPaused)
                    {
                        _pausedSessionId = session.SessionId;
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
        finally
        {
            await chargingPoint.SetEnergyTransferAsync(false, CancellationToken.None).ConfigureAwait(false);
            chargingPoint.SessionEnded(end);
            Log.Ended(_logger, remote.ToString(), end.ToString(), chargingPoint.ReadMeter().EnergyWh);
        }
    }

    /// <summary>The next EXI payload, or null when the EV closed the connection or the timer ran out.</summary>
    private async Task<byte[]?> ReadAsync(V2gtpConnection connection, TimeSpan timeout, string waitingFor, CancellationToken ct)
    {
        using var timer = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
        try
        {
            var message = await connection.ReadAsync(linked.Token).ConfigureAwait(false);
            if (message is not { } m)
            {
                Log.Closed(_logger, waitingFor);
                return null;
            }
            if (m.PayloadType != V2gtpPayloadType.Exi)
            {
                throw new V2gtpException(V2gtpError.UnknownPayloadType, $"payload type {m.PayloadType} on the V2G TCP connection");
            }
            return m.Payload;
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            Log.TimedOut(_logger, waitingFor, timeout.TotalSeconds);
            return null;
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
    }
}
