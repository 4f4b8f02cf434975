using Juice.Hlc.Exi;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Evcc;

/// <summary>Thrown when the charger ends the session abnormally or breaks the protocol.</summary>
public sealed class EvSessionException(string message) : Exception(message);

/// <summary>
/// The EV side of one connection: the supportedAppProtocol handshake, then the negotiated protocol's session.
/// Every request waits at most <see cref="EvOptions.MessageTimeout"/> for its response.
/// </summary>
public sealed class EvClient(EvOptions options, TimeProvider? time = null, Action<string, string>? trace = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The protocol the charger accepted, once the handshake is done.</summary>
    public V2gProtocol? Protocol { get; private set; }

    public async Task<EvResult> RunAsync(V2gtpConnection connection, IProgress<EvProgress>? progress, CancellationToken stop)
    {
        var offer = AppProtocolNegotiation.Offer(options.Protocols);
        byte[] answerBytes = await ExchangeAsync(connection, AppHandshakeExi.EncodeSupportedAppProtocolReq(offer), "supportedAppProtocol", CancellationToken.None).ConfigureAwait(false);
        var answer = AppHandshakeExi.DecodeSupportedAppProtocolRes(answerBytes);
        var protocol = AppProtocolNegotiation.Accepted(offer, answer, options.Protocols)
            ?? throw new EvSessionException($"the charger accepted none of the offered protocols ({answer.ResponseCode})");
        Protocol = protocol.Protocol;
        return protocol.Protocol switch
        {
            V2gProtocol.Iso15118_2 => await new Iso2EvSession(this, options, _time).RunAsync(connection, progress, stop).ConfigureAwait(false),
            _ when options.Energy != Juice.Hlc.Secc.EnergyTransfer.Dc => throw new EvSessionException("DIN SPEC 70121 charges DC only"),
            _ => await new DinEvSession(this, options, _time).RunAsync(connection, progress, stop).ConfigureAwait(false),
        };
    }

    /// <summary>Sends one request and waits for its response.</summary>
    internal async Task<byte[]> ExchangeAsync(V2gtpConnection connection, byte[] request, string name, CancellationToken ct)
    {
        trace?.Invoke("ev->se", Convert.ToHexStringLower(request));
        await connection.WriteAsync(V2gtpPayloadType.Exi, request, ct).ConfigureAwait(false);
        using var timer = new CancellationTokenSource(options.MessageTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
        try
        {
            var response = await connection.ReadAsync(linked.Token).ConfigureAwait(false)
                ?? throw new EvSessionException($"the charger closed the connection instead of answering {name}");
            trace?.Invoke("se->ev", Convert.ToHexStringLower(response.Payload));
            return response.Payload;
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new EvSessionException($"no response to {name} within {options.MessageTimeout.TotalSeconds:0.###} s");
        }
        catch (ExiContentException e)
        {
            throw new EvSessionException($"undecodable response to {name}: {e.Message}");
        }
    }
}
