using System.CommandLine;
using System.Net;
using Juice.Cli.Ev;
using Juice.Cli.Pcap;
using Juice.Hlc.Replay;
using Juice.Hlc.Sdp;
using Juice.Hlc.Security;
using Juice.Hlc.Transport;
using Juice.Hlc.V2gtp;

namespace Juice.Cli.Replay;

/// <summary>
/// <c>juice replay --role ev|secc --capture FILE</c>: plays one side of a captured session against a real peer, step by
/// step, reporting what the peer did differently. Exit 0 only when the session reached SessionStopRes with OK and
/// no FAILED code; 1 when it did not; 2 for a capture or option that cannot be used.
/// </summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var role = new Option<string>("--role") { Description = "ev: play the captured car against a charger; secc: play the captured charger for an EV", Required = true };
        role.AcceptOnlyFromAmong("ev", "secc");
        var capture = new Option<FileInfo>("--capture")
        {
            Description = "the session: lines 'ev->se HEX' / 'se->ev HEX' (shared/vectors/sessions/*/exi.txt), a pcap (plain TCP, or TLS with --capture-keylog), or the --log file of juice ev / juice secc",
            Required = true,
        };
        var captureKeyLog = new Option<FileInfo?>("--capture-keylog") { Description = "the TLS key log of a pcap capture whose session ran over TLS" };
        var host = new Option<string?>("--host") { Description = "ev: the charger's address" };
        var port = new Option<int?>("--port") { Description = "ev: the charger's TCP port; secc: the port to listen on (default 61118, 0 picks one)" };
        var iface = new Option<string?>("--interface") { Description = "ev: discover the charger by SDP on this interface; secc: answer SDP on it" };
        var address = new Option<string>("--address") { Description = "secc: address to listen on", DefaultValueFactory = _ => "::1" };
        var tls = new Option<bool>("--tls") { Description = "ev: connect with TLS (--v2g-root or --pki); secc: serve TLS with the SECC certificate of --pki" };
        var pki = new Option<DirectoryInfo?>("--pki") { Description = "a 'juice certs generate' folder: the V2G root (ev) or the SECC chain and key (secc)" };
        var v2gRoot = new Option<string?>("--v2g-root") { Description = "ev: trusted V2G root certificates, PEM files separated by ';'" };
        var keyLog = EvCommand.KeyLogOption();
        var repeat = new Option<int>("--repeat-interval-ms") { Description = "ev: pause before a request repeated while the charger answers Ongoing", DefaultValueFactory = _ => 100 };
        var command = new Command("replay", "Replay one side of a captured session against a real peer and report every difference")
        {
            role, capture, captureKeyLog, host, port, iface, address, tls, pki, v2gRoot, keyLog, repeat,
        };
        command.SetAction(async (result, ct) =>
        {
            ReplayScript script;
            try
            {
                var file = result.GetValue(capture)!;
                var session = await LoadAsync(file.FullName, result.GetValue(captureKeyLog)?.FullName, ct);
                script = ReplayScript.From(session);
                Console.WriteLine($"capture {file.Name}: {script.Protocol}, {script.Exchanges.Count} exchanges");
            }
            catch (Exception e) when (e is FormatException or FileNotFoundException or InvalidDataException or InvalidOperationException or IOException)
            {
                Console.Error.WriteLine($"capture: {e.Message}");
                return 2;
            }
            try
            {
                var replay = result.GetValue(role) == "ev"
                    ? await RunEvAsync(script, result, host, port, iface, tls, pki, v2gRoot, keyLog, repeat, ct)
                    : await RunSeccAsync(script, result, address, port, iface, tls, pki, keyLog, ct);
                return replay is { Completed: true } ? 0 : replay is null ? 2 : 1;
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or TimeoutException or V2gtpException)
            {
                Console.WriteLine($"replay failed: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>A capture file in any of the three forms: pcap/pcapng (by its magic number), else text.</summary>
    public static async Task<CapturedSession> LoadAsync(string path, string? keyLog, CancellationToken ct)
    {
        byte[] head = new byte[4];
        await using (var f = File.OpenRead(path))
        {
            await f.ReadAtLeastAsync(head, 4, throwOnEndOfStream: false, ct);
        }
        uint magic = BitConverter.ToUInt32(head);
        if (magic is 0xA1B2C3D4 or 0xD4C3B2A1 or 0xA1B23C4D or 0x4D3CB2A1 or 0x0A0D0D0A)
        {
            return V2gCapture.FirstSession(await Tshark.ReadAsync(path, keyLog, ct));
        }
        return CapturedSession.ParseText(await File.ReadAllTextAsync(path, ct));
    }

    private static async Task<ReplayResult?> RunEvAsync(ReplayScript script, ParseResult result, Option<string?> host, Option<int?> port, Option<string?> iface,
        Option<bool> tls, Option<DirectoryInfo?> pki, Option<string?> v2gRoot, Option<FileInfo?> keyLog, Option<int> repeat, CancellationToken ct)
    {
        IReadOnlyCollection<Org.BouncyCastle.X509.X509Certificate>? roots = null;
        if (result.GetValue(tls))
        {
            roots = EvCommand.Roots(result.GetValue(v2gRoot), result.GetValue(pki));
            if (roots.Count == 0)
            {
                Console.Error.WriteLine("--tls needs the V2G root: --v2g-root FILE or --pki DIR");
                return null;
            }
        }
        // the captured session's protocol decides: TLS 1.2 for DIN/-2, TLS 1.3 for -20, both offered
        var tlsSetup = roots is null ? null : new V2gTlsClientSetup { V2gRoots = roots, Now = DateTimeOffset.UtcNow, Versions = [V2gTlsVersion.Tls13, V2gTlsVersion.Tls12] };
        var target = new EvTarget(result.GetValue(host), result.GetValue(port), result.GetValue(iface), tlsSetup, KeyLogFile: EvCommand.KeyLogFile(result.GetValue(keyLog)));
        if (await target.ResolveAsync(null, Console.Out, ct) is not { } endpoint)
        {
            return null;
        }
        await using var connection = await V2gTcpClient.ConnectAsync(endpoint, streamFactory: target.StreamFactory(null, Console.Out), ct: ct);
        Console.WriteLine($"replaying the EV against {endpoint}");
        var replay = new EvReplay(script, Console.Out, new EvReplayOptions { RepeatInterval = TimeSpan.FromMilliseconds(Math.Max(0, result.GetValue(repeat))) });
        return await replay.RunAsync(connection, ct);
    }

    private static async Task<ReplayResult?> RunSeccAsync(ReplayScript script, ParseResult result, Option<string> address, Option<int?> port, Option<string?> iface,
        Option<bool> tls, Option<DirectoryInfo?> pki, Option<FileInfo?> keyLog, CancellationToken ct)
    {
        V2gTlsCredentials? credentials = null;
        if (result.GetValue(tls))
        {
            if (result.GetValue(pki) is not { } dir)
            {
                Console.Error.WriteLine("--tls needs the SECC certificate and key: --pki DIR");
                return null;
            }
            var loaded = TestPki.Load(dir.FullName);
            credentials = new V2gTlsCredentials(loaded.Chain(CertificateRole.Secc), loaded[CertificateRole.Secc].PrivateKey);
        }
        string? keyLogFile = EvCommand.KeyLogFile(result.GetValue(keyLog));
        var done = new TaskCompletionSource<ReplayResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        int served = 0;
        await using var server = new V2gTcpServer(new V2gTcpServerOptions
        {
            Address = IPAddress.Parse(result.GetValue(address)!),
            Port = result.GetValue(port) ?? 61118,
            StreamFactory = credentials is null ? static (s, _) => ValueTask.FromResult(s)
                : async (s, token) => await V2gTls.AcceptAsync(s, () => credentials, token,
                    keyLog: keyLogFile is null ? null : line => EvTarget.AppendKeyLog(keyLogFile, line)),
        }, async (connection, remote, token) =>
        {
            if (Interlocked.Increment(ref served) > 1)
            {
                return;   // one EV: the replay serves the first connection only
            }
            Console.WriteLine($"EV connected from {remote}");
            try
            {
                done.TrySetResult(await new SeccReplay(script, Console.Out).RunAsync(connection, token));
            }
            catch (Exception e) when (e is IOException or TimeoutException or V2gtpException or OperationCanceledException)
            {
                Console.WriteLine($"replay failed: {e.Message}");
                done.TrySetResult(ReplayResult.Failed(0, 0, e.Message));
            }
        });
        server.Start();
        await using var sdp = result.GetValue(iface) is { } name
            ? new SdpServer(new SdpServerOptions { InterfaceName = name, TcpPort = (ushort)server.LocalEndPoint.Port, OffersTcp = credentials is null })
            : null;
        sdp?.OfferTls(credentials is not null);
        sdp?.Start();
        Console.WriteLine($"SECC replay listening on {server.LocalEndPoint}{(credentials is null ? "" : " (TLS)")}{(sdp is null ? "" : $", SDP on {result.GetValue(iface)}")}");
        return await done.Task.WaitAsync(ct);
    }
}
