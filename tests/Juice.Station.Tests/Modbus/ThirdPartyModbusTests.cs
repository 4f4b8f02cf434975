using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Juice.Station.Core;

namespace Juice.Station.Tests.Modbus;

/// <summary>
/// Real third-party Modbus masters (installed by .ci/run: Debian's mbpoll and python3-pymodbus, npm's modbus-serial)
/// against the station while an ISO 15118-2 AC EV charges at it with Autocharge: they read the live session's
/// registers and write the HEMS limit that the charging EV then follows.
/// </summary>
public sealed partial class ThirdPartyModbusTests : IAsyncLifetime
{
    private const string Mac = "0200C0FFEE01";
    private TestStation _station = null!;
    private InProcessEv _ev = null!;

    public async Task InitializeAsync()
    {
        _station = await TestStation.StartAsync();
        _station.Configure(s => s with { Autocharge = true });
        _station.Whitelist(Mac, "test EV");
        _ev = await InProcessEv.StartAsync(_station, Mac);
        await TestStation.WaitFor(() => _station.Station.Snapshot(1).Status == ConnectorStatus.Charging, "the EV to charge");
    }

    public async Task DisposeAsync()
    {
        await _ev.DisposeAsync();
        await _station.DisposeAsync();
        _station.DeleteFiles();
    }

    private static async Task<string> Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException(file + " did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        string output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}: {output}");
        return output;
    }

    private string Port => _station.ModbusEndPoint.Port.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\[(\d+)\]:\s+0x([0-9A-Fa-f]{4})")]
    private static partial Regex MbpollLine();

    [Fact]
    public async Task mbpoll_reads_the_smart_vehicle_and_its_EVCCID_and_sets_the_HEMS_limit()
    {
        string output = await Run("mbpoll", "-m", "tcp", "-a", "255", "-p", Port, "-0", "-1", "-t", "4:hex", "-r", "740", "-c", "7", "127.0.0.1");
        var registers = MbpollLine().Matches(output).ToDictionary(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m => Convert.ToUInt16(m.Groups[2].Value, 16));
        Assert.Equal(1, registers[740]);
        string evccid = Encoding.ASCII.GetString([.. Enumerable.Range(741, 6).SelectMany(r => new[] { (byte)(registers[r] >> 8), (byte)registers[r] })]);
        Assert.Equal(Mac, evccid);

        string state = await Run("mbpoll", "-m", "tcp", "-a", "255", "-p", Port, "-0", "-1", "-t", "4:hex", "-r", "122", "-c", "1", "127.0.0.1");
        Assert.Matches(@"\[122\]:\s+0x0003", state);   // C: charging

        await Run("mbpoll", "-m", "tcp", "-a", "255", "-p", Port, "-0", "-r", "1000", "127.0.0.1", "8");   // one value: FC 6
        Assert.Equal((ushort)8, _station.Station.HemsLimit);
        await WaitForEvLimit(8);
    }

    [Fact]
    public async Task pymodbus_reads_the_session_and_writes_the_HEMS_limit_that_the_EV_follows()
    {
        string script = $$"""
            from pymodbus.client import ModbusTcpClient
            c = ModbusTcpClient("127.0.0.1", port={{Port}})
            assert c.connect()
            print("state", c.read_holding_registers(122, 1, slave=255).registers[0])
            print("smart", c.read_holding_registers(740, 1, slave=255).registers[0])
            regs = c.read_holding_registers(741, 6, slave=255).registers
            print("evccid", b"".join(r.to_bytes(2, "big") for r in regs).decode("ascii"))
            print("maxev", c.read_holding_registers(715, 1, slave=255).registers[0])
            print("probe1001", c.read_holding_registers(1001, 1, slave=255).isError())
            print("write", c.write_registers(1000, [12], slave=255).isError())
            print("hems", c.read_holding_registers(1000, 1, slave=255).registers[0])
            c.close()
            """;
        string output = await Run("/usr/bin/python3", "-c", script);
        Assert.Contains("state 3", output);
        Assert.Contains("smart 1", output);
        Assert.Contains("evccid " + Mac, output);
        Assert.Contains("maxev 32", output);
        Assert.Contains("probe1001 True", output);   // an exception, as evcc's probe expects of this register set
        Assert.Contains("write False", output);
        Assert.Contains("hems 12", output);
        await WaitForEvLimit(12);
        Assert.Equal(12, (await _station.Get<System.Text.Json.JsonElement>("/api/status")).GetProperty("connectors")[0].GetProperty("signalledCurrentA").GetDouble());
    }

    [Fact]
    public async Task modbus_serial_reads_like_evcc_and_pauses_the_EV_with_a_limit_of_0()
    {
        string peers = Path.Combine(RepositoryRoot(), "tests", "peers");
        string output = await Run("node", Path.Combine(peers, "modbus-client.js"), "127.0.0.1", Port, "255",
            "read:142:10", "read:220:2", "read:222:2", "read:730:1", "read:1001:1", "read:1002:1", "read:740:1", "read:741:6", "write:1000:0", "read:104:1");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(lines[0].GetProperty("ok").GetBoolean());
        Assert.True(lines[1].GetProperty("data")[1].GetInt32() > 0 || lines[1].GetProperty("data")[0].GetInt32() > 0);   // the EV draws power
        Assert.Equal(230, lines[2].GetProperty("data")[1].GetInt32());
        Assert.Equal(0xFFFF, lines[3].GetProperty("data")[0].GetInt32());   // AC ISO 15118-2 gives no SoC
        Assert.Equal(2, lines[4].GetProperty("exception").GetInt32());
        Assert.Equal(2, lines[5].GetProperty("exception").GetInt32());
        Assert.Equal(1, lines[6].GetProperty("data")[0].GetInt32());
        var evccid = lines[7].GetProperty("data").EnumerateArray().SelectMany(r => new[] { (byte)(r.GetInt32() >> 8), (byte)r.GetInt32() }).ToArray();
        Assert.Equal(Mac, Encoding.ASCII.GetString(evccid));
        Assert.True(lines[8].GetProperty("ok").GetBoolean());
        Assert.Equal(7, lines[9].GetProperty("data")[0].GetInt32());   // SuspendedEVSE
        await WaitForEvLimit(0);
    }

    private Task WaitForEvLimit(double amps) => _ev.WaitForLimit(amps);

    /// <summary>The repository's root (tests/Juice.Station.Tests/bin/Release/net10.0 is four levels below the tests folder).</summary>
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Juice.Hlc.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("the repository root was not found above " + AppContext.BaseDirectory);
    }
}
