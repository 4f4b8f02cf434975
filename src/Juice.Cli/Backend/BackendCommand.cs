using System.CommandLine;
using Juice.Hlc.Security;

namespace Juice.Cli.Backend;

/// <summary>
/// <c>juice backend --port P --pki DIR [--address A] [--dialect OCA|hastobe|Ebee] [--vendor-id V] [--revoke EMAID]…
/// [--refuse IDTAG]… [--password PW] [--heartbeat S] [--renew-secc-after S]</c>: an OCPP 1.6J central system with the
/// Plug &amp; Charge extension and a certificate provisioning service.
/// </summary>
internal static class BackendCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "TCP port of the WebSocket server (0 picks one; printed)", DefaultValueFactory = _ => 9230 };
        var address = new Option<string>("--address") { Description = "address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var pki = new Option<DirectoryInfo>("--pki") { Description = "a 'juice certs generate' folder: the CPS, MO, CPO and OEM chains", Required = true };
        var dialect = new Option<string>("--dialect") { Description = "the ISO 15118 extension of OCPP 1.6: OCA, hastobe or Ebee", DefaultValueFactory = _ => "OCA" };
        dialect.AcceptOnlyFromAmong("OCA", "hastobe", "Ebee");
        var vendorId = new Option<string?>("--vendor-id") { Description = "Ebee: the DataTransfer vendorId (default: the OCA one)" };
        var revoke = new Option<string[]>("--revoke") { Description = "eMAID whose contract is revoked, or serial number (hex) of a revoked SECC certificate (repeatable)", AllowMultipleArgumentsPerToken = true };
        var refuse = new Option<string[]>("--refuse") { Description = "id tag or eMAID refused by Authorize (repeatable)", AllowMultipleArgumentsPerToken = true };
        var password = new Option<string?>("--password") { Description = "require this HTTP Basic password (user: the charge box identity)" };
        var heartbeat = new Option<int>("--heartbeat") { Description = "heartbeat interval given in BootNotification.conf, s", DefaultValueFactory = _ => 300 };
        var renew = new Option<double?>("--renew-secc-after") { Description = "send TriggerMessage(SignV2GCertificate) this many seconds after the boot" };
        var command = new Command("backend", "OCPP 1.6J central system with the ISO 15118 Plug & Charge extension and a certificate provisioning service (tests, demos)")
        {
            port, address, pki, dialect, vendorId, revoke, refuse, password, heartbeat, renew,
        };
        command.SetAction(async (result, ct) =>
        {
            TestPki loaded;
            List<TestPki> iso20 = [];
            try
            {
                loaded = TestPki.Load(result.GetValue(pki)!.FullName);
                // the ISO 15118-20 PKIs beside it: their MO roots validate -20 contracts too
                foreach (var algorithm in new[] { PkiAlgorithm.Secp521r1, PkiAlgorithm.Ed448 })
                {
                    string dir = Path.Combine(result.GetValue(pki)!.FullName, TestPki.Iso20Folder(algorithm));
                    if (File.Exists(Path.Combine(dir, "pki.json")))
                    {
                        iso20.Add(TestPki.Load(dir));
                    }
                }
            }
            catch (Exception e) when (e is IOException or FormatException or System.Text.Json.JsonException)
            {
                Console.Error.WriteLine($"--pki: {e.Message} (write one with: juice certs generate --out DIR)");
                return 2;
            }
            var options = new CentralSystemOptions
            {
                Pki = loaded,
                Iso20Pkis = iso20,
                Dialect = result.GetValue(dialect)!,
                VendorId = result.GetValue(vendorId),
                Revoked = new HashSet<string>(result.GetValue(revoke) ?? [], StringComparer.OrdinalIgnoreCase),
                Refused = new HashSet<string>(result.GetValue(refuse) ?? [], StringComparer.OrdinalIgnoreCase),
                Password = result.GetValue(password),
                HeartbeatSeconds = result.GetValue(heartbeat),
                RenewSeccAfterSeconds = result.GetValue(renew),
            };
            var system = new CentralSystem(options, Console.Out);
            await using var app = system.Build($"http://{result.GetValue(address)}:{result.GetValue(port)}");
            await app.StartAsync(ct);
            foreach (var url in app.Urls)
            {
                Console.Out.WriteLine(new System.Text.Json.Nodes.JsonObject { ["event"] = "listening", ["url"] = url.Replace("http://", "ws://", StringComparison.Ordinal) }.ToJsonString());
            }
            Console.Out.Flush();
            var commands = Task.Run(() => system.CommandsAsync(Console.In, ct), CancellationToken.None);
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
            }
            await app.StopAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }
}
