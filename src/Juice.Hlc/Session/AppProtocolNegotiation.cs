using Juice.Hlc.Exi.AppHandshake;

namespace Juice.Hlc.Session;

/// <summary>The V2G application protocols this stack speaks.</summary>
public enum V2gProtocol
{
    Din70121,
    Iso15118_2,

    /// <summary>ISO 15118-20, AC (and AC_BPT) services: urn:iso:std:iso:15118:-20:AC.</summary>
    Iso15118_20Ac,

    /// <summary>ISO 15118-20, DC (and DC_BPT) services: urn:iso:std:iso:15118:-20:DC.</summary>
    Iso15118_20Dc,

    /// <summary>ISO 15118-20, wireless power transfer: urn:iso:std:iso:15118:-20:WPT.</summary>
    Iso15118_20Wpt,

    /// <summary>ISO 15118-20, automated connection device (pantograph): urn:iso:std:iso:15118:-20:ACDP.</summary>
    Iso15118_20Acdp,
}

/// <summary>A protocol as announced in supportedAppProtocol: its namespace and version.</summary>
public sealed record AppProtocolVersion(V2gProtocol Protocol, string Namespace, uint Major, uint Minor)
{
    /// <summary>One of the ISO 15118-20 namespaces (AC, DC, WPT, ACDP).</summary>
    public bool IsIso20 => Protocol is V2gProtocol.Iso15118_20Ac or V2gProtocol.Iso15118_20Dc or V2gProtocol.Iso15118_20Wpt or V2gProtocol.Iso15118_20Acdp;

    /// <summary>DIN SPEC 70121:2014, namespace of 2012, version 2.0.</summary>
    public static readonly AppProtocolVersion Din = new(V2gProtocol.Din70121, "urn:din:70121:2012:MsgDef", 2, 0);

    /// <summary>ISO 15118-2:2014, namespace of 2013, version 2.0.</summary>
    public static readonly AppProtocolVersion Iso2 = new(V2gProtocol.Iso15118_2, "urn:iso:15118:2:2013:MsgDef", 2, 0);

    /// <summary>ISO 15118-20:2022, one namespace per energy transfer family (the SECC's choice selects the message set), version 1.0.</summary>
    public static readonly AppProtocolVersion Iso20Ac = new(V2gProtocol.Iso15118_20Ac, "urn:iso:std:iso:15118:-20:AC", 1, 0);

    public static readonly AppProtocolVersion Iso20Dc = new(V2gProtocol.Iso15118_20Dc, "urn:iso:std:iso:15118:-20:DC", 1, 0);

    public static readonly AppProtocolVersion Iso20Wpt = new(V2gProtocol.Iso15118_20Wpt, "urn:iso:std:iso:15118:-20:WPT", 1, 0);

    public static readonly AppProtocolVersion Iso20Acdp = new(V2gProtocol.Iso15118_20Acdp, "urn:iso:std:iso:15118:-20:ACDP", 1, 0);

    /// <summary>The protocols whose sessions this stack runs.</summary>
    public static readonly IReadOnlyList<AppProtocolVersion> All = [Iso2, Din];

    /// <summary>Every protocol whose namespace this stack knows (and whose messages its codec reads).</summary>
    public static readonly IReadOnlyList<AppProtocolVersion> Known = [Iso20Ac, Iso20Dc, Iso20Wpt, Iso20Acdp, Iso2, Din];

    public static AppProtocolVersion Of(V2gProtocol protocol) => Known.First(p => p.Protocol == protocol);

    /// <summary>
    /// A preference list as the tools and the configuration write it, comma separated: <c>iso20</c> (-20 DC, then -20
    /// AC), <c>iso20-dc</c>, <c>iso20-ac</c>, <c>iso2</c>, <c>din</c>; FormatException naming what is allowed.
    /// </summary>
    public static IReadOnlyList<AppProtocolVersion> ParseList(string list)
    {
        var result = new List<AppProtocolVersion>();
        foreach (string name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            AppProtocolVersion[] named = name.ToLowerInvariant() switch
            {
                "iso20" => [Iso20Dc, Iso20Ac],
                "iso20-dc" => [Iso20Dc],
                "iso20-ac" => [Iso20Ac],
                "iso2" => [Iso2],
                "din" => [Din],
                "iso20-wpt" or "iso20-acdp" or "wpt" or "acdp" => throw new FormatException(
                    $"'{name}': ISO 15118-20 WPT and ACDP sessions are not offered by this SECC (an EV that offers only them gets Failed_NoNegotiation); iso20, iso20-dc, iso20-ac, iso2, din"),
                _ => throw new FormatException($"unknown protocol '{name}' (iso20, iso20-dc, iso20-ac, iso2, din)"),
            };
            result.AddRange(named.Where(p => !result.Contains(p)));
        }
        return result.Count > 0 ? result : throw new FormatException("no protocol given (iso20, iso20-dc, iso20-ac, iso2, din)");
    }
}

/// <summary>The SECC's answer and, when negotiation succeeded, the protocol the session continues with.</summary>
public sealed record NegotiationResult(SupportedAppProtocolRes Response, AppProtocolVersion? Selected, AppProtocolType? Offer);

/// <summary>
/// supportedAppProtocol handshake (ISO 15118-2:2014 §8.2 and DIN SPEC 70121 §9.1, both on the AppProtocol
/// schema): the EVCC lists the protocols it speaks with a priority (1 = highest); the SECC picks one it speaks too.
/// </summary>
public static class AppProtocolNegotiation
{
    /// <summary>
    /// SECC side. Among the EV's offers whose namespace is in <paramref name="secc"/> and whose major version
    /// matches, the one with the EV's highest priority wins (the order of <paramref name="secc"/> breaks a tie).
    /// Same minor version: OK_SuccessfulNegotiation; another minor version: OK_SuccessfulNegotiationWithMinorDeviation;
    /// none: Failed_NoNegotiation without SchemaID.
    /// </summary>
    public static NegotiationResult Negotiate(SupportedAppProtocolReq request, IReadOnlyList<AppProtocolVersion> secc)
    {
        var best = request.AppProtocol
            .Select(offer => (offer, ours: secc.Select((p, i) => (p, i)).FirstOrDefault(x => x.p.Namespace == offer.ProtocolNamespace && x.p.Major == offer.VersionNumberMajor)))
            .Where(x => x.ours.p is not null)
            .OrderBy(x => x.offer.Priority)
            .ThenBy(x => x.ours.i)
            .FirstOrDefault();
        if (best.ours.p is not { } chosen)
        {
            return new NegotiationResult(new SupportedAppProtocolRes { ResponseCode = ResponseCodeType.Failed_NoNegotiation }, null, null);
        }
        var code = best.offer.VersionNumberMinor == chosen.Minor
            ? ResponseCodeType.OK_SuccessfulNegotiation
            : ResponseCodeType.OK_SuccessfulNegotiationWithMinorDeviation;
        return new NegotiationResult(new SupportedAppProtocolRes { ResponseCode = code, SchemaID = best.offer.SchemaID }, chosen, best.offer);
    }

    /// <summary>EV side: the request for a preference list (first = priority 1, SchemaIDs 1, 2, …).</summary>
    public static SupportedAppProtocolReq Offer(IReadOnlyList<AppProtocolVersion> preference)
    {
        if (preference.Count is 0 or > 20)
        {
            throw new ArgumentException("between 1 and 20 protocols can be offered", nameof(preference));
        }
        return new SupportedAppProtocolReq
        {
            AppProtocol = [.. preference.Select((p, i) => new AppProtocolType
            {
                ProtocolNamespace = p.Namespace,
                VersionNumberMajor = p.Major,
                VersionNumberMinor = p.Minor,
                SchemaID = (byte)(i + 1),
                Priority = (byte)(i + 1),
            })],
        };
    }

    /// <summary>EV side: which offered protocol the SECC accepted, or null when it refused (or named no offer).</summary>
    public static AppProtocolVersion? Accepted(SupportedAppProtocolReq offer, SupportedAppProtocolRes response, IReadOnlyList<AppProtocolVersion> preference)
    {
        if (response.ResponseCode == ResponseCodeType.Failed_NoNegotiation || response.SchemaID is not { } id)
        {
            return null;
        }
        int index = offer.AppProtocol.FindIndex(p => p.SchemaID == id);
        return index < 0 ? null : preference.FirstOrDefault(p => p.Namespace == offer.AppProtocol[index].ProtocolNamespace);
    }
}
