namespace Juice.Hlc.Secc;

/// <summary>
/// The SECC's timers, named as in the standards (ISO 15118-2:2014 §8.8.7.2 / Table 109 and DIN SPEC 70121 §9.6,
/// Table 76). One table; the session runner takes them from here and waits on the injected TimeProvider.
/// </summary>
public sealed record SeccTimers
{
    /// <summary>From the TCP connection to supportedAppProtocolReq / SessionSetupReq (V2G_SECC_CommunicationSetup_Timeout).</summary>
    public TimeSpan CommunicationSetupTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Between a response and the next request (V2G_SECC_Sequence_Timeout).</summary>
    public TimeSpan SequenceTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the SECC may answer EVSEProcessing = Ongoing for one step (V2G_SECC_Ongoing_Timeout).</summary>
    public TimeSpan OngoingTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public static readonly SeccTimers Iso15118_2 = new();
    public static readonly SeccTimers Din70121 = new();
}
