using System.CommandLine;
using System.Globalization;
using System.Net;
using Juice.Hlc.Exi;
using Juice.Hlc.Sdp;
using Juice.Hlc.Secc;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;
using Microsoft.Extensions.Logging;

namespace Juice.Cli.Secc;

/// <summary>
/// <c>juice secc</c>: a standalone SECC simulator for EV test engineers and load tests. Every EV that connects gets
/// its own simulated charging point (so many EVs can charge at once); the station (<c>Juice.Station</c>) is the
/// product with one charging core behind its SECC.
/// </summary>
internal static class SeccCommand
{
    public static Command Create()
    {
        var address = new Option<string>("--address") { Description = "address to listen on (:: for every interface)", DefaultValueFactory = _ => "::1" };
        var port = new Option<int>("--port") { Description = "TCP port, a dynamic port 49152-65535 as the standards give it (0 picks a free one; announced by SDP)", DefaultValueFactory = _ => 61118 };
        var iface = new Option<string?>("--interface") { Description = "answer SDP on this interface (multicast ff02::1)" };
        var protocol = new Option<string>("--protocol")
        {
            Description = "protocols in the SECC's preference order: iso20 (-20 DC and AC; over TLS 1.3 with --tls, else over plain TCP in -20's test mode), iso20-dc, iso20-ac, iso2, din",
            DefaultValueFactory = _ => "iso2,din",
        };
        var energy = new Option<string>("--energy") { Description = "energy transfer offered: ac, dc or ac,dc", DefaultValueFactory = _ => "ac,dc" };
        var bptKw = new Option<double?>("--bpt-kw")
        {
            Description = "ISO 15118-20 bidirectional power: offer AC_BPT/DC_BPT and take back up to this many kW (default: charging only)",
        };
        var dischargeRequestKw = new Option<double>("--discharge-request-kw")
        {
            Description = "with --bpt-kw: the power the charger asks EVs in dynamic control to feed in, kW (0: it lets them charge)",
            DefaultValueFactory = _ => 0,
        };
        var authorize = new Option<string>("--authorize") { Description = "accept or reject every EV", DefaultValueFactory = _ => "accept" };
        authorize.AcceptOnlyFromAmong("accept", "reject");
        var authDelay = new Option<double>("--auth-delay") { Description = "seconds the authorization decision takes (EVSEProcessing = Ongoing meanwhile)", DefaultValueFactory = _ => 0 };
        var cableCheck = new Option<double>("--cable-check") { Description = "seconds the DC isolation test takes", DefaultValueFactory = _ => 0 };
        var log = new Option<FileInfo?>("--log") { Description = "write every message, decoded as XML, to this file" };
        var pcap = new Option<FileInfo?>("--pcap") { Description = "write the V2GTP traffic as a pcap file (Wireshark)" };
        var stats = new Option<double>("--stats") { Description = "print connections and memory every this many seconds (0: off)", DefaultValueFactory = _ => 0 };
        var verbose = new Option<bool>("--verbose") { Description = "log every connection and session" };
        var threads = new Option<bool>("--thread-per-connection") { Description = "run each EV connection on a thread of its own with blocking I/O (lowest round trip)" };
        var maxConnections = new Option<int>("--max-connections") { Description = "open connections at most (beyond: the oldest one without a handshake is closed, else the new one)", DefaultValueFactory = _ => 4096 };
        var tls = new Option<bool>("--tls") { Description = "serve TLS instead of TCP (1.2 with the -2 SECC certificate, 1.3 with the -20 ones; needs --pki) and offer Plug & Charge with the PKI's MO roots" };
        var pki = new Option<DirectoryInfo?>("--pki") { Description = "with --tls: a 'juice certs generate' folder (its -2 SECC chain, and those of its iso20-* folders)" };
        var maxPerPeer = new Option<int>("--max-connections-per-peer") { Description = "open connections from one address at most (same rule; load tests connect many EVs from one address)", DefaultValueFactory = _ => 4096 };
        var command = new Command("secc", "SECC simulator: answers ISO 15118-20 (--protocol iso20), ISO 15118-2 and DIN SPEC 70121 EVs over TCP (and SDP), each with its own simulated charging point") {
            address, port, iface, protocol, energy, bptKw, dischargeRequestKw, authorize, authDelay, cableCheck, log, pcap, stats, verbose, threads, maxConnections, maxPerPeer, tls, pki };
        command.SetAction(async (result, ct) =>
        {
            IReadOnlyList<AppProtocolVersion> protocols;
            EnergyTransfer supported = EnergyTransfer.None;
            try
            {
                protocols = AppProtocolVersion.ParseList(result.GetValue(protocol)!);
                if (result.GetValue(port) is var p0 && p0 != 0 && !V2gPorts.IsDynamic(p0))
                {
                    throw new FormatException($"--port {p0} is not allowed: {V2gPorts.Rule}; 0 picks a free one");
                }
                foreach (var e in result.GetValue(energy)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    supported |= e.ToLowerInvariant() switch
                    {
                        "ac" => EnergyTransfer.AcSinglePhase | EnergyTransfer.AcThreePhase,
                        "dc" => EnergyTransfer.Dc,
                        _ => throw new FormatException($"unknown energy transfer '{e}' (ac, dc)"),
                    };
                }
                if (result.GetValue(bptKw) is { } bpt)
                {
                    supported |= bpt > 0 ? EnergyTransfer.Bidirectional : throw new FormatException("--bpt-kw: more than 0 kW");
                }
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
            SeccTls? secure = null;
            if (result.GetValue(tls))
            {
                try
                {
                    secure = SeccTls.Load(result.GetValue(pki) ?? throw new FormatException("--tls needs --pki DIR (write one with: juice certs generate --out DIR)"));
                }
                catch (Exception e) when (e is FormatException or IOException or System.Text.Json.JsonException)
                {
                    Console.Error.WriteLine(e.Message);
                    return 2;
                }
            }
            bool accept = result.GetValue(authorize) == "accept";
            var authDelaySeconds = TimeSpan.FromSeconds(result.GetValue(authDelay));
            var cableCheckSeconds = TimeSpan.FromSeconds(result.GetValue(cableCheck));
            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(result.GetValue(verbose) ? LogLevel.Information : LogLevel.Warning));
            await using var xml = result.GetValue(log) is { } lf ? new StreamWriter(lf.FullName) { AutoFlush = true } : null;
            using var capture = result.GetValue(pcap) is { } pf ? PcapWriter.Create(pf.FullName) : null;
            int connections = 0;
            IChargingPoint NewChargingPoint(IPEndPoint remote)
            {
                var started = TimeProvider.System.GetTimestamp();
                return new SimpleEvse
                {
                    Supported = supported,
                    MaxDischargePowerW = (result.GetValue(bptKw) ?? 0) * 1000,
                    DischargeRequestW = result.GetValue(dischargeRequestKw) * 1000,
                    IsolationTestDuration = cableCheckSeconds,
                    CertificateService = secure?.CertificateService,
                    Authorize = _ => TimeProvider.System.GetElapsedTime(started) < authDelaySeconds ? AuthorizationStatus.Pending
                        : accept ? AuthorizationStatus.Accepted : AuthorizationStatus.Rejected,
                };
            }
            var options = new SeccOptions
            {
                Protocols = protocols,
                Iso20AllowPlainTcp = secure is null,   // without --tls: -20 over plain TCP, its test mode (only when asked for with --protocol)
                Session = secure is null ? new SeccSessionOptions() : new SeccSessionOptions
                {
                    IdentificationModes = [IdentificationMode.Contract, IdentificationMode.External],
                    PlugAndCharge = new PlugAndChargeOptions { ContractRoots = secure.MoRoots },
                },
                MaxConnections = Math.Max(1, result.GetValue(maxConnections)),
                MaxConnectionsPerPeer = Math.Max(1, result.GetValue(maxPerPeer)),
                Trace = xml is null ? null : (remote, direction, codec, exi) =>
                {
                    lock (xml)
                    {
                        xml.WriteLine($"<!-- {remote} {direction} {Convert.ToHexStringLower(exi)} -->");
                        try
                        {
                            xml.WriteLine(codec.WriteXml(codec.Decode(exi)));
                        }
                        catch (ExiContentException e)
                        {
                            xml.WriteLine($"<!-- undecodable: {e.Message} -->");
                        }
                    }
                },
            };
            var handler = new SeccConnectionHandler(remote => NewChargingPoint(remote), options, loggers.CreateLogger<SeccConnectionHandler>());
            await using var server = new V2gTcpServer(new V2gTcpServerOptions
            {
                Address = IPAddress.Parse(result.GetValue(address)!),
                Port = result.GetValue(port),
                ThreadPerConnection = result.GetValue(threads),
                Observe = capture is null ? null : (stream, remote, local) => new RecordingStream(stream, capture.OpenTcp(remote, local), localIsClient: false),
                StreamFactory = secure is null ? static (s, _) => ValueTask.FromResult(s) : async (s, token) =>
                {
                    // a peer that never finishes its handshake does not hold the connection
                    using var handshake = CancellationTokenSource.CreateLinkedTokenSource(token);
                    handshake.CancelAfter(TimeSpan.FromSeconds(10));
                    return await V2gTls.AcceptAsync(s, secure.Setup, handshake.Token);
                },
            }, async (connection, remote, token) =>
            {
                Interlocked.Increment(ref connections);
                try
                {
                    await handler.RunAsync(connection, remote, token);
                }
                finally
                {
                    Interlocked.Decrement(ref connections);
                }
            }, loggers.CreateLogger<V2gTcpServer>());
            server.Start();
            await using var sdp = result.GetValue(iface) is { } name
                ? new SdpServer(new SdpServerOptions { InterfaceName = name, TcpPort = (ushort)server.LocalEndPoint.Port, OffersTls = secure is not null, OffersTcp = secure is null },
                    loggers.CreateLogger<SdpServer>())
                : null;
            sdp?.Start();
            Console.WriteLine($"SECC listening on {server.LocalEndPoint}{(secure is null ? "" : $" with TLS ({secure.Describe()})")}{(sdp is null ? "" : $", SDP on {result.GetValue(iface)}")} (pid {Environment.ProcessId}); Ctrl+C stops");
            double every = result.GetValue(stats);
            try
            {
                while (true)
                {
                    await Task.Delay(every > 0 ? TimeSpan.FromSeconds(every) : Timeout.InfiniteTimeSpan, ct);
                    using var self = System.Diagnostics.Process.GetCurrentProcess();
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{DateTime.Now:HH:mm:ss} connections {Volatile.Read(ref connections)}, managed heap {GC.GetTotalMemory(false) / 1048576.0:0.0} MB, RSS {self.WorkingSet64 / 1048576.0:0.0} MB"));
                }
            }
            catch (OperationCanceledException)
            {
            }
            return 0;
        });
        return command;
    }
}

/// <summary>
/// The simulator's TLS: the SECC chains of a <c>juice certs generate</c> folder (-2, and -20 from its iso20-* folders)
/// and its MO and OEM roots; and the folder's provisioning services, which answer the EVs' certificate installations
/// (and -2 updates) in place of a backend.
/// </summary>
internal sealed record SeccTls(V2gTlsServerSetup Setup, IReadOnlyCollection<Org.BouncyCastle.X509.X509Certificate> MoRoots,
    Func<CertificateServiceRequest, CertificateServiceResult> CertificateService)
{
    public static SeccTls Load(DirectoryInfo dir)
    {
        var iso2 = Juice.Hlc.Security.TestPki.Load(dir.FullName);
        var iso20 = new[] { Juice.Hlc.Security.PkiAlgorithm.Secp521r1, Juice.Hlc.Security.PkiAlgorithm.Ed448 }
            .Select(a => Path.Combine(dir.FullName, Juice.Hlc.Security.TestPki.Iso20Folder(a)))
            .Where(d => File.Exists(Path.Combine(d, "pki.json")))
            .Select(Juice.Hlc.Security.TestPki.Load).ToList();
        V2gTlsCredentials Secc(Juice.Hlc.Security.TestPki p) => new(p.Chain(Juice.Hlc.Security.CertificateRole.Secc), p[Juice.Hlc.Security.CertificateRole.Secc].Key);
        var setup = new V2gTlsServerSetup
        {
            Iso2 = () => Secc(iso2),
            Iso20 = () => [.. iso20.Select(Secc)],
            VehicleRoots = [.. iso20.Select(p => p.OemRoot)],
        };
        var cps = new Juice.Hlc.Security.CertificateProvisioning(iso2);
        var cps20 = iso20.Count > 0 ? new Juice.Hlc.Security.Iso20CertificateProvisioning(iso20) : null;
        CertificateServiceResult Provision(CertificateServiceRequest request)
        {
            try
            {
                if (request.SchemaNamespace == Juice.Hlc.Secc.Iso20.Iso20SeccSession.CommonMessagesNamespace)
                {
                    return cps20 is null
                        ? new CertificateServiceResult(null, "the PKI folder has no ISO 15118-20 PKI")
                        : new CertificateServiceResult(cps20.Install((Juice.Hlc.Exi.Iso20.CertificateInstallationReqType)Juice.Hlc.Exi.Iso20.Iso20CommonExi.DecodeDocument(request.Exi).Value).Exi);
                }
                var message = Juice.Hlc.Exi.Iso2.Iso2Exi.Decode(request.Exi);
                var outcome = request.Action == CertificateAction.Install ? cps.Install(message) : cps.Update(message);
                return new CertificateServiceResult(Juice.Hlc.Security.CertificateProvisioning.Encode(outcome.Response));
            }
            catch (Exception e) when (e is Juice.Hlc.Exi.ExiContentException or InvalidCastException)
            {
                return new CertificateServiceResult(null, "the request is no certificate installation: " + e.Message);
            }
        }
        return new SeccTls(setup, [iso2.MoRoot, .. iso20.Select(p => p.MoRoot)], Provision);
    }

    public string Describe() => $"{(Setup.Iso20().Count > 0 ? "1.2 and 1.3, -20 " + string.Join("/", Setup.Iso20().Select(c => c.Algorithm.ToString().ToLowerInvariant())) : "1.2 only")}";
}
