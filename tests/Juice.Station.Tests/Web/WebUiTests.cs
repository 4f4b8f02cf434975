using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Microsoft.Playwright;

namespace Juice.Station.Tests.Web;

/// <summary>
/// The operator web interface in a real headless Chromium (Debian's chromium package, driven by Playwright; no
/// browser download) against the station as a process: login, the whitelist dialog that learns a car's MAC while it
/// is open, Autocharge, the live dashboard, CSV import and export, refused values, a setting applied by a restart,
/// anti-forgery, security headers and login rate limiting. Screenshots of every page land in bin/.../screenshots.
/// </summary>
public sealed class WebUiTests : IAsyncLifetime
{
    private static readonly string Screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots");
    private readonly string _data = Directory.CreateTempSubdirectory("juice-web-").FullName;
    private StationProcess _station = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private IPage _page = null!;
    private string Base => $"http://127.0.0.1:{_station.ApiPort}";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Screenshots);
        // a fixed API port: the page stays on it across the restart
        _station = await StationProcess.StartAsync(Path.Combine(_data, "juice.db"), "--Api:Urls=http://127.0.0.1:" + FreePort().ToString(CultureInfo.InvariantCulture));
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu"],
        });
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1360, Height = 900 }, AcceptDownloads = true, Locale = "en-GB" });
        _page = await context.NewPageAsync();
        _page.SetDefaultTimeout(20_000);
    }

    private Task Shot(string name) => _page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });

    private async Task Open(string page, string title)
    {
        await _page.ClickAsync($".sidebar a[data-page={page}]");
        await Assertions.Expect(_page.Locator("#page-title")).ToHaveTextAsync(title);
        await _page.WaitForSelectorAsync("#main .card");
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public async Task An_operator_runs_the_station_from_the_browser()
    {
        // a wrong password is refused
        await _page.GotoAsync(Base);
        await _page.FillAsync("#login-password", "not-the-password");
        await _page.ClickAsync("#login-form button[type=submit]");
        await Assertions.Expect(_page.Locator("#login-error")).ToHaveTextAsync("Wrong password. 4 tries left before each further try waits (1 s, doubling, up to a minute).");
        await Shot("01-login");

        await _page.FillAsync("#login-password", TestStation.Password);
        await _page.ClickAsync("#login-form button[type=submit]");
        await Assertions.Expect(_page.Locator("#page-title")).ToHaveTextAsync("Dashboard");
        await Assertions.Expect(_page.Locator("[data-connector='1'] [data-field=status]")).ToHaveTextAsync("Available");
        Assert.Equal("", await _page.EvaluateAsync<string>("document.cookie"));   // the session cookie is HttpOnly

        // WHITELISTS: the Add entry dialog learns the MAC of a car that connects while it is open
        await Open("whitelists", "Whitelists");
        await _page.ClickAsync("#add-entry");
        await Assertions.Expect(_page.Locator("#entry-detected")).ToHaveTextAsync("Waiting for a card or a car…");
        using (var waiting = _station.StartEv("--energy", "ac", "--evccid", "02000000CA01", "--duration", "2"))
        {
            await Assertions.Expect(_page.Locator("#entry-id")).ToHaveValueAsync("02000000CA01", new() { Timeout = 60_000 });
            await Assertions.Expect(_page.Locator("#entry-detected")).ToContainTextAsync("vehicle MAC address");
            await _page.FillAsync("#entry-label", "Company car");
            await Shot("02-whitelist-add-entry");
            await _page.ClickAsync("#entry-save");
            waiting.Kill(entireProcessTree: true);
        }
        // the dialog stays for the next entry: what was saved, the list's total, the fields empty again
        await Assertions.Expect(_page.Locator("#entry-saved")).ToHaveTextAsync("Saved 02000000CA01 (Company car); added here: 1.");
        await Assertions.Expect(_page.Locator("#entry-total")).ToHaveTextAsync("(total: 1)");
        await Assertions.Expect(_page.Locator("#entry-id")).ToHaveValueAsync("");
        // a second entry in a row, typed in
        await _page.FillAsync("#entry-id", "04AABBCC");
        await _page.FillAsync("#entry-label", "Spare card");
        await _page.ClickAsync("#entry-save");
        await Assertions.Expect(_page.Locator("#entry-saved")).ToHaveTextAsync("Saved 04AABBCC (Spare card); added here: 2.");
        await Assertions.Expect(_page.Locator("#entry-total")).ToHaveTextAsync("(total: 2)");
        // a value the manual's rule refuses shows the reason under the ID
        await _page.FillAsync("#entry-id", "12345");
        await _page.ClickAsync("#entry-save");
        await Assertions.Expect(_page.Locator("#entry-id + #entry-error")).ToContainTextAsync("Enter an RFID card UID of 4, 7 or 10 bytes");
        await _page.ClickAsync("#entry-cancel");
        await Assertions.Expect(_page.Locator("#local-list tbody").Last).ToContainTextAsync("Company car");
        await Assertions.Expect(_page.Locator("#local-list tbody").Last).ToContainTextAsync("Spare card");

        // import and export
        string csv = Path.Combine(_data, "cards.csv");
        await File.WriteAllTextAsync(csv, "id;label\n04A1B2C3;Fleet card 1\n04A1B2C4D5E6F7;Fleet card 2\n12345;broken\n04A1B2C3;Fleet card 1b\n");
        await _page.SetInputFilesAsync("#import-file", csv);
        await Assertions.Expect(_page.Locator("#local-list tbody").Last).ToContainTextAsync("Fleet card 2");
        await Assertions.Expect(_page.Locator("#local-list tbody").Last).ToContainTextAsync("RFID");   // the manual's names, not the internal ones
        await Assertions.Expect(_page.Locator("#local-list tbody").Last).ToContainTextAsync("EV MAC (Autocharge)");
        // the result stays on the page: counts, the refused line with its reason, how the duplicate was treated
        await Assertions.Expect(_page.Locator("#import-summary")).ToHaveTextAsync("cards.csv: 2 entries imported (2 new, 0 updated), 1 line refused.");
        await Assertions.Expect(_page.Locator("#import-result tbody")).ToContainTextAsync("412345reason 1");
        await Assertions.Expect(_page.Locator("#import-result ol.reasons")).ToContainTextAsync("4, 7 or 10 bytes");
        await Assertions.Expect(_page.Locator("#import-duplicates")).ToContainTextAsync("04A1B2C3: line 2 replaced by line 5");
        var download = await _page.RunAndWaitForDownloadAsync(() => _page.ClickAsync("#export-list button"));
        string exported = await File.ReadAllTextAsync(await download.PathAsync());
        Assert.Contains("02000000CA01", exported);
        Assert.Contains("04A1B2C4D5E6F7", exported);
        await Shot("03-whitelists");

        // AUTHORIZATION: a refused value is explained next to its field; Autocharge on
        await Open("authorization", "Authorization");
        await _page.FillAsync("#f-vehicleConnectionTimeoutSeconds", "0");
        await _page.ClickAsync("#main .card:nth-of-type(1) .buttons button.primary");
        await Assertions.Expect(_page.Locator("#f-vehicleConnectionTimeoutSeconds-error")).ToHaveTextAsync("between 1 and 3600 seconds");
        await _page.ClickAsync("#main .card:nth-of-type(1) .buttons button.ghost");   // Reset all changes
        await Assertions.Expect(_page.Locator("#f-vehicleConnectionTimeoutSeconds")).ToHaveValueAsync("45");   // the manual's default
        await _page.ClickAsync("button[aria-controls='f-autocharge-help']");
        await Assertions.Expect(_page.Locator("#f-autocharge-help")).ToBeVisibleAsync();
        await _page.CheckAsync("#f-autocharge");
        await _page.ClickAsync("#main .card:nth-of-type(2) .buttons button.primary");
        await Assertions.Expect(_page.Locator(".toast")).ToContainTextAsync("Saved");
        // choosing Plug & Charge without certificates: the page says what is missing, next to the setting
        await Assertions.Expect(_page.Locator("#pnc-missing")).ToBeHiddenAsync();
        await _page.SelectOptionAsync("#f-iso15118", "OnWithPlugAndCharge");
        await Assertions.Expect(_page.Locator("#pnc-missing")).ToHaveTextAsync("Plug & Charge needs an SECC certificate with its key (no TLS server without it), a V2G root, an MO root (contracts): import them below.");
        await Assertions.Expect(_page.Locator("#cert-import")).ToBeVisibleAsync();
        await _page.ClickAsync("#main .card:nth-of-type(2) .buttons button.ghost");   // not saved: Reset all changes
        await Shot("04-authorization");

        // DASHBOARD: the car charges by Autocharge and the dashboard follows it live
        await Open("dashboard", "Dashboard");
        using (var ev = _station.StartEv("--energy", "ac", "--evccid", "02000000CA01", "--duration", "6", "--interval-ms", "200"))
        {
            await Assertions.Expect(_page.Locator("[data-connector='1'] [data-field=status]")).ToHaveTextAsync("Charging", new() { Timeout = 60_000 });
            await Assertions.Expect(_page.Locator("[data-connector='1'] [data-field=identity]")).ToHaveTextAsync("VID:02000000CA01");
            // a non-zero digit: more than 0 kWh (no WaitForFunction: its polling evaluates a string, which the page's CSP forbids)
            await Assertions.Expect(_page.Locator("[data-connector='1'] [data-field=energy]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("[1-9]"), new() { Timeout = 30_000 });
            await _page.WaitForSelectorAsync("svg.chart polyline.power", new() { State = WaitForSelectorState.Attached });
            await Assertions.Expect(_page.Locator("[data-connector='1'] [data-field=current]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("[1-9]"));
            await Shot("05-dashboard-charging");
            await ev.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
            Assert.Equal(0, ev.ExitCode);
        }
        await Assertions.Expect(_page.Locator("[data-connector='1'] [data-field=status]")).ToHaveTextAsync("Available", new() { Timeout = 30_000 });
        // the month's table and the totals follow without a reload
        await Assertions.Expect(_page.Locator("#main table tbody")).ToContainTextAsync("VID:02000000CA01", new() { Timeout = 30_000 });
        await Assertions.Expect(_page.Locator(".kpi").Filter(new() { HasText = "Sessions" }).First).ToContainTextAsync("1");
        await Assertions.Expect(_page.Locator(".kpi").Filter(new() { HasText = "Last 30 days" }).First).ToContainTextAsync("1 session");
        // dates as in the CSV: ISO 8601
        await Assertions.Expect(_page.Locator("#main table tbody").First).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"^\d{4}-\d{2}-\d{2}\d{2}:\d{2}:\d{2}"));   // date and time columns
        await Assertions.Expect(_page.Locator("#main h2").Filter(new() { HasText = "Last session" })).ToBeVisibleAsync();
        var history = await _page.RunAndWaitForDownloadAsync(() => _page.ClickAsync("#export-history button"));
        Assert.Contains("VID:02000000CA01", await File.ReadAllTextAsync(await history.PathAsync()));
        await Shot("06-dashboard-after");

        // NETWORK: which service listens where, the interfaces, the keys that set them
        await Open("network", "Network");
        await Assertions.Expect(_page.Locator("#network-listeners")).ToContainTextAsync("SECC (ISO 15118 / DIN 70121, TCP)");
        await Assertions.Expect(_page.Locator("#network-listeners")).ToContainTextAsync("Modbus TCP (connector 1)");
        await Assertions.Expect(_page.Locator("#network-listeners")).ToContainTextAsync("Web interface and operator API");
        await Assertions.Expect(_page.Locator("#network-interfaces")).ToContainTextAsync("lo");
        await Assertions.Expect(_page.Locator("#network-settings")).ToContainTextAsync("Secc:TlsPort");
        await Shot("07a-network");
        // an address without a page says so, not the dashboard
        await _page.GotoAsync(new Uri(_page.Url).GetLeftPart(UriPartial.Path) + "#/nowhere");
        await Assertions.Expect(_page.Locator("#no-page")).ToContainTextAsync("There is no page \"nowhere\".");
        await Assertions.Expect(_page.Locator("#page-title")).ToHaveTextAsync("No such page");
        // INSTALLATION: the facts load management works with, and where each is set
        await Open("installation", "Installation");
        await Assertions.Expect(_page.Locator("#installation-facts")).ToContainTextAsync("Phase rotation (grid phases of L1, L2, L3)L1L2L3Station:PhaseRotation");
        await Assertions.Expect(_page.Locator("#installation-facts")).ToContainTextAsync("Hardware current limit32 AStation:MaxCurrent");
        await Assertions.Expect(_page.Locator("#installation-facts")).ToContainTextAsync("Phase switching (1 or 3 phases, SMA Home Manager)noStation:PhaseSwitching");

        // BACKEND and SYSTEM pages
        await Open("backend", "Backend");
        await Assertions.Expect(_page.Locator("#main")).ToContainTextAsync("HeartbeatInterval");
        // the manual's connection options: each with what the station does and where it is set, or why it is not offered
        await Assertions.Expect(_page.Locator("#backend-options")).ToContainTextAsync("Backend connection timeout30 sOcpp:ConnectTimeoutSeconds");
        await Assertions.Expect(_page.Locator("#backend-options")).ToContainTextAsync("Websockets proxy(none: direct)the field above, or Ocpp:Proxy");
        await Assertions.Expect(_page.Locator("#backend-options")).ToContainTextAsync("Disallow charging if OCPP queue fullOffnot offered: the queue is kept in the database");
        await Assertions.Expect(_page.Locator("#f-ocppChargeBoxId")).ToHaveAttributeAsync("placeholder", new System.Text.RegularExpressions.Regex(@"\(configured\)$"));
        await Shot("07-backend");
        await Open("system", "System");
        await Assertions.Expect(_page.Locator("#main")).ToContainTextAsync("Runtime");
        var originForSystem = new Uri(_page.Url).GetLeftPart(UriPartial.Authority);
        string startedBefore = (await (await _page.Context.APIRequest.GetAsync(originForSystem + "/api/system")).JsonAsync())!.Value.GetProperty("started").GetString()!;
        var log = await _page.RunAndWaitForDownloadAsync(() => _page.ClickAsync("#download-log button"));
        Assert.Contains("Authorization at connector 1: VID:02000000CA01", await File.ReadAllTextAsync(await log.PathAsync()));
        await Shot("08-system");

        // LOAD MANAGEMENT: a setting that waits for a restart, and the restart
        int port = FreePort();
        await Open("load", "Load management");
        await Assertions.Expect(_page.Locator(".field").Filter(new() { HasText = "Port" }).Locator(".badge")).ToHaveTextAsync("after restart");
        await Assertions.Expect(_page.Locator("#f-modbusPort")).ToHaveAttributeAsync("placeholder", new System.Text.RegularExpressions.Regex(@"^\d+ \(configured\)$"));
        await _page.FillAsync("#f-modbusPort", port.ToString(CultureInfo.InvariantCulture));
        await _page.ClickAsync("#modbus-card .buttons button.primary");
        await Assertions.Expect(_page.Locator(".toast")).ToContainTextAsync("after a restart");
        // the manual's DLM and load-shedding fields, with their help; the input's level set by hand
        await Assertions.Expect(_page.Locator("#f-dlmMode option")).ToHaveCountAsync(5);
        await Assertions.Expect(_page.Locator("#f-dlmMode")).ToContainTextAsync("DLM Slave (Master-Auto-Discovery)");
        await Assertions.Expect(_page.Locator("#f-surplusMode option")).ToHaveCountAsync(3);
        // surplus charging needs a grid meter, which this station has not: the page says so under the field
        await _page.Locator("#f-surplusMode").SelectOptionAsync("Pv");
        await _page.ClickAsync("#surplus-settings .buttons button.primary");
        await Assertions.Expect(_page.Locator("#f-surplusMode-error")).ToContainTextAsync("needs a grid meter");
        await _page.Locator("#f-surplusMode").SelectOptionAsync("Off");
        // the manual's SMA fields; a fallback current between 0 and 6 A is refused under the field
        await Assertions.Expect(_page.Locator("#f-smaChargingMode option")).ToHaveCountAsync(2);
        await _page.FillAsync("#f-smaFallbackCurrent", "3");
        await _page.ClickAsync("#sma-settings .buttons button.primary");
        await Assertions.Expect(_page.Locator("#f-smaFallbackCurrent-error")).ToContainTextAsync("0 (pause) or 6 to 32 A");
        await _page.FillAsync("#f-smaFallbackCurrent", "6");
        await _page.ClickAsync("button[aria-label='Help for Disconnected Limit (A)']");
        await Assertions.Expect(_page.Locator("#f-dlmDisconnectedLimit-help")).ToContainTextAsync("as low as possible");
        await _page.ClickAsync("#input-low");
        await Assertions.Expect(_page.Locator("#external-input")).ToContainTextAsync("Levellow");
        await Assertions.Expect(_page.Locator("#external-input")).ToContainTextAsync("Load sheddingactive");   // active low by default
        // the schedule: one entry is refused (the manual wants two), two are kept
        await _page.ClickAsync("#f-currentSchedulerEnabled");
        await _page.ClickAsync("#schedule-add");
        await _page.ClickAsync("#schedule-save");
        await Assertions.Expect(_page.Locator("#schedule-error")).ToContainTextAsync("at least two entries");
        await _page.ClickAsync("#schedule-add");
        await _page.Locator("#current-schedule select").Nth(1).SelectOptionAsync("22");
        await _page.ClickAsync("#schedule-save");
        await Assertions.Expect(_page.Locator(".toast")).ToContainTextAsync("Schedule saved");
        await Assertions.Expect(_page.Locator("#schedule-error")).ToBeEmptyAsync();
        await Shot("09-load-management");
        // the dashboard says which limit binds now: the schedule's 16 A
        await Open("dashboard", "Dashboard");
        await Assertions.Expect(_page.Locator("#dlm-card")).ToContainTextAsync("Maximum Current Scheduler");
        await Assertions.Expect(_page.Locator("#dlm-card")).ToContainTextAsync("16 A");
        await Open("load", "Load management");
        await _page.ClickAsync("#modbus-card .buttons button:has-text('Restart')");
        await _page.ClickAsync("#confirm-ok");
        await Assertions.Expect(_page.Locator("#page-title")).ToHaveTextAsync("Load management");
        await Assertions.Expect(_page.Locator("#f-modbusPort")).ToHaveValueAsync(port.ToString(CultureInfo.InvariantCulture), new() { Timeout = 60_000 });
        for (int i = 0; i < 100 && !_station.Log.Contains($"Modbus TCP server listening on 127.0.0.1:{port} for connector 1", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);   // the console log of the new host may trail its first HTTP answer
        }
        Assert.Contains($"Modbus TCP server listening on 127.0.0.1:{port} for connector 1", _station.Log);
        Assert.Contains("Restart asked for by the operator", _station.Log);

        // a change without the anti-forgery token is refused, even with the session cookie
        // (through the browser context's request API, which carries its cookies: a fetch inside the page can be cut
        // off by the page's own reload after the restart, "Failed to fetch")
        var origin = new Uri(_page.Url).GetLeftPart(UriPartial.Authority);
        for (int i = 0; ; i++)
        {
            try
            {
                await _page.Context.APIRequest.GetAsync(origin + "/");
                break;   // the new host's web server answers (its Modbus server can be up before it: seen in CI, ECONNREFUSED)
            }
            catch (PlaywrightException) when (i < 200)
            {
                await Task.Delay(100);
            }
        }
        // "Up since" is this run's start: a restart starts a new one
        string startedAfter = (await (await _page.Context.APIRequest.GetAsync(origin + "/api/system")).JsonAsync())!.Value.GetProperty("started").GetString()!;
        Assert.True(DateTimeOffset.Parse(startedAfter, CultureInfo.InvariantCulture) > DateTimeOffset.Parse(startedBefore, CultureInfo.InvariantCulture), $"{startedBefore} -> {startedAfter}");
        var refused = await _page.Context.APIRequest.PutAsync(origin + "/api/settings", new() { DataObject = new { freeCharging = true } });
        Assert.Equal(403, refused.Status);

        await _page.ClickAsync("#logout");
        await Assertions.Expect(_page.Locator("#login-password")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Every_response_carries_security_headers_and_logins_are_rate_limited()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Base) };
        var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());

        var login = await http.PostAsJsonAsync("/api/session", new { password = TestStation.Password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        string cookie = login.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        // every way in counts for one throttle per address: the web form, POST /api/login, HTTP Basic (a client without the session cookie)
        using var guesser = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = new Uri(Base) };
        var ways = new Func<int, Task<HttpResponseMessage>>[]
        {
            i => guesser.PostAsJsonAsync("/api/session", new { password = "guess-" + i }),
            i => guesser.PostAsJsonAsync("/api/login", new { password = "guess-" + i }),
            i => guesser.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/status")
                { Headers = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("operator:guess"u8.ToArray())) } }),
        };
        for (int i = 0; i < 5; i++)
        {
            var refused = await ways[i % 3](i);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal(4 - i, (await refused.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("triesLeft").GetInt32());
        }
        // the right password is never locked out: it gets in after the wait the failures earned
        var right = await guesser.PostAsJsonAsync("/api/session", new { password = TestStation.Password });
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Contains("Wrong operator password (web login) from 127.0.0.1: failure 1 in a row", _station.Log);
        Assert.Contains("Wrong operator password (POST /api/login) from 127.0.0.1: failure 2 in a row", _station.Log);
        Assert.Contains("Wrong operator password (HTTP Basic on /api/status) from 127.0.0.1: failure 3 in a row", _station.Log);
        Assert.Contains("failure 5 in a row, the next try from there waits 1 s", _station.Log);
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _station.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}
