using Juice.Hlc.Exi;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Secc;

/// <summary>What a protocol session does after a request: answer and go on, or answer and end the session.</summary>
public enum SeccNext
{
    Continue,

    /// <summary>Answer, then close the connection (terminated, paused, or failed).</summary>
    Close,
}

/// <summary>
/// The SECC's reaction to one request: the response and what follows; for a session that ends on a failure, the
/// reason for the log. <paramref name="Exi"/>: the response's EXI as it is to be sent (a certificate installation
/// response from the backend goes to the EV unchanged); null: encode <paramref name="Response"/>.
/// </summary>
public readonly record struct SeccReply<TMessage>(TMessage Response, SeccNext Next, SessionEndReason? End = null, string? Problem = null, byte[]? Exi = null);

/// <summary>A protocol's SECC session as the connection runner drives it.</summary>
public interface ISeccSession<TMessage>
{
    /// <summary>True once SessionSetup has been answered (the sequence timeout applies from then on).</summary>
    bool Started { get; }

    byte[]? SessionId { get; }

    string StateName { get; }

    /// <summary>The kind of a request, for the timing table (null: not a request of this protocol).</summary>
    V2gMessageKind? KindOf(TMessage request);

    ValueTask<SeccReply<TMessage>> HandleAsync(TMessage request, CancellationToken cancellationToken);

    /// <summary>A request with the EXI it was decoded from (for what the SECC forwards as it came).</summary>
    ValueTask<SeccReply<TMessage>> HandleAsync(TMessage request, byte[] exi, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken);
}

/// <summary>
/// How a protocol's messages travel in V2GTP: DIN and ISO-2 every message as plain EXI (0x8001) of one grammar;
/// ISO 15118-20 each message schema on its own payload type (Table 12).
/// </summary>
internal sealed record SessionFraming<TMessage>(
    Func<V2gtpPayloadType, bool> Carries,
    Func<V2gtpMessage, (TMessage Message, ExiCodec Codec)> Decode,
    Func<TMessage, (V2gtpPayloadType Type, byte[] Exi, ExiCodec Codec)> Encode,
    Func<TMessage, V2gtpPayloadType> TypeOf,
    Func<TMessage, ExiCodec> CodecOf)
{
    /// <summary>
    /// The payload type a response goes back on, given its request's: its own by default; ISO 15118-20 answers a request
    /// of a multiplexed stream on that stream (Table 12).
    /// </summary>
    public Func<V2gtpPayloadType, V2gtpPayloadType, V2gtpPayloadType> ReplyOn { get; init; } = static (_, response) => response;

    public static SessionFraming<TMessage> Exi(ExiCodec codec, Func<byte[], TMessage> decode, Func<TMessage, byte[]> encode) => new(
        static t => t == V2gtpPayloadType.Exi,
        frame => (decode(frame.Payload), codec),
        message => (V2gtpPayloadType.Exi, encode(message), codec),
        _ => V2gtpPayloadType.Exi,
        _ => codec);
}
