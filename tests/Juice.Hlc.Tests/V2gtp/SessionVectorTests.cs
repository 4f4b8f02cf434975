using System.Buffers;
using Juice.Hlc.Exi;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Tests.V2gtp;

/// <summary>
/// The sessions captured from another implementation (shared/vectors/sessions): every V2GTP frame parses with the
/// payload type of its message set, and every EXI message in it decodes with our codec and re-encodes to the same
/// bytes. ISO 15118-20: the payload type selects the message set (main stream: CommonMessages, AC, DC).
/// </summary>
public sealed class SessionVectorTests
{
    public static TheoryData<string> Sessions() =>
        [.. Directory.GetDirectories(Path.Combine(Vectors.Shared, "vectors", "sessions")).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Sessions))]
    public void Every_captured_message_decodes_and_reencodes_to_the_same_bytes(string session)
    {
        string dir = Path.Combine(Vectors.Shared, "vectors", "sessions", session);
        var protocol = session.StartsWith("din", StringComparison.Ordinal) ? ExiCodec.Din : session.StartsWith("iso15118-20", StringComparison.Ordinal) ? null : ExiCodec.Iso2;
        var decoded = File.ReadAllLines(Path.Combine(dir, "decoded.jsonl")).Where(l => l.Length > 0)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("payload_type").GetString()!).ToList();
        var frames = File.ReadAllLines(Path.Combine(dir, "v2gtp.txt")).Where(l => l.Length > 0).ToList();
        var exi = File.ReadAllLines(Path.Combine(dir, "exi.txt")).Where(l => l.Length > 0).ToList();
        Assert.Equal(exi.Count, frames.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            var buffer = new ReadOnlySequence<byte>(Convert.FromHexString(frames[i].Split(' ')[1]));
            Assert.True(V2gtpFrame.TryReadFrame(ref buffer, 65536, out var type, out var payload));
            // the payload type the capture's own decoding names, e.g. "8004" for a -20 DC message
            Assert.Equal(Convert.ToUInt16(decoded[i], 16), (ushort)type);
            Assert.True(protocol is not null || i < 2 || type != V2gtpPayloadType.Exi);
            Assert.True(buffer.IsEmpty);
            string hex = exi[i].Split(' ')[1];
            Assert.Equal(hex, Convert.ToHexStringLower(payload.ToArray()));
            var codec = i < 2 ? ExiCodec.AppHandshake : protocol ?? type switch
            {
                V2gtpPayloadType.MainStream => ExiCodec.Iso20Common,
                V2gtpPayloadType.AcMainStream => ExiCodec.Iso20Ac,
                V2gtpPayloadType.DcMainStream => ExiCodec.Iso20Dc,
                V2gtpPayloadType.WptMainStream => ExiCodec.Iso20Wpt,
                V2gtpPayloadType.AcdpMainStream => ExiCodec.Iso20Acdp,
                _ => throw new InvalidDataException($"payload type {type} in an ISO 15118-20 session"),
            };
            var root = codec.Decode(Convert.FromHexString(hex));
            Assert.Equal(hex, Convert.ToHexStringLower(codec.Encode(root)));
        }
    }
}
