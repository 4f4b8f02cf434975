using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Juice.Hlc.Security;
using Juice.Hlc.Transport;
using Org.BouncyCastle.Crypto.Parameters;

namespace Juice.Hlc.Tests.Transport;

/// <summary>
/// TLS for V2G: our SECC and EV with each other on both cipher suites of [V2G2-614], with OpenSSL (s_client, s_server)
/// and .NET's SslStream as independent peers, and the refusals: a chain from another root, an expired SECC
/// certificate, a cipher suite or protocol version outside ISO 15118-2.
/// </summary>
public sealed class V2gTlsTests : IDisposable
{
    private static readonly DateTimeOffset From = DateTimeOffset.UtcNow.Date.AddDays(-1);
    private static readonly Lazy<TestPki> Shared = new(() => TestPki.Generate(new TestPkiOptions { Seed = "tls-tests", ValidFrom = From }));
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-tls-").FullName;

    public V2gTlsTests() => Pki.Write(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TestPki Pki => Shared.Value;

    private static V2gTlsCredentials Secc(TestPki pki) => new(pki.Chain(CertificateRole.Secc), pki[CertificateRole.Secc].PrivateKey);

    /// <summary>A TLS server on loopback that echoes one line per connection (upper-cased); handshake outcomes go into <paramref name="outcomes"/>.</summary>
    private static (TcpListener Listener, Task Serving) Serve(V2gTlsCredentials credentials, List<string> outcomes, int connections = 1) =>
        Serve(s => V2gTls.AcceptAsync(s, () => credentials, CancellationToken.None), tls => "ok " + tls.CipherSuite, outcomes, connections);

    /// <summary>
    /// A TLS server on loopback: per connection the handshake by <paramref name="accept"/>, its outcome (<paramref name="ok"/> of
    /// the stream, or "failed …") into <paramref name="outcomes"/>, and an upper-case echo of one read until the client closes.
    /// </summary>
    internal static (TcpListener Listener, Task Serving) Serve(Func<Stream, Task<V2gTlsStream>> accept, Func<V2gTlsStream, string> ok, List<string> outcomes, int connections)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = Task.Run(async () =>
        {
            for (int i = 0; i < connections; i++)
            {
                using var client = await listener.AcceptTcpClientAsync();
                try
                {
                    await using var tls = await accept(client.GetStream());
                    lock (outcomes)
                    {
                        outcomes.Add(ok(tls));
                    }
                    var buffer = new byte[256];
                    int n = await tls.ReadAsync(buffer);
                    await tls.WriteAsync(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(buffer, 0, n).ToUpperInvariant()));
                    _ = await tls.ReadAsync(buffer);   // until the client closes
                }
                catch (IOException e)
                {
                    lock (outcomes)
                    {
                        outcomes.Add("failed " + e.Message);
                    }
                }
            }
        });
        return (listener, serving);
    }

    internal static int PortOf(TcpListener l) => ((IPEndPoint)l.LocalEndpoint).Port;

    /// <summary>
    /// <c>openssl s_server</c> with <paramref name="args"/> for one connection (<c>-naccept 1 -rev</c>: it answers each line
    /// reversed) on a free loopback port, and a TCP connection to it once it listens; its stdout and stderr once it ends.
    /// </summary>
    internal static async Task<(Process Server, Task<string> Output, TcpClient Tcp)> StartOpenSslServer(IEnumerable<string> args)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = PortOf(probe);
        }
        var psi = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "s_server", "-accept", "127.0.0.1:" + port }.Concat(args).Concat(["-naccept", "1", "-rev"]))
        {
            psi.ArgumentList.Add(a);
        }
        var server = Process.Start(psi)!;
        var stdout = server.StandardOutput.ReadToEndAsync();
        var stderr = server.StandardError.ReadToEndAsync();
        var tcp = new TcpClient();
        for (int i = 0; ; i++)
        {
            try
            {
                await tcp.ConnectAsync(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (i < 200)
            {
                await Task.Delay(50);   // s_server is still starting
            }
        }
        return (server, Task.WhenAll(stdout, stderr).ContinueWith(t => string.Concat(t.Result), TaskScheduler.Default), tcp);
    }

    [Theory]
    [InlineData(V2gCipherSuite.EcdheEcdsaAes128CbcSha256)]
    [InlineData(V2gCipherSuite.EcdhEcdsaAes128CbcSha256)]
    public async Task Our_EV_and_SECC_agree_on_each_cipher_suite_of_ISO_15118_2(V2gCipherSuite suite)
    {
        var outcomes = new List<string>();
        var (listener, serving) = Serve(Secc(Pki), outcomes);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, PortOf(listener));
        await using (var tls = await V2gTls.ConnectAsync(tcp.GetStream(), [Pki.V2gRoot], DateTimeOffset.UtcNow, CancellationToken.None, [suite]))
        {
            Assert.Equal(suite, tls.CipherSuite);
            Assert.Equal(3, tls.PeerChain.Count);
            await tls.WriteAsync("hello v2g"u8.ToArray());
            var buffer = new byte[64];
            int n = await tls.ReadAsync(buffer);
            Assert.Equal("HELLO V2G", Encoding.ASCII.GetString(buffer, 0, n));
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
        listener.Stop();
        Assert.Equal(["ok " + suite], outcomes);
    }

    internal static async Task<(int Code, string Output)> Run(string file, string? input, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        // With input, stdin stays open until the server's echo (the input in upper case) is out: s_client quits at
        // the end of its input, and on a loaded machine a fixed wait can end before the echo arrives.
        string? echo = input?.Trim().ToUpperInvariant();
        var echoed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                echoed.TrySetResult();
                return;
            }
            lock (stdout)
            {
                stdout.AppendLine(e.Data);
            }
            if (echo is not null && e.Data.Contains(echo, StringComparison.Ordinal))
            {
                echoed.TrySetResult();
            }
        };
        p.Start();
        p.BeginOutputReadLine();
        var stderr = p.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await p.StandardInput.WriteAsync(input);
            await p.StandardInput.FlushAsync();
            await echoed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        p.StandardInput.Close();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        string errors = await stderr;
        lock (stdout)
        {
            return (p.ExitCode, stdout + errors);
        }
    }

    [Fact]
    public async Task OpenSSL_s_client_completes_the_handshake_with_our_SECC_and_verifies_its_chain_to_the_V2G_root()
    {
        var outcomes = new List<string>();
        var (listener, serving) = Serve(Secc(Pki), outcomes);
        var (code, output) = await Run("openssl", "ping\n", "s_client", "-connect", "127.0.0.1:" + PortOf(listener), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256",
            "-CAfile", Path.Combine(_dir, "v2g-root.pem"), "-verify_return_error");
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
        listener.Stop();
        Assert.True(code == 0, output);
        Assert.Contains("PING", output);   // our echo, through TLS
        Assert.Contains("Verify return code: 0 (ok)", output);
        Assert.Contains("Cipher is ECDHE-ECDSA-AES128-SHA256", output);
        Assert.Contains("CN = V2G Root CA", output);   // the chain OpenSSL built ends at the V2G root
        Assert.Equal(["ok EcdheEcdsaAes128CbcSha256"], outcomes);
    }

    [Fact]
    public async Task Our_EV_connects_to_OpenSSL_s_server_with_the_SECC_chain()
    {
        string intermediates = Path.Combine(_dir, "secc-intermediates.pem");
        File.WriteAllText(intermediates, V2gCertificates.ToPem(Pki.Chain(CertificateRole.Secc).Skip(1)));
        var (server, serverOutput, tcp) = await StartOpenSslServer(["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256", "-cert", Path.Combine(_dir, "secc.pem"),
            "-key", Path.Combine(_dir, "secc.key.pem"), "-cert_chain", intermediates]);
        using var _server = server;
        using var _tcp = tcp;
        await using (var tls = await V2gTls.ConnectAsync(tcp.GetStream(), [Pki.V2gRoot], DateTimeOffset.UtcNow, CancellationToken.None))
        {
            Assert.Equal(V2gCipherSuite.EcdheEcdsaAes128CbcSha256, tls.CipherSuite);
            await tls.WriteAsync("abc\n"u8.ToArray());   // -rev: the server answers reversed
            var buffer = new byte[64];
            int n = await tls.ReadAsync(buffer);
            Assert.Contains("cba", Encoding.ASCII.GetString(buffer, 0, n));
        }
        await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        _ = await serverOutput;
    }

    [Fact]
    public async Task DotNet_SslStream_with_the_V2G_root_as_its_only_trust_completes_the_handshake()
    {
        var outcomes = new List<string>();
        var (listener, serving) = Serve(Secc(Pki), outcomes);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, PortOf(listener));
        using var root = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(Pki.V2gRoot.GetEncoded());
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, certificate, chain, _) =>
        {
            chain!.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(root);
            chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
            return chain.Build(new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate!));
        });
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "", EnabledSslProtocols = SslProtocols.Tls12 });
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, ssl.NegotiatedCipherSuite);
        await ssl.WriteAsync("dotnet"u8.ToArray());
        var buffer = new byte[16];
        int n = await ssl.ReadAsync(buffer);
        Assert.Equal("DOTNET", Encoding.ASCII.GetString(buffer, 0, n));
        ssl.Close();
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
        listener.Stop();
    }

    [Fact]
    public async Task The_EV_refuses_a_SECC_chain_from_another_root_and_an_expired_SECC_certificate()
    {
        var foreign = TestPki.Generate(new TestPkiOptions { Seed = "tls-foreign", ValidFrom = From });
        var outcomes = new List<string>();
        var (listener, serving) = Serve(Secc(foreign), outcomes);
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, PortOf(listener));
            var e = await Assert.ThrowsAsync<V2gTlsException>(() => V2gTls.ConnectAsync(tcp.GetStream(), [Pki.V2gRoot], DateTimeOffset.UtcNow, CancellationToken.None));
            Assert.Contains("unknown_ca", e.Message);
            Assert.Contains("UntrustedRoot", e.Message);
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
        listener.Stop();
        Assert.Contains("unknown_ca", Assert.Single(outcomes));   // the SECC hears the EV's alert

        // the SECC certificate lasts 60 days: 61 days on, the EV refuses it
        outcomes.Clear();
        (listener, serving) = Serve(Secc(Pki), outcomes);
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, PortOf(listener));
            var e = await Assert.ThrowsAsync<V2gTlsException>(() => V2gTls.ConnectAsync(tcp.GetStream(), [Pki.V2gRoot], From.AddDays(61), CancellationToken.None));
            Assert.Contains("certificate_expired", e.Message);
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
        listener.Stop();
    }

    [Fact]
    public async Task A_client_without_the_ISO_15118_2_suites_or_with_TLS_1_3_only_is_refused_by_the_SECC()
    {
        var outcomes = new List<string>();
        var (listener, serving) = Serve(Secc(Pki), outcomes, connections: 2);
        var (code, output) = await Run("openssl", null, "s_client", "-connect", "127.0.0.1:" + PortOf(listener), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256");
        Assert.NotEqual(0, code);
        Assert.Contains("handshake failure", output, StringComparison.OrdinalIgnoreCase);
        var (code13, output13) = await Run("openssl", null, "s_client", "-connect", "127.0.0.1:" + PortOf(listener), "-tls1_3");
        Assert.NotEqual(0, code13);
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
        listener.Stop();
        Assert.Equal(2, outcomes.Count);
        Assert.All(outcomes, o => Assert.StartsWith("failed", o));
        _ = output13;
    }

    [Fact]
    public void The_SECC_key_works_for_ECDH_as_the_static_suite_needs()
    {
        Assert.True(CertificateChains.HasKeyUsage(Pki[CertificateRole.Secc].Certificate,
            Org.BouncyCastle.Asn1.X509.KeyUsage.KeyAgreement | Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature));
        Assert.False(CertificateChains.HasKeyUsage(Pki[CertificateRole.CpsLeaf].Certificate, Org.BouncyCastle.Asn1.X509.KeyUsage.KeyAgreement));
        Assert.IsType<ECPublicKeyParameters>(Pki[CertificateRole.Secc].Certificate.GetPublicKey());
    }
}
