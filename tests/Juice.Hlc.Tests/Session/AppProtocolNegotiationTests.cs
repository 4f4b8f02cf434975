using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Session;

namespace Juice.Hlc.Tests.Session;

public sealed class AppProtocolNegotiationTests
{
    private static AppProtocolType Offer(string ns, uint major, uint minor, byte schemaId, byte priority) => new()
    {
        ProtocolNamespace = ns,
        VersionNumberMajor = major,
        VersionNumberMinor = minor,
        SchemaID = schemaId,
        Priority = priority,
    };

    private const string Din = "urn:din:70121:2012:MsgDef";
    private const string Iso2 = "urn:iso:15118:2:2013:MsgDef";
    private const string Iso20 = "urn:iso:std:iso:15118:-20:DC";

    [Fact]
    public void The_EVs_highest_priority_protocol_that_the_SECC_speaks_wins()
    {
        var req = new SupportedAppProtocolReq { AppProtocol = [Offer(Iso20, 1, 0, 1, 1), Offer(Iso2, 2, 0, 2, 2), Offer(Din, 2, 0, 3, 3)] };
        var result = AppProtocolNegotiation.Negotiate(req, [AppProtocolVersion.Din, AppProtocolVersion.Iso2]);
        Assert.Equal(ResponseCodeType.OK_SuccessfulNegotiation, result.Response.ResponseCode);
        Assert.Equal((byte)2, result.Response.SchemaID);
        Assert.Equal(V2gProtocol.Iso15118_2, result.Selected!.Protocol);
    }

    [Fact]
    public void WPT_and_ACDP_are_not_offered_an_EV_with_only_them_fails_and_one_that_also_speaks_DC_gets_DC()
    {
        // the SECC's configuration cannot name them: they are sessions this station does not run
        var e = Assert.Throws<FormatException>(() => AppProtocolVersion.ParseList("iso20-wpt"));
        Assert.Contains("WPT", e.Message);
        var secc = AppProtocolVersion.ParseList("iso20,iso2,din");
        var only = new SupportedAppProtocolReq { AppProtocol = [Offer("urn:iso:std:iso:15118:-20:WPT", 1, 0, 1, 1), Offer("urn:iso:std:iso:15118:-20:ACDP", 1, 0, 2, 2)] };
        Assert.Equal(ResponseCodeType.Failed_NoNegotiation, AppProtocolNegotiation.Negotiate(only, secc).Response.ResponseCode);
        var both = new SupportedAppProtocolReq { AppProtocol = [Offer("urn:iso:std:iso:15118:-20:WPT", 1, 0, 1, 1), Offer(Iso20, 1, 0, 2, 2)] };
        var result = AppProtocolNegotiation.Negotiate(both, secc);
        Assert.Equal((byte)2, result.Response.SchemaID);
        Assert.Equal(V2gProtocol.Iso15118_20Dc, result.Selected!.Protocol);
    }

    [Fact]
    public void A_protocol_the_SECC_is_not_configured_for_is_not_chosen()
    {
        var req = new SupportedAppProtocolReq { AppProtocol = [Offer(Iso2, 2, 0, 10, 1), Offer(Din, 2, 0, 20, 2)] };
        var result = AppProtocolNegotiation.Negotiate(req, [AppProtocolVersion.Din]);
        Assert.Equal((byte)20, result.Response.SchemaID);
        Assert.Equal(V2gProtocol.Din70121, result.Selected!.Protocol);
    }

    [Fact]
    public void Another_minor_version_is_a_successful_negotiation_with_minor_deviation()
    {
        var req = new SupportedAppProtocolReq { AppProtocol = [Offer(Iso2, 2, 1, 7, 1)] };
        var result = AppProtocolNegotiation.Negotiate(req, AppProtocolVersion.All);
        Assert.Equal(ResponseCodeType.OK_SuccessfulNegotiationWithMinorDeviation, result.Response.ResponseCode);
        Assert.Equal((byte)7, result.Response.SchemaID);
    }

    [Theory]
    [InlineData(Iso2, 3u)]       // another major version
    [InlineData(Iso20, 1u)]      // a protocol we do not speak
    public void No_common_protocol_fails_without_a_SchemaID(string ns, uint major)
    {
        var req = new SupportedAppProtocolReq { AppProtocol = [Offer(ns, major, 0, 1, 1)] };
        var result = AppProtocolNegotiation.Negotiate(req, AppProtocolVersion.All);
        Assert.Equal(ResponseCodeType.Failed_NoNegotiation, result.Response.ResponseCode);
        Assert.Null(result.Response.SchemaID);
        Assert.Null(result.Selected);
    }

    [Fact]
    public void The_captured_request_of_a_real_EV_is_answered_with_its_only_protocol()
    {
        // shared/vectors/sessions/din70121_dc_eim_josev: line 1 is the EV's request, line 2 the SECC's answer
        var lines = File.ReadAllLines(Path.Combine(Vectors.Shared, "vectors", "sessions", "din70121_dc_eim_josev", "exi.txt"));
        var req = AppHandshakeExi.DecodeSupportedAppProtocolReq(Convert.FromHexString(lines[0].Split(' ')[1]));
        var result = AppProtocolNegotiation.Negotiate(req, AppProtocolVersion.All);
        Assert.Equal(lines[1].Split(' ')[1], Convert.ToHexStringLower(AppHandshakeExi.EncodeSupportedAppProtocolRes(result.Response)));
    }

    [Fact]
    public void The_EV_offers_its_preference_and_reads_the_answer()
    {
        var preference = new[] { AppProtocolVersion.Iso2, AppProtocolVersion.Din };
        var offer = AppProtocolNegotiation.Offer(preference);
        Assert.Equal([(byte)1, (byte)2], offer.AppProtocol.Select(p => p.Priority));
        var answer = AppProtocolNegotiation.Negotiate(offer, [AppProtocolVersion.Din]);
        Assert.Equal(AppProtocolVersion.Din, AppProtocolNegotiation.Accepted(offer, answer.Response, preference));
        Assert.Null(AppProtocolNegotiation.Accepted(offer, new SupportedAppProtocolRes { ResponseCode = ResponseCodeType.Failed_NoNegotiation }, preference));
    }
}
