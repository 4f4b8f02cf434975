using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Secc;
using Juice.Hlc.Secc.Iso2;
using static Juice.Hlc.Tests.Secc.Iso2Requests;

namespace Juice.Hlc.Tests.Secc;

public sealed class Iso2SeccSessionTests
{
    private static ResponseCodeType Code(V2G_Message response) =>
        (ResponseCodeType)response.Body.BodyElement!.GetType().GetProperty("ResponseCode")!.GetValue(response.Body.BodyElement)!;

    /// <summary>The EV requests of a session captured from another implementation (shared/vectors/sessions), in order.</summary>
    public static List<V2G_Message> CapturedRequests(string session) =>
        File.ReadAllLines(Path.Combine(Vectors.Shared, "vectors", "sessions", session, "exi.txt"))
            .Where(l => l.StartsWith("ev->se", StringComparison.Ordinal)).Skip(1)   // the first is supportedAppProtocolReq
            .Select(l => Iso2Exi.Decode(Convert.FromHexString(l.Split(' ')[1]))).ToList();

    [Fact]
    public async Task The_requests_of_a_captured_AC_session_get_valid_responses_in_order()
    {
        var evse = new SimpleEvse();
        var secc = new Iso2SeccSession(evse);
        var recorded = File.ReadAllLines(Path.Combine(Vectors.Shared, "vectors", "sessions", "iso15118-2_ac_eim_josev", "exi.txt"))
            .Where(l => l.StartsWith("se->ev", StringComparison.Ordinal)).Skip(1)
            .Select(l => Iso2Exi.Decode(Convert.FromHexString(l.Split(' ')[1])).Body.BodyElement!.GetType()).ToList();
        var requests = CapturedRequests("iso15118-2_ac_eim_josev");
        for (int i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            if (secc.SessionId is { } id)
            {
                request.Header.SessionID = id;   // the EV echoes the SessionID this SECC gave
            }
            var reply = await secc.HandleAsync(request, default);
            Assert.Equal(recorded[i], reply.Response.Body.BodyElement!.GetType());
            Assert.StartsWith("OK", Code(reply.Response).ToString());
            Assert.Equal(i == requests.Count - 1 ? SeccNext.Close : SeccNext.Continue, reply.Next);
            Iso2Exi.Decode(Iso2Exi.Encode(reply.Response));   // every response is a valid message
        }
        Assert.Equal(Iso2SeccState.Ended, secc.State);
        Assert.False(evse.EnergyTransferOn);
        Assert.Equal("02000000E7CC", evse.Ev!.EvccidHex);
    }

    /// <summary>A session with <paramref name="evse"/> up to the point where it waits for AuthorizationReq.</summary>
    private static async Task<Iso2SeccSession> ThroughPaymentServiceSelection(SimpleEvse evse)
    {
        var secc = new Iso2SeccSession(evse);
        await secc.HandleAsync(Message(null, SessionSetup()), default);
        await secc.HandleAsync(Message(secc.SessionId, new ServiceDiscoveryReqType()), default);
        await secc.HandleAsync(Message(secc.SessionId, PaymentServiceSelection()), default);
        Assert.Equal(Iso2SeccState.WaitForAuthorizationReq, secc.State);
        return secc;
    }

    private static async Task<(Iso2SeccSession Secc, SimpleEvse Evse)> ThroughAuthorization()
    {
        var evse = new SimpleEvse();
        var secc = await ThroughPaymentServiceSelection(evse);
        var auth = await secc.HandleAsync(Message(secc.SessionId, new AuthorizationReqType()), default);
        Assert.Equal(ResponseCodeType.OK, Code(auth.Response));
        return (secc, evse);
    }

    [Fact]
    public async Task A_DC_session_runs_from_cable_check_to_welding_detection()
    {
        var (secc, evse) = await ThroughAuthorization();
        var cpd = await secc.HandleAsync(Message(secc.SessionId, DcChargeParameterDiscovery()), default);
        var dcParams = Assert.IsType<DC_EVSEChargeParameterType>(((ChargeParameterDiscoveryResType)cpd.Response.Body.BodyElement!).EVSEChargeParameter);
        Assert.Equal(Iso2SeccState.WaitForCableCheckReq, secc.State);
        Assert.Equal(ResponseCodeType.OK, Code((await secc.HandleAsync(Message(secc.SessionId, new CableCheckReqType { DC_EVStatus = EvStatus() }), default)).Response));
        var pre = (PreChargeResType)(await secc.HandleAsync(Message(secc.SessionId, PreCharge()), default)).Response.Body.BodyElement!;
        Assert.Equal(400, Iso2Values.Si(pre.EVSEPresentVoltage));
        await secc.HandleAsync(Message(secc.SessionId, PowerDelivery(ChargeProgressType.Start)), default);
        Assert.True(evse.EnergyTransferOn);
        for (sbyte soc = 50; soc < 55; soc++)
        {
            var cd = (CurrentDemandResType)(await secc.HandleAsync(Message(secc.SessionId, CurrentDemand(soc)), default)).Response.Body.BodyElement!;
            Assert.Equal(ResponseCodeType.OK, cd.ResponseCode);
            Assert.Equal(100, Iso2Values.Si(cd.EVSEPresentCurrent));
        }
        await secc.HandleAsync(Message(secc.SessionId, PowerDelivery(ChargeProgressType.Stop)), default);
        Assert.False(evse.EnergyTransferOn);
        Assert.Equal(Iso2SeccState.WaitForWeldingDetectionReq, secc.State);
        await secc.HandleAsync(Message(secc.SessionId, new WeldingDetectionReqType { DC_EVStatus = EvStatus() }), default);
        var stop = await secc.HandleAsync(Message(secc.SessionId, new SessionStopReqType { ChargingSession = ChargingSessionType.Terminate }), default);
        Assert.Equal(SeccNext.Close, stop.Next);
        Assert.Equal(SessionEndReason.EvStopped, stop.End);
        Assert.NotNull(dcParams);
    }

    [Fact]
    public async Task After_a_DC_renegotiation_the_EV_may_run_CableCheck_and_PreCharge_again_before_PowerDelivery()
    {
        var (secc, evse) = await ThroughAuthorization();
        await secc.HandleAsync(Message(secc.SessionId, DcChargeParameterDiscovery()), default);
        await secc.HandleAsync(Message(secc.SessionId, new CableCheckReqType { DC_EVStatus = EvStatus() }), default);
        await secc.HandleAsync(Message(secc.SessionId, PreCharge()), default);
        await secc.HandleAsync(Message(secc.SessionId, PowerDelivery(ChargeProgressType.Start)), default);
        for (sbyte soc = 50; soc < 53; soc++)
        {
            await secc.HandleAsync(Message(secc.SessionId, CurrentDemand(soc)), default);
        }
        Assert.Equal(ResponseCodeType.OK, Code((await secc.HandleAsync(Message(secc.SessionId, PowerDelivery(ChargeProgressType.Renegotiate)), default)).Response));
        Assert.Equal(ResponseCodeType.OK, Code((await secc.HandleAsync(Message(secc.SessionId, DcChargeParameterDiscovery()), default)).Response));
        Assert.Equal(Iso2SeccState.WaitForPowerDeliveryReq, secc.State);

        // the sequence of another stack's EV: CableCheck, PreCharge, PowerDelivery(Start) after the renegotiation
        var check = (CableCheckResType)(await secc.HandleAsync(Message(secc.SessionId, new CableCheckReqType { DC_EVStatus = EvStatus() }), default)).Response.Body.BodyElement!;
        Assert.Equal(ResponseCodeType.OK, check.ResponseCode);
        Assert.Equal(EVSEProcessingType.Finished, check.EVSEProcessing);   // the isolation is still valid: no new wait
        Assert.Equal(IsolationLevelType.Valid, check.DC_EVSEStatus.EVSEIsolationStatus);
        Assert.Equal(ResponseCodeType.OK, Code((await secc.HandleAsync(Message(secc.SessionId, PreCharge()), default)).Response));
        Assert.Equal(ResponseCodeType.OK, Code((await secc.HandleAsync(Message(secc.SessionId, PowerDelivery(ChargeProgressType.Start)), default)).Response));
        Assert.Equal(Iso2SeccState.WaitForCurrentDemandReq, secc.State);
        Assert.True(evse.EnergyTransferOn);

        // outside a renegotiation CableCheck is still out of sequence
        var late = await secc.HandleAsync(Message(secc.SessionId, new CableCheckReqType { DC_EVStatus = EvStatus() }), default);
        Assert.Equal(ResponseCodeType.FAILED_SequenceError, Code(late.Response));
    }

    [Fact]
    public async Task An_AC_renegotiation_still_refuses_a_CableCheck()
    {
        var (secc, _) = await ThroughAuthorization();
        await secc.HandleAsync(Message(secc.SessionId, AcChargeParameterDiscovery()), default);
        await secc.HandleAsync(Message(secc.SessionId, PowerDelivery(ChargeProgressType.Start)), default);
        await secc.HandleAsync(Message(secc.SessionId, new ChargingStatusReqType()), default);
        await secc.HandleAsync(Message(secc.SessionId, PowerDelivery(ChargeProgressType.Renegotiate)), default);
        await secc.HandleAsync(Message(secc.SessionId, AcChargeParameterDiscovery()), default);
        var reply = await secc.HandleAsync(Message(secc.SessionId, new CableCheckReqType { DC_EVStatus = EvStatus() }), default);
        Assert.Equal(ResponseCodeType.FAILED_SequenceError, Code(reply.Response));
    }

    [Fact]
    public async Task A_request_out_of_sequence_is_answered_with_FAILED_SequenceError_and_ends_the_session()
    {
        var evse = new SimpleEvse();
        var secc = new Iso2SeccSession(evse);
        await secc.HandleAsync(Message(null, SessionSetup()), default);
        var reply = await secc.HandleAsync(Message(secc.SessionId, DcChargeParameterDiscovery()), default);
        var res = Assert.IsType<ChargeParameterDiscoveryResType>(reply.Response.Body.BodyElement);
        Assert.Equal(ResponseCodeType.FAILED_SequenceError, res.ResponseCode);
        Assert.Equal(SeccNext.Close, reply.Next);
        Iso2Exi.Encode(reply.Response);
    }

    [Fact]
    public async Task A_wrong_SessionID_is_FAILED_UnknownSession()
    {
        var evse = new SimpleEvse();
        var secc = new Iso2SeccSession(evse);
        await secc.HandleAsync(Message(null, SessionSetup()), default);
        var reply = await secc.HandleAsync(Message([1, 2, 3, 4, 5, 6, 7, 8], new ServiceDiscoveryReqType()), default);
        Assert.Equal(ResponseCodeType.FAILED_UnknownSession, Code(reply.Response));
        Assert.Equal(SeccNext.Close, reply.Next);
    }

    [Fact]
    public async Task Authorization_is_Ongoing_until_the_station_decides()
    {
        var evse = new SimpleEvse { Authorize = _ => AuthorizationStatus.Pending };
        var secc = await ThroughPaymentServiceSelection(evse);
        var first = (AuthorizationResType)(await secc.HandleAsync(Message(secc.SessionId, new AuthorizationReqType()), default)).Response.Body.BodyElement!;
        Assert.Equal(EVSEProcessingType.Ongoing, first.EVSEProcessing);
        evse.Authorize = _ => AuthorizationStatus.Accepted;
        var second = (AuthorizationResType)(await secc.HandleAsync(Message(secc.SessionId, new AuthorizationReqType()), default)).Response.Body.BodyElement!;
        Assert.Equal(EVSEProcessingType.Finished, second.EVSEProcessing);
        Assert.Equal(Iso2SeccState.WaitForChargeParameterDiscoveryReq, secc.State);
    }

    [Fact]
    public async Task A_rejected_EV_gets_FAILED_and_the_session_ends()
    {
        var secc = await ThroughPaymentServiceSelection(new SimpleEvse { Authorize = _ => AuthorizationStatus.Rejected });
        var reply = await secc.HandleAsync(Message(secc.SessionId, new AuthorizationReqType()), default);
        Assert.Equal(ResponseCodeType.FAILED, Code(reply.Response));
        Assert.Equal(SeccNext.Close, reply.Next);
    }

    [Theory]
    [InlineData(PaymentOptionType.Contract, 1, ResponseCodeType.FAILED_PaymentSelectionInvalid)]
    [InlineData(PaymentOptionType.ExternalPayment, 7, ResponseCodeType.FAILED_ServiceSelectionInvalid)]
    public async Task An_invalid_payment_or_service_selection_is_refused(PaymentOptionType option, int serviceId, ResponseCodeType expected)
    {
        var secc = new Iso2SeccSession(new SimpleEvse());
        await secc.HandleAsync(Message(null, SessionSetup()), default);
        await secc.HandleAsync(Message(secc.SessionId, new ServiceDiscoveryReqType()), default);
        var reply = await secc.HandleAsync(Message(secc.SessionId, new PaymentServiceSelectionReqType
        {
            SelectedPaymentOption = option,
            SelectedServiceList = new SelectedServiceListType { SelectedService = [new SelectedServiceType { ServiceID = (ushort)serviceId }] },
        }), default);
        Assert.Equal(expected, Code(reply.Response));
    }

    [Fact]
    public async Task An_AC_request_on_a_DC_only_station_is_FAILED_WrongEnergyTransferMode()
    {
        var secc = await ThroughPaymentServiceSelection(new SimpleEvse { Supported = EnergyTransfer.Dc });
        await secc.HandleAsync(Message(secc.SessionId, new AuthorizationReqType()), default);
        var request = CapturedRequests("iso15118-2_ac_eim_josev").First(r => r.Body.BodyElement is ChargeParameterDiscoveryReqType);
        request.Header.SessionID = secc.SessionId!;
        Assert.Equal(ResponseCodeType.FAILED_WrongEnergyTransferMode, Code((await secc.HandleAsync(request, default)).Response));
    }

    [Fact]
    public async Task A_paused_session_is_resumed_with_its_SessionID()
    {
        var paused = new PausedSessions();
        var evse = new SimpleEvse();
        var secc = new Iso2SeccSession(evse, paused: paused);
        await secc.HandleAsync(Message(null, SessionSetup()), default);
        await secc.HandleAsync(Message(secc.SessionId, new ServiceDiscoveryReqType()), default);
        await secc.HandleAsync(Message(secc.SessionId, PaymentServiceSelection()), default);
        await secc.HandleAsync(Message(secc.SessionId, new AuthorizationReqType()), default);
        await secc.HandleAsync(Message(secc.SessionId, DcChargeParameterDiscovery()), default);
        await secc.HandleAsync(Message(secc.SessionId, new CableCheckReqType { DC_EVStatus = EvStatus() }), default);
        await secc.HandleAsync(Message(secc.SessionId, PreCharge()), default);
        await secc.HandleAsync(Message(secc.SessionId, PowerDelivery(ChargeProgressType.Start)), default);
        await secc.HandleAsync(Message(secc.SessionId, PowerDelivery(ChargeProgressType.Stop)), default);
        var pause = await secc.HandleAsync(Message(secc.SessionId, new SessionStopReqType { ChargingSession = ChargingSessionType.Pause }), default);
        Assert.Equal(SessionEndReason.EvPaused, pause.End);
        var resumed = new Iso2SeccSession(evse, paused: paused);
        var setup = (SessionSetupResType)(await resumed.HandleAsync(Message(secc.SessionId, SessionSetup()), default)).Response.Body.BodyElement!;
        Assert.Equal(ResponseCodeType.OK_OldSessionJoined, setup.ResponseCode);
        Assert.Equal(secc.SessionId, resumed.SessionId);
        // a paused session is resumed once; asking again, or for an unknown or zero SessionID, is a new session ([V2G2-756])
        foreach (var id in new[] { secc.SessionId, null, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 } })
        {
            var fresh = new Iso2SeccSession(evse, paused: paused);
            var reply = await fresh.HandleAsync(Message(id, SessionSetup()), default);
            Assert.Equal(ResponseCodeType.OK_NewSessionEstablished, Code(reply.Response));
            Assert.NotEqual(id ?? new byte[8], fresh.SessionId);
            Assert.NotEqual(new byte[8], fresh.SessionId);
        }
    }
}
