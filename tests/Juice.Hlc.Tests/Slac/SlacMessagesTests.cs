using System.Net.NetworkInformation;
using Juice.Hlc.Slac;

namespace Juice.Hlc.Tests.Slac;

/// <summary>
/// The SLAC frames against the captured exchange between two independent implementations (open-plc-utils evse and
/// pev with an emulator between them, ../shared/vectors/slac): every frame parses, and what we build from its fields
/// is the same bytes (up to the padding content of the other implementation).
/// </summary>
public sealed class SlacMessagesTests
{
    private static string Folder => Path.Combine(Vectors.Shared, "vectors", "slac", "01-qca-evse_vs_qca-pev");

    public static TheoryData<string, int> Frames()
    {
        var data = new TheoryData<string, int>();
        foreach (var side in new[] { "frames-evse-side.tsv", "frames-ev-side.tsv" })
        {
            int count = File.ReadAllLines(Path.Combine(Folder, side)).Length - 1;
            for (int i = 1; i <= count; i++)
            {
                data.Add(side, i);
            }
        }
        return data;
    }

    private static (string Name, byte[] Frame) Row(string side, int index)
    {
        var cells = File.ReadAllLines(Path.Combine(Folder, side))[index].Split('\t');
        return (cells[7], Convert.FromHexString(cells[9]));
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void Every_captured_frame_parses_and_builds_back_to_its_bytes(string side, int index)
    {
        var (name, frame) = Row(side, index);
        var parsed = SlacFrame.Parse(frame, out string? problem);
        Assert.True(parsed is not null, problem);
        var (destination, source, message) = parsed.Value;
        Assert.Equal(name, message.Name);
        byte[] built = SlacFrame.Build(destination, source, message);
        int meaningful = SlacFrame.HeaderLength + message.PayloadLength;
        Assert.Equal(Convert.ToHexString(frame[..meaningful]), Convert.ToHexString(built[..meaningful]));
        if (frame.Length == built.Length && name is not "CM_SLAC_PARM.REQ")
        {
            Assert.Equal(Convert.ToHexString(frame), Convert.ToHexString(built));   // the padding too
        }
        Assert.True(built.Length >= SlacFrame.MinimumLength);
    }

    [Fact]
    public void The_captured_fields_are_the_ones_ISO_15118_3_prescribes()
    {
        var cnf = (SlacParmCnf)SlacFrame.Parse(Row("frames-evse-side.tsv", 4).Frame, out _)!.Value.Message;
        Assert.Equal((10, 6, 1), (cnf.NumSounds, cnf.TimeOut, cnf.RespType));
        Assert.Equal(Convert.FromHexString("02000000ee010001"), cnf.RunId);
        var match = (SlacMatchReq)SlacFrame.Parse(Row("frames-evse-side.tsv", 30).Frame, out _)!.Value.Message;
        Assert.Equal(0x3E, match.MvfLength);
        Assert.True(match.ZeroIds);
        Assert.Equal("02000000E501", match.EvseMac.ToString());
        var matchCnf = (SlacMatchCnf)SlacFrame.Parse(Row("frames-evse-side.tsv", 31).Frame, out _)!.Value.Message;
        Assert.Equal("026BCBA5354E08", Convert.ToHexString(matchCnf.Nid));
        Assert.Equal("B59319D7E8157BA001B018669CCEE30D", Convert.ToHexString(matchCnf.Nmk));
        var atten = (AttenCharInd)SlacFrame.Parse(Row("frames-evse-side.tsv", 28).Frame, out _)!.Value.Message;
        Assert.Equal(10, atten.NumSounds);
        Assert.Equal(58, atten.Aag.Length);   // NumGroups, from the 255-byte area open-plc-utils sends
        Assert.InRange(atten.Average, 21, 23);
        var setKey = (SetKeyCnf)SlacFrame.Parse(Row("frames-evse-side.tsv", 2).Frame, out _)!.Value.Message;
        Assert.Equal(0x01, setKey.Result);
        Assert.True(setKey.Applied);   // QCA's "success"
        // our ATTEN_CHAR.IND: 58 groups, 129 bytes
        var ours = SlacFrame.Build(PhysicalAddress.Parse("020000000001"), PhysicalAddress.Parse("020000000002"), atten);
        Assert.Equal(129, ours.Length);
    }

    [Theory]
    [InlineData("B59319D7E8157BA001B018669CCEE30D", "026BCBA5354E08")]
    [InlineData("50D3E4933F855B7040784DF815AA8DB7", "B0F2E695666B03")]
    [InlineData("E023F168004A715D000B27A64D8CD6BD", "43132E608B0D05")]
    public void The_NID_is_derived_from_the_NMK_as_HomePlug_AV_does(string nmk, string nid) =>
        Assert.Equal(nid, Convert.ToHexString(NetworkKeys.NidFromNmk(Convert.FromHexString(nmk))));

    [Theory]
    [InlineData("ffffffffffff02000000ee0188e1")]                                          // too short
    [InlineData("ffffffffffff02000000ee0108000164600000000002000000ee010001000000000000")]   // IPv4, not HomePlug
    [InlineData("ffffffffffff02000000ee0188e10264600000000002000000ee010001000000000000")]   // MMV 2
    [InlineData("ffffffffffff02000000ee0188e10164601100000002000000ee010001000000000000")]   // fragmented
    [InlineData("ffffffffffff02000000ee0188e1016460000000")]                               // PARM.REQ without its fields
    [InlineData("ffffffffffff02000000ee0188e10199990000000002000000ee010001000000000000")]   // unknown MMTYPE
    public void Frames_that_are_no_SLAC_message_are_refused_with_a_reason(string hex)
    {
        Assert.Null(SlacFrame.Parse(Convert.FromHexString(hex), out string? problem));
        Assert.NotNull(problem);
    }
}
