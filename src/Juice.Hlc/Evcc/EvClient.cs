using Juice.Hlc.Exi;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Evcc;

/// <summary>Thrown when the charger ends the session abnormally or breaks the protocol.</summary>
public sealed class EvSessionException(string message) : Exception(message);

/// <summary>
/// The EV side of one connection: the supportedAppProtocol handshake, then the negotiated protocol's session.
/// Every request waits for its response at most V2G_EVCC_Msg_Timeout of its kind (or the configured override).
/// </summary>
public sealed class EvClient(EvOptions options, TimeProvider? time = null, Action<string, string>? trace = null, IEvRoundTrips? roundTrips = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private ReusableTimeout? _timeout;

    /// <summary>The protocol the charger accepted, once the handshake is done.</summary>
    public V2gProtocol? Protocol { get; private set; }

    public async Task<EvResult> RunAsync(V2gtpConnection connection, IProgress<EvProgress>? progress, CancellationToken stop)
    {
        using var timeout = _timeout = new ReusableTimeout(_time, CancellationToken.None);
        try
        {
            return await RunSessionAsync(connection, progress, stop).ConfigureAwait(false);
        }
        finally
        {
            _timeout = null;
        }
    }

    private async Task<EvResult> RunSessionAsync(V2gtpConnection connection, IProgress<EvProgress>? progress, CancellationToken stop)
    {
        var offer = AppProtocolNegotiation.Offer(options.Protocols);
        byte[] answerBytes = await ExchangeAsync(connection, AppHandshakeExi.EncodeSupportedAppProtocolReq(offer), V2gMessageKind.SupportedAppProtocol, CancellationToken.None).ConfigureAwait(false);
        SupportedAppProtocolRes answer;
        try
        {
            answer = AppHandshakeExi.DecodeSupportedAppProtocolRes(answerBytes);
        }
        catch (ExiContentException e)
        {
            throw new EvSessionException($"undecodable supportedAppProtocolRes: {e.Message}");
        }
        var protocol = AppProtocolNegotiation.Accepted(offer, answer, options.Protocols)
            ?? throw new EvSessionException($"the charger accepted none of the offered protocols ({answer.ResponseCode})");
        Protocol = protocol.Protocol;
        return protocol.Protocol switch
        {
            V2gProtocol.Iso15118_2 => await new Iso2EvSession(this, options, _time).RunAsync(connection, progress, stop).ConfigureAwait(false),
            V2gProtocol.Din70121 when options.Energy != Juice.Hlc.Secc.EnergyTransfer.Dc => throw new EvSessionException("DIN SPEC 70121 charges DC only"),
            V2gProtocol.Din70121 => await new DinEvSession(this, options, _time).RunAsync(connection, progress, stop).ConfigureAwait(false),
            V2gProtocol.Iso15118_20Ac or V2gProtocol.Iso15118_20Dc => await new Iso20EvSession(this, options, _time, protocol.Protocol).RunAsync(connection, progress, stop).ConfigureAwait(false),
            _ => throw new EvSessionException($"the EV has no session for {protocol.Namespace}"),
        };
    }

    /// <summary>Sends one request and waits for its response (V2G_EVCC_Msg_Timeout of its kind, [V2G2-436]).</summary>
    internal async Task<byte[]> ExchangeAsync(V2gtpConnection connection, byte[] request, V2gMessageKind kind, CancellationToken ct) =>
        (await ExchangeAsync(connection, V2gtpPayloadType.Exi, request, kind, ct).ConfigureAwait(false)).Payload;

    /// <summary>The same on a payload type of its own (ISO 15118-20: one per message schema); the response frame.</summary>
    internal async Task<V2gtpMessage> ExchangeAsync(V2gtpConnection connection, V2gtpPayloadType type, byte[] request, V2gMessageKind kind, CancellationToken ct)
    {
        trace?.Invoke("ev->se", Convert.ToHexStringLower(request));
        var timeout = options.TimeoutOf(kind, Protocol);
        long sent = _time.GetTimestamp();
        await connection.WriteAsync(type, request, ct).ConfigureAwait(false);
        var timer = _timeout ?? throw new InvalidOperationException("no session is running");
        timer.Arm(timeout);
        try
        {
            var response = await connection.ReadAsync(timer.Token).ConfigureAwait(false)
                ?? throw new EvSessionException($"the charger closed the connection instead of answering {kind}Req");
            roundTrips?.Record(kind, _time.GetElapsedTime(sent));
            trace?.Invoke("se->ev", Convert.ToHexStringLower(response.Payload));
            return response;
        }
        catch (OperationCanceledException) when (timer.Expired)
        {
            throw new EvSessionException($"no response to {kind}Req within {timeout.TotalSeconds:0.###} s (V2G_EVCC_Msg_Timeout)");
        }
        finally
        {
            timer.Disarm();
        }
    }
}
