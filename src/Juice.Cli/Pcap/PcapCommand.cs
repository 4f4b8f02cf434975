using System.CommandLine;
using System.Globalization;
using System.Net.NetworkInformation;
using System.Text.Json;
using System.Text.Json.Nodes;
using Juice.Hlc.Exi;
using Juice.Hlc.Replay;
using Juice.Hlc.Sdp;
using Juice.Hlc.Slac;
using Juice.Hlc.V2gtp;

namespace Juice.Cli.Pcap;

/// <summary>
/// <c>juice pcap decode FILE [--keylog F] [--schema auto|din|iso2|iso20-…] [--json]</c>: every SDP, SLAC and V2GTP
/// message of a capture in order, with time and direction, EXI decoded to XML with the schema the
/// supportedAppProtocol negotiation of its connection selected.
/// </summary>
internal static class PcapCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "a pcap or pcapng capture (juice ev/secc --pcap, tcpdump, Wireshark)" };
        var keyLog = new Option<FileInfo?>("--keylog") { Description = "TLS key log (SSLKEYLOGFILE format, as juice ev --keylog writes) to decrypt TLS streams" };
        var schema = new Option<string>("--schema")
        {
            Description = "auto: per connection from its supportedAppProtocol negotiation; or the schema of a capture that starts after it: din, iso2, iso20-ac, iso20-dc, iso20-wpt, iso20-acdp",
            DefaultValueFactory = _ => "auto",
        };
        schema.AcceptOnlyFromAmong("auto", "din", "iso2", "iso20-ac", "iso20-dc", "iso20-wpt", "iso20-acdp");
        var json = new Option<bool>("--json") { Description = "one JSON object a line: t, frame, dir, from, to, kind, payloadType, schema, message, hex, xml (or decoded fields)" };
        var decode = new Command("decode", "decode every SDP, SLAC and V2GTP message of a capture (tshark reassembles and decrypts; we decode); exit 1 when a message could not be decoded")
        {
            file, keyLog, schema, json,
        };
        decode.SetAction(async (result, ct) =>
        {
            try
            {
                var packets = await Tshark.ReadAsync(result.GetValue(file)!.FullName, result.GetValue(keyLog)?.FullName, ct);
                return Decode(packets, result.GetValue(schema)!, result.GetValue(json), Console.Out) == 0 ? 0 : 1;
            }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException or InvalidOperationException)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }
        });
        var pcap = new Command("pcap", "Read captures: decode SDP, SLAC and V2G messages");
        pcap.Subcommands.Add(decode);
        return pcap;
    }

    private static readonly Dictionary<string, string> ProtocolOfSchema = new()
    {
        ["din"] = Juice.Hlc.Session.AppProtocolVersion.Din.Namespace,
        ["iso2"] = Juice.Hlc.Session.AppProtocolVersion.Iso2.Namespace,
        ["iso20-ac"] = Juice.Hlc.Session.AppProtocolVersion.Iso20Ac.Namespace,
        ["iso20-dc"] = Juice.Hlc.Session.AppProtocolVersion.Iso20Dc.Namespace,
        ["iso20-wpt"] = Juice.Hlc.Session.AppProtocolVersion.Iso20Wpt.Namespace,
        ["iso20-acdp"] = Juice.Hlc.Session.AppProtocolVersion.Iso20Acdp.Namespace,
    };

    /// <summary>Writes every message; returns how many could not be decoded.</summary>
    public static int Decode(IReadOnlyList<Packet> packets, string schema, bool json, TextWriter output)
    {
        double? t0 = packets.Count > 0 ? packets[0].Time : null;
        var handshakes = new Dictionary<int, V2gMessageView>();
        var protocols = new Dictionary<int, string?>();
        int count = 0;
        int problems = 0;
        void Write(Packet packet, string direction, string kind, string? payloadType, string? schemaName, string message, byte[] bytes, string? xml, JsonObject? fields, string? problem = null)
        {
            count++;
            if (problem is not null)
            {
                problems++;
            }
            if (json)
            {
                var line = new JsonObject
                {
                    ["t"] = packet.Time,
                    ["frame"] = packet.Frame,
                    ["dir"] = direction,
                    ["from"] = packet.From,
                    ["to"] = packet.To,
                    ["kind"] = kind,
                    ["payloadType"] = payloadType,
                    ["schema"] = schemaName,
                    ["message"] = message,
                    ["hex"] = Convert.ToHexStringLower(bytes),
                };
                if (xml is not null)
                {
                    line["xml"] = xml;
                }
                if (fields is not null)
                {
                    line["fields"] = fields;
                }
                if (problem is not null)
                {
                    line["problem"] = problem;
                }
                output.WriteLine(line.ToJsonString(JsonLines));
                return;
            }
            string time = DateTimeOffset.FromUnixTimeMilliseconds((long)(packet.Time * 1000)).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"#{packet.Frame} {time} (+{packet.Time - t0:0.000} s) {direction} {packet.From} -> {packet.To} {kind}{(payloadType is null ? "" : " " + payloadType)} {message}{(schemaName is null ? "" : $" [{schemaName}]")}"));
            if (problem is not null)
            {
                output.WriteLine("  " + problem);
            }
            if (fields is not null)
            {
                output.WriteLine("  " + fields.ToJsonString());
            }
            if (xml is not null)
            {
                output.WriteLine(xml);
            }
        }

        var items = new List<(double Time, int Frame, Action Write)>();
        string? evMac = null;   // the host that sends CM_SLAC_PARM.REQ is the EV's
        foreach (var packet in packets.Where(p => p.Kind == PacketKind.Ethernet))
        {
            var parsed = SlacFrame.Parse(packet.Payload, out string? problem);
            if (parsed?.Message is SlacParmReq)
            {
                evMac ??= packet.Source;
            }
            items.Add((packet.Time, packet.Frame, () =>
            {
                string direction = parsed?.Message switch
                {
                    SetKeyReq => "host->modem",
                    SetKeyCnf => "modem->host",
                    _ when packet.Source == evMac => "ev->se",
                    _ => "se->ev",
                };
                Write(packet, direction, "SLAC", null, null, parsed?.Message.Name ?? "HomePlug AV", packet.Payload, null,
                    parsed is { } q ? Fields(q.Message) : null, parsed is null ? problem : null);
            }));
        }
        foreach (var item in V2gCapture.Messages(packets, (packet, problem) => items.Add((packet.Time, packet.Frame,
            () => Write(packet, "?", packet.Kind is PacketKind.Udp ? "UDP" : packet.Kind is PacketKind.Tcp ? "TCP" : "TLS", null, null, "not decodable", packet.Payload, null, null, problem)))))
        {
            var packet = item.Packet;
            string type = $"0x{(ushort)item.Type:x4}";
            if (item.Type is V2gtpPayloadType.SdpRequest or V2gtpPayloadType.SdpResponse)
            {
                JsonObject? fields = item.Type == V2gtpPayloadType.SdpRequest
                    ? SdpRequest.TryParse(item.Payload) is { } rq ? new JsonObject { ["security"] = rq.Security.ToString(), ["transport"] = rq.Transport.ToString() } : null
                    : SdpResponse.TryParse(item.Payload) is { } rs ? new JsonObject { ["address"] = rs.Address.ToString(), ["port"] = rs.Port, ["security"] = rs.Security.ToString(), ["transport"] = rs.Transport.ToString() } : null;
                items.Add((packet.Time, packet.Frame, () => Write(packet, item.Direction, "SDP", type, null, item.Type.ToString(), item.Payload, null, fields, fields is null ? "malformed SDP payload" : null)));
                continue;
            }
            int stream = packet.Stream;
            string? protocol = schema == "auto" ? protocols.GetValueOrDefault(stream) : ProtocolOfSchema[schema];
            V2gMessageView? view = null;
            string? problem = null;
            try
            {
                if (!protocols.ContainsKey(stream) && item.FromEv && !handshakes.ContainsKey(stream) && item.Type == V2gtpPayloadType.Exi && IsHandshake(item.Payload, out var request))
                {
                    view = request;
                    handshakes[stream] = request!;
                }
                else if (handshakes.TryGetValue(stream, out var offer) && !protocols.ContainsKey(stream) && !item.FromEv)
                {
                    view = V2gMessageView.Decode(ExiCodec.AppHandshake, item.Payload);
                    protocols[stream] = V2gSchemas.Negotiated(offer, view);
                }
                else if (protocol is null)
                {
                    problem = "no protocol negotiated on this connection (give --schema for a capture that starts after supportedAppProtocol)";
                }
                else
                {
                    view = V2gSchemas.Decode(protocol, item.Payload, item.Type == V2gtpPayloadType.Exi ? null : item.Type);
                }
            }
            catch (Exception e) when (e is ExiContentException or FormatException)
            {
                problem = "EXI does not decode: " + e.Message;
            }
            string? xml = view?.Root.ToString();
            items.Add((packet.Time, packet.Frame, () => Write(packet, item.Direction, "V2GTP", type, view?.Codec.Name, view?.Name ?? "undecodable", item.Payload, xml, null, problem)));
        }
        foreach (var (_, _, write) in items.OrderBy(i => i.Time).ThenBy(i => i.Frame))
        {
            write();
        }
        if (!json)
        {
            output.WriteLine(problems == 0 ? $"{count} messages" : $"{count} messages, {problems} not decodable");
        }
        return problems;
    }

    private static readonly JsonSerializerOptions JsonLines = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static bool IsHandshake(byte[] exi, out V2gMessageView? request)
    {
        request = null;
        try
        {
            var view = V2gMessageView.Decode(ExiCodec.AppHandshake, exi);
            if (view.Name == "supportedAppProtocolReq")
            {
                request = view;
                return true;
            }
        }
        catch (ExiContentException)
        {
        }
        return false;
    }

    /// <summary>A SLAC message's fields: byte arrays in hex, MAC addresses with colons.</summary>
    private static JsonObject Fields(SlacMessage message)
    {
        var fields = new JsonObject();
        foreach (var property in message.GetType().GetProperties().Where(p => p.Name is not ("EqualityContract" or "Name" or "MmType" or "PayloadLength")))
        {
            object? value = property.GetValue(message);
            fields[property.Name] = value switch
            {
                byte[] bytes => Convert.ToHexStringLower(bytes),
                PhysicalAddress mac => string.Join(":", mac.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture))),
                null => null,
                bool b => b,
                byte or ushort or short or int or uint or long => JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
                _ => value.ToString(),
            };
        }
        return fields;
    }
}
