using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Juice.Hlc.Tests.Cli;

/// <summary>
/// <c>juice secc</c> and <c>juice ev</c> as separate processes on loopback: whole sessions, the pcap capture opened
/// by tshark (Wireshark's reader, installed by .ci/run), and the load mode.
/// </summary>
public sealed partial class SimulatorProcessTests : IDisposable
{
    private static readonly string Juice = Path.Combine(AppContext.BaseDirectory, "juice.dll");
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("juice-sim-");
    private readonly Background _background = new();

    public void Dispose()
    {
        _background.Dispose();
        _dir.Delete(recursive: true);
    }

    [GeneratedRegex(@"SECC listening on \[::1\]:(\d+).* \(pid (\d+)\)")]
    private static partial Regex Listening();

    private async Task<(int Port, int Pid)> StartSecc(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Juice, "secc", "--address", "::1", "--port", "0" }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        var process = _background.Start(psi);
        var listening = new TaskCompletionSource<(int, int)>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && Listening().Match(line) is { Success: true } m)
            {
                listening.TrySetResult((int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private static Task<(int Code, string Output)> Run(string file, params string[] args) => ChildProcess.RunAsync(file, args);

    private static Task<(int Code, string Output)> Ev(int port, params string[] args) =>
        Run("dotnet", [Juice, "ev", "--host", "::1", "--port", port.ToString(CultureInfo.InvariantCulture), "--message-timeout", "15", .. args]);

    [Fact]
    public async Task Exi_decode_of_a_stream_with_control_characters_writes_XML_that_encodes_back_and_a_bad_file_gets_one_line()
    {
        const string hex = "800113ab9371d29b71cb5263b24b99ab124283134d8309b243c18a22220b8352188a88d8ddd4011841c02c1040";
        string exi = Path.Combine(_dir.FullName, "control.exi");
        File.WriteAllText(exi, hex);
        var (code, xml) = await Run("dotnet", Juice, "exi", "decode", "--schema", "appHandshake", exi);
        Assert.True(code == 0, xml);
        string xmlFile = Path.Combine(_dir.FullName, "control.xml");
        File.WriteAllText(xmlFile, xml);
        var (code2, back) = await Run("dotnet", Juice, "exi", "encode", "--schema", "appHandshake", xmlFile);
        Assert.Equal(0, code2);
        Assert.Equal(hex, back.Trim());

        string bad = Path.Combine(_dir.FullName, "bad.exi");
        File.WriteAllText(bad, "80ff");
        var (code3, output) = await Run("dotnet", Juice, "exi", "decode", "--schema", "iso2", bad);
        Assert.Equal(1, code3);
        Assert.StartsWith(bad + ": bit ", output.Trim());
        Assert.DoesNotContain("   at ", output);   // no stack trace
    }

    [Fact]
    public async Task The_SECC_simulator_refuses_a_port_outside_the_dynamic_range_and_picks_one_inside_for_0()
    {
        var (code, output) = await Run("dotnet", Juice, "secc", "--port", "15118");
        Assert.Equal(2, code);
        Assert.Contains("--port 15118 is not allowed: the SECC's TCP port is a dynamic port, 49152-65535", output);
        var (port, _) = await StartSecc();
        Assert.InRange(port, 49152, 65535);
    }

    [Fact]
    public async Task With_TLS_the_SECC_simulator_serves_ISO_15118_20_Plug_and_Charge_over_TLS_1_3_and_ISO_15118_2_over_TLS_1_2()
    {
        string pki = Path.Combine(_dir.FullName, "pki");
        Assert.Equal(0, (await Run("dotnet", Juice, "certs", "generate", "--out", pki, "--seed", "sim-tls")).Code);
        var (port, _) = await StartSecc("--tls", "--pki", pki, "--protocol", "iso20,iso2");
        foreach (var algorithm in new[] { "secp521r1", "ed448" })
        {
            var (code, output) = await Ev(port, "--protocol", "iso20", "--energy", "dc", "--pnc", "--pki", pki, "--tls-algorithm", algorithm, "--duration", "0.5", "--interval-ms", "50");
            Assert.True(code == 0, output);
            Assert.Contains("TLS: Aes256GcmSha384 (TLS 1.3)", output);
            Assert.Contains($"key {algorithm}", output);
            Assert.Contains("Plug & Charge: contract DEJUIC000000001", output);
            Assert.Contains("(Iso15118_20Dc)", output);
        }
        var (code2, output2) = await Ev(port, "--protocol", "iso2", "--energy", "ac", "--tls", "--pki", pki, "--duration", "0.5", "--interval-ms", "50");
        Assert.True(code2 == 0, output2);
        Assert.Contains("(TLS 1.2)", output2);
        // a car with only its OEM provisioning certificate: the simulator installs its contract from the PKI's provisioning services
        foreach (var protocol in new[] { "iso20", "iso2" })
        {
            var (installCode, installOutput) = await Ev(port, "--protocol", protocol, "--energy", "dc", "--pnc", "--pki", pki, "--oem-only", "--duration", "0.3", "--interval-ms", "50");
            Assert.True(installCode == 0, installOutput);
            Assert.Contains("Plug & Charge: contract DEJUIC000000001 (installed in this session)", installOutput);
        }
        // a plain TCP client is not served: the port speaks TLS
        var (code3, output3) = await Ev(port, "--protocol", "iso2", "--energy", "ac", "--duration", "0.5", "--message-timeout", "3");
        Assert.NotEqual(0, code3);
        _ = output3;
        // a TLS 1.3 capture: not decodable without the key log, decoded with the handshake and traffic secrets juice ev writes
        string pcap = Path.Combine(_dir.FullName, "tls13.pcap"), keys = Path.Combine(_dir.FullName, "keys13.log");
        var (code4, output4) = await Ev(port, "--protocol", "iso20", "--energy", "dc", "--tls", "--pki", pki, "--duration", "0.3", "--interval-ms", "50", "--pcap", pcap, "--keylog", keys);
        Assert.True(code4 == 0, output4);
        string[] lines = File.ReadAllLines(keys);
        Assert.Equal(["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"], lines.Select(l => l.Split(' ')[0]));
        var (plain, plainOutput) = await Run("dotnet", Juice, "pcap", "decode", pcap);
        Assert.Equal(1, plain);
        Assert.Contains("is TLS and could not be decrypted", plainOutput);
        var (decoded, decodedOutput) = await Run("dotnet", Juice, "pcap", "decode", pcap, "--keylog", keys);
        Assert.True(decoded == 0, decodedOutput);
        Assert.Contains("V2GTP 0x8002 SessionSetupReq [iso20-common]", decodedOutput);
        Assert.Contains("V2GTP 0x8002 SessionStopRes [iso20-common]", decodedOutput);
        // the load mode does every EV's handshake too (it used to connect without TLS)
        var (load, loadOutput) = await Ev(port, "--protocol", "iso20", "--energy", "dc", "--tls", "--pki", pki, "--sessions", "4", "--concurrency", "4", "--ramp-up", "0.5",
            "--duration", "0.3", "--interval-ms", "50");
        Assert.True(load == 0, loadOutput);
        Assert.Contains("4 completed, 0 failed", loadOutput);
        // --tls without a PKI: one line, exit 2
        var (bad, badOutput) = await Run("dotnet", Juice, "secc", "--tls", "--port", "0");
        Assert.Equal(2, bad);
        Assert.Contains("--tls needs --pki DIR", badOutput);
    }

    [Theory]
    [InlineData("iso2", "ac")]
    [InlineData("iso2", "dc")]
    [InlineData("din", "dc")]
    public async Task The_EV_process_charges_at_the_SECC_process(string protocol, string energy)
    {
        var (port, _) = await StartSecc();
        var (code, output) = await Ev(port, "--protocol", protocol, "--energy", energy, "--duration", "0.5", "--interval-ms", "50");
        Assert.True(code == 0, output);
        Assert.Contains("session ended normally: duration", output);
        // redirected output (a file, a pipe, a CI log): plain lines, no carriage returns of a live terminal line
        Assert.DoesNotContain('\r', output);
        var status = output.Split('\n').Where(l => l.Contains("SoC", StringComparison.Ordinal) && l.Contains(" kWh ", StringComparison.Ordinal)).ToList();
        Assert.InRange(status.Count, 1, 3);   // the first one; then only on a change of step or limit, or every 5 s
    }

    [Fact]
    public async Task The_pcap_of_a_session_opens_in_tshark_with_valid_checksums_and_the_V2GTP_stream()
    {
        var (port, _) = await StartSecc();
        string pcap = Path.Combine(_dir.FullName, "ev.pcap");
        string log = Path.Combine(_dir.FullName, "ev.xml");
        var (code, output) = await Ev(port, "--energy", "dc", "--duration", "0.3", "--interval-ms", "50", "--pcap", pcap, "--log", log);
        Assert.True(code == 0, output);

        var (rc, fields) = await Run("tshark", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-T", "fields", "-e", "tcp.checksum.status", "-e", "tcp.flags.str");
        Assert.True(rc == 0, fields);
        var lines = fields.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("Running as", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count > 10, fields);
        Assert.All(lines, l => Assert.StartsWith("1\t", l));   // checksum status 1 = good
        Assert.Contains(lines, l => l.Contains('S'));           // the handshake
        Assert.Contains(lines, l => l.Contains('F'));           // and the close

        // the reassembled client stream is exactly the V2GTP frames the EV logged
        var (_, follow) = await Run("tshark", "-r", pcap, "-q", "-z", "follow,tcp,raw,0");
        // client lines start at the margin, server lines with a tab
        string sent = string.Concat(follow.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => Regex.IsMatch(l, "^[0-9a-f]+$")));
        var logged = Regex.Matches(await File.ReadAllTextAsync(log), "<!-- ev->se ([0-9a-f]+) -->").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(logged);
        string expected = string.Concat(logged.Select(hex => "01fe8001" + (hex.Length / 2).ToString("x8", CultureInfo.InvariantCulture) + hex));
        Assert.Equal(expected, sent);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_load_mode_runs_many_EVs_at_once_and_reports_round_trips_and_memory(bool threads)
    {
        var (port, pid) = await StartSecc(threads ? ["--thread-per-connection"] : []);
        var (code, output) = await Ev(port, ["--energy", "dc", "--sessions", "24", "--concurrency", "12", "--duration", "0.5", "--interval-ms", "100",
            "--seed", "3", "--secc-pid", pid.ToString(CultureInfo.InvariantCulture), .. (threads ? new[] { "--thread-per-ev" } : [])]);
        Assert.True(code == 0, output);
        Assert.Contains("24 completed, 0 failed", output);
        Assert.Matches(@"CurrentDemand\s+\d+\s+[\d.]+\s+[\d.]+", output);
        Assert.Matches(@"SECC \(pid \d+\) -?[\d.]+ KB per session", output);
    }
}
