using System.Buffers;
using Juice.Hlc.Replay;
using Juice.Hlc.V2gtp;

namespace Juice.Cli.Pcap;

/// <summary>One V2GTP message of a capture: SDP over UDP or a V2G message of a TCP (or decrypted TLS) stream.</summary>
internal sealed record V2gtpItem(Packet Packet, bool FromEv, V2gtpPayloadType Type, byte[] Payload)
{
    public string Direction => FromEv ? "ev->se" : "se->ev";
}

/// <summary>Turns a capture's packets into V2GTP messages: each TCP stream split into frames per direction, the EV being the side that speaks first.</summary>
internal static class V2gCapture
{
    /// <summary>Every SDP datagram and V2GTP frame in capture order (by the packet that completes the frame); problems are reported as lines.</summary>
    public static IEnumerable<V2gtpItem> Messages(IReadOnlyList<Packet> packets, Action<Packet, string> problem)
    {
        var buffers = new Dictionary<(int Stream, string From), List<byte>>();
        var ev = new Dictionary<int, string>();
        var broken = new HashSet<(int, string)>();
        var encrypted = new HashSet<int>();
        foreach (var packet in packets)
        {
            if (packet.Kind == PacketKind.TlsEncrypted)
            {
                if (encrypted.Add(packet.Stream))
                {
                    problem(packet, $"TCP stream {packet.Stream} is TLS and could not be decrypted: give the session's key log (--keylog, as juice ev --keylog or SSLKEYLOGFILE writes it)");
                }
                continue;
            }
            if (packet.Kind == PacketKind.Udp)
            {
                if (packet.SourcePort != 15118 && packet.DestinationPort != 15118)
                {
                    continue;
                }
                if (TryFrame(packet.Payload, out var type, out var payload, out string? why))
                {
                    yield return new V2gtpItem(packet, packet.DestinationPort == 15118, type, payload);
                }
                else
                {
                    problem(packet, "UDP 15118 datagram is not a V2GTP frame: " + why);
                }
                continue;
            }
            if (packet.Kind is not (PacketKind.Tcp or PacketKind.Tls))
            {
                continue;
            }
            string from = packet.From;
            ev.TryAdd(packet.Stream, from);
            var key = (packet.Stream, from);
            if (broken.Contains(key))
            {
                continue;
            }
            if (!buffers.TryGetValue(key, out var buffer))
            {
                buffers[key] = buffer = [];
            }
            buffer.AddRange(packet.Payload);
            while (buffer.Count >= V2gtpFrame.HeaderLength)
            {
                var sequence = new ReadOnlySequence<byte>(buffer.ToArray());
                V2gtpPayloadType type;
                ReadOnlySequence<byte> payload;
                bool complete;
                try
                {
                    complete = V2gtpFrame.TryReadFrame(ref sequence, 1 << 20, out type, out payload);
                }
                catch (V2gtpException e)
                {
                    problem(packet, $"TCP stream {packet.Stream} from {from}: {e.Message}; the rest of this direction is not V2GTP"
                        + (buffer[0] == 0x16 || buffer[0] == 0x17 ? " (TLS: give the --keylog of the session)" : ""));
                    broken.Add(key);
                    break;
                }
                if (!complete)
                {
                    break;
                }
                buffer.RemoveRange(0, (int)(buffer.Count - sequence.Length));
                yield return new V2gtpItem(packet, ev[packet.Stream] == from, type, payload.ToArray());
            }
        }
    }

    private static bool TryFrame(byte[] datagram, out V2gtpPayloadType type, out byte[] payload, out string? why)
    {
        var sequence = new ReadOnlySequence<byte>(datagram);
        type = default;
        payload = [];
        why = null;
        try
        {
            if (V2gtpFrame.TryReadFrame(ref sequence, 1 << 16, out type, out var p) && sequence.Length == 0)
            {
                payload = p.ToArray();
                return true;
            }
            why = "length does not match";
        }
        catch (V2gtpException e)
        {
            why = e.Message;
        }
        return false;
    }

    /// <summary>The first V2G session (TCP stream) of a capture, for a replay.</summary>
    public static CapturedSession FirstSession(IReadOnlyList<Packet> packets)
    {
        var items = Messages(packets, (_, _) => { }).Where(i => i.Packet.Kind != PacketKind.Udp).ToList();
        if (items.Count == 0)
        {
            throw new FormatException(packets.Any(p => p.Kind == PacketKind.TlsEncrypted)
                ? "the capture's TLS stream could not be decrypted: give the session's key log (--capture-keylog)"
                : "the capture holds no V2GTP over TCP");
        }
        int stream = items[0].Packet.Stream;
        double t0 = items[0].Packet.Time;
        return new CapturedSession([.. items.Where(i => i.Packet.Stream == stream)
            .Select(i => new CapturedMessage(i.FromEv, i.Payload, i.Type == V2gtpPayloadType.Exi ? null : i.Type, i.Packet.Time - t0))]);
    }
}
