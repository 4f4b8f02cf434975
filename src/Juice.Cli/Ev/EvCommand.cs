using System.CommandLine;
using System.Globalization;
using System.Net;
using Juice.Hlc.Evcc;
using Juice.Hlc.Exi;
using Juice.Hlc.Sdp;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;

namespace Juice.Cli.Ev;

/// <summary><c>juice ev</c>: a simulated EV that charges at an SECC over TCP, found directly or by SDP.</summary>
internal static class EvCommand
{
    public static Command Create()
    {
        var host = new Option<string?>("--host") { Description = "SECC address (IPv6 or IPv4); with --port, skips SDP" };
        var port = new Option<int?>("--port") { Description = "SECC TCP port" };
        var iface = new Option<string?>("--interface") { Description = "network interface to discover the SECC on by SDP (ff02::1)" };
        var protocol = new Option<string>("--protocol") { Description = "protocols in preference order, comma separated: iso2, din", DefaultValueFactory = _ => "iso2" };
        var energy = new Option<string>("--energy") { Description = "ac or dc", DefaultValueFactory = _ => "dc" };
        energy.AcceptOnlyFromAmong("ac", "dc");
        var evccid = new Option<string>("--evccid") { Description = "EVCCID (the EV's MAC) in hex", DefaultValueFactory = _ => "020000000001" };
        var startSoc = new Option<double>("--start-soc") { Description = "state of charge at the start, %", DefaultValueFactory = _ => 30 };
        var targetSoc = new Option<double>("--target-soc") { Description = "stop charging at this state of charge, %", DefaultValueFactory = _ => 80 };
        var capacity = new Option<double>("--capacity-kwh") { Description = "battery capacity, kWh", DefaultValueFactory = _ => 60 };
        var maxCurrent = new Option<double>("--max-current") { Description = "the EV's maximum current, A", DefaultValueFactory = _ => 125 };
        var duration = new Option<double?>("--duration") { Description = "stop after this many seconds of charging" };
        var interval = new Option<int>("--interval-ms") { Description = "pause between charging-loop requests, ms", DefaultValueFactory = _ => 100 };
        var messageTimeout = new Option<double>("--message-timeout") { Description = "seconds to wait for each response (the standard's V2G_EVCC_Msg_Timeout is 2)", DefaultValueFactory = _ => 2 };
        var skipPreCharge = new Option<bool>("--skip-precharge-check") { Description = "go on after pre-charge even if the present voltage never reaches the target (some chargers)" };
        var log = new Option<FileInfo?>("--log") { Description = "write every message, decoded as XML, to this file" };
        var command = new Command("ev", "Simulated EV: SDP (or a direct address), supportedAppProtocol, a full ISO 15118-2 (AC or DC) or DIN SPEC 70121 (DC) session with external identification") {
            host, port, iface, protocol, energy, evccid, startSoc, targetSoc, capacity, maxCurrent, duration, interval, messageTimeout, skipPreCharge, log };
        command.SetAction(async (result, ct) =>
        {
            EvOptions options;
            try
            {
                options = new EvOptions
                {
                    Protocols = [.. result.GetValue(protocol)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseProtocol)],
                    Energy = result.GetValue(energy) == "ac" ? EnergyTransfer.AcThreePhase : EnergyTransfer.Dc,
                    Evccid = Convert.FromHexString(result.GetValue(evccid)!),
                    StartSoc = result.GetValue(startSoc),
                    TargetSoc = result.GetValue(targetSoc),
                    BatteryCapacityWh = result.GetValue(capacity) * 1000,
                    MaxCurrentA = result.GetValue(maxCurrent),
                    Duration = result.GetValue(duration) is { } d ? TimeSpan.FromSeconds(d) : null,
                    LoopInterval = TimeSpan.FromMilliseconds(result.GetValue(interval)),
                    MessageTimeout = TimeSpan.FromSeconds(result.GetValue(messageTimeout)),
                    SkipPreChargeVoltageCheck = result.GetValue(skipPreCharge),
                };
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
            return await RunAsync(options, result.GetValue(host), result.GetValue(port), result.GetValue(iface), result.GetValue(log), Console.Error, ct);
        });
        return command;
    }

    private static AppProtocolVersion ParseProtocol(string name) => name.ToLowerInvariant() switch
    {
        "iso2" => AppProtocolVersion.Iso2,
        "din" => AppProtocolVersion.Din,
        _ => throw new FormatException($"unknown protocol '{name}' (iso2, din)"),
    };

    public static async Task<int> RunAsync(EvOptions options, string? host, int? port, string? iface, FileInfo? logFile, TextWriter status, CancellationToken stop)
    {
        StreamWriter? log = logFile is null ? null : new StreamWriter(logFile.FullName);
        try
        {
            IPEndPoint endpoint;
            if (host is not null && port is not null)
            {
                endpoint = new IPEndPoint(IPAddress.Parse(host), port.Value);
            }
            else if (iface is not null)
            {
                var sdp = await new SdpClient().DiscoverAsync(iface, SdpSecurity.NoTls, stop);
                endpoint = new IPEndPoint(sdp.Address, sdp.Port);
                status.WriteLine($"SDP: SECC at [{sdp.Address}]:{sdp.Port} ({sdp.Security})");
            }
            else
            {
                status.WriteLine("give --host and --port, or --interface for SDP");
                return 2;
            }
            int index = 0;
            EvClient? client = null;
            void Trace(string direction, string hex)
            {
                if (log is null)
                {
                    return;
                }
                var codec = index++ < 2 ? ExiCodec.AppHandshake : client!.Protocol == V2gProtocol.Din70121 ? ExiCodec.Din : ExiCodec.Iso2;
                log.WriteLine($"<!-- {direction} {hex} -->");
                try
                {
                    log.WriteLine(codec.WriteXml(codec.Decode(Convert.FromHexString(hex))));
                }
                catch (ExiContentException e)
                {
                    log.WriteLine($"<!-- undecodable: {e.Message} -->");
                }
            }
            await using var connection = await V2gTcpClient.ConnectAsync(endpoint, ct: stop);
            var progress = new Progress<EvProgress>(p => status.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r{p.Step}: SoC {p.Soc,5:0.0} %  {p.EnergyWh / 1000,7:0.000} kWh  {p.PowerW / 1000,6:0.0} kW  limit {p.CurrentLimitA,5:0} A   ")));
            client = new EvClient(options, trace: Trace);
            var result = await client.RunAsync(connection, progress, stop);
            status.WriteLine();
            status.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"session ended normally: {result.Reason}; SoC {result.Soc:0.0} %, {result.EnergyWh / 1000:0.000} kWh, {result.Messages} messages ({result.Protocol})"));
            return result.Completed ? 0 : 1;
        }
        catch (Exception e) when (e is EvSessionException or System.Net.Sockets.SocketException or TimeoutException or Juice.Hlc.V2gtp.V2gtpException or IOException)
        {
            status.WriteLine();
            status.WriteLine($"session failed: {e.Message}");
            return 1;
        }
        finally
        {
            if (log is not null)
            {
                await log.DisposeAsync();
            }
        }
    }
}
