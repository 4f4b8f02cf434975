using Juice.Cli.Exi;
using Juice.Hlc.Exi;

namespace Juice.Hlc.Tests.Cli;

public sealed class ExiCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("juice-exi-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Encoding_a_folder_of_xml_files_gives_the_reference_exi_files()
    {
        string folder = Vectors.ExiFolder("din");
        var files = Directory.GetFiles(folder, "*.xml").Order(StringComparer.Ordinal).ToArray();
        var stderr = new StringWriter();
        int rc = ExiCommand.Run(ExiCodec.Din, encode: true, files, _dir, TextWriter.Null, stderr);
        Assert.Equal(0, rc);
        Assert.Equal("", stderr.ToString());
        foreach (var xml in files)
        {
            string name = Path.GetFileNameWithoutExtension(xml);
            Assert.Equal(File.ReadAllText(Path.Combine(folder, name + ".exi")), File.ReadAllText(Path.Combine(_dir.FullName, name + ".exi")));
        }
    }

    [Fact]
    public void Decoding_writes_xml_that_encodes_back()
    {
        string exi = Path.Combine(Vectors.Shared, "vectors", "bench", "iso2-certificate-installation-res.exi");
        var stdout = new StringWriter();
        Assert.Equal(0, ExiCommand.Run(ExiCodec.Iso2, encode: false, [exi], null, stdout, TextWriter.Null));
        string xmlPath = Path.Combine(_dir.FullName, "m.xml");
        File.WriteAllText(xmlPath, stdout.ToString());
        var again = new StringWriter();
        Assert.Equal(0, ExiCommand.Run(ExiCodec.Iso2, encode: true, [xmlPath], null, again, TextWriter.Null));
        Assert.Equal(File.ReadAllText(exi).Trim(), again.ToString().Trim());
    }

    [Fact]
    public void A_bad_file_gets_one_line_with_its_name_and_bit_offset_and_the_others_still_run()
    {
        string good = Path.Combine(Vectors.Shared, "vectors", "bench", "iso2-session-setup-req.exi");
        string bad = Path.Combine(_dir.FullName, "bad.exi");
        File.WriteAllText(bad, "8098");
        var stderr = new StringWriter();
        int rc = ExiCommand.Run(ExiCodec.Iso2, encode: false, [bad, good], _dir, TextWriter.Null, stderr);
        Assert.Equal(1, rc);
        var lines = stderr.ToString().Trim().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith(bad + ": bit ", lines[0]);
        Assert.True(File.Exists(Path.Combine(_dir.FullName, "iso2-session-setup-req.xml")));
    }

    [Fact]
    public void Several_files_need_an_output_folder()
    {
        var stderr = new StringWriter();
        Assert.Equal(2, ExiCommand.Run(ExiCodec.Iso2, encode: false, ["a", "b"], null, TextWriter.Null, stderr));
        Assert.Contains("--out", stderr.ToString());
    }
}
