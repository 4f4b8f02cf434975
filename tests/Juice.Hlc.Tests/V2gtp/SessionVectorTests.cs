using System.Buffers;
using Juice.Hlc.Exi;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Tests.V2gtp;

/// <summary>
/// The sessions captured from another implementation (shared/vectors/sessions): every V2GTP frame parses, and every
/// EXI message in it decodes with our codec and re-encodes to the same bytes.
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
        var protocol = session.StartsWith("din", StringComparison.Ordinal) ? ExiCodec.Din : ExiCodec.Iso2;
        var frames = File.ReadAllLines(Path.Combine(dir, "v2gtp.txt")).Where(l => l.Length > 0).ToList();
        var exi = File.ReadAllLines(Path.Combine(dir, "exi.txt")).Where(l => l.Length > 0).ToList();
        Assert.Equal(exi.Count, frames.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            var buffer = new ReadOnlySequence<byte>(Convert.FromHexString(frames[i].Split(' ')[1]));
            Assert.True(V2gtpFrame.TryReadFrame(ref buffer, 65536, out var type, out var payload));
            Assert.Equal(V2gtpPayloadType.Exi, type);
            Assert.True(buffer.IsEmpty);
            string hex = exi[i].Split(' ')[1];
            Assert.Equal(hex, Convert.ToHexStringLower(payload.ToArray()));
            var codec = i < 2 ? ExiCodec.AppHandshake : protocol;
            var root = codec.Decode(Convert.FromHexString(hex));
            Assert.Equal(hex, Convert.ToHexStringLower(codec.Encode(root)));
        }
    }
}
