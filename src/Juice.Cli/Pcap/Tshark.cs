using System.Diagnostics;
using System.Globalization;

namespace Juice.Cli.Pcap;

/// <summary>What a packet of a capture carried: a UDP datagram, TCP payload (plain or decrypted from TLS), or an Ethernet frame that is not IP (SLAC).</summary>
internal enum PacketKind
{
    Udp,
    Tcp,
    Tls,

    /// <summary>TLS application data that could not be decrypted (no key log, or not the session's).</summary>
    TlsEncrypted,
    Ethernet,
}

/// <summary>One payload of a capture as tshark dissected it; end points as text, ports 0 for Ethernet.</summary>
internal sealed record Packet(int Frame, double Time, PacketKind Kind, string Source, string Destination, int SourcePort, int DestinationPort, int Stream, byte[] Payload)
{
    public string From => SourcePort == 0 ? Source : $"[{Source}]:{SourcePort}";
    public string To => DestinationPort == 0 ? Destination : $"[{Destination}]:{DestinationPort}";
}

/// <summary>
/// Reads a capture (pcap or pcapng) with Debian's tshark: TCP reassembled per stream and direction, TLS decrypted
/// with an SSLKEYLOGFILE (any TCP stream that starts with a TLS handshake is dissected as TLS, whatever its port),
/// HomePlug AV frames (SLAC, EtherType 0x88E1) handed over whole. The V2GTP and EXI decoding is ours.
/// </summary>
internal static class Tshark
{
    private static readonly string[] Fields =
    [
        "frame.number", "frame.time_epoch", "eth.src", "eth.dst", "eth.type", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
        "udp.srcport", "udp.dstport", "udp.payload", "tcp.srcport", "tcp.dstport", "tcp.stream", "tcp.seq_raw", "tcp.len", "tcp.payload",
        "tls.record.length", "tls.record.content_type", "tls.record.opaque_type", "data.data",
    ];

    public static async Task<IReadOnlyList<Packet>> ReadAsync(string file, string? keyLog, CancellationToken ct)
    {
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"{file}: no such file");
        }
        // First pass: the server ports of TCP streams that open with a TLS handshake record (0x16 0x03), to dissect as TLS.
        var tlsPorts = new SortedSet<int>();
        foreach (string line in await RunAsync(["-r", file, "-n", "-T", "fields", "-E", "separator=/t", "-Y", "tcp.len > 5", "-e", "tcp.dstport", "-e", "tcp.payload"], ct))
        {
            string[] f = line.Split('\t');
            if (f.Length == 2 && f[1].StartsWith("1603", StringComparison.OrdinalIgnoreCase) && int.TryParse(f[0], out int port))
            {
                tlsPorts.Add(port);
            }
        }
        var args = new List<string> { "-r", file, "-n", "-d", "ethertype==0x88e1,data", "-o", "tcp.desegment_tcp_streams:TRUE" };
        foreach (int port in tlsPorts)
        {
            args.AddRange(["-d", $"tcp.port=={port},tls"]);
        }
        if (keyLog is not null)
        {
            if (!File.Exists(keyLog))
            {
                throw new FileNotFoundException($"{keyLog}: no such key log file");
            }
            args.AddRange(["-o", $"tls.keylog_file:{keyLog}"]);
        }
        args.AddRange(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|"]);
        foreach (string field in Fields)
        {
            args.AddRange(["-e", field]);
        }
        var packets = new List<Packet>();
        var nextSeq = new Dictionary<(int, int), uint>();
        foreach (string line in await RunAsync(args, ct))
        {
            string[] f = line.Split('\t');
            if (f.Length < Fields.Length)
            {
                continue;
            }
            string V(string name) => f[Array.IndexOf(Fields, name)];
            int frame = int.Parse(V("frame.number"), CultureInfo.InvariantCulture);
            double time = double.Parse(V("frame.time_epoch"), CultureInfo.InvariantCulture);
            string src = First(V("ip.src")) ?? First(V("ipv6.src")) ?? V("eth.src");
            string dst = First(V("ip.dst")) ?? First(V("ipv6.dst")) ?? V("eth.dst");
            if (V("udp.payload").Length > 0)
            {
                packets.Add(new Packet(frame, time, PacketKind.Udp, src, dst, Int(V("udp.srcport")), Int(V("udp.dstport")), -1, Convert.FromHexString(V("udp.payload"))));
            }
            else if (V("tcp.stream").Length > 0)
            {
                int stream = Int(V("tcp.stream"));
                int sport = Int(V("tcp.srcport"));
                if (tlsPorts.Contains(Int(V("tcp.srcport"))) || tlsPorts.Contains(Int(V("tcp.dstport"))))
                {
                    // decrypted application data: tshark shows it as data.data of each TLS record it could decrypt
                    string[] decrypted = V("data.data").Split('|', StringSplitOptions.RemoveEmptyEntries);
                    foreach (string data in decrypted)
                    {
                        packets.Add(new Packet(frame, time, PacketKind.Tls, src, dst, sport, Int(V("tcp.dstport")), stream, Convert.FromHexString(data)));
                    }
                    // records that stayed encrypted: TLS 1.2 application data (content type 23 without data), or TLS 1.3
                    // records whose inner content type tshark could not read (fewer content types than records)
                    int records = V("tls.record.length").Split('|', StringSplitOptions.RemoveEmptyEntries).Length;
                    string[] types = V("tls.record.content_type").Split('|', StringSplitOptions.RemoveEmptyEntries);
                    bool tls13 = V("tls.record.opaque_type").Length > 0;
                    if (decrypted.Length == 0 && (types.Length < records || (!tls13 && types.Contains("23"))))
                    {
                        packets.Add(new Packet(frame, time, PacketKind.TlsEncrypted, src, dst, sport, Int(V("tcp.dstport")), stream, []));
                    }
                    continue;
                }
                if (V("tcp.payload").Length == 0)
                {
                    continue;
                }
                // a segment seen again (retransmission) is left out; tshark gives them in capture order
                uint seq = uint.Parse(V("tcp.seq_raw"), CultureInfo.InvariantCulture);
                byte[] payload = Convert.FromHexString(V("tcp.payload"));
                if (nextSeq.TryGetValue((stream, sport), out uint expected) && (int)(seq - expected) < 0)
                {
                    int overlap = (int)(expected - seq);
                    if (overlap >= payload.Length)
                    {
                        continue;
                    }
                    payload = payload[overlap..];
                    seq = expected;
                }
                nextSeq[(stream, sport)] = seq + (uint)payload.Length;
                packets.Add(new Packet(frame, time, PacketKind.Tcp, src, dst, sport, Int(V("tcp.dstport")), stream, payload));
            }
            else if (V("eth.type") is "0x88e1" or "0x000088e1" && V("data.data").Length > 0)
            {
                string[] hex = [V("eth.dst"), V("eth.src")];
                byte[] frameBytes = [.. hex.SelectMany(m => Convert.FromHexString(m.Replace(":", ""))), 0x88, 0xE1, .. Convert.FromHexString(V("data.data").Split('|')[0])];
                packets.Add(new Packet(frame, time, PacketKind.Ethernet, V("eth.src"), V("eth.dst"), 0, 0, -1, frameBytes));
            }
        }
        return packets;
    }

    private static string? First(string value) => value.Length == 0 ? null : value.Split('|')[0];

    private static int Int(string value) => value.Length == 0 ? 0 : int.Parse(value.Split('|')[0], CultureInfo.InvariantCulture);

    private static async Task<IReadOnlyList<string>> RunAsync(IEnumerable<string> args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"tshark is needed to read a pcap (Debian: apt install tshark): {e.Message}", e);
        }
        using (process)
        {
            var error = process.StandardError.ReadToEndAsync(ct);
            var lines = new List<string>();
            while (await process.StandardOutput.ReadLineAsync(ct) is { } line)
            {
                lines.Add(line);
            }
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0)
            {
                string why = string.Join(" ", (await error).Split('\n').Where(l => l.Length > 0 && !l.StartsWith("Running as user", StringComparison.Ordinal)));
                throw new InvalidDataException($"tshark could not read the capture: {why}");
            }
            return lines;
        }
    }
}
