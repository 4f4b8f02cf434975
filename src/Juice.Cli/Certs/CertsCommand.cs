using System.CommandLine;
using System.Globalization;
using Juice.Hlc.Security;

namespace Juice.Cli.Certs;

/// <summary>
/// <c>juice certs generate --out DIR [--seed S] [--valid-from DATE] [--emaid E] [--pcid P] [--secc-name N] [--vehicle-name V]</c>:
/// a complete ISO 15118-2 test PKI (V2G, CPO, CPS, OEM and MO chains) as PEM, DER, PKCS#8 and PKCS#12 files, and beside
/// it the ISO 15118-20 PKIs in secp521r1 and Ed448 (DIR/iso20-secp521r1, DIR/iso20-ed448; also a vehicle certificate).
/// </summary>
internal static class CertsCommand
{
    public static Command Create()
    {
        var certs = new Command("certs", "Test PKI for Plug & Charge (ISO 15118-2 certificate profiles)");
        var output = new Option<DirectoryInfo>("--out") { Description = "folder for the files (created)", Required = true };
        var seed = new Option<string?>("--seed") { Description = "derive every key and serial from this seed: the same seed and --valid-from give the same files" };
        var validFrom = new Option<string?>("--valid-from") { Description = "start of every validity period, ISO 8601 (default: today 00:00 UTC)" };
        var emaid = new Option<string>("--emaid") { Description = "eMAID of the contract certificate (its CN)", DefaultValueFactory = _ => new TestPkiOptions().Emaid };
        var pcid = new Option<string>("--pcid") { Description = "PCID of the OEM provisioning certificate (its CN)", DefaultValueFactory = _ => new TestPkiOptions().Pcid };
        var secc = new Option<string>("--secc-name") { Description = "CN of the SECC certificate (the EVSE ID)", DefaultValueFactory = _ => new TestPkiOptions().SeccName };
        var vehicle = new Option<string>("--vehicle-name") { Description = "CN of the ISO 15118-20 vehicle certificate (TLS 1.3 client authentication)", DefaultValueFactory = _ => new TestPkiOptions().VehicleName };
        var generate = new Command("generate", "Generate the test PKI (ISO 15118-2, and ISO 15118-20 in secp521r1 and Ed448 beside it)") { output, seed, validFrom, emaid, pcid, secc, vehicle };
        generate.SetAction(result =>
        {
            DateTimeOffset? from = null;
            if (result.GetValue(validFrom) is { } text)
            {
                if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                {
                    Console.Error.WriteLine($"--valid-from '{text}' is not a date");
                    return 2;
                }
                from = parsed;
            }
            string id = result.GetValue(emaid)!;
            if (!Emaid.IsValid(id) || Emaid.Normalize(id).Length > 15)
            {
                Console.Error.WriteLine($"--emaid '{id}' is no eMAID of 14 or 15 characters (ISO 15118-2 Annex H)");
                return 2;
            }
            var options = new TestPkiOptions
            {
                Seed = result.GetValue(seed),
                ValidFrom = from,
                Emaid = Emaid.Normalize(id),
                Pcid = result.GetValue(pcid)!,
                SeccName = result.GetValue(secc)!,
                VehicleName = result.GetValue(vehicle)!,
            };
            var pki = TestPki.Generate(options);
            var dir = result.GetValue(output)!;
            pki.Write(dir.FullName);
            Console.WriteLine($"test PKI written to {dir.FullName}: V2G root {V2gCertificates.Fingerprint(pki.V2gRoot)[..16]}…, contract {options.Emaid}, OEM provisioning {options.Pcid}");
            foreach (var algorithm in new[] { PkiAlgorithm.Secp521r1, PkiAlgorithm.Ed448 })
            {
                var iso20 = TestPki.Generate(options with { Algorithm = algorithm });
                string folder = Path.Combine(dir.FullName, TestPki.Iso20Folder(algorithm));
                iso20.Write(folder);
                Console.WriteLine($"ISO 15118-20 PKI ({algorithm.Name()}) written to {folder}: V2G root {V2gCertificates.Fingerprint(iso20.V2gRoot)[..16]}…, vehicle {options.VehicleName}");
            }
            return 0;
        });
        certs.Subcommands.Add(generate);
        return certs;
    }
}
