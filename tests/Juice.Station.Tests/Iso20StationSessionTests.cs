using System.Net.Http.Json;
using System.Text.Json;

namespace Juice.Station.Tests;

/// <summary>
/// ISO 15118-20 sessions at the station beyond one straight charge, station and <c>juice ev</c> as processes: the
/// operator lowers the current during a scheduled AC session and the EV renegotiates its schedule; an EV that stands
/// by and wakes up; a session paused and resumed on a new connection stays one transaction in the history.
/// </summary>
public sealed class Iso20StationSessionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-iso20-station-").FullName;

    private string Database => Path.Combine(_dir, "juice.db");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<StationProcess> Station()
    {
        var station = await StationProcess.StartAsync(Database, "--Secc:Iso20AllowPlainTcp=true");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { freeCharging = true })).StatusCode);
        return station;
    }

    /// <summary>Waits until the connector's session has metered energy (the charging loop runs), polling the operator API.</summary>
    private static async Task UntilCharging(StationProcess station)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var status = await station.Http.GetFromJsonAsync<JsonElement>("/api/status");
            if (status.GetProperty("connectors")[0].GetProperty("sessionEnergyWh").GetDouble() > 0)
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, "the session did not start charging: " + station.Log);
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task When_the_operator_lowers_the_current_a_scheduled_ISO_15118_20_EV_renegotiates_its_schedule()
    {
        await using var station = await Station();
        var ev = station.Ev("--protocol", "iso20", "--energy", "ac", "--control", "scheduled", "--duration", "4", "--interval-ms", "100");
        await UntilCharging(station);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { operatorCurrentLimit = 10 })).StatusCode);
        var (code, output) = await ev;
        Assert.True(code == 0, output);
        Assert.Contains("(Iso15118_20Ac)", output);
        Assert.Contains("1 renegotiation(s)", output);
        var session = Assert.Single((await station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray());
        Assert.Equal("EVStopped", session.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task An_ISO_15118_20_EV_stands_by_and_wakes_up_and_a_paused_session_resumes_as_one_transaction()
    {
        await using var station = await Station();
        var (code, output) = await station.Ev("--protocol", "iso20", "--energy", "dc", "--duration", "1.5", "--interval-ms", "100",
            "--standby-after", "3", "--standby-seconds", "0.5", "--pause");
        Assert.True(code == 0, output);
        Assert.Contains(", 1 standby", output);
        var id = System.Text.RegularExpressions.Regex.Match(output, "--resume-session ([0-9A-F]{16})");
        Assert.True(id.Success, output);
        await station.WaitForLog("the ISO 15118 EV paused its session; the transaction stays open");

        (code, output) = await station.Ev("--protocol", "iso20", "--energy", "dc", "--duration", "0.5", "--interval-ms", "100", "--resume-session", id.Groups[1].Value);
        Assert.True(code == 0, output);
        Assert.Contains(", resumed", output);
        var session = Assert.Single((await station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray());
        Assert.Equal("EVStopped", session.GetProperty("reason").GetString());
        Assert.True(session.GetProperty("energyWh").GetDouble() > 0);
    }

    [Fact]
    public async Task A_service_renegotiation_keeps_the_session_and_its_transaction()
    {
        await using var station = await Station();
        var (code, output) = await station.Ev("--protocol", "iso20", "--energy", "dc", "--duration", "1", "--interval-ms", "100", "--service-renegotiate-after", "3");
        Assert.True(code == 0, output);
        Assert.Contains("1 service renegotiation(s)", output);
        var session = Assert.Single((await station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray());
        Assert.Equal("EVStopped", session.GetProperty("reason").GetString());
        Assert.True(session.GetProperty("energyWh").GetDouble() > 0);
    }
}
