using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Juice.Station.Tests;

/// <summary>
/// The station and the EV simulator as processes: Autocharge end to end, and a station killed like a power cut that
/// keeps every finished session and every whitelist entry.
/// </summary>
public sealed class StationEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-e2e-").FullName;

    private string Database => Path.Combine(_dir, "juice.db");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Reads holding registers with a plain Modbus TCP request (FC 3, unit 255).</summary>
    private static async Task<ushort[]> ReadRegisters(int port, ushort start, ushort count)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        byte[] request = [0, 1, 0, 0, 0, 6, 255, 3, (byte)(start >> 8), (byte)start, (byte)(count >> 8), (byte)count];
        await tcp.GetStream().WriteAsync(request);
        var response = new byte[9 + 2 * count];
        await tcp.GetStream().ReadExactlyAsync(response);
        return [.. Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadUInt16BigEndian(response.AsSpan(9 + 2 * i)))];
    }

    /// <summary>Writes one holding register (FC 6, unit 255); returns the function code of the answer (0x86 for an exception).</summary>
    private static async Task<byte> WriteRegister(int port, ushort address, ushort value)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        byte[] request = [0, 2, 0, 0, 0, 6, 255, 6, (byte)(address >> 8), (byte)address, (byte)(value >> 8), (byte)value];
        await tcp.GetStream().WriteAsync(request);
        var response = new byte[9];
        await tcp.GetStream().ReadExactlyAsync(response);
        return response[7];
    }

    [Theory]
    [InlineData("ac-bpt", "scheduled")]
    [InlineData("ac-bpt", "dynamic")]
    [InlineData("dc-bpt", "scheduled")]
    [InlineData("dc-bpt", "dynamic")]
    public async Task A_bidirectional_ISO_15118_20_EV_feeds_in_where_the_operator_allows_it_and_the_history_keeps_both_energies(string energy, string control)
    {
        await using var station = await StationProcess.StartAsync(Database, "--Secc:Iso20AllowPlainTcp=true");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { freeCharging = true, bidirectional = true, maxDischargeCurrent = 16 })).StatusCode);
        bool dynamic = control == "dynamic";
        string[] plan = dynamic
            ? ["--duration", "4"]   // the HEMS asks to feed in (Modbus 1020); the EV does so down to its floor, then the station lets it charge
            : ["--discharge-kw", "10", "--target-soc", "50.5", "--duration", "30"];   // its own plan: feed in down to its floor, then charge
        if (dynamic)
        {
            Assert.Equal(6, await WriteRegister(station.ModbusPort, 1020, 10_000));
            Assert.Equal(10_000, (await ReadRegisters(station.ModbusPort, 1020, 1))[0]);
        }

        var (code, output) = await station.Ev(["--protocol", "iso20", "--energy", energy, "--control", control, "--capacity-kwh", "1", "--start-soc", "50", "--min-soc", "49.5",
            "--interval-ms", "50", .. plan]);

        Assert.True(code == 0, output);
        Assert.Contains("kWh fed back", output);
        var session = Assert.Single((await station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray());
        Assert.True(session.GetProperty("exportedWh").GetDouble() >= 2, session.ToString());   // 5 Wh from 50 % to 49.5 % of 1 kWh
        Assert.True(session.GetProperty("energyWh").GetDouble() >= 1, session.ToString());
        string csv = await station.Http.GetStringAsync("/api/history/export");
        Assert.EndsWith(",exported_wh", csv.Split("\r\n")[0]);
        Assert.Equal(session.GetProperty("exportedWh").GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture), csv.Split("\r\n")[1].Split(',')[^1]);
    }

    [Fact]
    public async Task The_operator_chooses_the_protocols_and_their_priority_for_the_next_connection()
    {
        await using var station = await StationProcess.StartAsync(Database, "--Secc:Iso20AllowPlainTcp=true");
        var refused = await station.Http.PutAsJsonAsync("/api/settings", new { freeCharging = true, hlcProtocols = "iso20,chademo" });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("chademo", await refused.Content.ReadAsStringAsync());
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { freeCharging = true, hlcProtocols = "iso2,din" })).StatusCode);

        // an EV that prefers -20 gets ISO 15118-2: -20 is no longer offered
        var (code, output) = await station.Ev("--protocol", "iso20,iso2", "--energy", "dc", "--duration", "0.5", "--interval-ms", "100");
        Assert.True(code == 0, output);
        Assert.Contains("(Iso15118_2)", output);

        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { hlcProtocols = (string?)null })).StatusCode);
        (code, output) = await station.Ev("--protocol", "iso20,iso2", "--energy", "dc", "--duration", "0.5", "--interval-ms", "100");
        Assert.True(code == 0, output);
        Assert.Contains("(Iso15118_20Dc)", output);   // back to the configured Secc:Protocols
    }

    [Fact]
    public async Task Without_the_operator_setting_a_bidirectional_EV_charges_only()
    {
        await using var station = await StationProcess.StartAsync(Database, "--Secc:Iso20AllowPlainTcp=true");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { freeCharging = true })).StatusCode);
        var (code, output) = await station.Ev("--protocol", "iso20", "--energy", "dc-bpt", "--discharge-kw", "10", "--capacity-kwh", "1", "--start-soc", "50",
            "--min-soc", "49.5", "--target-soc", "50.5", "--duration", "30", "--interval-ms", "50");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("fed back", output);
        var session = Assert.Single((await station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray());
        Assert.Equal(0, session.GetProperty("exportedWh").GetDouble());
        Assert.True(session.GetProperty("energyWh").GetDouble() > 0);
    }

    [Fact]
    public async Task A_DC_EV_that_checks_the_cable_again_after_its_own_renegotiation_charges_on_at_the_station()
    {
        await using var station = await StationProcess.StartAsync(Database);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { freeCharging = true })).StatusCode);

        // the sequence of another stack's EV: 5 CurrentDemand, PowerDelivery(Renegotiate), ChargeParameterDiscovery,
        // CableCheck, PreCharge, PowerDelivery(Start), and on
        using var ev = station.StartEv("--energy", "dc", "--renegotiate-after", "5", "--recheck-cable", "--duration", "2", "--interval-ms", "50");
        await ev.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, ev.ExitCode);

        var history = await station.Http.GetFromJsonAsync<JsonElement>("/api/history");
        var session = Assert.Single(history.EnumerateArray());
        Assert.NotEqual("Other", session.GetProperty("reason").GetString());
        Assert.True(session.GetProperty("energyWh").GetDouble() > 0);
    }

    [Theory]
    [InlineData("ac", "scheduled")]
    [InlineData("ac", "dynamic")]
    [InlineData("dc", "scheduled")]
    [InlineData("dc", "dynamic")]
    public async Task An_ISO_15118_20_EV_charges_at_the_station_in_both_control_modes_and_Autocharge_knows_its_EVCCID(string energy, string control)
    {
        await using var station = await StationProcess.StartAsync(Database, "--Secc:Iso20AllowPlainTcp=true");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { autocharge = true })).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Created, (await station.Http.PostAsJsonAsync("/api/whitelists/local", new { id = "02:00:00:00:AB:20", label = "-20 car" })).StatusCode);

        var (code, output) = await station.Ev("--protocol", "iso20,iso2", "--energy", energy, "--control", control, "--evccid", "02000000AB20",
            "--duration", "1.5", "--interval-ms", "100");

        Assert.True(code == 0, output);
        Assert.Contains(energy == "ac" ? "(Iso15118_20Ac)" : "(Iso15118_20Dc)", output);
        var history = await station.Http.GetFromJsonAsync<JsonElement>("/api/history");
        var session = Assert.Single(history.EnumerateArray());
        Assert.Equal("VID:02000000AB20", session.GetProperty("idTag").GetString());   // the -20 EVCCID (a MAC in hex) as the Autocharge identity
        Assert.Equal("EVStopped", session.GetProperty("reason").GetString());
        Assert.True(session.GetProperty("energyWh").GetDouble() > 0);
    }

    [Fact]
    public async Task An_ISO_15118_EV_whose_MAC_is_whitelisted_charges_by_Autocharge_and_shows_in_Modbus_and_the_history()
    {
        await using var station = await StationProcess.StartAsync(Database);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { autocharge = true })).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Created, (await station.Http.PostAsJsonAsync("/api/whitelists/local", new { id = "02:00:00:00:AB:01", label = "fleet car" })).StatusCode);

        using var ev = station.StartEv("--energy", "ac", "--evccid", "02000000AB01", "--duration", "3", "--interval-ms", "100");
        ushort[] registers = [];
        for (int i = 0; i < 200; i++)
        {
            registers = await ReadRegisters(station.ModbusPort, 740, 7);
            if (registers[0] == 1 && (await ReadRegisters(station.ModbusPort, 104, 1))[0] == 6)
            {
                break;
            }
            await Task.Delay(50);
        }
        Assert.Equal(1, registers[0]);   // smart vehicle detected
        Assert.Equal("02000000AB01", Encoding.ASCII.GetString([.. registers[1..].SelectMany(r => new[] { (byte)(r >> 8), (byte)r })]));
        Assert.Equal(6, (await ReadRegisters(station.ModbusPort, 104, 1))[0]);   // Charging, with no card
        await ev.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, ev.ExitCode);

        var history = await station.Http.GetFromJsonAsync<JsonElement>("/api/history");
        var session = Assert.Single(history.EnumerateArray());
        Assert.Equal("VID:02000000AB01", session.GetProperty("idTag").GetString());
        Assert.Equal("Autocharge", session.GetProperty("source").GetString());
        Assert.True(session.GetProperty("energyWh").GetDouble() > 0);
        string csv = await station.Http.GetStringAsync("/api/history/export");
        Assert.Contains(",VID:02000000AB01,1,Autocharge,", csv);
        Assert.Contains("Authorization at connector 1: VID:02000000AB01 (ISO 15118 EV) accepted: local whitelist entry 02000000AB01 (EV MAC)", station.Log);
        Assert.Equal(0, (await ReadRegisters(station.ModbusPort, 740, 1))[0]);   // gone after the session
    }

    [Fact]
    public async Task An_ISO_15118_EV_whose_MAC_is_not_whitelisted_is_told_it_is_not_authorized()
    {
        await using var station = await StationProcess.StartAsync(Database);
        await station.Http.PutAsJsonAsync("/api/settings", new { autocharge = true, vehicleConnectionTimeoutSeconds = 2 });
        var (code, output) = await station.Ev("--energy", "ac", "--evccid", "02000000AB02", "--duration", "3");
        Assert.Equal(1, code);
        Assert.Contains("the charger answered AuthorizationReq with FAILED", output);
        Assert.Empty((await station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray());
        Assert.Contains("VID:02000000AB02", station.Log);
    }

    [Fact]
    public async Task A_station_killed_mid_charge_keeps_its_whitelist_and_finished_sessions_and_closes_the_open_one()
    {
        await using (var station = await StationProcess.StartAsync(Database))
        {
            await station.Http.PutAsJsonAsync("/api/settings", new { autocharge = true });
            foreach (var id in new[] { "02:00:00:00:AB:03", "04A1B2C3", "04A1B2C3D4E5F6_1" })
            {
                Assert.Equal(System.Net.HttpStatusCode.Created, (await station.Http.PostAsJsonAsync("/api/whitelists/local", new { id })).StatusCode);
            }
            var (code, output) = await station.Ev("--energy", "ac", "--evccid", "02000000AB03", "--duration", "1");
            Assert.True(code == 0, output);
            using var ev = station.StartEv("--energy", "ac", "--evccid", "02000000AB03", "--duration", "60");
            for (int i = 0; i < 300 && (await ReadRegisters(station.ModbusPort, 104, 1))[0] != 6; i++)
            {
                await Task.Delay(50);
            }
            await Task.Delay(2500);   // some energy, and the meter reading the core writes every second
            await station.KillAsync();   // SIGKILL: no shutdown code runs
            ev.Kill();
        }
        await using var restarted = await StationProcess.StartAsync(Database);
        var whitelist = await restarted.Http.GetFromJsonAsync<JsonElement>("/api/whitelists/local");
        Assert.Equal(["02000000AB03", "04A1B2C3", "04A1B2C3D4E5F6_1"], whitelist.EnumerateArray().Select(e => e.GetProperty("id").GetString()).Order());
        var sessions = (await restarted.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray().OrderBy(s => s.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(2, sessions.Count);
        Assert.Equal("EVStopped", sessions[0].GetProperty("reason").GetString());   // the EV ended its session itself
        Assert.Equal("PowerLoss", sessions[1].GetProperty("reason").GetString());
        Assert.True(sessions[1].GetProperty("energyWh").GetDouble() > 0);
        Assert.Contains("was open when the station stopped: closed as PowerLoss", restarted.Log);
    }

    [Fact]
    public async Task An_invalid_configuration_stops_the_station_at_start_with_every_problem_named()
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Juice.Station.dll"), "--Database:Path=" + Database, "--Station:Connectors=3",
            "--Station:MaxCurrent=2", "--Secc:Address=nowhere", "--Modbus:Port=0", "--Secc:Port=15118", "--Secc:TlsPort=15119", "--Api:Urls=http://127.0.0.1:0" })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        string output = await stdout + await stderr;
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains("Station:Connectors must be 1 or 2", output);
        Assert.Contains("Station:MaxCurrent must be between 6 and 80 A", output);
        Assert.Contains("Secc:Address 'nowhere' is not an IP address", output);
        // 15118 is SDP's UDP port: the SECC's TCP server needs a dynamic port
        Assert.Contains("Secc:Port 15118 is not allowed: the SECC's TCP port is a dynamic port, 49152-65535 (ISO 15118-2:2014 §7.3 Table 15", output);
        Assert.Contains("Secc:TlsPort 15119 is not allowed", output);
    }

    [Fact]
    public void The_default_SECC_ports_are_dynamic_ports()
    {
        var o = new Juice.Station.Hlc.SeccHostOptions();
        Assert.True(Juice.Hlc.Transport.V2gPorts.IsDynamic(o.Port));
        Assert.True(Juice.Hlc.Transport.V2gPorts.IsDynamic(o.TlsPort));
        Assert.Empty(o.Validate(1));
    }

    [Theory]
    [InlineData(new[] { "--Secc:Port=61119" }, "port 61119 is set for Secc:Port and Secc:TlsPort: each listener needs its own port")]
    [InlineData(new[] { "--Modbus:Port=61118" }, "port 61118 is set for Secc:Port and Modbus:Port")]
    [InlineData(new[] { "--Station:Connectors=2", "--Modbus:Port=61117" }, "port 61118 is set for Secc:Port and Modbus:Port (+1, connector 2)")]
    [InlineData(new[] { "--Api:Urls=http://127.0.0.1:61119" }, "port 61119 is set for Secc:TlsPort and Api:Urls http://127.0.0.1:61119")]
    public void The_ports_of_the_stations_listeners_are_checked_against_each_other(string[] args, string problem)
    {
        var configuration = Microsoft.Extensions.Configuration.CommandLineConfigurationExtensions.AddCommandLine(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), args).Build();
        var (errors, _) = StationConfiguration.Check(configuration);
        Assert.Contains(errors, e => e.StartsWith(problem, StringComparison.Ordinal));
        Assert.Empty(StationConfiguration.Check(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()).Errors);   // the defaults
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_a_mistyped_key_and_a_taken_port_each_get_one_clear_line_and_no_stack_trace()
    {
        static async Task<(int Code, string Output)> Run(params string[] args)
        {
            var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Juice.Station.dll"), "--Modbus:Port=0", "--Secc:Port=0", "--Secc:TlsPort=0", "--Api:Urls=http://127.0.0.1:0" }.Concat(args))
            {
                psi.ArgumentList.Add(a);
            }
            using var p = System.Diagnostics.Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
            return (p.ExitCode, await stdout + await stderr);
        }
        var (code, output) = await Run("--Database:Path=" + Database, "--Station:MaxCurrent=abc", "--Station:EnergyTransfer=ac", "--Secc:Iso20AllowPlainTcp=maybe");
        Assert.Equal(2, code);
        Assert.Contains("error: Station:MaxCurrent = 'abc': a number (a point, not a comma, before decimals)", output);
        Assert.Contains("error: Secc:Iso20AllowPlainTcp = 'maybe': true or false", output);
        Assert.DoesNotContain("   at ", output);   // no stack trace

        // a taken port: the line names the key and the address; exit 3
        // (a dynamic port, as the SECC's must be)
        System.Net.Sockets.TcpListener? taken = null;
        int port = 50_000 + Random.Shared.Next(10_000);
        for (; taken is null; port++)
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.IPv6Loopback, port);
            try
            {
                listener.Start();
                taken = listener;
                break;
            }
            catch (System.Net.Sockets.SocketException)
            {
                listener.Dispose();
            }
        }
        using var held = taken;
        string db = Path.Combine(Path.GetDirectoryName(Database)!, "taken.db");
        (code, output) = await Run("--Database:Path=" + db, $"--Secc:Port={port}", "--Modbus:Prot=1502", "--Api:InitialPassword=abcdefgh12");
        Assert.Equal(3, code);
        Assert.Contains($"error: Secc:Port = {port}: cannot listen on [::1]:{port}:", output);
        Assert.DoesNotContain("   at ", output);
        // the mistyped key was reported with the key it was probably meant to be
        Assert.Contains("warn: unknown configuration key Modbus:Prot (ignored); did you mean Modbus:Port?", output);

        // a load-shedding input on a GPIO line that cannot be opened (no /dev/gpiochip9 here): one line, exit 2
        (code, output) = await Run("--Database:Path=" + Path.Combine(Path.GetDirectoryName(Database)!, "gpio.db"), "--ExternalInput:GpioChip=9", "--ExternalInput:GpioLine=0",
            "--Api:InitialPassword=abcdefgh12");
        Assert.Equal(2, code);
        Assert.Contains("ExternalInput:GpioChip 9 / ExternalInput:GpioLine 0: the input cannot be read", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task The_first_start_password_is_printed_to_the_console_only_and_never_in_the_log_the_operator_can_download()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Juice.Station.dll"), "--Database:Path=" + Database, "--Modbus:Port=0", "--Secc:Port=0",
            "--Secc:TlsPort=0", $"--Api:Urls=http://127.0.0.1:{port}" })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = System.Diagnostics.Process.Start(psi)!;
        try
        {
            var password = new TaskCompletionSource<string>();
            var stamped = new TaskCompletionSource<string>();
            p.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line && System.Text.RegularExpressions.Regex.Match(line, "created with password (\\S+)") is { Success: true } m)
                {
                    password.TrySetResult(m.Groups[1].Value);
                }
                if (e.Data is { } logLine && logLine.Contains("Juice station started", StringComparison.Ordinal))
                {
                    stamped.TrySetResult(logLine);
                }
            };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            string secret = await password.Task.WaitAsync(TimeSpan.FromSeconds(60));
            // console log lines carry their time, ISO 8601 in UTC
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z ", await stamped.Task.WaitAsync(TimeSpan.FromSeconds(60)));

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:" + secret)));
            string log = "";
            for (int i = 0; i < 100 && !log.Contains("First start", StringComparison.Ordinal); i++)
            {
                try
                {
                    var response = await http.GetAsync("/api/system/log");
                    log = response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : "";
                }
                catch (HttpRequestException)
                {
                    // the password is printed while the station starts, before its web server listens
                }
                await Task.Delay(100);
            }
            Assert.Contains("its password was printed to the console only", log);   // the password works, and the log says where it went
            Assert.DoesNotContain(secret, log);
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
    }
}
