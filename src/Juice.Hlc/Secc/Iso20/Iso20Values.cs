using System.Xml.Linq;
using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Secc.Iso20;

/// <summary>Conversions between SI values and ISO 15118-20 RationalNumberType (value × 10^exponent, value a short).</summary>
internal static class Iso20Values
{
    public static RationalNumberType Rn(double value)
    {
        var (exponent, scaled) = PhysicalValues.Scale(value);
        return new RationalNumberType { Exponent = exponent, Value = scaled };
    }

    public static double Si(RationalNumberType rn) => PhysicalValues.Si(rn.Exponent, rn.Value);

    public static double? SiOrNull(RationalNumberType? rn) => rn is null ? null : Si(rn);

    /// <summary>Energy transfer services of ISO 15118-20 (Table 204, ServiceID).</summary>
    public const ushort AcService = 1;

    public const ushort DcService = 2;

    /// <summary>Bidirectional power transfer: AC_BPT and DC_BPT (Table 204).</summary>
    public const ushort AcBptService = 5;

    public const ushort DcBptService = 6;

    /// <summary>BPT service parameters (Tables 206, 208): one channel for charge and discharge, the EV follows the grid.</summary>
    public const int BptChannelUnified = 1;

    public const int GeneratorModeGridFollowing = 1;

    /// <summary>AC_BPT: GridCodeIslandingDetectionMethod (Table 206), passive detection.</summary>
    public const int IslandingDetectionPassive = 2;

    /// <summary>Control modes of the service parameter "ControlMode" (Tables 205/206).</summary>
    public const int Scheduled = 1;

    public const int Dynamic = 2;
}

/// <summary>
/// How ISO 15118-20 messages travel: each message schema on its own V2GTP payload type (Table 12), each message a
/// document whose root is the message element. Decodes a received frame by its payload type and finds the grammar,
/// the root name and the payload type of a message to send from its model type.
/// </summary>
public static class Iso20Framing
{
    private static readonly (ExiCodec Codec, V2gtpPayloadType Type, IReadOnlyList<XName> Roots)[] Schemas =
    [
        (ExiCodec.Iso20Common, V2gtpPayloadType.MainStream, Iso20CommonExi.DocumentElements),
        (ExiCodec.Iso20Ac, V2gtpPayloadType.AcMainStream, Iso20AcExi.DocumentElements),
        (ExiCodec.Iso20Dc, V2gtpPayloadType.DcMainStream, Iso20DcExi.DocumentElements),
        (ExiCodec.Iso20Acdp, V2gtpPayloadType.AcdpMainStream, Iso20AcdpExi.DocumentElements),
        (ExiCodec.Iso20Wpt, V2gtpPayloadType.WptMainStream, Iso20WptExi.DocumentElements),
    ];

    private static readonly Dictionary<Type, (ExiCodec Codec, V2gtpPayloadType Type, XName Root)> ByModel = BuildIndex();

    private static Dictionary<Type, (ExiCodec, V2gtpPayloadType, XName)> BuildIndex()
    {
        var index = new Dictionary<Type, (ExiCodec, V2gtpPayloadType, XName)>();
        var models = typeof(V2GMessageType).Assembly.GetTypes().Where(t => t.Namespace == typeof(V2GMessageType).Namespace && typeof(V2GMessageType).IsAssignableFrom(t) && !t.IsAbstract);
        foreach (var model in models)
        {
            string root = model.Name.EndsWith("Type", StringComparison.Ordinal) ? model.Name[..^4] : model.Name;
            foreach (var (codec, type, roots) in Schemas)
            {
                if (roots.FirstOrDefault(r => r.LocalName == root) is { } name)
                {
                    index[model] = (codec, type, name);
                    break;
                }
            }
        }
        return index;
    }

    /// <summary>
    /// The multiplexed streams beside the main stream (Table 12): schedule renegotiation, metering confirmation and
    /// parking status carry CommonMessages; a response goes back on the stream of its request.
    /// </summary>
    public static bool IsMultiplexed(V2gtpPayloadType type) =>
        type is V2gtpPayloadType.ScheduleRenegotiation or V2gtpPayloadType.MeteringConfirmation or V2gtpPayloadType.ParkingStatus;

    /// <summary>The payload types a -20 session's messages come on: the message schemas' streams and the multiplexed CommonMessages streams.</summary>
    public static bool Carries(V2gtpPayloadType type) => Schemas.Any(s => s.Type == type) || IsMultiplexed(type);

    public static (V2GMessageType Message, ExiCodec Codec) Decode(V2gtpMessage frame)
    {
        var schema = Schemas.FirstOrDefault(s => s.Type == (IsMultiplexed(frame.PayloadType) ? V2gtpPayloadType.MainStream : frame.PayloadType));
        if (schema.Codec is null)
        {
            throw new ExiContentException(0, $"payload type 0x{(ushort)frame.PayloadType:x4} carries no ISO 15118-20 message schema");
        }
        var root = schema.Codec.Decode(frame.Payload);
        return root.Value is V2GMessageType message
            ? (message, schema.Codec)
            : throw new ExiContentException(0, $"{root.Name.LocalName} is not a V2G message");
    }

    public static (V2gtpPayloadType Type, byte[] Exi, ExiCodec Codec) Encode(V2GMessageType message)
    {
        var (codec, type, root) = ByModel[message.GetType()];
        return (type, codec.Encode(new ExiRoot(root, message)), codec);
    }

    /// <summary>The SECC connection runner's view of this framing.</summary>
    internal static SessionFraming<V2GMessageType> Session { get; } = new(Carries, Decode, Encode, m => ByModel[m.GetType()].Type, m => ByModel[m.GetType()].Codec)
    {
        ReplyOn = static (request, response) => IsMultiplexed(request) ? request : response,
    };
}
