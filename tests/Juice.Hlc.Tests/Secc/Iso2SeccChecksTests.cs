using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Secc;
using Juice.Hlc.Secc.Iso2;
using Juice.Hlc.Session;
using Microsoft.Extensions.Time.Testing;
using static Juice.Hlc.Tests.Secc.Iso2Requests;

namespace Juice.Hlc.Tests.Secc;

/// <summary>The checks ISO 15118-2 asks of the SECC, one response code each, and the timers on a fake clock.</summary>
public sealed class Iso2SeccChecksTests
{
    private static ResponseCodeType Code(SeccReply<V2G_Message> reply) =>
        (ResponseCodeType)reply.Response.Body.BodyElement!.GetType().GetProperty("ResponseCode")!.GetValue(reply.Response.Body.BodyElement)!;

    private static T Body<T>(SeccReply<V2G_Message> reply) => (T)(object)reply.Response.Body.BodyElement!;

    /// <summary>A SECC session driven by the test, with the response of each step checked to be a valid message.</summary>
    private sealed class Session(IChargingPoint evse, SeccSessionOptions? options = null, TimeProvider? time = null)
    {
        public Iso2SeccSession Secc { get; } = new(evse, options, time);

        public async Task<SeccReply<V2G_Message>> Send(BodyBaseType body)
        {
            var reply = await Secc.HandleAsync(Message(Secc.SessionId, body), default);
            Iso2Exi.Decode(Iso2Exi.Encode(reply.Response));   // every response, FAILED ones too, is a valid message
            return reply;
        }

        public async Task<Session> UpToAuthorization()
        {
            await Send(SessionSetup());
            await Send(new ServiceDiscoveryReqType());
            await Send(PaymentServiceSelection());
            return this;
        }

        public async Task<Session> UpToChargeParameterDiscovery()
        {
            await UpToAuthorization();
            Assert.Equal(ResponseCodeType.OK, Code(await Send(new AuthorizationReqType())));
            return this;
        }

        public async Task<Session> UpToPowerDeliveryDc()
        {
            await UpToChargeParameterDiscovery();
            Assert.Equal(ResponseCodeType.OK, Code(await Send(DcChargeParameterDiscovery())));
            Assert.Equal(ResponseCodeType.OK, Code(await Send(new CableCheckReqType { DC_EVStatus = EvStatus() })));
            Assert.Equal(ResponseCodeType.OK, Code(await Send(PreCharge())));
            return this;
        }

        public async Task<Session> Charging()
        {
            await UpToPowerDeliveryDc();
            Assert.Equal(ResponseCodeType.OK, Code(await Send(PowerDelivery(ChargeProgressType.Start))));
            return this;
        }
    }

    [Fact]
    public async Task An_authorization_decision_slower_than_the_response_budget_is_answered_Ongoing_and_picked_up_later()
    {
        var decision = new TaskCompletionSource<AuthorizationStatus>();
        var evse = new SlowEvse(decision.Task);
        var time = new FakeTimeProvider();
        var s = await new Session(evse, time: time).UpToAuthorization();
        var first = s.Send(new AuthorizationReqType());
        // answered within the budget: V2G_SECC_Msg_Performance_Time less half a second, not before
        time.Advance(TimeSpan.FromMilliseconds(900));
        await Task.Delay(50);
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(100));
        var answer = await first.WaitAsync(TimeSpan.FromSeconds(30));   // real time: only the scheduling of the answer is waited for
        Assert.Equal(EVSEProcessingType.Ongoing, Body<AuthorizationResType>(answer).EVSEProcessing);
        decision.SetResult(AuthorizationStatus.Accepted);
        var second = await s.Send(new AuthorizationReqType());
        Assert.Equal(EVSEProcessingType.Finished, Body<AuthorizationResType>(second).EVSEProcessing);
        Assert.Equal(1, evse.Calls);   // the pending decision was awaited, not asked for again
        Assert.Equal(Iso2SeccState.WaitForChargeParameterDiscoveryReq, s.Secc.State);
    }

    [Fact]
    public async Task An_authorization_still_Ongoing_after_the_ongoing_performance_time_is_FAILED()
    {
        var time = new FakeTimeProvider();
        var s = await new Session(new SimpleEvse(time) { Authorize = _ => AuthorizationStatus.Pending }, time: time).UpToAuthorization();
        Assert.Equal(EVSEProcessingType.Ongoing, Body<AuthorizationResType>(await s.Send(new AuthorizationReqType())).EVSEProcessing);
        time.Advance(TimeSpan.FromSeconds(54));
        Assert.Equal(EVSEProcessingType.Ongoing, Body<AuthorizationResType>(await s.Send(new AuthorizationReqType())).EVSEProcessing);
        time.Advance(TimeSpan.FromSeconds(1));   // V2G_SECC_Ongoing_Performance_Time = 55 s [V2G2-712]
        var last = await s.Send(new AuthorizationReqType());
        Assert.Equal(ResponseCodeType.FAILED, Code(last));
        Assert.Equal(SeccNext.Close, last.Next);
        Assert.Equal(SessionEndReason.Timeout, last.End);
    }

    [Fact]
    public async Task The_cable_check_is_Ongoing_until_the_isolation_test_is_done()
    {
        var time = new FakeTimeProvider();
        var s = await new Session(new SimpleEvse(time) { IsolationTestDuration = TimeSpan.FromSeconds(3) }, time: time).UpToChargeParameterDiscovery();
        await s.Send(DcChargeParameterDiscovery());
        var ongoing = Body<CableCheckResType>(await s.Send(new CableCheckReqType { DC_EVStatus = EvStatus() }));
        Assert.Equal(EVSEProcessingType.Ongoing, ongoing.EVSEProcessing);
        Assert.Equal(DC_EVSEStatusCodeType.EVSE_IsolationMonitoringActive, ongoing.DC_EVSEStatus.EVSEStatusCode);
        time.Advance(TimeSpan.FromSeconds(3));
        var done = Body<CableCheckResType>(await s.Send(new CableCheckReqType { DC_EVStatus = EvStatus() }));
        Assert.Equal(EVSEProcessingType.Finished, done.EVSEProcessing);
        Assert.Equal(IsolationLevelType.Valid, done.DC_EVSEStatus.EVSEIsolationStatus);
        Assert.Equal(Iso2SeccState.WaitForPreChargeReq, s.Secc.State);
    }

    [Fact]
    public async Task A_cable_check_past_its_performance_time_or_with_an_isolation_fault_is_FAILED()
    {
        var time = new FakeTimeProvider();
        var slow = await new Session(new SimpleEvse(time) { IsolationTestDuration = TimeSpan.FromMinutes(5) }, time: time).UpToChargeParameterDiscovery();
        await slow.Send(DcChargeParameterDiscovery());
        await slow.Send(new CableCheckReqType { DC_EVStatus = EvStatus() });
        time.Advance(TimeSpan.FromSeconds(38));   // V2G_SECC_CableCheck_Performance_Time
        var overdue = await slow.Send(new CableCheckReqType { DC_EVStatus = EvStatus() });
        Assert.Equal(ResponseCodeType.FAILED, Code(overdue));
        Assert.Equal(SessionEndReason.Timeout, overdue.End);

        var faulty = await new Session(new SimpleEvse { IsolationResult = IsolationStatus.Fault }).UpToChargeParameterDiscovery();
        await faulty.Send(DcChargeParameterDiscovery());
        var fault = await faulty.Send(new CableCheckReqType { DC_EVStatus = EvStatus() });
        Assert.Equal(ResponseCodeType.FAILED, Code(fault));
        Assert.Equal(IsolationLevelType.Fault, Body<CableCheckResType>(fault).DC_EVSEStatus.EVSEIsolationStatus);
        Assert.Equal(SeccNext.Close, fault.Next);
    }

    [Fact]
    public async Task A_ServiceDetailReq_for_the_charge_service_is_answered_and_for_another_service_is_FAILED_ServiceIDInvalid()
    {
        var s = new Session(new SimpleEvse());
        await s.Send(SessionSetup());
        await s.Send(new ServiceDiscoveryReqType());
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(new ServiceDetailReqType { ServiceID = 1 })));
        var other = await s.Send(new ServiceDetailReqType { ServiceID = 7 });
        Assert.Equal(ResponseCodeType.FAILED_ServiceIDInvalid, Code(other));   // [V2G2-464]
        Assert.Equal(SeccNext.Close, other.Next);
    }

    [Fact]
    public async Task A_selection_without_the_charge_service_is_FAILED_NoChargeServiceSelected()
    {
        var s = new Session(new SimpleEvse());
        await s.Send(SessionSetup());
        await s.Send(new ServiceDiscoveryReqType());
        var reply = await s.Send(new PaymentServiceSelectionReqType { SelectedPaymentOption = PaymentOptionType.ExternalPayment, SelectedServiceList = new SelectedServiceListType() });
        Assert.Equal(ResponseCodeType.FAILED_NoChargeServiceSelected, Code(reply));   // [V2G2-804]
    }

    [Theory]
    [InlineData(UnitSymbolType.V, 200, 420, "EVMaximumCurrentLimit in V")]
    [InlineData(UnitSymbolType.A, -5, 420, "negative")]
    public async Task Charge_parameters_with_a_wrong_unit_or_a_negative_value_are_FAILED_WrongChargeParameter(UnitSymbolType currentUnit, short current, short voltage, string reason)
    {
        var s = await new Session(new SimpleEvse()).UpToChargeParameterDiscovery();
        var cpd = DcChargeParameterDiscovery();
        var p = (DC_EVChargeParameterType)cpd.EVChargeParameter;
        p.EVMaximumCurrentLimit = Pv(current, currentUnit);
        p.EVMaximumVoltageLimit = Pv(voltage, UnitSymbolType.V);
        var reply = await s.Send(cpd);
        Assert.Equal(ResponseCodeType.FAILED_WrongChargeParameter, Code(reply));   // [V2G2-477]
        Assert.Contains(reason, reply.Problem);
    }

    [Fact]
    public async Task AC_charge_parameters_for_a_DC_mode_are_FAILED_WrongChargeParameter()
    {
        var s = await new Session(new SimpleEvse()).UpToChargeParameterDiscovery();
        var request = AcChargeParameterDiscovery();
        request.RequestedEnergyTransferMode = EnergyTransferModeType.DC_extended;
        var reply = await s.Send(request);
        Assert.Equal(ResponseCodeType.FAILED_WrongChargeParameter, Code(reply));
    }

    [Fact]
    public async Task A_schedule_the_SECC_did_not_offer_is_FAILED_TariffSelectionInvalid()
    {
        var s = await new Session(new SimpleEvse()).UpToPowerDeliveryDc();
        var reply = await s.Send(new PowerDeliveryReqType { ChargeProgress = ChargeProgressType.Start, SAScheduleTupleID = 2 });
        Assert.Equal(ResponseCodeType.FAILED_TariffSelectionInvalid, Code(reply));   // [V2G2-479]
        Assert.Equal(SeccNext.Close, reply.Next);
    }

    private static PowerDeliveryReqType StartWithProfile(double watts) => new()
    {
        ChargeProgress = ChargeProgressType.Start,
        SAScheduleTupleID = 1,
        ChargingProfile = new ChargingProfileType
        {
            ProfileEntry =
            [
                new ProfileEntryType { ChargingProfileEntryStart = 0, ChargingProfileEntryMaxPower = Pv((short)(watts / 1000), UnitSymbolType.W, 3) },
                new ProfileEntryType { ChargingProfileEntryStart = 86_400, ChargingProfileEntryMaxPower = Pv(0, UnitSymbolType.W) },
            ],
        },
    };

    [Fact]
    public async Task A_charging_profile_within_the_schedule_is_accepted_and_one_above_it_is_FAILED_ChargingProfileInvalid()
    {
        var within = await new Session(new SimpleEvse()).UpToPowerDeliveryDc();
        Assert.Equal(ResponseCodeType.OK, Code(await within.Send(StartWithProfile(150_000))));

        var above = await new Session(new SimpleEvse()).UpToPowerDeliveryDc();
        var reply = await above.Send(StartWithProfile(200_000));
        Assert.Equal(ResponseCodeType.FAILED_ChargingProfileInvalid, Code(reply));   // [V2G2-478]
        Assert.Equal(SeccNext.Close, reply.Next);

        var lenient = await new Session(new SimpleEvse(), new SeccSessionOptions { RejectChargingProfileAboveSchedule = false }).UpToPowerDeliveryDc();
        Assert.Equal(ResponseCodeType.OK, Code(await lenient.Send(StartWithProfile(200_000))));
    }

    [Fact]
    public async Task Contactors_that_do_not_close_are_FAILED_ContactorError()
    {
        var evse = new SimpleEvse { ContactorWorks = false };
        var s = await new Session(evse).UpToPowerDeliveryDc();
        var reply = await s.Send(PowerDelivery(ChargeProgressType.Start));
        Assert.Equal(ResponseCodeType.FAILED_ContactorError, Code(reply));
        Assert.False(evse.EnergyTransferOn);
    }

    [Fact]
    public async Task PowerDelivery_Start_from_within_the_charging_loop_is_FAILED_and_Renegotiate_before_it_too()
    {
        var charging = await new Session(new SimpleEvse()).Charging();
        await charging.Send(CurrentDemand(55));
        var again = await charging.Send(PowerDelivery(ChargeProgressType.Start));
        Assert.Equal(ResponseCodeType.FAILED, Code(again));   // [V2G2-812]

        var early = await new Session(new SimpleEvse()).UpToPowerDeliveryDc();
        Assert.Equal(ResponseCodeType.FAILED, Code(await early.Send(PowerDelivery(ChargeProgressType.Renegotiate))));   // [V2G2-813]
    }

    [Fact]
    public async Task A_renegotiation_offers_the_new_limits_and_goes_back_to_charging_without_a_new_cable_check()
    {
        var evse = new SimpleEvse();
        var s = await new Session(evse).Charging();
        evse.DcLimits = evse.DcLimits with { MaxCurrentA = 80, MaxPowerW = 30_000 };
        evse.Request = EvseRequest.Renegotiate;
        var loop = Body<CurrentDemandResType>(await s.Send(CurrentDemand(55)));
        Assert.Equal(EVSENotificationType.ReNegotiation, loop.DC_EVSEStatus.EVSENotification);
        Assert.Equal(10, loop.DC_EVSEStatus.NotificationMaxDelay);
        Assert.Equal(80, Iso2Value(loop.EVSEMaximumCurrentLimit!));   // the new limit already, in the same cycle
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(PowerDelivery(ChargeProgressType.Renegotiate))));
        var cpd = Body<ChargeParameterDiscoveryResType>(await s.Send(DcChargeParameterDiscovery()));
        Assert.Equal(30_000, Iso2Value(cpd.SASchedules is SAScheduleListType l ? l.SAScheduleTuple[0].PMaxSchedule.PMaxScheduleEntry[0].PMax : throw new InvalidOperationException()));
        Assert.Equal(EvseRequest.None, evse.Request);
        Assert.Equal(Iso2SeccState.WaitForPowerDeliveryReq, s.Secc.State);
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(PowerDelivery(ChargeProgressType.Start))));
        Assert.Equal(Iso2SeccState.WaitForCurrentDemandReq, s.Secc.State);
    }

    [Fact]
    public async Task An_EV_that_ignores_the_stop_notification_past_NotificationMaxDelay_has_its_energy_stopped()
    {
        var time = new FakeTimeProvider();
        var evse = new SimpleEvse(time);
        var s = await new Session(evse, time: time).Charging();
        evse.Request = EvseRequest.StopCharging;
        var notified = Body<CurrentDemandResType>(await s.Send(CurrentDemand(55)));
        Assert.Equal(EVSENotificationType.StopCharging, notified.DC_EVSEStatus.EVSENotification);
        Assert.Equal(DC_EVSEStatusCodeType.EVSE_Shutdown, notified.DC_EVSEStatus.EVSEStatusCode);
        Assert.True(evse.EnergyTransferOn);
        time.Advance(TimeSpan.FromSeconds(11));
        await s.Send(CurrentDemand(55));
        Assert.False(evse.EnergyTransferOn);
    }

    [Fact]
    public async Task The_timestamps_come_from_the_injected_clock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var s = new Session(new SimpleEvse(time), time: time);
        var setup = Body<SessionSetupResType>(await s.Send(SessionSetup()));
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), setup.EVSETimeStamp);
    }

    private static double Iso2Value(PhysicalValueType pv) => pv.Value * Math.Pow(10, pv.Multiplier);

    /// <summary>A charging point whose authorization decision comes from a task (a backend round trip).</summary>
    private sealed class SlowEvse(Task<AuthorizationStatus> decision) : IChargingPoint
    {
        private readonly SimpleEvse _inner = new();
        public int Calls { get; private set; }
        public string EvseId => _inner.EvseId;
        public EnergyTransfer Supported => _inner.Supported;
        public EvseLimits Limits => _inner.Limits;
        public EvseRequest Request => _inner.Request;
        public void SessionStarted(EvIdentity ev) => _inner.SessionStarted(ev);

        public async ValueTask<AuthorizationStatus> AuthorizeAsync(AuthorizationRequest request, CancellationToken cancellationToken)
        {
            Calls++;
            return await decision.WaitAsync(cancellationToken);
        }

        public void EvNeedsChanged(EvNeeds needs) => _inner.EvNeedsChanged(needs);
        public ValueTask<bool> SetEnergyTransferAsync(bool on, CancellationToken cancellationToken) => _inner.SetEnergyTransferAsync(on, cancellationToken);
        public IsolationStatus CheckIsolation() => _inner.CheckIsolation();
        public void DcTarget(double voltageV, double currentA) => _inner.DcTarget(voltageV, currentA);
        public void AcPower(double watts) => _inner.AcPower(watts);
        public MeterReading ReadMeter() => _inner.ReadMeter();
        public void RequestHandled(EvseRequest request) => _inner.RequestHandled(request);
        public void SessionEnded(SessionEndReason reason) => _inner.SessionEnded(reason);
    }
}
