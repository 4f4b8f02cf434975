using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Juice.Station.Core;

namespace Juice.Station.Tests.Energy;

/// <summary>The operator API of load management: the external input, the settings' rules, the installation's facts.</summary>
public sealed class LoadManagementApiTests : IAsyncLifetime
{
    private TestStation _station = null!;

    public async Task InitializeAsync() => _station = await TestStation.StartAsync(null, "--Station:PhaseRotation=L2L3L1", "--Station:Phases=1");

    public async Task DisposeAsync()
    {
        await _station.DisposeAsync();
        _station.DeleteFiles();
    }

    [Fact]
    public async Task The_external_input_set_through_the_API_sheds_load_and_a_bad_level_is_a_400_naming_the_field()
    {
        var bad = await _station.Http.PutAsJsonAsync("/api/load-management/external-input", new { level = "up" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Contains("high or low", (string)problem!["errors"]!["level"]!);

        var put = await _station.Http.PutAsJsonAsync("/api/settings", new { freeCharging = true, externalInputEnabled = true, externalInputCurrentLimit = 8, externalInputActiveLow = false });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        _station.Station.SetVehicleState(1, CpState.C);
        Assert.Equal(32, _station.Station.Snapshot(1).SignalledCurrentA);

        var high = await _station.Http.PutAsJsonAsync("/api/load-management/external-input", new { level = "high" });
        Assert.True((bool)(await high.Content.ReadFromJsonAsync<JsonObject>())!["active"]!);
        await TestStation.WaitFor(() => _station.Station.Snapshot(1).SignalledCurrentA == 8, "load shedding to 8 A");
        var state = await _station.Get<JsonObject>("/api/load-management");
        Assert.Equal("high", (string)state["externalInput"]!["level"]!);
        Assert.Equal("Local", (string)state["externalInput"]!["usedBy"]!);
        Assert.Equal(LimitSources.ExternalInput, (string)state["connectors"]![0]!["binding"]!);

        await _station.Http.PutAsJsonAsync("/api/load-management/external-input", new { level = "low" });
        await TestStation.WaitFor(() => _station.Station.Snapshot(1).SignalledCurrentA == 32, "load shedding ended");
    }

    [Fact]
    public async Task Juice_input_sets_and_shows_the_level_through_the_operator_API()
    {
        string url = _station.Http.BaseAddress!.ToString();
        var (code, output) = await Juice.Hlc.Tests.ChildProcess.JuiceAsync(["input", "low", "--url", url, "--password", TestStation.Password]);
        Assert.True(code == 0, output);
        Assert.Contains("external input: level low, load shedding active", output);   // active low by default
        Assert.False(((Juice.Station.Energy.ExternalInput)_station.App.Services.GetService(typeof(Juice.Station.Energy.ExternalInput))!).High);
        (code, output) = await Juice.Hlc.Tests.ChildProcess.JuiceAsync(["input", "show", "--url", url, "--password", "wrong-password"]);
        Assert.Equal(1, code);
        Assert.Contains("the station refused (401): wrong operator password", output);
    }

    [Fact]
    public async Task The_load_management_settings_are_checked_all_at_once()
    {
        var put = await _station.Http.PutAsJsonAsync("/api/settings", new
        {
            externalInputEnabled = true, dlmExternalInput = true, dlmMinimumCurrent = 4, dlmMode = "SlaveFixedMaster", dlmMasterAddress = "",
            currentSchedulerEnabled = true, currentSchedule = new[] { new { hour = 25, l1 = 10, l2 = 10, l3 = 10 } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var errors = (await put.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        Assert.Contains("not both", (string)errors["ExternalInputEnabled"]!);
        Assert.Contains("6 to 32", (string)errors["DlmMinimumCurrent"]!);
        Assert.Contains("master's address", (string)errors["DlmMasterAddress"]!);
        Assert.Contains("hour 0 to 23", (string)errors["CurrentSchedule"]!);

        var one = await _station.Http.PutAsJsonAsync("/api/settings", new { currentSchedulerEnabled = true, currentSchedule = new[] { new { hour = 8, l1 = 10, l2 = 10, l3 = 10 } } });
        Assert.Contains("at least two", await one.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_installation_page_data_names_the_phase_rotation_and_where_each_fact_is_set()
    {
        var i = await _station.Get<JsonObject>("/api/installation");
        Assert.Equal("L2L3L1", (string)i["phaseRotation"]!);
        Assert.Equal(1, (int)i["phases"]!);
        Assert.Equal("Station:PhaseRotation", (string)i["keys"]!["phaseRotation"]!);
        Assert.StartsWith("none", (string)i["externalInput"]!);
    }
}
