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
/// (DC timing), §7.10.1 (SDP); DIN SPEC 70121:2014 §9.6 Tables 75 and 76, which have the same values; ISO 15118-20
/// §8.8 (its message timing table) where it differs: 2 s for PowerDelivery, 0.5 s for both charging loops, 10 s for
/// pre-charge. Both the session runners and the EV simulator read their timers from here and wait on an injected
/// TimeProvider.
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

    /// <summary>V2G_EVCC_Msg_Timeout of CurrentDemandReq (ISO 15118-20: DC_ChargeLoopReq).</summary>
    public TimeSpan EvccCurrentDemandTimeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>V2G_EVCC_Msg_Timeout of ChargingStatusReq (ISO 15118-20: AC_ChargeLoopReq).</summary>
    public TimeSpan EvccChargingStatusTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>V2G_EVCC_Msg_Timeout of PowerDeliveryReq.</summary>
    public TimeSpan EvccPowerDeliveryTimeout { get; init; } = TimeSpan.FromSeconds(5);

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

    /// <summary>ISO 15118-20 §8.8: the message timeouts of -20 where they differ from ISO 15118-2.</summary>
    public static readonly V2gTimers Iso15118_20 = new()
    {
        EvccCurrentDemandTimeout = TimeSpan.FromMilliseconds(500),
        EvccChargingStatusTimeout = TimeSpan.FromMilliseconds(500),
        EvccPowerDeliveryTimeout = TimeSpan.FromSeconds(2),
        EvccPreChargeTimeout = TimeSpan.FromSeconds(10),
    };

    public static V2gTimers For(V2gProtocol protocol) => protocol switch
    {
        V2gProtocol.Din70121 => Din70121,
        V2gProtocol.Iso15118_20Ac or V2gProtocol.Iso15118_20Dc => Iso15118_20,
        _ => Iso15118_2,
    };

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
        V2gMessageKind.ChargingStatus => EvccChargingStatusTimeout,
        V2gMessageKind.PowerDelivery => EvccPowerDeliveryTimeout,
        V2gMessageKind.ServiceDetail or V2gMessageKind.PaymentDetails
            or V2gMessageKind.CertificateInstallation or V2gMessageKind.CertificateUpdate => EvccMsgTimeoutLong,
        _ => EvccMsgTimeout,
    };
}

/// <summary>
/// The SLAC timers and counters of ISO 15118-3 Table A.1 (as reproduced by the public implementations, see
/// docs: TT_ = timeouts of the waiting side, TP_ = performance times of the sending side, C_ = counts), for the
/// EVSE and the EV of <c>Juice.Hlc.Slac</c>.
/// </summary>
public sealed record SlacTimers
{
    public static readonly SlacTimers Iso15118_3 = new();

    /// <summary>TT_EVSE_SLAC_init (20–50 s): from CP state B until the first CM_SLAC_PARM.REQ.</summary>
    public TimeSpan EvseSlacInit { get; init; } = TimeSpan.FromSeconds(50);

    /// <summary>TT_match_response: the requester's wait for an answer before repeating.</summary>
    public TimeSpan MatchResponse { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>C_EV_match_retry: repetitions of an unanswered request (CM_ATTEN_CHAR.IND at the EVSE [V2G3-A09-46], PARM and MATCH at the EV).</summary>
    public int MatchRetries { get; init; } = 2;

    /// <summary>TT_match_sequence: the longest gap between the messages of one sequence seen by the waiting side.</summary>
    public TimeSpan MatchSequence { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>C_EV_start_atten_char_inds: CM_START_ATTEN_CHAR.IND repetitions.</summary>
    public int StartAttenCharInds { get; init; } = 3;

    /// <summary>TP_EV_batch_msg_interval (20–50 ms): between the START_ATTEN_CHAR and MNBC_SOUND indications.</summary>
    public TimeSpan BatchMessageInterval { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>C_EV_match_MNBC: the number of M-sounds.</summary>
    public int MatchSounds { get; init; } = 10;

    /// <summary>TT_EVSE_match_MNBC: the EVSE's sound window, sent as Time_Out in units of 100 ms.</summary>
    public TimeSpan EvseMatchMnbc { get; init; } = TimeSpan.FromMilliseconds(600);

    /// <summary>TT_EV_atten_results: the EV collects CM_ATTEN_CHAR.IND this long from its first START_ATTEN_CHAR [V2G3-A09-30].</summary>
    public TimeSpan EvAttenResults { get; init; } = TimeSpan.FromMilliseconds(1200);

    /// <summary>TT_EVSE_match_session: after CM_ATTEN_CHAR.RSP, the EVSE waits this long for CM_VALIDATE.REQ or CM_SLAC_MATCH.REQ.</summary>
    public TimeSpan EvseMatchSession { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>TT_match_join: after CM_SLAC_MATCH.CNF both modems are in one AVLN.</summary>
    public TimeSpan MatchJoin { get; init; } = TimeSpan.FromSeconds(12);

    /// <summary>TT_matching_rate: wait after a failed matching before the next attempt [V2G3-A09-124].</summary>
    public TimeSpan MatchingRate { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>C_conn_max_match: matching attempts of the EV.</summary>
    public int MaxMatchAttempts { get; init; } = 3;

    /// <summary>The wait for CM_SET_KEY.CNF from the own modem (EVerest: 500–1000 ms), and the attempts.</summary>
    public TimeSpan SetKeyTimeout { get; init; } = TimeSpan.FromMilliseconds(1000);

    public int SetKeyAttempts { get; init; } = 3;
}
