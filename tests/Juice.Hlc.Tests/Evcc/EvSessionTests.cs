using System.Diagnostics;
using System.Net;
using Juice.Hlc.Evcc;
using Juice.Hlc.Secc;
using Juice.Hlc.Transport;

namespace Juice.Hlc.Tests.Evcc;

/// <summary>Our EV against our SECC over loopback TCP: whole sessions, in-process and as a process.</summary>
public sealed class EvSessionTests
{
    // The standard's 2 s per response is a real-time budget; with the whole suite running in parallel on two
    // cores the first message of a protocol (its grammar tables are built on first use) can take longer.
    private static readonly TimeSpan Patient = TimeSpan.FromSeconds(15);

    private static async Task<(V2gTcpServer Server, SimpleEvse Evse)> StartSecc(bool threadPerConnection = false)
    {
        var evse = new SimpleEvse();
        var server = new V2gTcpServer(new V2gTcpServerOptions { Port = 0, ThreadPerConnection = threadPerConnection }, new SeccConnectionHandler(evse).RunAsync);
        server.Start();
        return (server, evse);
    }

    [Theory]
    [InlineData(EnergyTransfer.AcThreePhase, false)]
    [InlineData(EnergyTransfer.Dc, false)]
    [InlineData(EnergyTransfer.Dc, true)]
    public async Task A_full_ISO_15118_2_session_charges_to_the_target_and_stops_cleanly(EnergyTransfer energy, bool threadPerConnection)
    {
        var (server, evse) = await StartSecc(threadPerConnection);
        await using var _ = server;
        var options = new EvOptions
        {
            Energy = energy,
            StartSoc = 79.9,
            TargetSoc = 80,
            BatteryCapacityWh = 500,   // a small battery fills within a few cycles
            LoopInterval = TimeSpan.FromMilliseconds(20),
            MessageTimeout = Patient,
        };
        var messages = new List<string>();
        await using var connection = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
        var result = await new EvClient(options, trace: (dir, _) => messages.Add(dir)).RunAsync(connection, null, CancellationToken.None);
        Assert.True(result.Completed);
        Assert.Contains("target SoC", result.Reason);
        Assert.True(result.EnergyWh > 0);
        Assert.Equal(messages.Count / 2, result.Messages + 1);   // + supportedAppProtocol
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
        Assert.True(evse.ReadMeter().EnergyWh > 0);
        Assert.False(evse.EnergyTransferOn);
    }

    [Fact]
    public async Task A_full_DIN_70121_session_charges_and_stops_cleanly()
    {
        var (server, evse) = await StartSecc();
        await using var _ = server;
        var options = new EvOptions
        {
            Protocols = [Juice.Hlc.Session.AppProtocolVersion.Din],
            StartSoc = 79.9,
            TargetSoc = 80,
            BatteryCapacityWh = 500,
            LoopInterval = TimeSpan.FromMilliseconds(20),
            MessageTimeout = Patient,
        };
        await using var connection = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
        var client = new EvClient(options);
        var result = await client.RunAsync(connection, null, CancellationToken.None);
        Assert.Equal(Juice.Hlc.Session.V2gProtocol.Din70121, client.Protocol);
        Assert.True(result.Completed);
        Assert.True(result.EnergyWh > 0);
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
    }

    /// <summary>Calls an action on the first progress report (synchronously, unlike Progress&lt;T&gt;).</summary>
    private sealed class OnFirstReport(Action action) : IProgress<EvProgress>
    {
        private int _reports;

        public void Report(EvProgress value)
        {
            if (Interlocked.Increment(ref _reports) == 1)
            {
                action();
            }
        }
    }

    [Theory]
    [InlineData(EnergyTransfer.AcThreePhase)]
    [InlineData(EnergyTransfer.Dc)]
    public async Task The_EV_stops_when_the_station_asks_it_to(EnergyTransfer energy)
    {
        var (server, evse) = await StartSecc();
        await using var _ = server;
        await using var connection = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
        var progress = new OnFirstReport(() => evse.Request = EvseRequest.StopCharging);
        var result = await new EvClient(new EvOptions { Energy = energy, TargetSoc = 100, LoopInterval = TimeSpan.FromMilliseconds(10), MessageTimeout = Patient })
            .RunAsync(connection, progress, CancellationToken.None);
        Assert.True(result.Completed);
        Assert.Equal("the charger asked to stop", result.Reason);
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(EvseRequest.None, evse.Request);   // the SECC reported the stop as handled
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
    }

    [Theory]
    [InlineData(EnergyTransfer.AcThreePhase)]
    [InlineData(EnergyTransfer.Dc)]
    public async Task The_EV_renegotiates_when_the_station_asks_and_charges_on_with_the_new_limits(EnergyTransfer energy)
    {
        var (server, evse) = await StartSecc();
        await using var _ = server;
        await using var connection = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
        var messages = new List<string>();
        var progress = new OnFirstReport(() =>
        {
            evse.AcLimits = evse.AcLimits with { MaxCurrentA = 16 };
            evse.DcLimits = evse.DcLimits with { MaxCurrentA = 50 };
            evse.Request = EvseRequest.Renegotiate;
        });
        // Seed: the duration counts loop messages (40), not wall time, so a loaded machine cannot end the session
        // before the renegotiation the first report asks for.
        var options = new EvOptions { Energy = energy, TargetSoc = 100, LoopInterval = TimeSpan.FromMilliseconds(10), Seed = 1, Duration = TimeSpan.FromMilliseconds(400), MessageTimeout = Patient };
        var result = await new EvClient(options, trace: (dir, hex) => { if (dir == "ev->se") messages.Add(hex); }).RunAsync(connection, progress, CancellationToken.None);
        Assert.True(result.Completed, result.Reason);
        var kinds = messages.Skip(1).Select(h => Juice.Hlc.Exi.Iso2.Iso2Exi.Decode(Convert.FromHexString(h)).Body.BodyElement!.GetType().Name).ToList();
        Assert.Equal(2, kinds.Count(k => k == "ChargeParameterDiscoveryReqType"));
        Assert.Equal(3, kinds.Count(k => k == "PowerDeliveryReqType") - 1);   // Start, Renegotiate, Start (+ Stop)
        Assert.Equal(EvseRequest.None, evse.Request);
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_DC_EV_renegotiates_on_its_own_and_may_check_the_cable_again(bool recheckCable)
    {
        var (server, evse) = await StartSecc();
        await using var _ = server;
        await using var connection = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
        var messages = new List<string>();
        var options = new EvOptions
        {
            Energy = EnergyTransfer.Dc, TargetSoc = 100, LoopInterval = TimeSpan.FromMilliseconds(5), Seed = 1, Duration = TimeSpan.FromMilliseconds(100),
            RenegotiateAfter = 5, RecheckCableAfterRenegotiation = recheckCable, MessageTimeout = Patient,
        };
        var result = await new EvClient(options, trace: (dir, hex) => { if (dir == "ev->se") messages.Add(hex); }).RunAsync(connection, null, CancellationToken.None);
        Assert.True(result.Completed, result.Reason);
        var kinds = messages.Skip(1).Select(h => Juice.Hlc.Exi.Iso2.Iso2Exi.Decode(Convert.FromHexString(h)).Body.BodyElement!.GetType().Name).ToList();
        Assert.Equal(2, kinds.Count(k => k == "ChargeParameterDiscoveryReqType"));
        Assert.Equal(recheckCable ? 2 : 1, kinds.Count(k => k == "CableCheckReqType"));
        int renegotiation = kinds.IndexOf("ChargeParameterDiscoveryReqType", kinds.IndexOf("ChargeParameterDiscoveryReqType") + 1);
        Assert.Equal(5, kinds.Take(renegotiation).Count(k => k == "CurrentDemandReqType"));
        Assert.Equal(recheckCable ? "CableCheckReqType" : "PowerDeliveryReqType", kinds[renegotiation + 1]);
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
    }

    [Theory]
    [InlineData(EnergyTransfer.AcThreePhase, true)]
    [InlineData(EnergyTransfer.Dc, true)]
    [InlineData(EnergyTransfer.Dc, false)]
    public async Task PowerDelivery_Start_carries_a_ChargingProfile_within_the_chosen_schedule_unless_told_not_to(EnergyTransfer energy, bool send)
    {
        var (server, evse) = await StartSecc();
        await using var _ = server;
        await using var connection = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
        var sentHex = new List<string>();
        var receivedHex = new List<string>();
        var options = new EvOptions { Energy = energy, TargetSoc = 100, LoopInterval = TimeSpan.FromMilliseconds(5), Seed = 1, Duration = TimeSpan.FromMilliseconds(20), SendChargingProfile = send, MessageTimeout = Patient };
        var result = await new EvClient(options, trace: (dir, hex) => (dir == "ev->se" ? sentHex : receivedHex).Add(hex)).RunAsync(connection, null, CancellationToken.None);
        // the first message each way is supportedAppProtocol
        var sent = sentHex.Skip(1).Select(h => Juice.Hlc.Exi.Iso2.Iso2Exi.Decode(Convert.FromHexString(h))).ToList();
        var received = receivedHex.Skip(1).Select(h => Juice.Hlc.Exi.Iso2.Iso2Exi.Decode(Convert.FromHexString(h))).ToList();
        Assert.True(result.Completed, result.Reason);
        var start = sent.Select(m => m.Body.BodyElement).OfType<Juice.Hlc.Exi.Iso2.PowerDeliveryReqType>().First();
        Assert.Equal(Juice.Hlc.Exi.Iso2.ChargeProgressType.Start, start.ChargeProgress);
        if (!send)
        {
            Assert.Null(start.ChargingProfile);
            return;
        }
        var schedule = received.Select(m => m.Body.BodyElement).OfType<Juice.Hlc.Exi.Iso2.ChargeParameterDiscoveryResType>().First();
        var tuple = ((Juice.Hlc.Exi.Iso2.SAScheduleListType)schedule.SASchedules!).SAScheduleTuple.Single(t => t.SAScheduleTupleID == start.SAScheduleTupleID);
        var profile = Assert.IsType<Juice.Hlc.Exi.Iso2.ChargingProfileType>(start.ChargingProfile);
        Assert.Equal(tuple.PMaxSchedule.PMaxScheduleEntry.Count, profile.ProfileEntry.Count);
        for (int i = 0; i < profile.ProfileEntry.Count; i++)
        {
            var entry = profile.ProfileEntry[i];
            var pmax = tuple.PMaxSchedule.PMaxScheduleEntry[i];
            Assert.Equal(((Juice.Hlc.Exi.Iso2.RelativeTimeIntervalType)pmax.TimeInterval).Start, entry.ChargingProfileEntryStart);
            Assert.True(Juice.Hlc.Secc.Iso2.Iso2Values.Si(entry.ChargingProfileEntryMaxPower) <= Juice.Hlc.Secc.Iso2.Iso2Values.Si(pmax.PMax));
            Assert.Equal(energy == EnergyTransfer.Dc ? null : (sbyte)3, entry.ChargingProfileEntryMaxNumberOfPhasesInUse);
        }
        var answer = received.Select(m => m.Body.BodyElement).OfType<Juice.Hlc.Exi.Iso2.PowerDeliveryResType>().First();
        Assert.Equal(Juice.Hlc.Exi.Iso2.ResponseCodeType.OK, answer.ResponseCode);   // the SECC checks it against the schedule ([V2G2-478])
    }

    [Fact]
    public async Task Cancelling_the_EV_ends_with_a_clean_SessionStop()
    {
        var (server, evse) = await StartSecc();
        await using var _ = server;
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await using var connection = await V2gTcpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint.Port));
        var result = await new EvClient(new EvOptions { TargetSoc = 100, LoopInterval = TimeSpan.FromMilliseconds(20), MessageTimeout = Patient }).RunAsync(connection, null, stop.Token);
        Assert.Equal("stopped by the user", result.Reason);
        await WaitFor(() => evse.Ended is not null);
        Assert.Equal(SessionEndReason.EvStopped, evse.Ended);
    }

    [Fact]
    public async Task The_juice_ev_process_charges_at_the_SECC_and_exits_0()
    {
        var (server, evse) = await StartSecc();
        await using var _ = server;
        string juice = Path.Combine(AppContext.BaseDirectory, "juice.dll");
        var log = Path.Combine(Path.GetTempPath(), $"juice-ev-{Guid.NewGuid():N}.xml");
        var psi = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { juice, "ev", "--host", "::1", "--port", server.LocalEndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--energy", "ac", "--start-soc", "50", "--target-soc", "90", "--duration", "0.5", "--interval-ms", "50", "--message-timeout", "15", "--log", log },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(psi)!;
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, stderr);
        Assert.Contains("session ended normally: duration", stderr);
        string xml = await File.ReadAllTextAsync(log);
        File.Delete(log);
        Assert.Contains("supportedAppProtocolReq", xml);
        Assert.Contains("<v2gci_b:ChargingStatusRes>", xml);
        Assert.Contains("<v2gci_b:SessionStopRes>", xml);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(20);
        }
        Assert.True(condition());
    }
}
