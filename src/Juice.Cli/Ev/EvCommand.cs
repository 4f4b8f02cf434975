using System.CommandLine;
using System.Globalization;
using System.Net;
using Juice.Hlc.Evcc;
using Juice.Hlc.Exi;
using Juice.Hlc.Sdp;
using Juice.Hlc.Secc;
using Juice.Hlc.Security;
using Juice.Hlc.Session;
using Juice.Hlc.Transport;

namespace Juice.Cli.Ev;

/// <summary><c>juice ev</c>: a simulated EV that charges at an SECC over TCP, found directly or by SDP; or many (load mode).</summary>
internal static class EvCommand
{
    public static Command Create()
    {
        var host = new Option<string?>("--host") { Description = "SECC address (IPv6 or IPv4); with --port, skips SDP" };
        var port = new Option<int?>("--port") { Description = "SECC TCP port" };
        var iface = new Option<string?>("--interface") { Description = "network interface to discover the SECC on by SDP (ff02::1)" };
        var protocol = new Option<string>("--protocol")
        {
            Description = "protocols in preference order, comma separated: iso20 (ISO 15118-20, its AC or DC namespace by --energy), iso2, din",
            DefaultValueFactory = _ => "iso2",
        };
        var control = new Option<string>("--control") { Description = "ISO 15118-20: scheduled or dynamic control mode", DefaultValueFactory = _ => "scheduled" };
        control.AcceptOnlyFromAmong("scheduled", "dynamic");
        var minSoc = new Option<double?>("--min-soc")
        {
            Description = "ISO 15118-20: the state of charge the EV needs at least by its departure, % (its minimum energy request); with ac-bpt/dc-bpt also the floor it never discharges below (default 20)",
        };
        var energy = new Option<string>("--energy")
        {
            Description = "ac or dc; ac-bpt or dc-bpt: ISO 15118-20 bidirectional power where the charger offers it (charging only otherwise and with iso2/din)",
            DefaultValueFactory = _ => "dc",
        };
        energy.AcceptOnlyFromAmong("ac", "dc", "ac-bpt", "dc-bpt");
        var dischargeKw = new Option<double?>("--discharge-kw")
        {
            Description = "with ac-bpt/dc-bpt: the power the EV feeds in, kW. Scheduled control: it feeds in this much down to --min-soc, then charges; dynamic: the most the charger may ask (default: its maximum power)",
        };
        var phases = new Option<int>("--phases") { Description = "AC: charge on 1 or 3 phases", DefaultValueFactory = _ => 3 };
        phases.AcceptOnlyFromAmong("1", "3");
        var evccid = new Option<string>("--evccid") { Description = "EVCCID (the EV's MAC) in hex", DefaultValueFactory = _ => "020000000001" };
        var startSoc = new Option<double>("--start-soc") { Description = "state of charge at the start, %", DefaultValueFactory = _ => 30 };
        var targetSoc = new Option<double>("--target-soc") { Description = "stop charging at this state of charge, %", DefaultValueFactory = _ => 80 };
        var capacity = new Option<double>("--capacity-kwh") { Description = "battery capacity, kWh", DefaultValueFactory = _ => 60 };
        var maxCurrent = new Option<double>("--max-current") { Description = "the EV's maximum current, A", DefaultValueFactory = _ => 125 };
        var departure = new Option<uint>("--departure") { Description = "seconds until departure, announced in charge parameter discovery", DefaultValueFactory = _ => 7200 };
        var duration = new Option<double?>("--duration") { Description = "stop after this many seconds of charging" };
        var interval = new Option<int>("--interval-ms") { Description = "pause between charging-loop requests, ms", DefaultValueFactory = _ => 100 };
        var messageTimeout = new Option<double?>("--message-timeout") { Description = "seconds to wait for every response (default: the standard's V2G_EVCC_Msg_Timeout per message, 0.25 s for CurrentDemand)" };
        var skipPreCharge = new Option<bool>("--skip-precharge-check") { Description = "go on after pre-charge even if the present voltage never reaches the target (some chargers)" };
        var renegotiateAfter = new Option<int?>("--renegotiate-after") { Description = "renegotiate once on the EV's own after this many charging-loop messages (ISO 15118-2: charge parameters; -20: schedules)" };
        var standbyAfter = new Option<int?>("--standby-after") { Description = "ISO 15118-20: go to standby once after this many charging-loop messages (PowerDelivery(Standby)), wake up after --standby-seconds" };
        var serviceRenegotiateAfter = new Option<int?>("--service-renegotiate-after")
        {
            Description = "ISO 15118-20: after this many charging-loop messages stop and renegotiate the service once (SessionStop(ServiceRenegotiation), ServiceDiscovery again)",
        };
        var standbySeconds = new Option<double>("--standby-seconds") { Description = "how long the standby lasts, s", DefaultValueFactory = _ => 2 };
        var recheckCable = new Option<bool>("--recheck-cable") { Description = "DC, with a renegotiation: CableCheck and PreCharge again before PowerDelivery(Start), as some EVs do" };
        var noChargingProfile = new Option<bool>("--no-charging-profile") { Description = "ISO 15118-2: leave the ChargingProfile out of PowerDeliveryReq(Start) (default: one derived from the chosen schedule)" };
        var log = new Option<FileInfo?>("--log") { Description = "write every message, decoded as XML, to this file" };
        var pcap = new Option<FileInfo?>("--pcap") { Description = "write the SDP and V2GTP traffic as a pcap file (Wireshark)" };
        var keyLog = KeyLogOption();
        var seed = new Option<int?>("--seed") { Description = "deterministic mode: the battery runs on simulated time, the same seed gives the same requests" };
        var pause = new Option<bool>("--pause") { Description = "end with SessionStop(Pause) and print the SessionID to resume with (ISO 15118-2 and -20)" };
        var resume = new Option<string?>("--resume-session") { Description = "resume a paused session: its SessionID in hex (ISO 15118-2 and -20)" };
        var sessions = new Option<int?>("--sessions") { Description = "load mode: run this many EV sessions" };
        var concurrency = new Option<int>("--concurrency") { Description = "load mode: EVs connected at the same time", DefaultValueFactory = _ => 1 };
        var rampUp = new Option<double>("--ramp-up") { Description = "load mode: seconds over which the first concurrent EVs connect", DefaultValueFactory = _ => 0 };
        var seccPid = new Option<int?>("--secc-pid") { Description = "load mode: process id of the SECC, to report its memory per session (Linux /proc)" };
        var paced = new Option<bool>("--paced") { Description = "load mode: a fixed 100 ms (--interval-ms) loop per EV, the EVs' phases spread evenly over it (default: the interval after each answer)" };
        var threadPerEv = new Option<bool>("--thread-per-ev") { Description = "load mode: each EV on a thread of its own with blocking I/O (default: async on the thread pool)" };
        var pnc = new Option<bool>("--pnc") { Description = "Plug & Charge: contract identification over TLS (with --pki or the certificate files below)" };
        var tls = new Option<bool>("--tls") { Description = "connect with TLS (implied by --pnc); SDP asks for the TLS server" };
        var pki = new Option<DirectoryInfo?>("--pki") { Description = "a 'juice certs generate' folder: its V2G and MO roots, OEM provisioning certificate and contract" };
        var oemOnly = new Option<bool>("--oem-only") { Description = "with --pki: the car has only its OEM provisioning certificate (the contract gets installed)" };
        var contractChain = new Option<FileInfo?>("--contract-chain") { Description = "the contract chain, PEM (leaf, Sub-CA 2, Sub-CA 1)" };
        var contractKey = new Option<FileInfo?>("--contract-key") { Description = "the contract's private key, PEM" };
        var oemChain = new Option<FileInfo?>("--oem-chain") { Description = "the OEM provisioning certificate (chain), PEM" };
        var oemKey = new Option<FileInfo?>("--oem-key") { Description = "the OEM provisioning key, PEM" };
        var v2gRoot = new Option<string?>("--v2g-root") { Description = "trusted V2G root certificates, PEM files separated by ';'" };
        var tlsAlgorithm = new Option<string?>("--tls-algorithm")
        {
            Description = "ISO 15118-20 TLS 1.3: the certificate profile offered, secp521r1 or ed448 (default both; the vehicle certificate from that PKI)",
        };
        tlsAlgorithm.AcceptOnlyFromAmong("secp521r1", "ed448");
        var vehicleChain = new Option<FileInfo?>("--vehicle-chain") { Description = "ISO 15118-20: the vehicle certificate chain (PEM, leaf first) shown when the SECC asks in TLS 1.3; default from --pki" };
        var vehicleKey = new Option<FileInfo?>("--vehicle-key") { Description = "the vehicle certificate's private key (PEM)" };
        var tlsVersion = new Option<string>("--tls-version")
        {
            Description = "TLS versions offered: auto (1.3 for iso20, 1.2 for iso2/din, both when both are offered), 1.2 or 1.3 (to see how a charger treats the wrong one)",
            DefaultValueFactory = _ => "auto",
        };
        tlsVersion.AcceptOnlyFromAmong("auto", "1.2", "1.3");
        var noVehicle = new Option<bool>("--no-vehicle-certificate") { Description = "ISO 15118-20: answer the SECC's certificate request with no certificate" };
        var moRoot = new Option<string?>("--mo-root") { Description = "MO root certificates to check an installed contract against, PEM files separated by ';'" };
        var store = new Option<DirectoryInfo?>("--contract-store") { Description = "folder where an installed contract is saved and read from on the next run" };
        var install = new Option<bool>("--install") { Description = "install a new contract even with one at hand (CertificateInstallation)" };
        var update = new Option<bool>("--update") { Description = "renew the contract with CertificateUpdate before charging" };
        var slac = new Option<bool>("--slac") { Description = "with --interface: first SLAC over the PLC modem on that interface (ISO 15118-3), then SDP and the session on the link" };
        var threshold = new Option<double>("--attenuation-threshold") { Description = "SLAC: highest average attenuation of an EVSE to match, dB", DefaultValueFactory = _ => 40 };
        var presentExpired = new Option<bool>("--present-expired") { Description = "present an expired contract instead of installing a new one (a test of the charger)" };
        var command = new Command("ev", "Simulated EV: SDP (or a direct address), supportedAppProtocol, a full ISO 15118-20 (AC, DC, bidirectional), ISO 15118-2 (AC or DC) or DIN SPEC 70121 (DC) session; --sessions for load tests") {
            host, port, iface, protocol, energy, phases, evccid, startSoc, targetSoc, capacity, maxCurrent, departure, duration, interval, messageTimeout, skipPreCharge,
            renegotiateAfter, recheckCable, noChargingProfile, log, pcap, seed, pause, resume, sessions, concurrency, rampUp, seccPid, threadPerEv, paced,
            pnc, tls, pki, oemOnly, contractChain, contractKey, oemChain, oemKey, v2gRoot, moRoot, store, install, update, presentExpired, slac, threshold, keyLog, control, minSoc, dischargeKw,
            tlsAlgorithm, vehicleChain, vehicleKey, noVehicle, tlsVersion, standbyAfter, standbySeconds, serviceRenegotiateAfter };
        command.SetAction(async (result, ct) =>
        {
            EvOptions options;
            try
            {
                options = new EvOptions
                {
                    Protocols = [.. result.GetValue(protocol)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(p => ParseProtocol(p, result.GetValue(energy)!.StartsWith("ac", StringComparison.Ordinal))).Distinct()],
                    Energy = result.GetValue(energy)!.StartsWith("ac", StringComparison.Ordinal) ? EnergyTransfer.AcThreePhase : EnergyTransfer.Dc,
                    Bidirectional = result.GetValue(energy)!.EndsWith("-bpt", StringComparison.Ordinal),
                    DischargePowerW = result.GetValue(dischargeKw) * 1000,
                    DynamicControl = result.GetValue(control) == "dynamic",
                    MinimumSoc = result.GetValue(minSoc),
                    Phases = result.GetValue(phases),
                    Evccid = Convert.FromHexString(result.GetValue(evccid)!),
                    StartSoc = result.GetValue(startSoc),
                    TargetSoc = result.GetValue(targetSoc),
                    BatteryCapacityWh = result.GetValue(capacity) * 1000,
                    MaxCurrentA = result.GetValue(maxCurrent),
                    DepartureSeconds = result.GetValue(departure),
                    Duration = result.GetValue(duration) is { } d ? TimeSpan.FromSeconds(d) : null,
                    LoopInterval = TimeSpan.FromMilliseconds(result.GetValue(interval)),
                    MessageTimeout = result.GetValue(messageTimeout) is { } t ? TimeSpan.FromSeconds(t) : null,
                    SkipPreChargeVoltageCheck = result.GetValue(skipPreCharge),
                    RenegotiateAfter = result.GetValue(renegotiateAfter),
                    StandbyAfter = result.GetValue(standbyAfter),
                    ServiceRenegotiateAfter = result.GetValue(serviceRenegotiateAfter),
                    StandbyDuration = TimeSpan.FromSeconds(Math.Max(0, result.GetValue(standbySeconds))),
                    RecheckCableAfterRenegotiation = result.GetValue(recheckCable),
                    SendChargingProfile = !result.GetValue(noChargingProfile),
                    Seed = result.GetValue(seed),
                    Pause = result.GetValue(pause),
                    ResumeSessionId = result.GetValue(resume) is { } r ? Convert.FromHexString(r) : null,
                    PlugAndCharge = result.GetValue(pnc)
                        ? PlugAndCharge(result.GetValue(pki), result.GetValue(oemOnly), result.GetValue(contractChain), result.GetValue(contractKey), result.GetValue(oemChain),
                            result.GetValue(oemKey), result.GetValue(v2gRoot), result.GetValue(moRoot), result.GetValue(store), result.GetValue(install), result.GetValue(update))
                            with { InstallWhenExpired = !result.GetValue(presentExpired) }
                        : null,
                };
                if (options.PlugAndCharge is { } pncOptions && options.Protocols.Any(p => p.IsIso20))
                {
                    // the -20 contract (secp521r1 or Ed448) and OEM provisioning certificate from the -20 PKI below --pki, or
                    // --contract-chain/--contract-key of a -20 key
                    options = options with { PlugAndCharge = Iso20Contract(pncOptions, result.GetValue(pki), result.GetValue(tlsAlgorithm) is { } a ? PkiKeys.Parse(a) : null,
                        result.GetValue(contractChain), result.GetValue(contractKey), result.GetValue(oemOnly)) };
                }
                if (options.Evccid.Length is 0 or > 8)
                {
                    throw new FormatException("--evccid: 1 to 8 bytes (6 for ISO 15118-2)");
                }
                if (options.RenegotiateAfter is < 1)
                {
                    throw new FormatException("--renegotiate-after: at least 1 charging-loop message");
                }
                if (options.ResumeSessionId is { Length: not 8 })
                {
                    throw new FormatException("--resume-session: a SessionID is 8 bytes (16 hex digits)");
                }
            }
            catch (Exception e) when (e is FormatException or IOException)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
            V2gTlsClientSetup? tlsSetup;
            try
            {
                tlsSetup = EvTls.Setup(options.PlugAndCharge is not null || result.GetValue(tls), options.Protocols,
                    options.PlugAndCharge?.V2gRoots ?? Roots(result.GetValue(v2gRoot), result.GetValue(pki)), result.GetValue(pki),
                    result.GetValue(tlsAlgorithm) is { } alg ? PkiKeys.Parse(alg) : null, result.GetValue(vehicleChain)?.FullName, result.GetValue(vehicleKey)?.FullName,
                    result.GetValue(noVehicle));
                tlsSetup = result.GetValue(tlsVersion) switch
                {
                    "1.2" => tlsSetup! with { Versions = [V2gTlsVersion.Tls12] },
                    "1.3" => tlsSetup! with { Versions = [V2gTlsVersion.Tls13] },
                    _ => tlsSetup,
                };
            }
            catch (Exception e) when (e is FormatException or IOException)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
            var target = new EvTarget(result.GetValue(host), result.GetValue(port), result.GetValue(iface), tlsSetup, result.GetValue(slac), result.GetValue(threshold),
                KeyLogFile(result.GetValue(keyLog)));
            if (target.Slac && target.Interface is null)
            {
                Console.Error.WriteLine("--slac needs --interface (the PLC modem's Ethernet interface)");
                return 2;
            }
            if (result.GetValue(sessions) is { } n)
            {
                return await EvLoad.RunAsync(options, target, n, Math.Max(1, result.GetValue(concurrency)), TimeSpan.FromSeconds(result.GetValue(rampUp)),
                    result.GetValue(seccPid), result.GetValue(threadPerEv), Console.Out, ct, result.GetValue(paced));
            }
            return await RunAsync(options, target, result.GetValue(log), result.GetValue(pcap), Console.Error, ct);
        });
        return command;
    }

    private static IReadOnlyList<Org.BouncyCastle.X509.X509Certificate> Pem(string files) =>
        [.. files.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).SelectMany(f => V2gCertificates.ParsePem(File.ReadAllText(f)))];

    internal static IReadOnlyList<Org.BouncyCastle.X509.X509Certificate> Roots(string? files, DirectoryInfo? pki) =>
        files is not null ? Pem(files) : pki is not null ? Pem(Path.Combine(pki.FullName, "v2g-root.pem")) : [];

    /// <summary>The EV's certificates from a PKI folder and/or single files (files win).</summary>
    private static EvPlugAndCharge PlugAndCharge(DirectoryInfo? pki, bool oemOnly, FileInfo? contractChain, FileInfo? contractKey, FileInfo? oemChain, FileInfo? oemKey,
        string? v2gRoots, string? moRoots, DirectoryInfo? store, bool install, bool update)
    {
        string? In(string name) => pki is null ? null : Path.Combine(pki.FullName, name);
        // --contract-chain/--contract-key of a -20 key (secp521r1, Ed448) are the -20 contract (Iso20Contract), not this one
        bool iso20Files = contractKey is not null && PkiKeys.Of(PkiKeys.ReadPrivateKeyPem(File.ReadAllText(contractKey.FullName))) != PkiAlgorithm.Secp256r1;
        string? chain = (iso20Files ? null : contractChain?.FullName) ?? (oemOnly ? null : In("contract-chain.pem"));
        string? key = (iso20Files ? null : contractKey?.FullName) ?? (oemOnly ? null : In("contract.key.pem"));
        string? oem = oemChain?.FullName ?? In("oem-prov-chain.pem");
        string? oemPrivate = oemKey?.FullName ?? In("oem-prov.key.pem");
        var roots = Roots(v2gRoots, pki);
        if (roots.Count == 0)
        {
            throw new FormatException("--pnc needs the V2G root: --pki DIR or --v2g-root FILE");
        }
        if ((chain is null || key is null) && (oem is null || oemPrivate is null))
        {
            throw new FormatException("--pnc needs a contract (--contract-chain, --contract-key) or an OEM provisioning certificate (--oem-chain, --oem-key), or --pki DIR");
        }
        return new EvPlugAndCharge
        {
            ContractChain = chain is null ? null : V2gCertificates.ParsePem(File.ReadAllText(chain)),
            ContractKey = key is null ? null : V2gKeys.ReadPrivateKeyPem(File.ReadAllText(key)),
            OemProvisioningChain = oem is null ? null : V2gCertificates.ParsePem(File.ReadAllText(oem)),
            OemProvisioningKey = oemPrivate is null ? null : V2gKeys.ReadPrivateKeyPem(File.ReadAllText(oemPrivate)),
            V2gRoots = roots,
            MoRoots = moRoots is not null ? Pem(moRoots) : pki is not null ? Pem(Path.Combine(pki.FullName, "mo-root.pem")) : [],
            ContractStore = store?.FullName,
            ForceInstallation = install,
            UpdateContract = update,
        };
    }

    /// <summary>
    /// The ISO 15118-20 certificates: the contract (--contract-chain/--contract-key when their key is a -20 one, else
    /// contract-chain.pem and contract.key.pem of the -20 PKI; none with --oem-only), and from the same -20 PKI the OEM
    /// provisioning certificate to install one with, the V2G root and the MO root.
    /// </summary>
    private static EvPlugAndCharge Iso20Contract(EvPlugAndCharge pnc, DirectoryInfo? pki, PkiAlgorithm? algorithm, FileInfo? contractChain, FileInfo? contractKey, bool oemOnly)
    {
        static IReadOnlyList<Org.BouncyCastle.X509.X509Certificate> Read(string file) => File.Exists(file) ? V2gCertificates.ParsePem(File.ReadAllText(file)) : [];
        if (EvTls.Iso20Folders(pki, algorithm) is [var first, ..])
        {
            string oemChain = Path.Combine(first, "oem-prov-chain.pem"), oemKey = Path.Combine(first, "oem-prov.key.pem");
            pnc = pnc with
            {
                Iso20OemProvisioningChain = File.Exists(oemKey) ? Read(oemChain) : null,
                Iso20OemProvisioningKey = File.Exists(oemKey) ? PkiKeys.ReadPrivateKeyPem(File.ReadAllText(oemKey)) : null,
                Iso20V2gRoots = Read(Path.Combine(first, "v2g-root.pem")),
                Iso20MoRoots = Read(Path.Combine(first, "mo-root.pem")),
            };
        }
        if (contractChain is not null && contractKey is not null)
        {
            var key = PkiKeys.ReadPrivateKeyPem(File.ReadAllText(contractKey.FullName));
            if (PkiKeys.Of(key) != PkiAlgorithm.Secp256r1)
            {
                return pnc with { Iso20ContractChain = V2gCertificates.ParsePem(File.ReadAllText(contractChain.FullName)), Iso20ContractKey = key };
            }
        }
        foreach (var dir in oemOnly ? [] : EvTls.Iso20Folders(pki, algorithm))
        {
            string chain = Path.Combine(dir, "contract-chain.pem"), key = Path.Combine(dir, "contract.key.pem");
            if (File.Exists(chain) && File.Exists(key))
            {
                return pnc with { Iso20ContractChain = V2gCertificates.ParsePem(File.ReadAllText(chain)), Iso20ContractKey = PkiKeys.ReadPrivateKeyPem(File.ReadAllText(key)) };
            }
        }
        return pnc;
    }

    /// <summary>--keylog: where the TLS session keys go for Wireshark (SSLKEYLOGFILE when not given).</summary>
    internal static Option<FileInfo?> KeyLogOption() => new("--keylog")
    {
        Description = "with --tls: append the TLS session keys to this file (NSS key log format, as SSLKEYLOGFILE; Wireshark and 'juice pcap decode --keylog' decrypt the capture with it); default: $SSLKEYLOGFILE",
    };

    internal static string? KeyLogFile(FileInfo? option) =>
        option?.FullName ?? (Environment.GetEnvironmentVariable("SSLKEYLOGFILE") is { Length: > 0 } env ? env : null);

    private static AppProtocolVersion ParseProtocol(string name, bool ac) => name.ToLowerInvariant() switch
    {
        "iso20" => ac ? AppProtocolVersion.Iso20Ac : AppProtocolVersion.Iso20Dc,
        "iso20-ac" => AppProtocolVersion.Iso20Ac,
        "iso20-dc" => AppProtocolVersion.Iso20Dc,
        "iso2" => AppProtocolVersion.Iso2,
        "din" => AppProtocolVersion.Din,
        _ => throw new FormatException($"unknown protocol '{name}' (iso20, iso2, din)"),
    };

    public static async Task<int> RunAsync(EvOptions options, EvTarget target, FileInfo? logFile, FileInfo? pcapFile, TextWriter status, CancellationToken stop)
    {
        StreamWriter? log = logFile is null ? null : new StreamWriter(logFile.FullName);
        using var pcap = pcapFile is null ? null : PcapWriter.Create(pcapFile.FullName);
        EvSlac? slac = null;
        LiveLine? live = null;
        try
        {
            if (target.Slac)
            {
                slac = await EvSlac.MatchAsync(target.Interface!, target.SlacThreshold, status, stop);
            }
            if (await target.ResolveAsync(pcap, status, stop) is not { } endpoint)
            {
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
                log.WriteLine($"<!-- {direction} {hex} -->");
                try
                {
                    byte[] exi = Convert.FromHexString(hex);
                    log.WriteLine(index++ < 2 || client?.Protocol is not { } p
                        ? ExiCodec.AppHandshake.WriteXml(ExiCodec.AppHandshake.Decode(exi))
                        : Juice.Hlc.Replay.V2gSchemas.Decode(AppProtocolVersion.Of(p).Namespace, exi, null).Root.ToString());   // -20: the schema that codes it back
                }
                catch (ExiContentException e)
                {
                    log.WriteLine($"<!-- undecodable: {e.Message} -->");
                }
            }
            await using var connection = await V2gTcpClient.ConnectAsync(endpoint, streamFactory: target.StreamFactory(pcap, status), ct: stop);
            live = new LiveLine(status, terminal: status == Console.Out && !Console.IsOutputRedirected);
            client = new EvClient(options, trace: Trace);
            var result = await client.RunAsync(connection, live, stop);
            live.End();
            status.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"session ended normally: {result.Reason}; SoC {result.Soc:0.0} %, {result.EnergyWh / 1000:0.000} kWh{(result.DischargedWh > 0 ? $" net, {result.DischargedWh / 1000:0.000} kWh fed back" : "")}, {result.Messages} messages ({result.Protocol}){(result.Resumed ? ", resumed" : "")}"
                + $"{(result.Renegotiations > 0 ? $", {result.Renegotiations} renegotiation(s)" : "")}{(result.Standbys > 0 ? $", {result.Standbys} standby" : "")}"
                + $"{(result.ServiceRenegotiations > 0 ? $", {result.ServiceRenegotiations} service renegotiation(s)" : "")}"));
            if (result.Emaid is { } emaid)
            {
                status.WriteLine($"Plug & Charge: contract {emaid}{(result.ContractInstalled ? " (installed in this session)" : "")}, {result.MeteringReceipts} metering receipts signed");
            }
            if (options.Pause)
            {
                status.WriteLine($"paused session {Convert.ToHexString(result.SessionId)}: resume with --resume-session {Convert.ToHexString(result.SessionId)}");
            }
            return result.Completed ? 0 : 1;
        }
        catch (Exception e) when (e is Juice.Hlc.Slac.SlacException or Juice.Hlc.Slac.RawEthernetException)
        {
            status.WriteLine($"SLAC failed: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is EvSessionException or System.Net.Sockets.SocketException or TimeoutException or Juice.Hlc.V2gtp.V2gtpException or IOException
            or System.Security.Cryptography.CryptographicException)
        {
            live?.End();
            status.WriteLine($"session failed: {e.Message}");
            return 1;
        }
        finally
        {
            if (slac is not null)
            {
                await slac.DisposeAsync();
            }
            if (log is not null)
            {
                await log.DisposeAsync();
            }
        }
    }
}

/// <summary>Where the EV connects: a given address and port, or the SECC found by SDP on an interface; with TLS roots, over TLS.</summary>
internal sealed record EvTarget(string? Host, int? Port, string? Interface, V2gTlsClientSetup? Tls = null,
    bool Slac = false, double SlacThreshold = 40, string? KeyLogFile = null)
{
    /// <summary>The connection's stream: captured into the pcap (if any), then TLS (if asked for).</summary>
    public Func<Stream, CancellationToken, ValueTask<Stream>>? StreamFactory(PcapWriter? pcap, TextWriter status)
    {
        var capture = Capture(pcap);
        if (Tls is not { } setup)
        {
            return capture;
        }
        return async (stream, ct) =>
        {
            if (capture is not null)
            {
                stream = await capture(stream, ct);
            }
            var tls = await V2gTls.ConnectAsync(stream, setup with { Now = DateTimeOffset.UtcNow }, ct, keyLog: KeyLogFile is { } file ? line => AppendKeyLog(file, line) : null);
            status.WriteLine($"TLS: {tls.CipherSuite} (TLS {(tls.Version == V2gTlsVersion.Tls13 ? "1.3" : "1.2")}), SECC certificate {tls.PeerChain[0].SubjectDN} "
                + $"(SHA-256 {V2gCertificates.Fingerprint(tls.PeerChain[0])}), key {PkiKeys.Of(tls.PeerChain[0].GetPublicKey()).Name()}"
                + (tls.Version == V2gTlsVersion.Tls13 ? $", vehicle certificate {(setup.VehicleCertificate is { } v ? v.Chain[0].SubjectDN.ToString() : "none")}" : ""));
            return tls;
        };
    }

    private static readonly object KeyLogGate = new();

    public static void AppendKeyLog(string file, string line)
    {
        lock (KeyLogGate)
        {
            File.AppendAllText(file, line + "\n");
        }
    }

    public async Task<IPEndPoint?> ResolveAsync(PcapWriter? pcap, TextWriter status, CancellationToken stop)
    {
        if (Host is not null && Port is not null)
        {
            return new IPEndPoint(IPAddress.Parse(Host), Port.Value);
        }
        if (Interface is not null)
        {
            var sdp = await new SdpClient { Trace = pcap is null ? null : (from, to, datagram) => pcap.WriteUdp(from, to, datagram) }
                .DiscoverAsync(Interface, Tls is null ? SdpSecurity.NoTls : SdpSecurity.Tls, stop);
            status.WriteLine($"SDP: SECC at [{sdp.Address}]:{sdp.Port} ({sdp.Security})");
            if (!V2gPorts.IsDynamic(sdp.Port))
            {
                // what the standard allows is accepted without a word; this still works, but a stricter EV would refuse it
                status.WriteLine($"warning: the SECC announced TCP port {sdp.Port}: {V2gPorts.Rule}");
            }
            return new IPEndPoint(sdp.Address, sdp.Port);
        }
        status.WriteLine("give --host and --port, or --interface for SDP");
        return null;
    }

    /// <summary>A stream factory that records the connection into <paramref name="pcap"/> (none without a capture).</summary>
    public static Func<Stream, CancellationToken, ValueTask<Stream>>? Capture(PcapWriter? pcap) => pcap is null ? null : (stream, _) =>
    {
        var socket = ((System.Net.Sockets.NetworkStream)stream).Socket;
        var flow = pcap.OpenTcp((IPEndPoint)socket.LocalEndPoint!, (IPEndPoint)socket.RemoteEndPoint!);
        return ValueTask.FromResult<Stream>(new RecordingStream(stream, flow));
    };
}

/// <summary>The EV's PLC link: matched by SLAC before SDP, left (a new NMK in the own modem) when the session is over.</summary>
internal sealed class EvSlac : IAsyncDisposable
{
    private readonly Juice.Hlc.Slac.RawEthernetChannel _channel;
    private readonly Juice.Hlc.Slac.SlacEv _ev;

    private EvSlac(Juice.Hlc.Slac.RawEthernetChannel channel, Juice.Hlc.Slac.SlacEv ev) => (_channel, _ev) = (channel, ev);

    public static async Task<EvSlac> MatchAsync(string iface, double threshold, TextWriter status, CancellationToken ct)
    {
        var channel = Juice.Hlc.Slac.RawEthernetChannel.Open(iface);
        try
        {
            var ev = new Juice.Hlc.Slac.SlacEv(channel, new Juice.Hlc.Slac.SlacEvOptions { AttenuationThreshold = threshold });
            var match = await ev.MatchAsync(ct);
            status.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"SLAC: matched EVSE {Juice.Cli.Slac.SlacCommand.Mac(match.EvseMac)} ({match.AverageAttenuation:0.0} dB) as {Juice.Cli.Slac.SlacCommand.Mac(channel.Mac)}, network {Convert.ToHexString(match.Nid)}"));
            return new EvSlac(channel, ev);
        }
        catch
        {
            await channel.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var leave = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await _ev.LeaveAsync(leave.Token);
        }
        catch (Exception e) when (e is Juice.Hlc.Slac.SlacException or OperationCanceledException or IOException)
        {
            // unplugging goes on without the modem's confirmation
        }
        await _channel.DisposeAsync();
    }
}
