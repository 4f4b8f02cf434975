using System.CommandLine;
using System.Xml;
using System.Xml.Linq;
using Juice.Hlc.Exi;

namespace Juice.Cli.Exi;

/// <summary>
/// <c>juice exi encode|decode --schema appHandshake|din|iso2|iso20-common|iso20-ac|iso20-dc|iso20-wpt|iso20-acdp [--fragment xmldsig|msgdef] [--out DIR] FILE...</c>:
/// XML files to lowercase-hex EXI, or hex EXI to XML, many files per process. Exit 0 only if every file succeeded.
/// </summary>
internal static class ExiCommand
{
    public static Command Create()
    {
        var exi = new Command("exi", "Encode XML to EXI (lowercase hex) or decode EXI (hex) to XML with the V2G schemas");
        exi.Subcommands.Add(Build("encode", "XML files to lowercase-hex .exi files", encode: true));
        exi.Subcommands.Add(Build("decode", "hex .exi files to XML", encode: false));
        return exi;
    }

    private static Command Build(string name, string description, bool encode)
    {
        var schema = new Option<string>("--schema")
        {
            Description = "appHandshake, din, iso2, or an ISO 15118-20 message schema: iso20-common, iso20-ac, iso20-dc, iso20-wpt, iso20-acdp",
            Required = true,
        };
        schema.AcceptOnlyFromAmong("appHandshake", "din", "iso2", "iso20-common", "iso20-ac", "iso20-dc", "iso20-wpt", "iso20-acdp");
        var fragment = new Option<string?>("--fragment")
        {
            Description = "code one element as an EXI fragment: msgdef (the schema's fragment grammar, for signed elements; iso20-common for -20) or xmldsig (SignedInfo)",
        };
        fragment.AcceptOnlyFromAmong("msgdef", "xmldsig");
        var output = new Option<DirectoryInfo?>("--out")
        {
            Description = "write DIR/NAME.exi for NAME.xml (decode: DIR/NAME.xml for NAME.exi); needed for more than one file",
        };
        var files = new Argument<string[]>("FILE")
        {
            Description = "input files; - reads standard input",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command(name, description) { schema, fragment, output, files };
        command.SetAction(result =>
        {
            ExiCodec codec;
            try
            {
                codec = ExiCodec.Select(result.GetValue(schema)!, result.GetValue(fragment));
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
            return Run(codec, encode, result.GetValue(files)!, result.GetValue(output), Console.Out, Console.Error);
        });
        return command;
    }

    public static int Run(ExiCodec codec, bool encode, IReadOnlyList<string> files, DirectoryInfo? output, TextWriter stdout, TextWriter stderr)
    {
        if (files.Count > 1 && output is null)
        {
            stderr.WriteLine("more than one FILE needs --out DIR");
            return 2;
        }
        output?.Create();
        int failed = 0;
        foreach (var file in files)
        {
            try
            {
                string input = file == "-" ? Console.In.ReadToEnd() : File.ReadAllText(file);
                string result = encode ? Encode(codec, input) : Decode(codec, input);
                if (output is null)
                {
                    stdout.Write(result);
                }
                else
                {
                    string stem = file == "-" ? "stdin" : Path.GetFileNameWithoutExtension(file);
                    File.WriteAllText(Path.Combine(output.FullName, stem + (encode ? ".exi" : ".xml")), result);
                }
            }
            catch (Exception e) when (e is ExiContentException or FormatException or XmlException or InvalidOperationException or IOException or UnauthorizedAccessException
                or ArgumentException or OverflowException or NotSupportedException)
            {
                failed++;
                stderr.WriteLine($"{file}: {OneLine(e)}");
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private static string Encode(ExiCodec codec, string xml)
    {
        var element = ExiXml.Parse(xml);
        var root = codec.ReadXml(element);
        return Convert.ToHexStringLower(codec.Encode(root)) + "\n";
    }

    private static string Decode(ExiCodec codec, string hex)
    {
        string digits = string.Concat(hex.Where(c => !char.IsWhiteSpace(c)));
        byte[] bytes;
        try
        {
            bytes = Convert.FromHexString(digits);
        }
        catch (FormatException)
        {
            throw new FormatException("input is not a hex string (one EXI stream in hex, whitespace allowed)");
        }
        return codec.WriteXml(codec.Decode(bytes)) + "\n";
    }

    private static string OneLine(Exception e) => e switch
    {
        ExiContentException x => $"bit {x.BitOffset}: {x.Reason}",
        XmlException x => $"line {x.LineNumber}: {x.Message.Split('\n')[0]}",
        _ => e.Message.Split('\n')[0],
    };
}
