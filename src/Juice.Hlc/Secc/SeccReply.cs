using Juice.Hlc.Session;

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
/// reason for the log.
/// </summary>
public readonly record struct SeccReply<TMessage>(TMessage Response, SeccNext Next, SessionEndReason? End = null, string? Problem = null);

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
}
