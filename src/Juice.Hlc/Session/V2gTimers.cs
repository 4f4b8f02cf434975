namespace Juice.Hlc.Session;

/// <summary>The request/response pairs of DIN SPEC 70121 and ISO 15118-2, as the timing tables name them.</summary>
public enum V2gMessageKind
{
    SupportedAppProtocol,
    SessionSetup,
    ServiceDiscovery,
    ServiceDetail,
    PaymentServiceSelection,
    PaymentDetails,
    Authorization,
    ChargeParameterDiscovery,
    CableCheck,
    PreCharge,
    PowerDelivery,
    ChargingStatus,
    CurrentDemand,
    MeteringReceipt,
    WeldingDetection,
    SessionStop,
    CertificateInstallation,
    CertificateUpdate,
}

/// <summary>
/// Every V2G timer of one protocol in one table, named as in the standard, for both sides of the plug: the SECC
/// waits with the <c>..._Timeout</c> values of its own and budgets with the performance times; the EVCC waits
/// with its <c>V2G_EVCC_..._Timeout</c> values. ISO 15118-2:2014 Table 109 (message and sequence timing), Table 111
/// (DC timing), §7.10.1 (SDP); DIN SPEC 70121:2014 §9.6 Tables 75 and 76, which have the same values. Both the
/// session runners and the EV simulator read their timers from here and wait on an injected TimeProvider.
/// </summary>
public sealed record V2gTimers
{
    /// <summary>V2G_SECC_CommunicationSetup_Performance_Time: from the TCP connection to SessionSetupRes [V2G2-716].</summary>
    public TimeSpan SeccCommunicationSetup { get; init; } = TimeSpan.FromSeconds(18);

    /// <summary>V2G_SECC_Sequence_Timeout: between a response and the next request [V2G2-443].</summary>
    public TimeSpan SeccSequenceTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>V2G_SECC_Ongoing_Performance_Time: how long the SECC may answer EVSEProcessing = Ongoing [V2G2-712], [V2G2-713].</summary>
    public TimeSpan SeccOngoingPerformance { get; init; } = TimeSpan.FromSeconds(55);

    /// <summary>V2G_SECC_CableCheck_Performance_Time (Table 111).</summary>
    public TimeSpan SeccCableCheckPerformance { get; init; } = TimeSpan.FromSeconds(38);

    /// <summary>V2G_SECC_PreCharge_Performance_Time (Table 111).</summary>
    public TimeSpan SeccPreChargePerformance { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>V2G_SECC_Msg_Performance_Time of most responses (Table 109).</summary>
    public TimeSpan SeccMsgPerformance { get; init; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>V2G_SECC_Msg_Performance_Time of ServiceDetail, PaymentDetails, PowerDelivery and the certificate messages.</summary>
    public TimeSpan SeccMsgPerformanceLong { get; init; } = TimeSpan.FromMilliseconds(4500);

    /// <summary>V2G_SECC_Msg_Performance_Time of CurrentDemandRes.</summary>
    public TimeSpan SeccCurrentDemandPerformance { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>V2G_EVCC_Msg_Timeout of most requests [V2G2-436].</summary>
    public TimeSpan EvccMsgTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>V2G_EVCC_Msg_Timeout of ServiceDetail, PaymentDetails, PowerDelivery and the certificate messages.</summary>
    public TimeSpan EvccMsgTimeoutLong { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>V2G_EVCC_Msg_Timeout of CurrentDemandReq.</summary>
    public TimeSpan EvccCurrentDemandTimeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>V2G_EVCC_Ongoing_Timeout: how long the EVCC repeats a request answered with Ongoing [V2G2-710], [V2G2-711].</summary>
    public TimeSpan EvccOngoingTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>V2G_EVCC_CableCheck_Timeout [V2G2-700]..[V2G2-703].</summary>
    public TimeSpan EvccCableCheckTimeout { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>V2G_EVCC_PreCharge_Timeout [V2G2-704]..[V2G2-707].</summary>
    public TimeSpan EvccPreChargeTimeout { get; init; } = TimeSpan.FromSeconds(7);

    /// <summary>V2G_EVCC_CommunicationSetup_Timeout: from the link to SessionSetupRes, SDP included [V2G2-716].</summary>
    public TimeSpan EvccCommunicationSetupTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>SDP: the EVCC waits this long for an SDP response before repeating the request [V2G2-159].</summary>
    public TimeSpan SdpResponseTimeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>SDP: consecutive requests before the EVCC gives up [V2G2-161].</summary>
    public int SdpMaxRequests { get; init; } = 50;

    public static readonly V2gTimers Iso15118_2 = new();

    /// <summary>DIN SPEC 70121 Tables 75/76 give the same values as ISO 15118-2.</summary>
    public static readonly V2gTimers Din70121 = new();

    public static V2gTimers For(V2gProtocol protocol) => protocol == V2gProtocol.Din70121 ? Din70121 : Iso15118_2;

    /// <summary>The time the SECC has to answer a request of this kind (V2G_SECC_Msg_Performance_Time).</summary>
    public TimeSpan SeccPerformance(V2gMessageKind kind) => kind switch
    {
        V2gMessageKind.CurrentDemand => SeccCurrentDemandPerformance,
        V2gMessageKind.ServiceDetail or V2gMessageKind.PaymentDetails or V2gMessageKind.PowerDelivery
            or V2gMessageKind.CertificateInstallation or V2gMessageKind.CertificateUpdate => SeccMsgPerformanceLong,
        _ => SeccMsgPerformance,
    };

    /// <summary>The time the EVCC waits for the response to a request of this kind (V2G_EVCC_Msg_Timeout).</summary>
    public TimeSpan EvccTimeout(V2gMessageKind kind) => kind switch
    {
        V2gMessageKind.CurrentDemand => EvccCurrentDemandTimeout,
        V2gMessageKind.ServiceDetail or V2gMessageKind.PaymentDetails or V2gMessageKind.PowerDelivery
            or V2gMessageKind.CertificateInstallation or V2gMessageKind.CertificateUpdate => EvccMsgTimeoutLong,
        _ => EvccMsgTimeout,
    };
}
