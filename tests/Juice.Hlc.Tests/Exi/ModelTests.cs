using System.Numerics;
using Juice.Hlc.Exi;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Exi.Din;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Exi.XmlDsig;

namespace Juice.Hlc.Tests.Exi;

/// <summary>The typed API: lists at their bounds, facets, empty values, non-BMP text, integers beyond 64 bits.</summary>
public sealed class ModelTests
{
    internal static AppProtocolType Protocol(int i) => new()
    {
        ProtocolNamespace = "urn:iso:15118:2:2013:MsgDef",
        VersionNumberMajor = 2,
        VersionNumberMinor = 0,
        SchemaID = (byte)i,
        Priority = (byte)(1 + (i % 20)),
    };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(19)]
    [InlineData(20)]
    public void AppProtocol_lists_from_one_to_maxOccurs_round_trip(int count)
    {
        var req = new SupportedAppProtocolReq { AppProtocol = [.. Enumerable.Range(0, count).Select(Protocol)] };
        byte[] exi = AppHandshakeExi.EncodeSupportedAppProtocolReq(req);
        var back = AppHandshakeExi.DecodeSupportedAppProtocolReq(exi);
        Assert.Equal(count, back.AppProtocol.Count);
        Assert.Equal(req.AppProtocol.Select(p => p.SchemaID), back.AppProtocol.Select(p => p.SchemaID));
        Assert.Equal(exi, AppHandshakeExi.EncodeSupportedAppProtocolReq(back));
    }

    [Theory]
    [InlineData(0, "EE is not allowed")]
    [InlineData(21, "more occurrences than maxOccurs")]
    public void AppProtocol_lists_below_minOccurs_or_above_maxOccurs_are_refused(int count, string reason)
    {
        var req = new SupportedAppProtocolReq { AppProtocol = [.. Enumerable.Range(0, count).Select(Protocol)] };
        var ex = Assert.Throws<InvalidOperationException>(() => AppHandshakeExi.EncodeSupportedAppProtocolReq(req));
        Assert.Contains(reason, ex.Message);
    }

    [Fact]
    public void The_maxOccurs_boundary_costs_one_bit_for_the_end_of_the_list()
    {
        // After the 20th AppProtocol only EE is declared: 1 bit (EE or escape), where cbv2g wrote 2 bits.
        var at19 = AppHandshakeExi.EncodeSupportedAppProtocolReq(new SupportedAppProtocolReq { AppProtocol = [.. Enumerable.Range(0, 19).Select(Protocol)] });
        var at20 = AppHandshakeExi.EncodeSupportedAppProtocolReq(new SupportedAppProtocolReq { AppProtocol = [.. Enumerable.Range(0, 20).Select(Protocol)] });
        Assert.Equal(20, AppHandshakeExi.DecodeSupportedAppProtocolReq(at20).AppProtocol.Count);
        Assert.True(at20.Length > at19.Length);
    }

    [Theory]
    [InlineData(100, true)]
    [InlineData(101, false)]
    public void Strings_are_checked_against_maxLength(int length, bool ok)
    {
        var p = Protocol(1);
        p.ProtocolNamespace = "urn:" + new string('x', length - 4);
        var req = new SupportedAppProtocolReq { AppProtocol = [p] };
        if (ok)
        {
            Assert.Equal(length, AppHandshakeExi.DecodeSupportedAppProtocolReq(AppHandshakeExi.EncodeSupportedAppProtocolReq(req)).AppProtocol[0].ProtocolNamespace.Length);
        }
        else
        {
            Assert.Contains("outside 0..100", Assert.Throws<InvalidOperationException>(() => AppHandshakeExi.EncodeSupportedAppProtocolReq(req)).Message);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(21)]
    public void Bounded_integers_are_checked_against_their_facets(int priority)
    {
        var p = Protocol(1);
        p.Priority = (byte)priority;
        Assert.Throws<InvalidOperationException>(() => AppHandshakeExi.EncodeSupportedAppProtocolReq(new SupportedAppProtocolReq { AppProtocol = [p] }));
    }

    private static Juice.Hlc.Exi.Din.V2G_Message DinSessionSetup(byte[] evccid) => new()
    {
        Header = new Juice.Hlc.Exi.Din.MessageHeaderType { SessionID = [0, 0, 0, 0, 0, 0, 0, 0] },
        Body = new Juice.Hlc.Exi.Din.BodyType { BodyElement = new Juice.Hlc.Exi.Din.SessionSetupReqType { EVCCID = evccid } },
    };

    [Fact]
    public void An_empty_value_is_written_as_the_reference_encoder_does_and_both_forms_decode()
    {
        // shared/docs/exi-v2g.md: EXIficient ends the empty <EVCCID/> with EE through the second level; OpenV2G
        // writes CH with a zero length (stream from a real log). Both are the same message.
        const string exificient = "809a02000000000000000011d400";
        const string openV2G = "809a02000000000000000011d00000";
        Assert.Equal(exificient, Convert.ToHexStringLower(DinExi.Encode(DinSessionSetup([]))));
        foreach (var hex in new[] { exificient, openV2G })
        {
            var body = (Juice.Hlc.Exi.Din.SessionSetupReqType)DinExi.Decode(Convert.FromHexString(hex)).Body.BodyElement!;
            Assert.Empty(body.EVCCID);
        }
    }

    [Fact]
    public void Text_with_characters_outside_the_BMP_round_trips_with_lengths_in_code_points()
    {
        string evseId = "DE*JUI*E\U0001F50C\U0001F697-1";   // 12 code points, 14 UTF-16 units
        var msg = new Juice.Hlc.Exi.Iso2.V2G_Message
        {
            Header = new Juice.Hlc.Exi.Iso2.MessageHeaderType { SessionID = [1, 2, 3, 4, 5, 6, 7, 8] },
            Body = new Juice.Hlc.Exi.Iso2.BodyType
            {
                BodyElement = new Juice.Hlc.Exi.Iso2.SessionSetupResType { ResponseCode = Juice.Hlc.Exi.Iso2.ResponseCodeType.OK_NewSessionEstablished, EVSEID = evseId },
            },
        };
        var back = (Juice.Hlc.Exi.Iso2.SessionSetupResType)Iso2Exi.Decode(Iso2Exi.Encode(msg)).Body.BodyElement!;
        Assert.Equal(evseId, back.EVSEID);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("18446744073709551616")]            // 2^64
    [InlineData("-18446744073709551617")]           // -(2^64) - 1
    [InlineData("1267650600228229401496703205376")] // 2^100
    public void Integers_beyond_64_bits_round_trip(string value)
    {
        var n = BigInteger.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        var signedInfo = new SignedInfoType
        {
            CanonicalizationMethod = new CanonicalizationMethodType { Algorithm = "http://www.w3.org/TR/canonical-exi/" },
            SignatureMethod = new SignatureMethodType { Algorithm = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", HMACOutputLength = n },
            Reference = [new ReferenceType { URI = "#id1", DigestMethod = new DigestMethodType { Algorithm = "http://www.w3.org/2001/04/xmlenc#sha256" }, DigestValue = new byte[32] }],
        };
        var root = new ExiRoot(XmlDsigExi.FragmentElements.Single(e => e.LocalName == "SignedInfo"), signedInfo);
        var back = (SignedInfoType)XmlDsigExi.DecodeFragment(XmlDsigExi.EncodeFragment(root)).Value;
        Assert.Equal(n, back.SignatureMethod.HMACOutputLength);
    }

    [Fact]
    public void A_substitution_group_member_is_chosen_by_the_runtime_type()
    {
        var msg = new Juice.Hlc.Exi.Iso2.V2G_Message
        {
            Header = new Juice.Hlc.Exi.Iso2.MessageHeaderType { SessionID = [9] },
            Body = new Juice.Hlc.Exi.Iso2.BodyType { BodyElement = new Juice.Hlc.Exi.Iso2.SessionStopReqType { ChargingSession = ChargingSessionType.Terminate } },
        };
        string xml = Iso2Exi.WriteXml(new ExiRoot(Iso2Exi.DocumentElements.Single(e => e.LocalName == "V2G_Message"), Iso2Exi.Decode(Iso2Exi.Encode(msg))));
        Assert.Contains("<v2gci_b:SessionStopReq>", xml);
        Assert.Contains("<v2gci_b:ChargingSession>Terminate</v2gci_b:ChargingSession>", xml);
    }

    [Fact]
    public void Encoding_into_a_too_small_span_reports_false()
    {
        var msg = DinSessionSetup([1, 2, 3, 4, 5, 6]);
        Assert.False(DinExi.TryEncode(msg, new byte[4], out int written));
        Assert.Equal(0, written);
        Assert.True(DinExi.TryEncode(msg, new byte[64], out written));
        Assert.Equal(DinExi.Encode(msg).Length, written);
    }
}

/// <summary>
/// String length facets are no part of the EXI encoding of a string (its length counts code points; the reference
/// validates in UTF-16 units): the decoder decodes what the bits say and the encoder takes what the reference takes.
/// Only maxLength bounds what the decoder allocates.
/// </summary>
public sealed class StringFacetTests
{
    // 13 code points, one of them outside the BMP: 14 UTF-16 units, which the reference counts against minLength 14
    private const string Emaid = "DE8AA1A2B3C4\U0001F600";

    private static Juice.Hlc.Exi.Iso2.V2G_Message PaymentDetails(string emaid) => new()
    {
        Header = new Juice.Hlc.Exi.Iso2.MessageHeaderType { SessionID = [1, 2, 3, 4, 5, 6, 7, 8] },
        Body = new Juice.Hlc.Exi.Iso2.BodyType
        {
            BodyElement = new Juice.Hlc.Exi.Iso2.PaymentDetailsReqType
            {
                EMAID = emaid,
                ContractSignatureCertChain = new Juice.Hlc.Exi.Iso2.CertificateChainType { Certificate = [0x30, 0x03] },
            },
        },
    };

    [Fact]
    public void An_eMAID_of_13_code_points_with_one_outside_the_BMP_encodes_and_decodes()
    {
        Assert.Equal(13, System.Globalization.StringInfo.ParseCombiningCharacters(Emaid).Length);
        Assert.Equal(14, Emaid.Length);
        byte[] exi = Juice.Hlc.Exi.Iso2.Iso2Exi.Encode(PaymentDetails(Emaid));
        var decoded = (Juice.Hlc.Exi.Iso2.PaymentDetailsReqType)Juice.Hlc.Exi.Iso2.Iso2Exi.Decode(exi).Body.BodyElement!;
        Assert.Equal(Emaid, decoded.EMAID);
        // and the same as a signed fragment (the relaxed element fragment grammar of eMAID)
        var fragment = new Juice.Hlc.Exi.ExiRoot(System.Xml.Linq.XName.Get("eMAID", "urn:iso:15118:2:2013:MsgBody"), new Juice.Hlc.Exi.Iso2.EMAIDType { Id = "id1", Value = Emaid });
        var back = (Juice.Hlc.Exi.Iso2.EMAIDType)Juice.Hlc.Exi.Iso2.Iso2Exi.DecodeFragment(Juice.Hlc.Exi.Iso2.Iso2Exi.EncodeFragment(fragment)).Value;
        Assert.Equal(Emaid, back.Value);
    }

    [Fact]
    public void A_string_below_minLength_is_decoded_for_the_application_to_judge()
    {
        byte[] exi = Juice.Hlc.Exi.Iso2.Iso2Exi.Encode(PaymentDetails("DE8AA"));
        Assert.Equal("DE8AA", ((Juice.Hlc.Exi.Iso2.PaymentDetailsReqType)Juice.Hlc.Exi.Iso2.Iso2Exi.Decode(exi).Body.BodyElement!).EMAID);
        Assert.False(Juice.Hlc.Security.Emaid.IsValid("DE8AA"));   // the SECC's own check (FAILED in PaymentDetailsRes)
    }

    [Fact]
    public void MaxLength_still_bounds_both_ways()
    {
        Assert.Throws<InvalidOperationException>(() => Juice.Hlc.Exi.Iso2.Iso2Exi.Encode(PaymentDetails("DE8AA1A2B3C4D5E6")));   // 16 > 15
    }
}

/// <summary>Encoding into the caller's buffer allocates nothing, -20 messages as the others (the benchmark messages).</summary>
public sealed class EncodeAllocationTests
{
    [Theory]
    [InlineData("iso20-DC", "DC_ChargeLoopReq.min")]
    [InlineData("iso20-CommonMessages", "ScheduleExchangeRes.full")]
    [InlineData("iso20-CommonMessages", "CertificateInstallationRes.c6")]
    [InlineData("iso2", "CurrentDemandReq.full")]
    public void Encoding_into_a_buffer_allocates_nothing(string folder, string name)
    {
        var codec = ReferenceVectorTests.CodecFor(folder);
        var root = codec.Decode(Vectors.ReadHex(Path.Combine(Vectors.ExiFolder(folder), name + ".exi")));
        var buffer = new byte[16 * 1024];
        Func<ExiRoot, byte[], int> encode = folder switch
        {
            "iso20-DC" => (r, b) => Juice.Hlc.Exi.Iso20.Iso20DcExi.EncodeDocument(r, b),
            "iso20-CommonMessages" => (r, b) => Juice.Hlc.Exi.Iso20.Iso20CommonExi.EncodeDocument(r, b),
            _ => (r, b) => Juice.Hlc.Exi.Iso2.Iso2Exi.EncodeDocument(r, b),
        };
        for (int i = 0; i < 100; i++)
        {
            encode(root, buffer);   // warm: the JIT's own work is done before counting
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            encode(root, buffer);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

/// <summary>Strings that XML 1.0 cannot hold (a stream the decoder rightly accepts) have an XML form that reads back.</summary>
public sealed class XmlFormTests
{
    // supportedAppProtocolReq whose namespace holds U+0011 and U+001B (found by mutating a vector)
    private const string Hex = "800113ab9371d29b71cb5263b24b99ab124283134d8309b243c18a22220b8352188a88d8ddd4011841c02c1040";

    [Fact]
    public void Control_characters_are_written_as_character_references_and_read_back_to_the_same_bytes()
    {
        var codec = ExiCodec.AppHandshake;
        var root = codec.Decode(Convert.FromHexString(Hex));
        string xml = codec.WriteXml(root);
        Assert.Contains("&#x11;", xml);
        Assert.Equal(Hex, Convert.ToHexStringLower(codec.Encode(codec.ReadXml(ExiXml.Parse(xml)))));
    }

    [Theory]
    [InlineData("a\rb")]
    [InlineData("a\r\nb")]
    [InlineData("nul\u0000, del\u007f, \ufffe")]
    public void Any_string_survives_the_XML_form(string escaped)
    {
        string value = System.Text.RegularExpressions.Regex.Unescape(escaped);
        var message = new Juice.Hlc.Exi.Iso2.V2G_Message
        {
            Header = new Juice.Hlc.Exi.Iso2.MessageHeaderType { SessionID = [1, 2, 3, 4, 5, 6, 7, 8] },
            Body = new Juice.Hlc.Exi.Iso2.BodyType { BodyElement = new Juice.Hlc.Exi.Iso2.SessionSetupResType { ResponseCode = Juice.Hlc.Exi.Iso2.ResponseCodeType.OK, EVSEID = value } },
        };
        byte[] exi = Juice.Hlc.Exi.Iso2.Iso2Exi.Encode(message);
        var codec = ExiCodec.Iso2;
        var back = codec.ReadXml(ExiXml.Parse(codec.WriteXml(codec.Decode(exi))));
        Assert.Equal(exi, codec.Encode(back));
    }
}
