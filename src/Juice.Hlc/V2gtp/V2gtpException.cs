namespace Juice.Hlc.V2gtp;

/// <summary>Why a V2GTP peer was rejected; each ends the connection (ISO 15118-2:2014 §7.8.3, Table 11).</summary>
public enum V2gtpError
{
    IncorrectVersion,
    UnknownPayloadType,
    PayloadTooLong,

    /// <summary>A frame had started but its remaining bytes did not arrive in time.</summary>
    PartialFrameTimeout,

    /// <summary>The peer closed the connection in the middle of a frame.</summary>
    TruncatedFrame,
}

/// <summary>A V2GTP frame the receiver must reject: the connection is closed.</summary>
public sealed class V2gtpException(V2gtpError error, string message) : Exception(message)
{
    public V2gtpError Error { get; } = error;
}
