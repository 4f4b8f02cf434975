using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Juice.Tests;

namespace Juice.Station.Tests;

/// <summary>
/// Live interoperability with Josev (SwitchEV/iso15118 0.28.3, ../shared/peers/josev), an independent ISO 15118
/// stack, in network namespaces the test creates (Josev needs a link-local address on a real interface): Josev's EV
/// against the station (a process, SECC with SDP on the veth end), and our EV (<c>juice ev</c>, SDP) against Josev's
/// SECC. .ci/run installs the peer (its install.sh: Debian packages only). Each test asserts SessionStop reached,
/// no FAILED response code and, at the station, the history row.
/// </summary>
/// <remarks>
/// Where Josev deviates, our side stays right and the deviation is named next to the test: its simulated charger
/// presents 1 V in PreChargeRes whatever the target, so our DC EV needs --skip-precharge-check there.
/// </remarks>
public sealed class JosevInteropTests : IDisposable, IClassFixture<JosevPki>
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
    private static readonly string Peer = Path.Combine(Juice.Hlc.Tests.Vectors.Shared, "peers", "josev");
    private static int _links;
    private readonly NetworkLab _lab = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-josev-").FullName;
    private readonly string _seccNs;
    private readonly string _evNs;
    private readonly JosevPki _pki;

    // the interfaces have these names inside their namespaces; the MACs are those of the captured Josev sessions
    private const string SeccIf = "tsecc";
    private const string EvIf = "tevcc";

    public JosevInteropTests(JosevPki pki)
    {
        _pki = pki;
        _seccNs = _lab.Namespace("secc");
        _evNs = _lab.Namespace("evcc");
        // created in the root namespace under unique names, moved, renamed, then up (the order Josev's README gives)
        string id = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId % 10000}{Interlocked.Increment(ref _links) % 100}");
        string a = "jxa" + id, b = "jxb" + id;
        NetworkLab.Ip("link", "add", a, "type", "veth", "peer", "name", b);
        NetworkLab.Ip("link", "set", a, "netns", _seccNs);
        NetworkLab.Ip("link", "set", b, "netns", _evNs);
        NetworkLab.Ip("-n", _seccNs, "link", "set", a, "name", SeccIf);
        NetworkLab.Ip("-n", _evNs, "link", "set", b, "name", EvIf);
        foreach (var (ns, iface, mac) in new[] { (_seccNs, SeccIf, "02:00:00:00:5e:cc"), (_evNs, EvIf, "02:00:00:00:e7:cc") })
        {
            NetworkLab.Run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0", $"net.ipv6.conf.{iface}.accept_dad=0");
            NetworkLab.Ip("-n", ns, "link", "set", iface, "address", mac);
            NetworkLab.Ip("-n", ns, "link", "set", iface, "up");
        }
        NetworkLab.WaitForCarrier(_seccNs, SeccIf);
        NetworkLab.WaitForCarrier(_evNs, EvIf);
    }

    public void Dispose()
    {
        _lab.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A command line that runs Josev's module with its environment (env.sh) in a working directory of its own.</summary>
    private string Josev(string workDir, string module, string args, params (string Name, string Value)[] env)
    {
        Directory.CreateDirectory(workDir);
        string vars = string.Join(' ', env.Select(e => $"{e.Name}={e.Value}"));
        return $"source '{Peer}/env.sh' && cd '{workDir}' && exec env {vars} /usr/bin/python3 -m {module} {args}";
    }

    /// <summary>Josev's EV with one of its example configurations (<paramref name="useTls"/>: set its useTls), PKI_PATH its test PKI.</summary>
    private async Task<(int Code, string Output)> JosevEvAsync(string exampleConfig, bool? useTls = null)
    {
        string work = Path.Combine(_dir, "josev-ev");
        Directory.CreateDirectory(work);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Peer, "josev", "iso15118", "shared", "examples", "evcc", exampleConfig)))!;
        if (useTls is { } tls)
        {
            config["useTls"] = tls;
        }
        File.WriteAllText(Path.Combine(work, "ev.json"), config.ToJsonString());
        return await _lab.RunAsync(_evNs, Patience, "bash", "-c", Josev(work, "iso15118.evcc.main", "ev.json", ("NETWORK_INTERFACE", EvIf), ("PKI_PATH", _pki.Directory + "/")));
    }

    private Task<StationProcess> StartStationAsync(params string[] args) =>
        StationProcess.StartInNamespaceAsync(_seccNs, Path.Combine(_dir, "juice.db"), Path.Combine(_dir, "api.sock"),
            ["--Secc:Address=::", "--Secc:Interface=" + SeccIf, .. args]);

    private LabProcess StartJosevSecc(string authModes, string protocols = "ISO_15118_2,DIN_SPEC_70121") =>
        _lab.Start(_seccNs, "bash", "-c", Josev(Path.Combine(_dir, "josev-secc"), "iso15118.secc.main", "",
            ("NETWORK_INTERFACE", SeccIf), ("PROTOCOLS", protocols), ("AUTH_MODES", authModes), ("PKI_PATH", _pki.Directory + "/")));

    private static void AssertCompleted(int code, string output, string who)
    {
        Assert.True(code == 0, $"{who} exited with {code}:\n{Tail(output)}");
        Assert.DoesNotContain("\"ResponseCode\": \"FAILED", output);
        Assert.DoesNotContain("\"ResponseCode\":\"FAILED", output);
    }

    private static string Tail(string output) => output.Length > 6000 ? output[^6000..] : output;

    [Theory]
    [InlineData("DIN/evcc_config.json", "DIN SPEC 70121 DC")]
    [InlineData("iso15118_2/evcc_config_eim_ac.json", "ISO 15118-2 AC")]
    [InlineData("iso15118_2/evcc_config_eim_dc.json", "ISO 15118-2 DC")]
    public async Task Josevs_EV_charges_at_the_station_with_external_identification(string config, string what)
    {
        await using var station = await StartStationAsync();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { freeCharging = true })).StatusCode);

        var (code, output) = await JosevEvAsync(config);

        AssertCompleted(code, output, "Josev's EV (" + what + ")");
        Assert.Contains("SessionStopRes received", output);
        // Josev announces the SECC it found: our SDP answer names a dynamic port, which Josev requires
        var history = await station.Http.GetFromJsonAsync<JsonElement>("/api/history");
        var session = Assert.Single(history.EnumerateArray());
        Assert.Equal("FREECHARGING", session.GetProperty("idTag").GetString());
        Assert.Equal("EVStopped", session.GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("iso15118_20/evcc_config_ac.json", "ISO 15118-20 AC")]
    [InlineData("iso15118_20/evcc_config_dc.json", "ISO 15118-20 DC")]
    [InlineData("iso15118_20/evcc_config_ac_bpt.json", "ISO 15118-20 AC_BPT")]
    [InlineData("iso15118_20/evcc_config_dc_bpt.json", "ISO 15118-20 DC_BPT")]
    public async Task Josevs_ISO_15118_20_EV_charges_at_the_station_over_plain_TCP_in_the_test_mode(string config, string what)
    {
        await using var station = await StartStationAsync("--Secc:Iso20AllowPlainTcp=true");
        bool bpt = what.EndsWith("_BPT", StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { freeCharging = true, bidirectional = bpt })).StatusCode);

        var (code, output) = await JosevEvAsync(config);

        AssertCompleted(code, output, "Josev's EV (" + what + ")");
        Assert.Contains("SessionStopRes received", output);
        if (bpt)
        {
            Assert.Contains("BPT_", output);   // the bidirectional forms of the charge parameters and loop went both ways
        }
        var history = await station.Http.GetFromJsonAsync<JsonElement>("/api/history");
        var session = Assert.Single(history.EnumerateArray());
        Assert.Equal("FREECHARGING", session.GetProperty("idTag").GetString());
        Assert.Equal("EVStopped", session.GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("ac")]
    [InlineData("dc")]
    public async Task Our_EV_charges_at_Josevs_charger_with_external_identification(string energy)
    {
        var secc = StartJosevSecc("EIM");
        await secc.WaitForLineAsync("UDP server started", Patience);

        // Josev's simulated charger presents 1 V in PreChargeRes whatever the EV asks: DC needs --skip-precharge-check
        string[] dc = energy == "dc" ? ["--skip-precharge-check"] : [];
        var (code, output) = await _lab.RunJuiceAsync(_evNs, Patience, ["ev", "--interface", EvIf, "--protocol", "iso2", "--energy", energy,
            "--duration", "2", "--interval-ms", "100", "--message-timeout", "15", .. dc]);

        Assert.True(code == 0, $"juice ev exited with {code}:\n{output}\nJosev:\n{Tail(secc.Output)}");
        Assert.Contains("session ended normally", output);
        Assert.Contains("SessionStopReq received", secc.Output);
        Assert.DoesNotContain("FAILED", secc.Output);
    }

    [Theory]
    [InlineData("ac", "ISO_15118_20_AC")]
    [InlineData("dc", "ISO_15118_20_DC")]
    public async Task Our_ISO_15118_20_EV_charges_at_Josevs_charger_over_plain_TCP(string energy, string protocol)
    {
        var secc = StartJosevSecc("EIM", protocol);
        await secc.WaitForLineAsync("UDP server started", Patience);

        // Josev's simulated charger presents 1 V in DC_PreChargeRes whatever the EV asks: DC needs --skip-precharge-check
        string[] dc = energy == "dc" ? ["--skip-precharge-check"] : [];
        var (code, output) = await _lab.RunJuiceAsync(_evNs, Patience, ["ev", "--interface", EvIf, "--protocol", "iso20", "--energy", energy,
            "--duration", "2", "--interval-ms", "100", "--message-timeout", "15", .. dc]);

        Assert.True(code == 0, $"juice ev exited with {code}:\n{output}\nJosev:\n{Tail(secc.Output)}");
        Assert.Contains("session ended normally", output);
        Assert.Contains("(Iso15118_20" + (energy == "ac" ? "Ac" : "Dc") + ")", output);
        Assert.Contains("SessionStopReq received", secc.Output);
        Assert.DoesNotContain("FAILED", secc.Output);
    }

    [Theory]
    [InlineData("iso15118_2/evcc_config_pnc_ac.json")]
    [InlineData("iso15118_2/evcc_config_pnc_dc.json")]
    public async Task Josevs_EV_charges_at_the_station_with_its_contract_over_TLS(string config)
    {
        // the station holds Josev's SECC chain and roots; Plug & Charge is switched on while it runs
        string plain = Path.Combine(_pki.Directory, "plain");
        await using var station = await StartStationAsync("--Secc:TlsPort=0",
            "--Pnc:SeccCertificateChain=" + Path.Combine(plain, "cpoCertChain.pem"), "--Pnc:SeccPrivateKey=" + Path.Combine(plain, "seccLeaf.key"),
            "--Pnc:V2gRoots=" + Path.Combine(plain, "v2gRootCACert.pem"), "--Pnc:MoRoots=" + Path.Combine(plain, "moRootCACert.pem"),
            "--Pnc:OemRoots=" + Path.Combine(plain, "oemRootCACert.pem"));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await station.Http.PutAsJsonAsync("/api/settings", new { iso15118 = "OnWithPlugAndCharge" })).StatusCode);
        for (int i = 0; i < 200 && !station.Log.Contains("TLS server (Plug & Charge) listening", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        // Josev's DC example has useTls false (it would ask SDP for plain TCP and get external identification only)
        var (code, output) = await JosevEvAsync(config, useTls: true);

        AssertCompleted(code, output, "Josev's EV (Plug & Charge)");
        Assert.Contains("SessionStopRes received", output);
        var session = Assert.Single((await station.Http.GetFromJsonAsync<JsonElement>("/api/history")).EnumerateArray());
        Assert.Equal("Contract", session.GetProperty("source").GetString());
        Assert.Equal(_pki.Emaid, session.GetProperty("idTag").GetString());
        Assert.Equal(_pki.Emaid, session.GetProperty("contract").GetString());
        Assert.Equal("EVStopped", session.GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("ac", false)]
    [InlineData("dc", false)]
    [InlineData("ac", true)]
    public async Task Our_EV_charges_at_Josevs_charger_with_a_contract_over_TLS_or_has_one_installed_first(string energy, bool install)
    {
        var secc = StartJosevSecc("EIM,PNC");
        await secc.WaitForLineAsync("UDP server started", Patience);
        string plain = Path.Combine(_pki.Directory, "plain");
        string[] credentials = install
            ? ["--oem-chain", Path.Combine(plain, "oemCertChain.pem"), "--oem-key", Path.Combine(plain, "oemLeaf.key"), "--contract-store", Path.Combine(_dir, "contract")]
            : ["--contract-chain", Path.Combine(plain, "contractChain.pem"), "--contract-key", Path.Combine(plain, "contractLeaf.key")];
        string[] dc = energy == "dc" ? ["--skip-precharge-check"] : [];

        var (code, output) = await _lab.RunJuiceAsync(_evNs, Patience, ["ev", "--interface", EvIf, "--protocol", "iso2", "--energy", energy,
            "--duration", "2", "--interval-ms", "100", "--message-timeout", "15", "--pnc", .. credentials,
            "--v2g-root", Path.Combine(plain, "v2gRootCACert.pem"), "--mo-root", Path.Combine(plain, "moRootCACert.pem"), .. dc]);

        Assert.True(code == 0, $"juice ev exited with {code}:\n{output}\nJosev:\n{Tail(secc.Output)}");
        Assert.Contains($"Plug & Charge: contract {_pki.Emaid}{(install ? " (installed in this session)" : "")}", output);
        Assert.Contains("SessionStopReq received", secc.Output);
        Assert.DoesNotContain("FAILED", secc.Output);
        if (install)
        {
            Assert.Contains("CertificateInstallationReq received", secc.Output);
            Assert.True(File.Exists(Path.Combine(_dir, "contract", "contract-chain.pem")));
        }
    }
}

/// <summary>Josev's own test PKI (its pki.sh: ISO 15118-2 and -20, plain/ with PEM files for our side), made once for the interop tests.</summary>
public sealed class JosevPki : IDisposable
{
    public JosevPki()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("juice-josev-pki-").FullName;
        var (code, output) = NetworkLab.Run("bash", Path.Combine(Juice.Hlc.Tests.Vectors.Shared, "peers", "josev", "pki.sh"), Directory);
        if (code != 0 || !File.Exists(Path.Combine(Directory, "plain", "contractChain.pem")))
        {
            throw new InvalidOperationException("Josev's pki.sh failed: " + output);
        }
        var contract = Juice.Hlc.Security.V2gCertificates.ParsePem(File.ReadAllText(Path.Combine(Directory, "plain", "contractChain.pem")))[0];
        Emaid = Juice.Hlc.Security.Emaid.Normalize(Juice.Hlc.Security.V2gCertificates.CommonName(contract)!);
    }

    public string Directory { get; }

    /// <summary>The eMAID of Josev's test contract (its certificate's common name).</summary>
    public string Emaid { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
