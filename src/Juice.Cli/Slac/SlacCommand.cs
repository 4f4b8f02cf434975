using System.CommandLine;
using System.Globalization;
using Juice.Hlc.Session;
using Juice.Hlc.Slac;
using Microsoft.Extensions.Logging;

namespace Juice.Cli.Slac;

/// <summary>
/// <c>juice slac evse|ev</c>: SLAC alone on a raw Ethernet interface, for testing a charger's or a car's matching;
/// <c>juice plc-sim</c>: the two PLC modems and the line between two interfaces (<see cref="PlcEmulator"/>).
/// </summary>
internal static class SlacCommand
{
    private static ILoggerFactory Loggers(bool quiet) =>
        LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(quiet ? LogLevel.Warning : LogLevel.Information));

    public static Command Create()
    {
        var iface = new Option<string>("--interface") { Description = "the Ethernet interface of the PLC modem", Required = true };
        var runs = new Option<int>("--runs") { Description = "EVSE: match this many EVs one after the other (a new NMK after each)", DefaultValueFactory = _ => 1 };
        var init = new Option<double>("--init-timeout") { Description = "EVSE: seconds to wait for an EV to start (TT_EVSE_SLAC_init)", DefaultValueFactory = _ => 50 };
        var threshold = new Option<double>("--attenuation-threshold") { Description = "EV: highest average attenuation of an EVSE to match, dB", DefaultValueFactory = _ => 40 };
        var quiet = new Option<bool>("--quiet") { Description = "only warnings and the result" };

        var evse = new Command("evse", "EVSE side: set a new NMK in the modem, answer an EV's matching, print its MAC") { iface, runs, init, quiet };
        evse.SetAction(async (result, ct) =>
        {
            using var loggers = Loggers(result.GetValue(quiet));
            try
            {
                await using var channel = RawEthernetChannel.Open(result.GetValue(iface)!);
                var slac = new SlacEvse(channel, SlacTimers.Iso15118_3 with { EvseSlacInit = TimeSpan.FromSeconds(result.GetValue(init)) }, logger: loggers.CreateLogger("slac"));
                await slac.SetKeyAsync(ct);
                for (int i = 0; i < result.GetValue(runs); i++)
                {
                    var match = await slac.MatchAsync(ct);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"matched EV {Mac(match.EvMac)} ({match.AverageAttenuation:0.0} dB over {match.Sounds} sounds), network {Convert.ToHexString(match.Nid)}"));
                    await slac.LeaveAsync(ct);
                }
                return 0;
            }
            catch (Exception e) when (e is SlacException or RawEthernetException)
            {
                Console.Error.WriteLine("SLAC failed: " + e.Message);
                return 1;
            }
        });

        var ev = new Command("ev", "EV side: match with the EVSE heard best, join its network, print it") { iface, threshold, quiet };
        ev.SetAction(async (result, ct) =>
        {
            using var loggers = Loggers(result.GetValue(quiet));
            try
            {
                await using var channel = RawEthernetChannel.Open(result.GetValue(iface)!);
                var match = await new SlacEv(channel, new SlacEvOptions { AttenuationThreshold = result.GetValue(threshold) }, logger: loggers.CreateLogger("slac")).MatchAsync(ct);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"matched EVSE {Mac(match.EvseMac)} ({match.AverageAttenuation:0.0} dB), joined network {Convert.ToHexString(match.Nid)}"));
                return 0;
            }
            catch (Exception e) when (e is SlacException or RawEthernetException)
            {
                Console.Error.WriteLine("SLAC failed: " + e.Message);
                return 1;
            }
        });
        return new Command("slac", "SLAC (ISO 15118-3) alone over a HomePlug Green PHY modem, in either role") { evse, ev };
    }

    public static Command CreatePlcSim()
    {
        var evseIf = new Option<string>("--evse") { Description = "interface towards the EVSE host (its modem is played here)", Required = true };
        var evIf = new Option<string>("--ev") { Description = "interface towards the EV host", Required = true };
        var attenuation = new Option<int>("--attenuation") { Description = "attenuation the EVSE modem reports for the EV's sounds, dB", DefaultValueFactory = _ => 20 };
        var jitter = new Option<int>("--jitter") { Description = "spread of the attenuation per carrier group, ± dB", DefaultValueFactory = _ => 3 };
        var joinDelay = new Option<int>("--join-delay") { Description = "ms the modems take to form the network once they share the NMK", DefaultValueFactory = _ => 0 };
        var result0 = new Option<bool>("--set-key-result-0") { Description = "answer CM_SET_KEY with result 0x00 (the HomePlug spec) instead of 0x01 (QCA firmware)" };
        var silentEvse = new Option<bool>("--silent-evse-modem") { Description = "the EVSE-side modem never answers CM_SET_KEY (a dead modem)" };
        var silentEv = new Option<bool>("--silent-ev-modem") { Description = "the EV-side modem never answers CM_SET_KEY" };
        var quiet = new Option<bool>("--quiet") { Description = "only warnings" };
        var command = new Command("plc-sim",
            "PLC modem and line emulator: plays both HomePlug Green PHY modems between two interfaces and, once EV and EVSE share a network key, bridges every frame (SDP, TCP)")
        {
            evseIf, evIf, attenuation, jitter, joinDelay, result0, silentEvse, silentEv, quiet,
        };
        command.SetAction(async (result, ct) =>
        {
            using var loggers = Loggers(result.GetValue(quiet));
            try
            {
                await using var evse = RawEthernetChannel.Open(result.GetValue(evseIf)!, RawEthernetChannel.AllProtocols, promiscuous: true);
                await using var evSide = RawEthernetChannel.Open(result.GetValue(evIf)!, RawEthernetChannel.AllProtocols, promiscuous: true);
                var emulator = new PlcEmulator(evse, evSide, new PlcEmulatorOptions
                {
                    AttenuationDb = result.GetValue(attenuation),
                    JitterDb = result.GetValue(jitter),
                    JoinDelay = TimeSpan.FromMilliseconds(result.GetValue(joinDelay)),
                    SetKeyResult = result.GetValue(result0) ? (byte)0x00 : (byte)0x01,
                    EvseModemAnswers = !result.GetValue(silentEvse),
                    EvModemAnswers = !result.GetValue(silentEv),
                }, logger: loggers.CreateLogger("plc-sim"));
                Console.WriteLine($"plc-sim: EVSE side {result.GetValue(evseIf)}, EV side {result.GetValue(evIf)}; Ctrl+C to stop");
                await emulator.RunAsync(ct);
                return 0;
            }
            catch (RawEthernetException e)
            {
                Console.Error.WriteLine("plc-sim: " + e.Message);
                return 1;
            }
        });
        return command;
    }

    public static string Mac(System.Net.NetworkInformation.PhysicalAddress mac) =>
        string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
}
