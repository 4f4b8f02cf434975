using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Secc;
using Juice.Hlc.Secc.Iso20;
using Juice.Hlc.Session;
using Microsoft.Extensions.Time.Testing;
using static Juice.Hlc.Secc.Iso20.Iso20Values;

namespace Juice.Hlc.Tests.Secc;

/// <summary>The ISO 15118-20 SECC session request by request: dynamic control, and every FAILED/WARNING code it can detect.</summary>
public sealed class Iso20SeccChecksTests
{
    private sealed class Session(SimpleEvse evse, V2gProtocol protocol = V2gProtocol.Iso15118_20Dc)
    {
        public readonly Iso20SeccSession Secc = new(evse, protocol, time: new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000)));

        public byte[] Id { get; private set; } = new byte[8];

        public async Task<SeccReply<V2GMessageType>> Send(V2GMessageType request)
        {
            request.Header = new MessageHeaderType { SessionID = Id, TimeStamp = 1 };
            var reply = await Secc.HandleAsync(request, CancellationToken.None);
            if (reply.Response is SessionSetupResType)
            {
                Id = reply.Response.Header.SessionID;
            }
            return reply;
        }

        public async Task<Session> UpToServiceSelection(ushort service, ushort parameterSet)
        {
            Assert.Equal(ResponseCodeType.OK_NewSessionEstablished, Code(await Send(new SessionSetupReqType { Header = null!, EVCCID = "WMIV1234567890ABCDEX" })));
            Assert.Equal(ResponseCodeType.OK, Code(await Send(new AuthorizationSetupReqType { Header = null! })));
            Assert.Equal(ResponseCodeType.OK, Code(await Send(Eim())));
            Assert.Equal(ResponseCodeType.OK, Code(await Send(new ServiceDiscoveryReqType { Header = null! })));
            Assert.Equal(ResponseCodeType.OK, Code(await Send(new ServiceSelectionReqType
            {
                Header = null!,
                SelectedEnergyTransferService = new SelectedServiceType { ServiceID = service, ParameterSetID = parameterSet },
            })));
            return this;
        }

        /// <summary>An AC session in dynamic control up to its PowerDelivery: the service, charge parameters of 1.4-7.4 kW, the schedule exchange.</summary>
        public async Task<Session> UpToAcPowerDelivery()
        {
            await UpToServiceSelection(AcService, 2);
            await Send(new AC_ChargeParameterDiscoveryReqType
            {
                Header = null!,
                AC_CPDReqEnergyTransferMode = new AC_CPDReqEnergyTransferModeType { EVMaximumChargePower = Rn(7_400), EVMinimumChargePower = Rn(1_400) },
            });
            await Send(Dynamic());
            return this;
        }
    }

    private static AuthorizationReqType Eim() => new()
    {
        Header = null!,
        SelectedAuthorizationService = AuthorizationType.EIM,
        Choice = new AuthorizationReqTypeChoice.EIM_AReqAuthorizationMode(new EIM_AReqAuthorizationModeType()),
    };

    private static DC_ChargeParameterDiscoveryReqType DcCpd() => new()
    {
        Header = null!,
        DC_CPDReqEnergyTransferMode = new DC_CPDReqEnergyTransferModeType
        {
            EVMaximumChargePower = Rn(150_000), EVMinimumChargePower = Rn(100), EVMaximumChargeCurrent = Rn(300), EVMinimumChargeCurrent = Rn(1),
            EVMaximumVoltage = Rn(500), EVMinimumVoltage = Rn(200),
        },
    };

    private static ScheduleExchangeReqType Dynamic() => new()
    {
        Header = null!,
        MaximumSupportingPoints = 1024,
        Choice = new ScheduleExchangeReqTypeChoice.Dynamic_SEReqControlMode(new Dynamic_SEReqControlModeType
        {
            DepartureTime = 3600, EVTargetEnergyRequest = Rn(20_000), EVMaximumEnergyRequest = Rn(30_000), EVMinimumEnergyRequest = Rn(5_000),
        }),
    };

    private static ScheduleExchangeReqType Scheduled() => new()
    {
        Header = null!,
        MaximumSupportingPoints = 1024,
        Choice = new ScheduleExchangeReqTypeChoice.Scheduled_SEReqControlMode(new Scheduled_SEReqControlModeType()),
    };

    private static ResponseCodeType Code(SeccReply<V2GMessageType> reply) => ((V2GResponseType)reply.Response).ResponseCode;

    [Fact]
    public async Task A_DC_session_in_dynamic_control_charges_with_the_current_the_SECC_decides_and_ends_cleanly()
    {
        var evse = new SimpleEvse { DcLimits = new EvseLimits(MaxCurrentA: 200, MaxPowerW: 50_000, NominalVoltageV: 400, MaxVoltageV: 920, MinCurrentA: 1, MinVoltageV: 150) };
        var s = await new Session(evse).UpToServiceSelection(DcService, 2);
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(DcCpd())));
        var schedule = await s.Send(Dynamic());
        Assert.IsType<ScheduleExchangeResTypeChoice.Dynamic_SEResControlMode>(((ScheduleExchangeResType)schedule.Response).Choice);
        Assert.NotNull(evse.Needs?.Departure);
        Assert.Equal(20_000, evse.Needs!.EnergyRequestWh);
        Assert.Equal(300, evse.Needs!.MaxCurrentA);   // from charge parameter discovery, kept (Modbus 715)
        Assert.Equal(ProcessingType.Finished, ((DC_CableCheckResType)(await s.Send(new DC_CableCheckReqType { Header = null! })).Response).EVSEProcessing);
        await s.Send(new DC_PreChargeReqType { Header = null!, EVProcessing = ProcessingType.Finished, EVPresentVoltage = Rn(400), EVTargetVoltage = Rn(400) });
        // an EV still getting ready: OK, no energy yet
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(new PowerDeliveryReqType { Header = null!, EVProcessing = ProcessingType.Ongoing, ChargeProgress = ChargeProgressType.Start })));
        Assert.False(evse.EnergyTransferOn);
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(new PowerDeliveryReqType { Header = null!, EVProcessing = ProcessingType.Finished, ChargeProgress = ChargeProgressType.Start })));
        Assert.True(evse.EnergyTransferOn);

        var loop = await s.Send(new DC_ChargeLoopReqType
        {
            Header = null!,
            DisplayParameters = new DisplayParametersType { PresentSOC = 42 },
            MeterInfoRequested = true,
            EVPresentVoltage = Rn(400),
            CLReqControlMode = new Dynamic_DC_CLReqControlModeType
            {
                EVTargetEnergyRequest = Rn(20_000), EVMaximumEnergyRequest = Rn(30_000), EVMinimumEnergyRequest = Rn(5_000),
                EVMaximumChargePower = Rn(150_000), EVMinimumChargePower = Rn(100), EVMaximumChargeCurrent = Rn(300), EVMaximumVoltage = Rn(500), EVMinimumVoltage = Rn(200),
            },
        });
        var res = (DC_ChargeLoopResType)loop.Response;
        Assert.Equal(42, evse.Needs!.StateOfCharge);   // the EV's display parameters reach the station (Modbus 730)
        var control = Assert.IsType<Dynamic_DC_CLResControlModeType>(res.CLResControlMode);
        Assert.Equal(50_000, Si(control.EVSEMaximumChargePower));
        Assert.Equal(125, Si(res.EVSEPresentCurrent), 1);   // 50 kW at 400 V: the station's power limit binds
        Assert.True(res.EVSEPowerLimitAchieved);
        Assert.NotNull(res.MeterInfo);

        // the station asks to stop: Terminate with the time the EV has to act
        evse.Request = EvseRequest.StopCharging;
        var asked = (DC_ChargeLoopResType)(await s.Send(new DC_ChargeLoopReqType
        {
            Header = null!, MeterInfoRequested = false, EVPresentVoltage = Rn(400),
            CLReqControlMode = new Dynamic_DC_CLReqControlModeType
            {
                EVTargetEnergyRequest = Rn(20_000), EVMaximumEnergyRequest = Rn(30_000), EVMinimumEnergyRequest = Rn(5_000),
                EVMaximumChargePower = Rn(150_000), EVMinimumChargePower = Rn(100), EVMaximumChargeCurrent = Rn(300), EVMaximumVoltage = Rn(500), EVMinimumVoltage = Rn(200),
            },
        })).Response;
        Assert.Equal(EvseNotificationType.Terminate, asked.EVSEStatus!.EVSENotification);
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(new PowerDeliveryReqType { Header = null!, EVProcessing = ProcessingType.Finished, ChargeProgress = ChargeProgressType.Stop })));
        Assert.False(evse.EnergyTransferOn);
        await s.Send(new DC_WeldingDetectionReqType { Header = null!, EVProcessing = ProcessingType.Finished });
        var stop = await s.Send(new SessionStopReqType { Header = null!, ChargingSession = ChargingSessionType.Terminate });
        Assert.Equal(ResponseCodeType.OK, Code(stop));
        Assert.Equal(SessionEndReason.EvStopped, stop.End);
    }

    [Fact]
    public async Task An_AC_session_in_dynamic_control_gets_the_target_power_within_both_limits()
    {
        var evse = new SimpleEvse();
        var s = await new Session(evse, V2gProtocol.Iso15118_20Ac).UpToAcPowerDelivery();
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(new PowerDeliveryReqType { Header = null!, EVProcessing = ProcessingType.Finished, ChargeProgress = ChargeProgressType.Start })));
        var loop = (AC_ChargeLoopResType)(await s.Send(new AC_ChargeLoopReqType
        {
            Header = null!,
            MeterInfoRequested = false,
            CLReqControlMode = new Dynamic_AC_CLReqControlModeType
            {
                EVTargetEnergyRequest = Rn(20_000), EVMaximumEnergyRequest = Rn(30_000), EVMinimumEnergyRequest = Rn(5_000),
                EVMaximumChargePower = Rn(7_400), EVMinimumChargePower = Rn(1_400), EVPresentActivePower = Rn(0), EVPresentReactivePower = Rn(0),
            },
        })).Response;
        Assert.Equal(7_400, Si(Assert.IsType<Dynamic_AC_CLResControlModeType>(loop.CLResControlMode).EVSETargetActivePower));
    }

    [Fact]
    public async Task Standby_and_schedule_renegotiation_before_the_charging_loop_get_their_codes_and_in_the_loop_are_served()
    {
        var evse = new SimpleEvse();
        var s = await new Session(evse, V2gProtocol.Iso15118_20Ac).UpToAcPowerDelivery();
        PowerDeliveryReqType Pd(ChargeProgressType progress) => new() { Header = null!, EVProcessing = ProcessingType.Finished, ChargeProgress = progress };
        // before the loop: standby is not allowed (the session goes on), a renegotiation is a failure
        Assert.Equal(ResponseCodeType.WARNING_StandbyNotAllowed, Code(await s.Send(Pd(ChargeProgressType.Standby))));
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(Pd(ChargeProgressType.Start))));
        Assert.True(evse.EnergyTransferOn);
        // in the loop: standby opens the energy transfer, Start wakes it up, a renegotiation leads to ScheduleExchange
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(Pd(ChargeProgressType.Standby))));
        Assert.False(evse.EnergyTransferOn);
        Assert.Equal(ResponseCodeType.WARNING_StandbyNotAllowed, Code(await s.Send(Pd(ChargeProgressType.Standby))));   // already in standby
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(Pd(ChargeProgressType.Start))));
        Assert.True(evse.EnergyTransferOn);
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(Pd(ChargeProgressType.ScheduleRenegotiation))));
        Assert.Equal(Iso20SeccState.WaitForScheduleExchangeReq, s.Secc.State);
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(Dynamic())));
        Assert.Equal(Iso20SeccState.WaitForPowerDeliveryReq, s.Secc.State);
        Assert.Equal(ResponseCodeType.OK, Code(await s.Send(Pd(ChargeProgressType.Start))));
        Assert.Equal(Iso20SeccState.WaitForChargeLoopReq, s.Secc.State);

        var fresh = await new Session(new SimpleEvse(), V2gProtocol.Iso15118_20Ac).UpToAcPowerDelivery();
        Assert.Equal(ResponseCodeType.FAILED_ScheduleRenegotiation, Code(await fresh.Send(Pd(ChargeProgressType.ScheduleRenegotiation))));
        Assert.Equal(Iso20SeccState.Ended, fresh.Secc.State);
    }

    [Theory]
    [InlineData((ushort)3)]   // WPT
    [InlineData((ushort)4)]   // DC_ACDP
    [InlineData((ushort)7)]   // DC_ACDP_BPT
    [InlineData((ushort)8)]   // MCS
    public async Task A_service_of_a_session_kind_this_SECC_does_not_offer_is_an_invalid_selection(ushort service)
    {
        var s = new Session(new SimpleEvse());
        Assert.Equal(ResponseCodeType.OK_NewSessionEstablished, Code(await s.Send(new SessionSetupReqType { Header = null!, EVCCID = "WMIV1234567890ABCDEX" })));
        await s.Send(new AuthorizationSetupReqType { Header = null! });
        await s.Send(Eim());
        var discovery = (ServiceDiscoveryResType)(await s.Send(new ServiceDiscoveryReqType { Header = null! })).Response;
        Assert.DoesNotContain(service, discovery.EnergyTransferServiceList.Service.Select(x => x.ServiceID));
        var reply = await s.Send(new ServiceSelectionReqType { Header = null!, SelectedEnergyTransferService = new SelectedServiceType { ServiceID = service, ParameterSetID = 1 } });
        Assert.Equal(ResponseCodeType.FAILED_ServiceSelectionInvalid, Code(reply));
        Assert.Equal(Iso20SeccState.Ended, s.Secc.State);
    }

    [Fact]
    public async Task The_AC_namespace_offers_only_the_AC_service_and_the_DC_namespace_only_DC()
    {
        foreach (var (protocol, service) in new[] { (V2gProtocol.Iso15118_20Ac, AcService), (V2gProtocol.Iso15118_20Dc, DcService) })
        {
            var s = new Session(new SimpleEvse(), protocol);
            await s.Send(new SessionSetupReqType { Header = null!, EVCCID = "X" });
            await s.Send(new AuthorizationSetupReqType { Header = null! });
            await s.Send(Eim());
            var services = ((ServiceDiscoveryResType)(await s.Send(new ServiceDiscoveryReqType { Header = null! })).Response).EnergyTransferServiceList.Service;
            Assert.Equal([service], services.Select(x => x.ServiceID));
        }
    }

    public static TheoryData<string> Failures => new()
    {
        "FAILED_SequenceError", "FAILED_UnknownSession", "FAILED_ServiceIDInvalid", "FAILED_ServiceSelectionInvalid", "FAILED_WrongChargeParameter",
        "FAILED_ScheduleSelectionInvalid", "FAILED_EVPowerProfileInvalid", "tuple:FAILED_ScheduleSelectionInvalid", "WARNING_AuthorizationSelectionInvalid", "WARNING_EIMAuthorizationFailure",
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Each_detectable_failure_is_answered_with_its_code_and_ends_the_session(string expected)
    {
        var evse = new SimpleEvse();
        if (expected == "WARNING_EIMAuthorizationFailure")
        {
            evse.Authorize = _ => AuthorizationStatus.Rejected;
        }
        var s = new Session(evse);
        SeccReply<V2GMessageType> reply;
        async Task Start(bool authorize = true)
        {
            await s.Send(new SessionSetupReqType { Header = null!, EVCCID = "X" });
            await s.Send(new AuthorizationSetupReqType { Header = null! });
            if (authorize)
            {
                await s.Send(Eim());
                await s.Send(new ServiceDiscoveryReqType { Header = null! });
            }
        }
        switch (expected)
        {
            case "FAILED_SequenceError":
                await s.Send(new SessionSetupReqType { Header = null!, EVCCID = "X" });
                reply = await s.Send(new ServiceDiscoveryReqType { Header = null! });   // before authorization
                break;
            case "FAILED_UnknownSession":
                await s.Send(new SessionSetupReqType { Header = null!, EVCCID = "X" });
                reply = await s.Secc.HandleAsync(new AuthorizationSetupReqType { Header = new MessageHeaderType { SessionID = [1, 2, 3, 4, 5, 6, 7, 8], TimeStamp = 1 } }, CancellationToken.None);
                break;
            case "FAILED_ServiceIDInvalid":
                await Start();
                reply = await s.Send(new ServiceDetailReqType { Header = null!, ServiceID = 6 });   // DC_BPT: not offered
                break;
            case "FAILED_ServiceSelectionInvalid":
                await Start();
                reply = await s.Send(new ServiceSelectionReqType { Header = null!, SelectedEnergyTransferService = new SelectedServiceType { ServiceID = DcService, ParameterSetID = 9 } });
                break;
            case "FAILED_WrongChargeParameter":
                await s.UpToServiceSelection(DcService, 1);
                reply = await s.Send(new AC_ChargeParameterDiscoveryReqType
                {
                    Header = null!,
                    AC_CPDReqEnergyTransferMode = new AC_CPDReqEnergyTransferModeType { EVMaximumChargePower = Rn(7_400), EVMinimumChargePower = Rn(1_400) },
                });
                break;
            case "FAILED_ScheduleSelectionInvalid":
                await s.UpToServiceSelection(DcService, 1);   // scheduled control selected ...
                await s.Send(DcCpd());
                reply = await s.Send(Dynamic());                      // ... dynamic asked for
                break;
            case "FAILED_EVPowerProfileInvalid" or "tuple:FAILED_ScheduleSelectionInvalid":
                await s.UpToServiceSelection(DcService, 1);
                await s.Send(DcCpd());
                await s.Send(Scheduled());
                await s.Send(new DC_CableCheckReqType { Header = null! });
                await s.Send(new DC_PreChargeReqType { Header = null!, EVProcessing = ProcessingType.Finished, EVPresentVoltage = Rn(400), EVTargetVoltage = Rn(400) });
                bool tuple = expected.StartsWith("tuple:", StringComparison.Ordinal);
                expected = expected.Replace("tuple:", "", StringComparison.Ordinal);
                reply = await s.Send(new PowerDeliveryReqType
                {
                    Header = null!,
                    EVProcessing = ProcessingType.Finished,
                    ChargeProgress = ChargeProgressType.Start,
                    EVPowerProfile = new EVPowerProfileType
                    {
                        TimeAnchor = 0,
                        Choice = new EVPowerProfileTypeChoice.Scheduled_EVPPTControlMode(new Scheduled_EVPPTControlModeType { SelectedScheduleTupleID = tuple ? 7u : 1u }),
                        EVPowerProfileEntries = new EVPowerProfileEntryListType
                        {
                            // SimpleEvse's DC schedule is 150 kW
                            EVPowerProfileEntry = [new PowerScheduleEntryType { Duration = 3600, Power = Rn(tuple ? 50_000 : 200_000) }],
                        },
                    },
                });
                break;
            case "WARNING_AuthorizationSelectionInvalid":
                await Start(authorize: false);
                reply = await s.Send(new AuthorizationReqType
                {
                    Header = null!,
                    SelectedAuthorizationService = AuthorizationType.PnC,   // not offered in AuthorizationSetupRes
                    Choice = new AuthorizationReqTypeChoice.EIM_AReqAuthorizationMode(new EIM_AReqAuthorizationModeType()),
                });
                break;
            default:
                await Start(authorize: false);
                reply = await s.Send(Eim());
                break;
        }
        Assert.Equal(expected, Code(reply).ToString());
        Assert.Equal(SeccNext.Close, reply.Next);
        Assert.NotNull(Juice.Hlc.Secc.Iso20.Iso20Framing.Encode(reply.Response).Exi);   // a response the EV can decode
    }
}
