using System.Net;
using Juice.Hlc.Evcc;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;

namespace Juice.Hlc.Tests.Secc;

/// <summary>
/// ISO 15118-20 beyond one straight charge, our EV with our SECC over TCP: schedule renegotiation asked by the station
/// (its new limits reach the EV as a new schedule) and by the EV, standby with wake-up (no energy meanwhile), and a
/// session paused with SessionStop(Pause) and resumed on a new connection with its SessionID.
/// </summary>
public sealed class Iso20RenegotiationTests
{
    private static V2gTcpServer Start(SimpleEvse evse)
    {
        var options = new SeccOptions { Protocols = [AppProtocolVersion.Iso20Dc, AppProtocolVersion.Iso20Ac], Iso20AllowPlainTcp = true };
        var server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback }, new SeccConnectionHandler(evse, options).RunAsync);
        server.Start();
        return server;
    }

    /// <summary>One session of our EV at a SECC serving <paramref name="evse"/>, over loopback TCP.</summary>
    private static async Task<EvResult> Charge(SimpleEvse evse, EvOptions ev, IProgress<EvProgress>? watch = null)
    {
        await using var server = Start(evse);
        await using var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        return await new EvClient(ev).RunAsync(connection, watch, CancellationToken.None);
    }

    private static EvOptions Ev(EnergyTransfer energy, bool dynamic = false) => new()
    {
        Protocols = [energy == EnergyTransfer.Dc ? AppProtocolVersion.Iso20Dc : AppProtocolVersion.Iso20Ac],
        Energy = energy,
        DynamicControl = dynamic,
        BatteryCapacityWh = 100_000,
        StartSoc = 20,
        TargetSoc = 90,
        LoopInterval = TimeSpan.FromMilliseconds(20),
        MessageTimeout = TimeSpan.FromSeconds(15),
        Duration = TimeSpan.FromSeconds(60),
        Seed = 1,   // durations count loop messages (one LoopInterval each), not wall time: a loaded machine ends no session early
    };

    private static async Task Ended(SimpleEvse evse)
    {
        for (int i = 0; i < 500 && evse.Ended is null; i++)
        {
            await Task.Delay(20);
        }
    }

    [Theory]
    [InlineData(EnergyTransfer.AcThreePhase)]
    [InlineData(EnergyTransfer.Dc)]
    public async Task The_stations_new_limits_reach_the_EV_by_a_schedule_renegotiation(EnergyTransfer energy)
    {
        var evse = new SimpleEvse { IsolationTestDuration = TimeSpan.Zero };
        int loops = 0;
        bool lowered = false;
        var watch = new Callback<EvProgress>(p =>
        {
            if (++loops == 5)
            {
                // the station's limit drops: it asks for a renegotiation (EVSENotification ScheduleRenegotiation)
                evse.AcLimits = evse.AcLimits with { MaxPowerW = 7_000, MaxCurrentA = 10 };
                evse.DcLimits = evse.DcLimits with { MaxPowerW = 20_000, MaxCurrentA = 50 };
                evse.Request = EvseRequest.Renegotiate;
                lowered = true;
            }
            else if (lowered && loops > 40)
            {
                evse.Request = EvseRequest.StopCharging;
            }
        });
        var result = await Charge(evse, Ev(energy) with { Duration = null }, watch);

        Assert.True(result.Completed, result.Reason);
        Assert.Equal(1, result.Renegotiations);
        Assert.NotEqual(EvseRequest.Renegotiate, evse.Request);   // the new schedules answered the request
        // the EV's PowerDelivery(Start) after the renegotiation stayed within the new schedule (else FAILED_EVPowerProfileInvalid)
        Assert.Contains("the charger asked to stop", result.Reason);
    }

    [Theory]
    [InlineData(EnergyTransfer.AcThreePhase)]
    [InlineData(EnergyTransfer.Dc)]
    public async Task The_EV_renegotiates_on_its_own_and_goes_on_charging(EnergyTransfer energy)
    {
        var evse = new SimpleEvse { IsolationTestDuration = TimeSpan.Zero };
        var result = await Charge(evse, Ev(energy) with { RenegotiateAfter = 3, Duration = TimeSpan.FromSeconds(1) });
        Assert.True(result.Completed, result.Reason);
        Assert.Equal(1, result.Renegotiations);
        Assert.True(result.EnergyWh > 0);
        await Ended(evse);
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
    }

    [Theory]
    [InlineData(EnergyTransfer.AcThreePhase)]
    [InlineData(EnergyTransfer.Dc)]
    public async Task After_a_service_renegotiation_the_EV_chooses_its_service_again_and_charges_on_in_the_same_session(EnergyTransfer energy)
    {
        var evse = new SimpleEvse { IsolationTestDuration = TimeSpan.Zero };
        var result = await Charge(evse, Ev(energy) with { ServiceRenegotiateAfter = 3, Duration = TimeSpan.FromSeconds(1) });
        Assert.True(result.Completed, result.Reason);
        Assert.Equal(1, result.ServiceRenegotiations);
        Assert.Contains("duration", result.Reason);   // the second energy transfer ran to the end
        await Ended(evse);
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
    }

    [Theory]
    [InlineData(EnergyTransfer.AcThreePhase)]
    [InlineData(EnergyTransfer.Dc)]
    public async Task In_standby_the_charger_delivers_no_energy_until_the_EV_wakes_up(EnergyTransfer energy)
    {
        var evse = new SimpleEvse { IsolationTestDuration = TimeSpan.Zero };
        var seen = new List<(double PowerW, bool On)>();
        var watch = new Callback<EvProgress>(p =>
        {
            lock (seen)
            {
                seen.Add((p.PowerW, evse.EnergyTransferOn));
            }
        });
        var ev = Ev(energy) with { StandbyAfter = 4, StandbyDuration = TimeSpan.FromMilliseconds(300), Duration = TimeSpan.FromSeconds(1.5) };
        var result = await Charge(evse, ev, watch);

        Assert.True(result.Completed, result.Reason);
        Assert.Equal(1, result.Standbys);
        lock (seen)
        {
            // charging, then standby (energy transfer off, nothing drawn), then charging again after the wake-up
            int standby = seen.FindIndex(x => !x.On);
            Assert.True(standby >= 3, string.Join(", ", seen));
            int awake = seen.FindIndex(standby, x => x.On);
            Assert.True(awake > standby, "the EV woke up: " + string.Join(", ", seen));
            Assert.All(seen.Skip(standby).Take(awake - standby), x => Assert.Equal(0, x.PowerW));
            Assert.True(seen.Skip(awake).Any(x => x.PowerW > 0), "charging again after the wake-up");
        }
    }

    [Fact]
    public async Task A_paused_session_is_resumed_on_a_new_connection_with_its_SessionID()
    {
        var evse = new SimpleEvse { IsolationTestDuration = TimeSpan.Zero };
        await using var server = Start(evse);
        EvResult first;
        await using (var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint))
        {
            first = await new EvClient(Ev(EnergyTransfer.Dc) with { Pause = true, Duration = TimeSpan.FromSeconds(0.3) }).RunAsync(connection, null, CancellationToken.None);
        }
        Assert.True(first.Completed, first.Reason);
        Assert.Contains("session paused", first.Reason);
        Assert.False(first.Resumed);
        await Ended(evse);
        Assert.Equal(SessionEndReason.EvPaused, evse.Ended);

        await using (var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint))
        {
            var second = await new EvClient(Ev(EnergyTransfer.Dc) with { ResumeSessionId = first.SessionId, Duration = TimeSpan.FromSeconds(0.3) })
                .RunAsync(connection, null, CancellationToken.None);
            Assert.True(second.Completed, second.Reason);
            Assert.True(second.Resumed);
            Assert.Equal(first.SessionId, second.SessionId);
        }

        // an unknown SessionID gets a new session
        await using (var connection = await V2gTcpClient.ConnectAsync(server.LocalEndPoint))
        {
            var third = await new EvClient(Ev(EnergyTransfer.Dc) with { ResumeSessionId = [1, 2, 3, 4, 5, 6, 7, 8], Duration = TimeSpan.FromSeconds(0.3) })
                .RunAsync(connection, null, CancellationToken.None);
            Assert.True(third.Completed, third.Reason);
            Assert.False(third.Resumed);
        }
    }

    [Fact]
    public async Task In_dynamic_control_a_renegotiation_request_needs_no_renegotiation()
    {
        var evse = new SimpleEvse { IsolationTestDuration = TimeSpan.Zero };
        int loops = 0;
        var watch = new Callback<EvProgress>(_ =>
        {
            if (++loops == 3)
            {
                evse.Request = EvseRequest.Renegotiate;
            }
        });
        var result = await Charge(evse, Ev(EnergyTransfer.Dc, dynamic: true) with { Duration = TimeSpan.FromSeconds(0.6) }, watch);
        Assert.True(result.Completed, result.Reason);
        Assert.Equal(0, result.Renegotiations);
        Assert.Equal(EvseRequest.None, evse.Request);   // handled at once: the loop responses carry the limits
    }

    [Fact]
    public async Task A_request_on_a_multiplexed_stream_is_answered_on_that_stream_and_an_unknown_payload_type_ends_the_connection()
    {
        await using var server = Start(new SimpleEvse());
        await using var ev = await V2gTcpClient.ConnectAsync(server.LocalEndPoint);
        await ev.WriteAsync(Juice.Hlc.V2gtp.V2gtpPayloadType.Exi,
            Juice.Hlc.Exi.AppHandshake.AppHandshakeExi.EncodeSupportedAppProtocolReq(AppProtocolNegotiation.Offer([AppProtocolVersion.Iso20Dc])));
        Assert.NotNull(await ev.ReadAsync());
        // ISO 15118-20 Table 12: CommonMessages also travel on the multiplexed streams beside the main stream
        var (_, exi, _) = Juice.Hlc.Secc.Iso20.Iso20Framing.Encode(new Juice.Hlc.Exi.Iso20.SessionSetupReqType
        {
            Header = new Juice.Hlc.Exi.Iso20.MessageHeaderType { SessionID = new byte[8], TimeStamp = 1 },
            EVCCID = "WMIV1234567890ABCDEX",
        });
        await ev.WriteAsync(Juice.Hlc.V2gtp.V2gtpPayloadType.MeteringConfirmation, exi);
        var answer = await ev.ReadAsync();
        Assert.Equal(Juice.Hlc.V2gtp.V2gtpPayloadType.MeteringConfirmation, answer!.Value.PayloadType);
        Assert.IsType<Juice.Hlc.Exi.Iso20.SessionSetupResType>(Juice.Hlc.Secc.Iso20.Iso20Framing.Decode(answer.Value).Message);
        // a payload type no -20 stream uses: the connection ends (Table 11)
        await ev.WriteAsync((Juice.Hlc.V2gtp.V2gtpPayloadType)0x8201, exi);
        Assert.Null(await ev.ReadAsync());
    }
}
