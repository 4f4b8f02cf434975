using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Juice.Hlc.Evcc;
using Juice.Hlc.Transport;
using Juice.Station.Core;

namespace Juice.Station.Tests.Api;

/// <summary>The operator API of a running station, over HTTP on loopback.</summary>
public sealed class OperatorApiTests : IAsyncLifetime
{
    private TestStation _station = null!;

    public async Task InitializeAsync() => _station = await TestStation.StartAsync();

    public async Task DisposeAsync()
    {
        await _station.DisposeAsync();
        _station.DeleteFiles();
    }

    private HttpClient Anonymous() => new() { BaseAddress = _station.Http.BaseAddress };

    [Fact]
    public async Task Every_route_but_login_and_health_needs_the_operator()
    {
        using var anonymous = Anonymous();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/health")).StatusCode);
        var denied = await anonymous.GetAsync("/api/status");
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Contains("Basic", denied.Headers.WwwAuthenticate.ToString());
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:wrong-password")));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/settings")).StatusCode);

        var login = await Anonymous().PostAsJsonAsync("/api/login", new { password = TestStation.Password });
        string token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        using var withToken = Anonymous();
        withToken.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await withToken.GetAsync("/api/status")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Anonymous().PostAsJsonAsync("/api/login", new { password = "nope" })).StatusCode);
    }

    [Fact]
    public async Task Settings_are_changed_field_by_field_and_invalid_values_are_refused_with_the_reason()
    {
        var ok = await _station.Http.PutAsJsonAsync("/api/settings", new { autocharge = true, operatorCurrentLimit = 16 });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.True(_station.Settings.Current.Autocharge);
        Assert.Equal(16, _station.Settings.Current.OperatorCurrentLimit);
        Assert.Equal(16, _station.Station.Snapshot(1).SignalledCurrentA);

        var bad = await _station.Http.PutAsJsonAsync("/api/settings", new { operatorCurrentLimit = 40, vehicleConnectionTimeoutSeconds = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Contains("hardware limit of 32 A", errors.GetProperty("OperatorCurrentLimit").GetString());
        Assert.Contains("1 and 3600", errors.GetProperty("VehicleConnectionTimeoutSeconds").GetString());
        Assert.Equal(16, _station.Settings.Current.OperatorCurrentLimit);   // nothing changed

        var unknown = await _station.Http.PutAsJsonAsync("/api/settings", new { noSuchSetting = 1 });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }
    [Fact]
    public async Task Every_4xx_is_problem_details_naming_each_field_what_it_takes_and_all_errors_at_once()
    {
        // a choice that is none of its values, a number that is text, a key that is no setting and a rule broken: all four
        var bad = await _station.Http.PutAsync("/api/settings", new StringContent(
            """{"iso15118":"Maybe","vehicleConnectionTimeoutSeconds":"abc","autochage":true,"operatorCurrentLimit":40}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType!.MediaType);
        string text = await bad.Content.ReadAsStringAsync();
        Assert.DoesNotContain("Juice.", text);          // no .NET type names
        Assert.DoesNotContain("BytePosition", text);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Equal("Bad Request", problem.GetProperty("title").GetString());
        var errors = problem.GetProperty("errors");
        Assert.Equal("one of Off, On, OnWithPlugAndCharge", errors.GetProperty("iso15118").GetString());
        Assert.Equal("a whole number", errors.GetProperty("vehicleConnectionTimeoutSeconds").GetString());
        Assert.Equal("no such setting; did you mean autocharge?", errors.GetProperty("autochage").GetString());
        Assert.Contains("hardware limit of 32 A", errors.GetProperty("OperatorCurrentLimit").GetString());
        Assert.StartsWith("4 fields have wrong values: ", problem.GetProperty("detail").GetString());

        // a body that is not JSON
        var notJson = await _station.Http.PostAsync("/api/whitelists/local", new StringContent("id=04A1B2C3", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal("application/problem+json", notJson.Content.Headers.ContentType!.MediaType);
        Assert.Equal("the body is not valid JSON (line 1, byte 1)", (await notJson.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        // a field of the wrong type
        var wrongType = await _station.Http.PostAsync("/api/whitelists/local", new StringContent("""{"id":42}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.True((await wrongType.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("id", out _));
        // not found, as a route and as a thing
        var route = await _station.Http.GetAsync("/api/no/such/route");
        Assert.Equal(HttpStatusCode.NotFound, route.StatusCode);
        Assert.Equal("no such route: GET /api/no/such/route", (await route.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        var entry = await _station.Http.DeleteAsync("/api/whitelists/local/FFFFFFFF");
        Assert.Equal("application/problem+json", entry.Content.Headers.ContentType!.MediaType);
        var body = await entry.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(404, body.GetProperty("status").GetInt32());
        Assert.Equal(body.GetProperty("detail").GetString(), body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task The_local_whitelist_is_managed_imported_and_exported_and_the_OCPP_list_deleted_as_a_whole()
    {
        var created = await _station.Http.PostAsJsonAsync("/api/whitelists/local", new { id = "04a1b2c3", label = "Anna" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var refused = await _station.Http.PostAsJsonAsync("/api/whitelists/local", new { id = "123" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("4, 7 or 10 bytes", await refused.Content.ReadAsStringAsync());

        var import = await _station.Http.PostAsync("/api/whitelists/local/import", new StringContent("id;label\r\nAC:91:A1:56:5F:46;Car\r\nnot-an-id;x\r\n", Encoding.UTF8, "text/csv"));
        var report = await import.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, report.GetProperty("imported").GetInt32());
        Assert.Equal(1, report.GetProperty("rejected").GetInt32());
        var error = Assert.Single(report.GetProperty("errors").EnumerateArray());
        Assert.Equal(3, error.GetProperty("line").GetInt32());
        Assert.Equal("not-an-id", error.GetProperty("id").GetString());
        Assert.False(report.TryGetProperty("lines", out _));   // successes as a count only
        var tooLarge = await _station.Http.PostAsync("/api/whitelists/local/import", new StringContent(new string('x', Juice.Station.Authorization.WhitelistStore.MaxImportBytes + 1), Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Contains("nothing was imported", await tooLarge.Content.ReadAsStringAsync());

        var found = await _station.Get<JsonElement>("/api/whitelists/local?search=ac91");
        Assert.Equal("AC91A1565F46", Assert.Single(found.EnumerateArray()).GetProperty("id").GetString());
        var export = await _station.Http.GetAsync("/api/whitelists/local/export");
        Assert.Equal("text/csv", export.Content.Headers.ContentType!.MediaType);
        string csv = await export.Content.ReadAsStringAsync();
        Assert.Contains("04A1B2C3,rfid,,Anna", csv);
        Assert.Contains("AC91A1565F46,ev-mac,,Car", csv);

        Assert.Equal(HttpStatusCode.NoContent, (await _station.Http.DeleteAsync("/api/whitelists/local/04A1B2C3")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _station.Http.DeleteAsync("/api/whitelists/local/04A1B2C3")).StatusCode);
        _station.Whitelists.Add(Juice.Station.Authorization.WhitelistName.Ocpp, new("TAG1", Juice.Station.Authorization.WhitelistKind.Rfid, null, "", DateTimeOffset.UtcNow));
        Assert.Single((await _station.Get<JsonElement>("/api/whitelists/ocpp")).EnumerateArray());
        Assert.Equal(1, (await (await _station.Http.DeleteAsync("/api/whitelists/ocpp")).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deleted").GetInt32());
        Assert.Equal(1, _station.Whitelists.Count(Juice.Station.Authorization.WhitelistName.Local));
    }

    [Fact]
    public async Task The_add_entry_dialog_learns_the_EVCCID_of_the_car_that_connects()
    {
        Assert.Equal(HttpStatusCode.Accepted, (await _station.Http.PostAsync("/api/whitelists/local/learn", null)).StatusCode);
        Assert.Equal("waiting", (await _station.Get<JsonElement>("/api/whitelists/local/learn")).GetProperty("state").GetString());
        _station.Configure(s => s with { Autocharge = true, VehicleConnectionTimeoutSeconds = 1 });
        await using (var connection = await V2gTcpClient.ConnectAsync(_station.SeccEndPoint))
        {
            var ev = new EvClient(new EvOptions { Evccid = Convert.FromHexString("02AB00000042"), Duration = TimeSpan.FromMilliseconds(100), MessageTimeout = TimeSpan.FromSeconds(15) });
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                await ev.RunAsync(connection, null, stop.Token);   // not whitelisted: it is refused in the end
            }
            catch (EvSessionException)
            {
            }
        }
        var learned = await _station.Get<JsonElement>("/api/whitelists/local/learn");
        Assert.Equal("learned", learned.GetProperty("state").GetString());
        Assert.Equal("02AB00000042", learned.GetProperty("id").GetString());
        Assert.Equal("Autocharge", learned.GetProperty("source").GetString());
    }

    [Fact]
    public async Task A_basic_car_is_driven_through_the_simulated_inputs_and_its_session_is_in_the_history_CSV_and_dashboard()
    {
        _station.Whitelist("04A1B2C3");
        Assert.Equal(HttpStatusCode.OK, (await _station.Http.PostAsJsonAsync("/api/connectors/1/vehicle", new { state = "C" })).StatusCode);
        var decision = await (await _station.Http.PostAsJsonAsync("/api/connectors/1/rfid", new { idTag = "04a1b2c3" })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(decision.GetProperty("accepted").GetBoolean());
        var charging = await _station.Get<JsonElement>("/api/connectors/1");
        Assert.Equal("Charging", charging.GetProperty("status").GetString());
        await Task.Delay(300);
        Assert.Equal(HttpStatusCode.OK, (await _station.Http.PostAsync("/api/connectors/1/stop", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await _station.Http.PostAsync("/api/connectors/1/stop", null)).StatusCode);

        var history = await _station.Get<JsonElement>("/api/history");
        var session = Assert.Single(history.EnumerateArray());
        Assert.Equal("04A1B2C3", session.GetProperty("idTag").GetString());
        Assert.True(session.GetProperty("energyWh").GetDouble() > 0);
        var csv = await (await _station.Http.GetAsync("/api/history/export")).Content.ReadAsStringAsync();
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("start_date,start_time,duration,energy_wh,id_tag,connector,id_source,stop_reason,transaction_id,contract,exported_wh", lines[0]);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2},\d{2}:\d{2}:\d{2},0:00:0\d,\d+,04A1B2C3,1,Rfid,Local,1,,0$", lines[1]);
        var dashboard = await _station.Get<JsonElement>("/api/dashboard");
        Assert.Equal(1, dashboard.GetProperty("totalSessions").GetInt32());
        Assert.Equal(1, dashboard.GetProperty("lastMonthSessions").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await _station.Http.PostAsJsonAsync("/api/connectors/9/vehicle", new { state = "B" })).StatusCode);
    }

    [Fact]
    public async Task The_operator_password_is_changed_with_the_current_one_and_the_old_one_stops_working()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await _station.Http.PostAsJsonAsync("/api/operator/password", new { current = "wrong", @new = "new-password-1" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _station.Http.PostAsJsonAsync("/api/operator/password", new { current = TestStation.Password, @new = "short" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _station.Http.PostAsJsonAsync("/api/operator/password", new { current = TestStation.Password, @new = "new-password-1" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _station.Http.GetAsync("/api/status")).StatusCode);
        using var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:new-password-1")));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/status")).StatusCode);
    }

    [Fact]
    public async Task The_API_is_described_as_OpenAPI_without_credentials_and_every_route_is_named_in_the_README()
    {
        using var anonymous = new HttpClient { BaseAddress = _station.Http.BaseAddress };
        var response = await anonymous.GetAsync("/api/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/api/history", paths);
        Assert.Contains("/api/status", paths);
        string readme = File.ReadAllText(Path.Combine(Juice.Hlc.Tests.Vectors.RepositoryRoot, "README.md"));
        var missing = paths.Where(p => !System.Text.RegularExpressions.Regex.IsMatch(readme,
            System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Escape(p), @"\\\{[^}]+\}", @"\{[^}]+\}") + @"(?![\w/{])")).ToList();
        Assert.True(missing.Count == 0, "routes not named in README.md: " + string.Join(", ", missing));
    }
}
