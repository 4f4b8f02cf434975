using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Replay;

/// <summary>One V2G message of a capture: who sent it, its EXI stream, its V2GTP payload type where the capture kept it, its time where known.</summary>
public sealed record CapturedMessage(bool FromEv, byte[] Exi, V2gtpPayloadType? PayloadType = null, double? Seconds = null)
{
    public string Direction => FromEv ? "ev->se" : "se->ev";
}

/// <summary>
/// The V2G messages of one captured TCP session, in order: supportedAppProtocolReq/Res first, then the negotiated
/// protocol's requests and responses. Read from the text forms the tools and the shared vectors use; a pcap is turned
/// into this by the CLI (through tshark).
/// </summary>
public sealed partial class CapturedSession
{
    public CapturedSession(IReadOnlyList<CapturedMessage> messages)
    {
        if (messages.Count < 2 || !messages[0].FromEv || messages[1].FromEv)
        {
            throw new FormatException("a capture starts with the EV's supportedAppProtocolReq and the SECC's answer");
        }
        Messages = messages;
    }

    public IReadOnlyList<CapturedMessage> Messages { get; }

    /// <summary>
    /// Parses a text capture: lines <c>ev->se HEX</c> / <c>se->ev HEX</c> (shared/vectors/sessions/*/exi.txt; HEX may
    /// also be a whole V2GTP frame, as in v2gtp.txt), or the <c>--log</c> file of <c>juice ev</c> / <c>juice secc</c>
    /// (comments <c>&lt;!-- [peer] ev->se HEX --></c>; of a SECC log with several EVs, the first EV's connection).
    /// </summary>
    public static CapturedSession ParseText(string text)
    {
        var messages = new List<CapturedMessage>();
        string? peer = null;
        int lineNumber = 0;
        foreach (string raw in text.Split('\n'))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var m = LogLine().Match(line);
            if (m.Success)
            {
                string p = m.Groups["peer"].Value;
                peer ??= p;
                if (p != peer)
                {
                    continue;   // another EV of the same SECC log
                }
            }
            else if (!(m = PlainLine().Match(line)).Success)
            {
                if (line.StartsWith('<') || line.StartsWith("<!--", StringComparison.Ordinal))
                {
                    continue;   // the decoded XML of a log
                }
                throw new FormatException($"line {lineNumber}: neither 'ev->se HEX' / 'se->ev HEX' nor a juice log comment");
            }
            byte[] bytes = Convert.FromHexString(m.Groups["hex"].Value);
            messages.Add(FromPayloadOrFrame(m.Groups["dir"].Value == "ev->se", bytes, null));
        }
        return new CapturedSession(messages);
    }

    /// <summary>A message from bytes that are either an EXI stream (starting 0x80) or a whole V2GTP frame (01 FE ...).</summary>
    public static CapturedMessage FromPayloadOrFrame(bool fromEv, byte[] bytes, double? seconds)
    {
        if (bytes.Length >= V2gtpFrame.HeaderLength && bytes[0] == 0x01 && bytes[1] == 0xFE
            && BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4)) == bytes.Length - V2gtpFrame.HeaderLength)
        {
            var type = (V2gtpPayloadType)BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(2));
            return new CapturedMessage(fromEv, bytes[V2gtpFrame.HeaderLength..], type, seconds);
        }
        return new CapturedMessage(fromEv, bytes, null, seconds);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Messages.Count} messages");

    [GeneratedRegex(@"^<!--\s+(?:(?<peer>\S+)\s+)?(?<dir>ev->se|se->ev)\s+(?<hex>[0-9A-Fa-f]+)\s+-->$")]
    private static partial Regex LogLine();

    [GeneratedRegex(@"^(?<dir>ev->se|se->ev)\s+(?<hex>[0-9A-Fa-f]+)$")]
    private static partial Regex PlainLine();
}
