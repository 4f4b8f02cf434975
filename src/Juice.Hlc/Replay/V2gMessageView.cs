using System.Globalization;
using System.Xml.Linq;
using Juice.Hlc.Exi;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Replay;

/// <summary>
/// A decoded V2G message of any schema as its XML form: what a replay reads (message type, ResponseCode,
/// EVSEProcessing, SessionID, GenChallenge) and adapts before it encodes the message again. The XML form carries every
/// value of the typed model (the codec's XML round trip gives the same bytes), so nothing the car sent is lost.
/// </summary>
public sealed class V2gMessageView
{
    private V2gMessageView(ExiCodec codec, XElement root)
    {
        Codec = codec;
        Root = root;
    }

    public ExiCodec Codec { get; }
    public XElement Root { get; }

    public static V2gMessageView Decode(ExiCodec codec, byte[] exi) => new(codec, XElement.Parse(codec.WriteXml(codec.Decode(exi))));

    public byte[] Encode() => Codec.Encode(Codec.ReadXml(Root));

    /// <summary>The message type: the body element of DIN / ISO-2 (<c>ChargeParameterDiscoveryReq</c>), the root of appHandshake and ISO 15118-20.</summary>
    public string Name => Root.Name.LocalName == "V2G_Message"
        ? Child(Root, "Body")?.Elements().FirstOrDefault()?.Name.LocalName ?? "V2G_Message"
        : Root.Name.LocalName;

    public string? ResponseCode => Find("ResponseCode")?.Value;

    /// <summary>EVSEProcessing of a response (Finished, Ongoing, Ongoing_WaitingForCustomerInteraction), or null.</summary>
    public string? Processing => Find("EVSEProcessing")?.Value;

    /// <summary>The EVSENotification of a response (None, StopCharging, ReNegotiation; -20: Pause, Terminate, ...).</summary>
    public string? Notification => Find("EVSENotification")?.Value;

    /// <summary>A FAILED… ResponseCode (Failed_NoNegotiation of the handshake too).</summary>
    public bool Failed => ResponseCode?.StartsWith("FAILED", StringComparison.OrdinalIgnoreCase) == true;

    public string? SessionId
    {
        get => Find("SessionID")?.Value;
        set
        {
            if (Find("SessionID") is { } e && value is not null)
            {
                e.Value = value;
            }
        }
    }

    public string? GenChallenge
    {
        get => Find("GenChallenge")?.Value;
        set
        {
            if (Find("GenChallenge") is { } e && value is not null)
            {
                e.Value = value;
            }
        }
    }

    /// <summary>ISO 15118-20 Header/TimeStamp (seconds since the Unix epoch), set to now in a replayed message.</summary>
    public void StampTime(DateTimeOffset now)
    {
        if (Child(Root, "Header") is { } header && Child(header, "TimeStamp") is { } stamp)
        {
            stamp.Value = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>A physical value in SI (Value × 10^Multiplier) of the first element of that name, or null.</summary>
    public double? Physical(string name) => Find(name) is { } e && Child(e, "Value") is { } v
        && double.TryParse(v.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
        ? value * Math.Pow(10, Child(e, "Multiplier") is { } m ? int.Parse(m.Value, CultureInfo.InvariantCulture) : 0)
        : null;

    /// <summary>Copies a physical value's content (Value, Multiplier, Unit) from another message's element into this one's.</summary>
    public bool CopyPhysical(string to, V2gMessageView from, string source)
    {
        if (Find(to) is not { } target || from.Find(source) is not { } value)
        {
            return false;
        }
        foreach (var part in value.Elements())
        {
            if (target.Elements().FirstOrDefault(e => e.Name.LocalName == part.Name.LocalName) is { } slot)
            {
                slot.Value = part.Value;
            }
        }
        return true;
    }

    public XElement? Find(string localName) => Root.Descendants().FirstOrDefault(e => e.Name.LocalName == localName);

    /// <summary>
    /// Every leaf value by its path (repeated siblings numbered), without what a replay adapts on purpose or what
    /// says nothing about the peer's behaviour: SessionID, time stamps (TimeStamp, EVSETimeStamp, DateTimeNow, TMeter), GenChallenge
    /// and signatures.
    /// </summary>
    public IReadOnlyDictionary<string, string> Values()
    {
        var values = new Dictionary<string, string>();
        void Walk(XElement e, string path)
        {
            foreach (var a in e.Attributes().Where(a => !a.IsNamespaceDeclaration))
            {
                values[$"{path}@{a.Name.LocalName}"] = a.Value;
            }
            var children = e.Elements().ToList();
            if (children.Count == 0)
            {
                values[path] = e.Value;
                return;
            }
            foreach (var group in children.GroupBy(c => c.Name.LocalName))
            {
                if (Ignored.Contains(group.Key))
                {
                    continue;
                }
                int i = 0;
                foreach (var child in group)
                {
                    // the first of repeated elements has no index, so that one entry and the first of several compare
                    Walk(child, (path.Length == 0 ? "" : path + "/") + group.Key + (i > 0 ? $"[{i}]" : ""));
                    i++;
                }
            }
        }
        var body = Root.Name.LocalName == "V2G_Message" ? Child(Root, "Body")?.Elements().FirstOrDefault() : Root;
        if (body is not null)
        {
            Walk(body, "");
        }
        return values;
    }

    private static readonly HashSet<string> Ignored = ["SessionID", "TimeStamp", "EVSETimeStamp", "DateTimeNow", "TMeter", "GenChallenge", "Signature", "Header"];

    /// <summary>What differs between this message and the one it is compared with: the message type, or changed, added and missing values.</summary>
    public IReadOnlyList<string> Differences(V2gMessageView expected)
    {
        if (expected.Name != Name)
        {
            return [$"message {Name}, captured {expected.Name}"];
        }
        var mine = Values();
        var theirs = expected.Values();
        var lines = new List<string>();
        foreach (var (path, value) in mine)
        {
            if (!theirs.TryGetValue(path, out string? old))
            {
                lines.Add($"{path} = {value} (not in the capture)");
            }
            else if (old != value)
            {
                lines.Add($"{path} = {value} (captured {old})");
            }
        }
        lines.AddRange(theirs.Keys.Where(p => !mine.ContainsKey(p)).Select(p => $"{p} missing (captured {theirs[p]})"));
        return lines;
    }

    private static XElement? Child(XElement e, string localName) => e.Elements().FirstOrDefault(c => c.Name.LocalName == localName);
}

/// <summary>Which grammar a V2G message of a negotiated protocol is coded with, and on which V2GTP payload type it travels.</summary>
public static class V2gSchemas
{
    /// <summary>The namespace the SECC selected: the offered AppProtocol whose SchemaID the response names; null when it selected none.</summary>
    public static string? Negotiated(V2gMessageView request, V2gMessageView response)
    {
        string? id = response.Find("SchemaID")?.Value;
        if (id is null || response.Failed)
        {
            return null;
        }
        return request.Root.Elements().Where(e => e.Name.LocalName == "AppProtocol")
            .FirstOrDefault(p => p.Elements().Any(c => c.Name.LocalName == "SchemaID" && c.Value == id))
            ?.Elements().FirstOrDefault(c => c.Name.LocalName == "ProtocolNamespace")?.Value;
    }

    /// <summary>The grammars a message of the protocol may use, the protocol's own first for DIN and ISO-2, CommonMessages first for -20.</summary>
    public static IReadOnlyList<ExiCodec> Candidates(string protocolNamespace) => protocolNamespace switch
    {
        _ when protocolNamespace == AppProtocolVersion.Din.Namespace => [ExiCodec.Din],
        _ when protocolNamespace == AppProtocolVersion.Iso2.Namespace => [ExiCodec.Iso2],
        _ when protocolNamespace == AppProtocolVersion.Iso20Ac.Namespace => [ExiCodec.Iso20Common, ExiCodec.Iso20Ac],
        _ when protocolNamespace == AppProtocolVersion.Iso20Dc.Namespace => [ExiCodec.Iso20Common, ExiCodec.Iso20Dc],
        _ when protocolNamespace == AppProtocolVersion.Iso20Wpt.Namespace => [ExiCodec.Iso20Common, ExiCodec.Iso20Wpt],
        _ when protocolNamespace == AppProtocolVersion.Iso20Acdp.Namespace => [ExiCodec.Iso20Common, ExiCodec.Iso20Acdp],
        _ => throw new FormatException($"no codec for the protocol '{protocolNamespace}'"),
    };

    /// <summary>The grammar of a V2GTP payload type (ISO 15118-20 Table 12), null for the plain EXI type of DIN and ISO-2.</summary>
    public static ExiCodec? OfPayloadType(V2gtpPayloadType type) => type switch
    {
        V2gtpPayloadType.MainStream or V2gtpPayloadType.ScheduleRenegotiation or V2gtpPayloadType.MeteringConfirmation => ExiCodec.Iso20Common,
        V2gtpPayloadType.AcMainStream => ExiCodec.Iso20Ac,
        V2gtpPayloadType.DcMainStream => ExiCodec.Iso20Dc,
        V2gtpPayloadType.AcdpMainStream or V2gtpPayloadType.AcdpSystemStatus => ExiCodec.Iso20Acdp,
        V2gtpPayloadType.WptMainStream or V2gtpPayloadType.ParkingStatus => ExiCodec.Iso20Wpt,
        _ => null,
    };

    /// <summary>The payload type a message of this grammar travels on.</summary>
    public static V2gtpPayloadType PayloadTypeOf(ExiCodec codec) =>
        codec == ExiCodec.Iso20Common ? V2gtpPayloadType.MainStream
        : codec == ExiCodec.Iso20Ac ? V2gtpPayloadType.AcMainStream
        : codec == ExiCodec.Iso20Dc ? V2gtpPayloadType.DcMainStream
        : codec == ExiCodec.Iso20Acdp ? V2gtpPayloadType.AcdpMainStream
        : codec == ExiCodec.Iso20Wpt ? V2gtpPayloadType.WptMainStream
        : V2gtpPayloadType.Exi;

    /// <summary>
    /// Decodes one message of the negotiated protocol: by its payload type where known, else with the first candidate
    /// grammar that decodes the stream and codes it back to the same bytes (the -20 grammars share no root element
    /// that a stream could be read as in both with the same bytes).
    /// </summary>
    public static V2gMessageView Decode(string protocolNamespace, byte[] exi, V2gtpPayloadType? payloadType)
    {
        if (payloadType is { } type && OfPayloadType(type) is { } byType)
        {
            return V2gMessageView.Decode(byType, exi);
        }
        ExiContentException? last = null;
        foreach (var codec in Candidates(protocolNamespace))
        {
            try
            {
                var view = V2gMessageView.Decode(codec, exi);
                if (Candidates(protocolNamespace).Count == 1 || view.Encode().AsSpan().SequenceEqual(exi))
                {
                    return view;
                }
            }
            catch (ExiContentException e)
            {
                last = e;
            }
        }
        throw last ?? new ExiContentException(0, "no grammar of the protocol codes this stream back to the same bytes");
    }
}
