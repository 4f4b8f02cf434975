using System.Net;
using Juice.Hlc.Evcc;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Secc;
using Juice.Hlc.Secc.Iso20;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;
using Microsoft.Extensions.Time.Testing;
using static Juice.Hlc.Secc.Iso20.Iso20Values;

namespace Juice.Hlc.Tests.Secc;

/// <summary>ISO 15118-20 bidirectional power transfer (AC_BPT, DC_BPT): the SECC request by request, and our EV against our SECC.</summary>
public sealed class Iso20BptTests
{
    private static SimpleEvse Bidirectional(double maxDischargeW = 10_000, double requestW = 0) => new()
    {
        Supported = EnergyTransfer.AcThreePhase | EnergyTransfer.Dc | EnergyTransfer.Bidirectional,
        MaxDischargePowerW = maxDischargeW,
        DischargeRequestW = requestW,
        IsolationTestDuration = TimeSpan.Zero,
    };

    private sealed class Session(SimpleEvse evse, V2gProtocol protocol = V2gProtocol.Iso15118_20Dc)
    {
        private readonly Iso20SeccSession _secc = new(evse, protocol, time: new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000)));
        private byte[] _id = new byte[8];

        public async Task<V2GResponseType> Send(V2GMessageType request)
        {
            request.Header = new MessageHeaderType { SessionID = _id, TimeStamp = 1 };
            var reply = await _secc.HandleAsync(request, CancellationToken.None);
            if (reply.Response is SessionSetupResType)
            {
                _id = reply.Response.Header.SessionID;
            }
            return (V2GResponseType)reply.Response;
        }

        public async Task<List<ServiceType>> Discover()
        {
            await Send(new SessionSetupReqType { Header = null!, EVCCID = "WMIV1234567890ABCDEX" });
            await Send(new AuthorizationSetupReqType { Header = null! });
            await Send(new AuthorizationReqType
            {
                Header = null!,
                SelectedAuthorizationService = AuthorizationType.EIM,
                Choice = new AuthorizationReqTypeChoice.EIM_AReqAuthorizationMode(new EIM_AReqAuthorizationModeType()),
            });
            return ((ServiceDiscoveryResType)await Send(new ServiceDiscoveryReqType { Header = null! })).EnergyTransferServiceList.Service;
        }

        public async Task Select(ushort service, ushort parameterSet)
        {
            await Discover();
            Assert.Equal(ResponseCodeType.OK, (await Send(new ServiceSelectionReqType
            {
                Header = null!,
                SelectedEnergyTransferService = new SelectedServiceType { ServiceID = service, ParameterSetID = parameterSet },
            })).ResponseCode);
        }
    }

    private static BPT_DC_CPDReqEnergyTransferModeType DcBptParameters() => new()
    {
        EVMaximumChargePower = Rn(50_000), EVMinimumChargePower = Rn(100), EVMaximumChargeCurrent = Rn(125), EVMinimumChargeCurrent = Rn(1),
        EVMaximumVoltage = Rn(500), EVMinimumVoltage = Rn(200),
        EVMaximumDischargePower = Rn(20_000), EVMinimumDischargePower = Rn(0), EVMaximumDischargeCurrent = Rn(50), EVMinimumDischargeCurrent = Rn(0),
    };

    private static BPT_Dynamic_DC_CLReqControlModeType DcBptDynamic(double evMaxDischargeW) => new()
    {
        EVTargetEnergyRequest = Rn(20_000), EVMaximumEnergyRequest = Rn(30_000), EVMinimumEnergyRequest = Rn(5_000),
        EVMaximumChargePower = Rn(50_000), EVMinimumChargePower = Rn(0), EVMaximumChargeCurrent = Rn(125), EVMaximumVoltage = Rn(500), EVMinimumVoltage = Rn(200),
        EVMaximumDischargePower = Rn(evMaxDischargeW), EVMinimumDischargePower = Rn(0), EVMaximumDischargeCurrent = Rn(50),
    };

    [Fact]
    public async Task The_BPT_services_are_offered_beside_charging_only_where_the_charging_point_is_bidirectional()
    {
        Assert.Equal([DcService], (await new Session(new SimpleEvse()).Discover()).Select(s => s.ServiceID));
        Assert.Equal([DcService, DcBptService], (await new Session(Bidirectional()).Discover()).Select(s => s.ServiceID));
        Assert.Equal([AcService, AcBptService], (await new Session(Bidirectional(), V2gProtocol.Iso15118_20Ac).Discover()).Select(s => s.ServiceID));

        // the BPT parameter sets (Table 206): one channel, grid-following, passive islanding detection for AC
        var s = new Session(Bidirectional(), V2gProtocol.Iso15118_20Ac);
        await s.Discover();
        var detail = (ServiceDetailResType)await s.Send(new ServiceDetailReqType { Header = null!, ServiceID = AcBptService });
        var names = detail.ServiceParameterList.ParameterSet[0].Parameter.ToDictionary(p => p.Name, p => ((ParameterTypeChoice.IntValue)p.Choice).Value);
        Assert.Equal(1, names["BPTChannel"]);
        Assert.Equal(1, names["GeneratorMode"]);
        Assert.Equal(2, names["GridCodeIslandingDetectionMethod"]);
    }

    [Fact]
    public async Task A_dynamic_DC_BPT_session_feeds_in_what_the_station_asks_within_both_limits_and_meters_it()
    {
        var evse = Bidirectional(maxDischargeW: 11_000, requestW: 15_000);
        var s = new Session(evse);
        await s.Select(DcBptService, 2);
        var cpd = (DC_ChargeParameterDiscoveryResType)await s.Send(new DC_ChargeParameterDiscoveryReqType { Header = null!, DC_CPDReqEnergyTransferMode = DcBptParameters() });
        Assert.Equal(11_000, Si(Assert.IsType<BPT_DC_CPDResEnergyTransferModeType>(cpd.DC_CPDResEnergyTransferMode).EVSEMaximumDischargePower));
        Assert.Equal(20_000, evse.Needs!.MaxDischargePowerW);
        await s.Send(new ScheduleExchangeReqType
        {
            Header = null!, MaximumSupportingPoints = 1024,
            Choice = new ScheduleExchangeReqTypeChoice.Dynamic_SEReqControlMode(new Dynamic_SEReqControlModeType
            {
                DepartureTime = 3600, EVTargetEnergyRequest = Rn(20_000), EVMaximumEnergyRequest = Rn(30_000), EVMinimumEnergyRequest = Rn(5_000),
            }),
        });
        await s.Send(new DC_CableCheckReqType { Header = null! });
        await s.Send(new DC_PreChargeReqType { Header = null!, EVProcessing = ProcessingType.Finished, EVPresentVoltage = Rn(400), EVTargetVoltage = Rn(400) });
        Assert.Equal(ResponseCodeType.OK, (await s.Send(new PowerDeliveryReqType
        {
            Header = null!, EVProcessing = ProcessingType.Finished, ChargeProgress = ChargeProgressType.Start, BPT_ChannelSelection = ChannelSelectionType.Discharge,
        })).ResponseCode);

        // 15 kW asked, the station allows 11 kW, the EV 20 kW: 11 kW at 400 V flow back
        var loop = (DC_ChargeLoopResType)await s.Send(new DC_ChargeLoopReqType { Header = null!, MeterInfoRequested = true, EVPresentVoltage = Rn(400), CLReqControlMode = DcBptDynamic(20_000) });
        Assert.Equal(ResponseCodeType.OK, loop.ResponseCode);
        Assert.Equal(-27.5, Si(loop.EVSEPresentCurrent), 1);
        var control = Assert.IsType<BPT_Dynamic_DC_CLResControlModeType>(loop.CLResControlMode);
        Assert.Equal(11_000, Si(control.EVSEMaximumDischargePower));
        Assert.NotNull(loop.MeterInfo!.BPT_DischargedEnergyReadingWh);
        Assert.Equal(-11_000, evse.ReadMeter().PowerW, 0);

        // the EV's own limit binds when it is lower; without a request the station charges
        loop = (DC_ChargeLoopResType)await s.Send(new DC_ChargeLoopReqType { Header = null!, MeterInfoRequested = false, EVPresentVoltage = Rn(400), CLReqControlMode = DcBptDynamic(4_000) });
        Assert.Equal(-10, Si(loop.EVSEPresentCurrent), 1);
        evse.DischargeRequestW = 0;
        loop = (DC_ChargeLoopResType)await s.Send(new DC_ChargeLoopReqType { Header = null!, MeterInfoRequested = false, EVPresentVoltage = Rn(400), CLReqControlMode = DcBptDynamic(4_000) });
        Assert.True(Si(loop.EVSEPresentCurrent) > 0);
    }

    [Fact]
    public async Task A_scheduled_BPT_tuple_has_a_negative_discharging_schedule_and_a_profile_below_it_is_refused()
    {
        var evse = Bidirectional(maxDischargeW: 7_000);
        var s = new Session(evse, V2gProtocol.Iso15118_20Ac);
        await s.Select(AcBptService, 1);
        await s.Send(new AC_ChargeParameterDiscoveryReqType
        {
            Header = null!,
            AC_CPDReqEnergyTransferMode = new BPT_AC_CPDReqEnergyTransferModeType
            {
                EVMaximumChargePower = Rn(11_000), EVMinimumChargePower = Rn(1_400), EVMaximumDischargePower = Rn(11_000), EVMinimumDischargePower = Rn(0),
            },
        });
        var schedule = (ScheduleExchangeResType)await s.Send(new ScheduleExchangeReqType
        {
            Header = null!, MaximumSupportingPoints = 1024,
            Choice = new ScheduleExchangeReqTypeChoice.Scheduled_SEReqControlMode(new Scheduled_SEReqControlModeType()),
        });
        var tuple = ((ScheduleExchangeResTypeChoice.Scheduled_SEResControlMode)schedule.Choice!).Value.ScheduleTuple.Single();
        Assert.Equal(-7_000, Si(tuple.DischargingSchedule!.PowerSchedule.PowerScheduleEntries.PowerScheduleEntry.Single().Power));

        var refused = await s.Send(new PowerDeliveryReqType
        {
            Header = null!, EVProcessing = ProcessingType.Finished, ChargeProgress = ChargeProgressType.Start, BPT_ChannelSelection = ChannelSelectionType.Discharge,
            EVPowerProfile = new EVPowerProfileType
            {
                TimeAnchor = 1,
                Choice = new EVPowerProfileTypeChoice.Scheduled_EVPPTControlMode(new Scheduled_EVPPTControlModeType { SelectedScheduleTupleID = tuple.ScheduleTupleID }),
                EVPowerProfileEntries = new EVPowerProfileEntryListType { EVPowerProfileEntry = [new PowerScheduleEntryType { Duration = 3600, Power = Rn(-9_000) }] },
            },
        });
        Assert.Equal(ResponseCodeType.FAILED_EVPowerProfileInvalid, refused.ResponseCode);
    }

    [Fact]
    public async Task The_charge_parameters_must_have_the_form_of_the_selected_service()
    {
        // charging-only parameters for DC_BPT
        var s = new Session(Bidirectional());
        await s.Select(DcBptService, 2);
        var plain = await s.Send(new DC_ChargeParameterDiscoveryReqType
        {
            Header = null!,
            DC_CPDReqEnergyTransferMode = new DC_CPDReqEnergyTransferModeType
            {
                EVMaximumChargePower = Rn(50_000), EVMinimumChargePower = Rn(100), EVMaximumChargeCurrent = Rn(125), EVMinimumChargeCurrent = Rn(1),
                EVMaximumVoltage = Rn(500), EVMinimumVoltage = Rn(200),
            },
        });
        Assert.Equal(ResponseCodeType.FAILED_WrongChargeParameter, plain.ResponseCode);

        // bidirectional parameters for the charging-only DC service
        s = new Session(Bidirectional());
        await s.Select(DcService, 2);
        Assert.Equal(ResponseCodeType.FAILED_WrongChargeParameter,
            (await s.Send(new DC_ChargeParameterDiscoveryReqType { Header = null!, DC_CPDReqEnergyTransferMode = DcBptParameters() })).ResponseCode);

        // a BPT service that was not offered
        s = new Session(new SimpleEvse());
        await s.Discover();
        Assert.Equal(ResponseCodeType.FAILED_ServiceSelectionInvalid, (await s.Send(new ServiceSelectionReqType
        {
            Header = null!,
            SelectedEnergyTransferService = new SelectedServiceType { ServiceID = DcBptService, ParameterSetID = 1 },
        })).ResponseCode);
    }

    public static TheoryData<EnergyTransfer, bool> Sessions => new()
    {
        { EnergyTransfer.AcThreePhase, false }, { EnergyTransfer.AcThreePhase, true }, { EnergyTransfer.Dc, false }, { EnergyTransfer.Dc, true },
    };

    [Theory]
    [MemberData(nameof(Sessions))]
    public async Task Our_EV_feeds_in_then_charges_to_its_target_over_TCP(EnergyTransfer energy, bool dynamic)
    {
        // scheduled: the EV's own plan (feed in down to its floor, then charge); dynamic: the station asks for 5 kW
        var evse = Bidirectional(maxDischargeW: 10_000, requestW: dynamic ? 5_000 : 0);
        var options = new SeccOptions { Protocols = [AppProtocolVersion.Iso20Dc, AppProtocolVersion.Iso20Ac], Iso20AllowPlainTcp = true };
        await using var server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback }, new SeccConnectionHandler(evse, options).RunAsync);
        server.Start();
        var ev = new EvOptions
        {
            Protocols = [energy == EnergyTransfer.Dc ? AppProtocolVersion.Iso20Dc : AppProtocolVersion.Iso20Ac],
            Energy = energy,
            Bidirectional = true,
            DynamicControl = dynamic,
            DischargePowerW = dynamic ? null : 8_000,
            BatteryCapacityWh = 200,
            StartSoc = 50,
            MinimumSoc = 49.95,
            TargetSoc = 50.05,
            LoopInterval = TimeSpan.FromMilliseconds(20),
            MessageTimeout = TimeSpan.FromSeconds(15),
            Duration = TimeSpan.FromSeconds(60),
        };
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        // dynamic: once the EV feeds in, the station withdraws its request and the SECC steers the EV back to charging
        var steer = new Callback<EvProgress>(p =>
        {
            if (p.PowerW < 0)
            {
                evse.DischargeRequestW = 0;
            }
        });
        var result = await new EvClient(ev).RunAsync(connection, steer, CancellationToken.None);

        Assert.True(result.Completed, result.Reason);
        Assert.Contains("target SoC", result.Reason);
        Assert.True(result.DischargedWh > 0, "the EV fed in");
        for (int i = 0; i < 500 && evse.Ended is null; i++)
        {
            await Task.Delay(20);
        }
        var meter = evse.ReadMeter();
        Assert.True(meter.ExportedEnergyWh > 0, "the charger metered energy fed back");
        Assert.True(meter.EnergyWh > 0, "and energy charged");
        Assert.True(evse.Needs!.Bidirectional);
    }
}
