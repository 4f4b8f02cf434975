using CsCheck;
using Juice.Hlc.Exi;
using Juice.Hlc.Exi.AppHandshake;

namespace Juice.Hlc.Tests.Exi;

/// <summary>
/// Random mutations and truncations of the reference vectors (documents and fragments of every schema): the decoder
/// answers with a model or with ExiContentException, never anything else, and a model it accepts is one the encoder
/// accepts, also after a round trip through its XML form. Random valid
/// messages: encode, decode, encode gives the same bytes. Bounded by iteration counts.
/// </summary>
public sealed class PropertyTests
{
    private static readonly (ExiCodec Codec, byte[] Exi)[] Corpus =
        ReferenceVectorTests.Folders.SelectMany(folder => Vectors.Names(folder).Select(name =>
            (ReferenceVectorTests.CodecFor(folder), Vectors.ReadHex(Path.Combine(Vectors.ExiFolder(folder), name + ".exi"))))).ToArray();

    private static byte[] Mutate(byte[] exi, int kind, int position, byte value)
    {
        int at = exi.Length == 0 ? 0 : position % exi.Length;
        return kind switch
        {
            0 => exi.Select((b, i) => i == at ? (byte)(b ^ (1 << (value & 7))) : b).ToArray(),    // flip one bit
            1 => exi[..at],                                                                      // truncate
            2 => [.. exi[..at], value, .. exi[at..]],                                            // insert a byte
            3 => [.. exi[..at], .. exi[Math.Min(exi.Length, at + 1)..]],                         // delete a byte
            _ => exi.Select((b, i) => i == at ? value : b).ToArray(),                            // overwrite a byte
        };
    }

    [Fact]
    public void Mutated_streams_decode_or_fail_with_ExiContentException_only()
    {
        int decoded = 0, refused = 0;
        Gen.Select(Gen.Int[0, Corpus.Length - 1], Gen.Int[0, 4], Gen.Int[0, 100_000], Gen.Byte)
            .Sample((index, kind, position, value) =>
            {
                var (codec, exi) = Corpus[index];
                byte[] mutated = Mutate(exi, kind, position, value);
                ExiRoot root;
                try
                {
                    root = codec.Decode(mutated);
                }
                catch (ExiContentException e)
                {
                    Assert.InRange(e.BitOffset, 0, mutated.Length * 8L);
                    Interlocked.Increment(ref refused);
                    return;
                }
                Interlocked.Increment(ref decoded);
                // whatever the decoder accepts is a valid model: it encodes, and that encoding is stable
                byte[] again = codec.Encode(root);
                Assert.Equal(again, codec.Encode(codec.Decode(again)));
                // and its XML form (control characters as character references) reads back to the same bytes
                Assert.Equal(again, codec.Encode(codec.ReadXml(ExiXml.Parse(codec.WriteXml(root)))));
            }, iter: 30_000, threads: 1);
        Assert.True(refused > 1000 && decoded > 100, $"decoded {decoded}, refused {refused}");
    }

    public static TheoryData<string> Roots() => ["din", "iso2", "appHandshake-req", "appHandshake-res"];

    /// <summary>The ISO 15118-20 message sets: codec, entry class (one Decode{Message} per message) and its document elements.</summary>
    public static TheoryData<string> Iso20Sets() => ["iso20-common", "iso20-ac", "iso20-dc", "iso20-wpt", "iso20-acdp"];

    [Theory]
    [MemberData(nameof(Iso20Sets))]
    public void Random_valid_ISO_15118_20_messages_encode_decode_encode_to_the_same_bytes(string set)
    {
        var (codec, entry, elements) = set switch
        {
            "iso20-common" => (ExiCodec.Iso20Common, typeof(Juice.Hlc.Exi.Iso20.Iso20CommonExi), Juice.Hlc.Exi.Iso20.Iso20CommonExi.DocumentElements),
            "iso20-ac" => (ExiCodec.Iso20Ac, typeof(Juice.Hlc.Exi.Iso20.Iso20AcExi), Juice.Hlc.Exi.Iso20.Iso20AcExi.DocumentElements),
            "iso20-dc" => (ExiCodec.Iso20Dc, typeof(Juice.Hlc.Exi.Iso20.Iso20DcExi), Juice.Hlc.Exi.Iso20.Iso20DcExi.DocumentElements),
            "iso20-wpt" => (ExiCodec.Iso20Wpt, typeof(Juice.Hlc.Exi.Iso20.Iso20WptExi), Juice.Hlc.Exi.Iso20.Iso20WptExi.DocumentElements),
            _ => (ExiCodec.Iso20Acdp, typeof(Juice.Hlc.Exi.Iso20.Iso20AcdpExi), Juice.Hlc.Exi.Iso20.Iso20AcdpExi.DocumentElements),
        };
        // every message of the set: the element and the model type its typed decoder returns
        var messages = elements
            .Select(e => (Name: e, Decoder: entry.GetMethod("Decode" + e.LocalName, [typeof(ReadOnlySpan<byte>)])))
            .Where(m => m.Decoder is not null)
            .Select(m => (m.Name, Type: m.Decoder!.ReturnType))
            .ToArray();
        Assert.NotEmpty(messages);
        // a type named after a global element of any -20 schema (Scheduled_DC_CLReqControlModeType for
        // Scheduled_DC_CLReqControlMode) may occur only where this set declares that element
        var ownElements = elements.Select(e => e.LocalName).ToHashSet();
        var anyElements = new[] { Juice.Hlc.Exi.Iso20.Iso20CommonExi.DocumentElements, Juice.Hlc.Exi.Iso20.Iso20AcExi.DocumentElements, Juice.Hlc.Exi.Iso20.Iso20DcExi.DocumentElements,
            Juice.Hlc.Exi.Iso20.Iso20WptExi.DocumentElements, Juice.Hlc.Exi.Iso20.Iso20AcdpExi.DocumentElements }.SelectMany(e => e).Select(e => e.LocalName).ToHashSet();
        bool Allowed(Type t) => !t.Name.EndsWith("Type", StringComparison.Ordinal) || !anyElements.Contains(t.Name[..^4]) || ownElements.Contains(t.Name[..^4]);
        int ok = 0;
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            var (name, type) = messages[random.Next(messages.Length)];
            var rootElement = new ExiRoot(name, new RandomModel(random, Allowed).Create(type));
            byte[] exi = codec.Encode(rootElement);
            var decoded = codec.Decode(exi);
            Assert.Equal(Convert.ToHexStringLower(exi), Convert.ToHexStringLower(codec.Encode(decoded)));
            Assert.Equal(codec.WriteXml(rootElement), codec.WriteXml(decoded));
            ok++;
        }, iter: 1000, threads: 1);
        Assert.Equal(1000, ok);
    }

    [Theory]
    [MemberData(nameof(Roots))]
    public void Random_valid_messages_encode_decode_encode_to_the_same_bytes(string root)
    {
        var (codec, type, name) = root switch
        {
            "din" => (ExiCodec.Din, typeof(Juice.Hlc.Exi.Din.V2G_Message), Juice.Hlc.Exi.Din.DinExi.DocumentElements.Single(e => e.LocalName == "V2G_Message")),
            "iso2" => (ExiCodec.Iso2, typeof(Juice.Hlc.Exi.Iso2.V2G_Message), Juice.Hlc.Exi.Iso2.Iso2Exi.DocumentElements.Single(e => e.LocalName == "V2G_Message")),
            "appHandshake-req" => (ExiCodec.AppHandshake, typeof(SupportedAppProtocolReq), AppHandshakeExi.DocumentElements[0]),
            _ => (ExiCodec.AppHandshake, typeof(SupportedAppProtocolRes), AppHandshakeExi.DocumentElements[1]),
        };
        int ok = 0;
        Gen.Int.Sample(seed =>
        {
            var model = new RandomModel(new Random(seed)).Create(type);
            var rootElement = new ExiRoot(name, model);
            byte[] exi = codec.Encode(rootElement);
            var decoded = codec.Decode(exi);
            Assert.Equal(Convert.ToHexStringLower(exi), Convert.ToHexStringLower(codec.Encode(decoded)));
            Assert.Equal(codec.WriteXml(rootElement), codec.WriteXml(decoded));
            ok++;
        }, iter: 1500, threads: 1);
        Assert.Equal(1500, ok);
    }
}
