using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Juice.Hlc.Tests.Cli;

/// <summary>
/// <c>juice replay</c> and <c>juice pcap decode</c> as processes: the captured charger serving <c>juice ev</c>, the
/// captured car against <c>juice secc</c>, and captures (plain and TLS with a key log) decoded through tshark.
/// </summary>
public sealed partial class ReplayProcessTests : IDisposable
{
    private static readonly string Juice = ChildProcess.Juice;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("juice-replay-");
    private readonly Background _background = new();

    public void Dispose()
    {
        _background.Dispose();
        _dir.Delete(recursive: true);
    }

    private static string Capture(string session, string file = "exi.txt") => Path.Combine(Vectors.Shared, "vectors", "sessions", session, file);

    private static Task<(int Code, string Output)> Run(params string[] args) => ChildProcess.JuiceAsync(args);

    [GeneratedRegex(@"listening on \[::1\]:(\d+)")]
    private static partial Regex Listening();

    /// <summary>Starts a process that prints "listening on [::1]:PORT"; its port, and its whole output once it has ended.</summary>
    private async Task<(int Port, Func<Task<(int Code, string Output)>> Ended)> Listen(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Juice }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        var process = _background.Start(psi);
        var output = new System.Text.StringBuilder();
        var listening = new TaskCompletionSource<int>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }
            lock (output)
            {
                output.AppendLine(line);
            }
            if (Listening().Match(line) is { Success: true } m)
            {
                listening.TrySetResult(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        int port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return (port, async () =>
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            lock (output)
            {
                return (process.ExitCode, output.ToString());
            }
        });
    }

    private static string[] Ev(int port, params string[] args) => ["ev", "--host", "::1", "--port", port.ToString(CultureInfo.InvariantCulture), "--message-timeout", "15", .. args];

    [Theory]
    [InlineData("din70121_dc_eim_josev", "session.pcap", "din", "dc")]
    [InlineData("iso15118-2_ac_eim_josev", "exi.txt", "iso2", "ac")]
    public async Task The_captured_charger_serves_juice_ev_to_SessionStop(string session, string file, string protocol, string energy)
    {
        var (port, ended) = await Listen("replay", "--role", "secc", "--capture", Capture(session, file), "--port", "0");
        var (evCode, evOutput) = await Run(Ev(port, "--protocol", protocol, "--energy", energy, "--duration", "1", "--interval-ms", "50"));
        Assert.True(evCode == 0, evOutput);
        var (code, output) = await ended();
        Assert.True(code == 0, output);
        Assert.Contains("SessionStopReq -> SessionStopRes OK", output);
        Assert.Contains("the request differs from captured message 3:", output);   // our EV's EVCCID is not the captured car's
        Assert.Contains("session stopped: OK", output);
    }

    [Theory]
    [InlineData("iso15118-20_ac_eim_josev", "ac")]
    [InlineData("iso15118-20_dc_eim_josev", "dc")]
    public async Task The_captured_ISO_15118_20_charger_serves_our_20_EV_which_sends_the_captured_requests(string session, string energy)
    {
        var (port, ended) = await Listen("replay", "--role", "secc", "--capture", Capture(session), "--port", "0");
        var (evCode, evOutput) = await Run(Ev(port, "--protocol", "iso20", "--energy", energy, "--duration", "0.5", "--interval-ms", "50"));
        Assert.True(evCode == 0, evOutput);
        var (code, output) = await ended();
        Assert.True(code == 0, output);
        Assert.Contains("SessionStopReq -> SessionStopRes OK", output);
        // the same message types as the captured car, in the captured order (no "does not have" for any request)
        Assert.DoesNotContain("which the capture does not have", output);
        Assert.Contains("the request differs from captured message 3:", output);   // our EVCCID is not the captured car's
    }

    [Fact]
    public async Task A_captured_ISO_15118_20_charger_refuses_an_EV_that_offers_only_DIN_and_ISO_2_and_says_why()
    {
        var (port, ended) = await Listen("replay", "--role", "secc", "--capture", Capture("iso15118-20_dc_eim_josev"), "--port", "0");
        var (evCode, evOutput) = await Run(Ev(port, "--energy", "dc"));
        Assert.Equal(1, evCode);
        Assert.Contains("Failed_NoNegotiation", evOutput);
        var (code, output) = await ended();
        Assert.Equal(1, code);
        Assert.Contains("AppProtocol/ProtocolNamespace = urn:iso:15118:2:2013:MsgDef (captured urn:iso:std:iso:15118:-20:DC)", output);
        Assert.Contains("replay failed: the EV does not offer urn:iso:std:iso:15118:-20:DC", output);
    }

    [Fact]
    public async Task The_captured_car_charges_at_juice_secc_from_a_pcap_and_a_bad_capture_gets_one_line()
    {
        var (port, _) = await Listen("secc", "--address", "::1", "--port", "0");
        var (code, output) = await Run("replay", "--role", "ev", "--capture", Capture("din70121_dc_eim_josev", "session.pcap"), "--host", "::1", "--port",
            port.ToString(CultureInfo.InvariantCulture), "--repeat-interval-ms", "20");
        Assert.True(code == 0, output);
        Assert.Contains("capture session.pcap: urn:din:70121:2012:MsgDef, 28 exchanges", output);
        Assert.Contains("SessionStopReq -> SessionStopRes OK", output);

        string bad = Path.Combine(_dir.FullName, "bad.txt");
        File.WriteAllText(bad, "ev->se 80\nhello\n");
        (code, output) = await Run("replay", "--role", "ev", "--capture", bad, "--host", "::1", "--port", "1");
        Assert.Equal(2, code);
        Assert.Equal("capture: line 2: neither 'ev->se HEX' / 'se->ev HEX' nor a juice log comment", output.Trim());
    }

    [Fact]
    public async Task A_shared_capture_decodes_in_the_order_and_with_the_messages_the_reference_decoding_names()
    {
        string session = "iso15118-20_dc_eim_josev";
        var (code, output) = await Run("pcap", "decode", "--json", Capture(session, "session.pcap"));
        Assert.True(code == 0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var expected = File.ReadAllLines(Capture(session, "decoded.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var v2g = lines.Where(l => l.GetProperty("kind").GetString() == "V2GTP").ToList();
        Assert.Equal(expected.Select(e => e.GetProperty("message").GetString()), v2g.Select(l => l.GetProperty("message").GetString()));
        Assert.Equal(expected.Select(e => e.GetProperty("dir").GetString()), v2g.Select(l => l.GetProperty("dir").GetString()));
        Assert.Equal(expected.Select(e => "0x" + e.GetProperty("payload_type").GetString()), v2g.Select(l => l.GetProperty("payloadType").GetString()));
        Assert.Equal(["SdpRequest", "SdpResponse"], lines.Where(l => l.GetProperty("kind").GetString() == "SDP").Select(l => l.GetProperty("message").GetString()));
        Assert.All(v2g, l => Assert.StartsWith("<", l.GetProperty("xml").GetString()));

        (code, output) = await Run("pcap", "decode", Path.Combine(Vectors.Shared, "vectors", "slac", "01-qca-evse_vs_qca-pev", "evse-side.pcap"));
        Assert.True(code == 0, output);
        Assert.Matches(@"ev->se 02:00:00:00:ee:01 -> ff:ff:ff:ff:ff:ff SLAC CM_SLAC_PARM\.REQ", output);
        Assert.Contains("SLAC CM_SLAC_MATCH.CNF", output);
        Assert.Contains("\"Nmk\":", output);
    }

    [Fact]
    public async Task A_TLS_session_captured_by_juice_ev_decodes_with_its_key_log_and_replays_from_the_pcap()
    {
        string pki = Path.Combine(_dir.FullName, "pki");
        Assert.Equal(0, (await Run("certs", "generate", "--out", pki, "--seed", "7")).Code);
        string pcap = Path.Combine(_dir.FullName, "tls.pcap");
        string keys = Path.Combine(_dir.FullName, "keys.log");
        var (port, ended) = await Listen("replay", "--role", "secc", "--capture", Capture("iso15118-2_ac_eim_josev"), "--port", "0", "--tls", "--pki", pki);
        var (evCode, evOutput) = await Run(Ev(port, "--energy", "ac", "--duration", "0.5", "--tls", "--pki", pki, "--keylog", keys, "--pcap", pcap));
        Assert.True(evCode == 0, evOutput);
        Assert.Equal(0, (await ended()).Code);
        Assert.Matches("^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$", File.ReadAllText(keys).Trim());

        var (code, output) = await Run("pcap", "decode", pcap);
        Assert.Equal(1, code);
        Assert.Contains("is TLS and could not be decrypted: give the session's key log", output);

        (code, output) = await Run("pcap", "decode", pcap, "--keylog", keys);
        Assert.True(code == 0, output);
        Assert.Contains("V2GTP 0x8001 SessionSetupReq [iso2]", output);
        Assert.Contains("V2GTP 0x8001 SessionStopRes [iso2]", output);

        // the decrypted capture is a replay script: the car of that TLS session at a plain juice secc
        var (seccPort, _) = await Listen("secc", "--address", "::1", "--port", "0");
        (code, output) = await Run("replay", "--role", "ev", "--capture", pcap, "--capture-keylog", keys, "--host", "::1", "--port", seccPort.ToString(CultureInfo.InvariantCulture));
        Assert.True(code == 0, output);
        Assert.Contains("SessionStopReq -> SessionStopRes OK", output);
    }
}
