using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Juice.Station.Tests;

/// <summary>
/// <c>juice replay --role ev</c> with every capture of shared/vectors/sessions against the station: the sessions of its
/// protocols charge to SessionStop and are booked; where the station answers otherwise than the captured charger,
/// the replay says so step by step.
/// </summary>
public sealed class ReplayAtStationTests
{
    private static Task<(int Code, string Output)> Replay(int port, string session, string file = "exi.txt") =>
        Juice.Hlc.Tests.ChildProcess.JuiceAsync("replay", "--role", "ev", "--capture", Path.Combine(Juice.Hlc.Tests.Vectors.Shared, "vectors", "sessions", session, file),
            "--host", "::1", "--port", port.ToString(CultureInfo.InvariantCulture), "--repeat-interval-ms", "50");

    [Theory]
    [InlineData("din70121_dc_eim_josev", "session.pcap")]
    [InlineData("iso15118-2_ac_eim_josev", "exi.txt")]
    public async Task The_captured_car_charges_at_the_station_to_SessionStop_and_the_session_is_booked(string session, string file)
    {
        await using var station = await TestStation.StartAsync();
        station.Configure(s => s with { FreeCharging = true });
        var (code, output) = await Replay(station.SeccEndPoint.Port, session, file);
        Assert.True(code == 0, output);
        Assert.Contains("SessionStopReq -> SessionStopRes OK", output);
        Assert.Contains("SessionSetupRes OK_NewSessionEstablished — differs from captured message 4:", output);   // another charger: named
        for (int i = 0; i < 100 && (await station.Get<JsonElement>("/api/history")).GetArrayLength() == 0; i++)
        {
            await Task.Delay(100);
        }
        var booked = Assert.Single((await station.Get<JsonElement>("/api/history")).EnumerateArray());
        Assert.Equal("FREECHARGING", booked.GetProperty("idTag").GetString());
    }

    [Fact]
    public async Task A_station_that_refuses_the_captured_car_is_reported_at_the_step_where_it_answered_otherwise()
    {
        await using var station = await TestStation.StartAsync(null, "--Station:EnergyTransfer=dc");   // a DC station, an AC car
        station.Configure(s => s with { FreeCharging = true });
        var (code, output) = await Replay(station.SeccEndPoint.Port, "iso15118-2_ac_eim_josev");
        Assert.Equal(1, code);
        Assert.Contains("ServiceDiscoveryReq -> ServiceDiscoveryRes OK — differs from captured message 6:", output);   // the modes offered
        Assert.Matches(@"ChargeParameterDiscoveryReq -> ChargeParameterDiscoveryRes FAILED_WrongEnergyTransferMode, Finished — differs from captured message 12:\n\s+ResponseCode = FAILED_WrongEnergyTransferMode \(captured OK\)", output);
        Assert.Contains("replay failed: ChargeParameterDiscoveryRes: FAILED_WrongEnergyTransferMode", output);
    }

    [Theory]
    [InlineData("iso15118-20_ac_eim_josev")]
    [InlineData("iso15118-20_dc_eim_josev")]
    public async Task The_captured_ISO_15118_20_car_charges_at_the_station_over_plain_TCP_in_the_test_mode(string session)
    {
        await using var station = await TestStation.StartAsync(null, "--Secc:Iso20AllowPlainTcp=true");
        station.Configure(s => s with { FreeCharging = true });
        var (code, output) = await Replay(station.SeccEndPoint.Port, session);
        Assert.True(code == 0, output);
        Assert.Contains("SessionStopReq -> SessionStopRes OK", output);
        for (int i = 0; i < 100 && (await station.Get<JsonElement>("/api/history")).GetArrayLength() == 0; i++)
        {
            await Task.Delay(100);
        }
        var booked = Assert.Single((await station.Get<JsonElement>("/api/history")).EnumerateArray());
        Assert.Equal("FREECHARGING", booked.GetProperty("idTag").GetString());
    }

    [Theory]
    [InlineData("iso15118-20_ac_eim_josev")]
    [InlineData("iso15118-20_dc_eim_josev")]
    public async Task Without_TLS_1_3_or_the_test_mode_an_ISO_15118_20_car_is_answered_with_Failed_NoNegotiation(string session)
    {
        await using var station = await TestStation.StartAsync();
        station.Configure(s => s with { FreeCharging = true });
        var (code, output) = await Replay(station.SeccEndPoint.Port, session);
        Assert.Equal(1, code);
        Assert.Contains("supportedAppProtocolReq -> supportedAppProtocolRes Failed_NoNegotiation — differs from captured message 2:", output);
        Assert.Contains("replay failed: the charger selected none of the offered protocols", output);
    }
}
