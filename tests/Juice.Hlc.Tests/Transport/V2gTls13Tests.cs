using System.Net;
using System.Net.Sockets;
using System.Text;
using Juice.Hlc.Security;
using Juice.Hlc.Transport;

namespace Juice.Hlc.Tests.Transport;

/// <summary>
/// TLS 1.3 for ISO 15118-20: our EV and SECC with each other on both -20 certificate profiles (secp521r1 with
/// ecdsa_secp521r1_sha512, Ed448) and both cipher suites, the vehicle certificate (mutual authentication), one
/// server that answers a TLS 1.2 EV with the -2 certificate and a TLS 1.3 EV with the -20 one, OpenSSL as the
/// independent peer on both sides, and the refusals: TLS 1.2 where only -20 is served, foreign chains both ways, a
/// missing vehicle certificate where it is required, a -2 certificate shown in TLS 1.3.
/// </summary>
public sealed class V2gTls13Tests : IDisposable
{
    private static readonly DateTimeOffset From = DateTimeOffset.UtcNow.Date.AddDays(-1);
    private static readonly Lazy<TestPki> Iso2 = new(() => TestPki.Generate(new TestPkiOptions { Seed = "tls13-tests", ValidFrom = From }));
    private static readonly Lazy<TestPki> P521 = new(() => TestPki.Generate(new TestPkiOptions { Seed = "tls13-tests", ValidFrom = From, Algorithm = PkiAlgorithm.Secp521r1 }));
    private static readonly Lazy<TestPki> Ed448 = new(() => TestPki.Generate(new TestPkiOptions { Seed = "tls13-tests", ValidFrom = From, Algorithm = PkiAlgorithm.Ed448 }));
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-tls13-").FullName;

    public V2gTls13Tests()
    {
        P521.Value.Write(Path.Combine(_dir, "p521"));
        Ed448.Value.Write(Path.Combine(_dir, "ed448"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TestPki Pki(PkiAlgorithm algorithm) => algorithm switch
    {
        PkiAlgorithm.Secp521r1 => P521.Value,
        PkiAlgorithm.Ed448 => Ed448.Value,
        _ => Iso2.Value,
    };

    private static V2gTlsCredentials Leaf(TestPki pki, CertificateRole role) => new(pki.Chain(role), pki[role].Key);

    /// <summary>Both -20 SECC certificates, the -2 one, and the OEM roots of both -20 PKIs for the vehicle certificate.</summary>
    private static V2gTlsServerSetup Both(bool requireVehicle = false) => new()
    {
        Iso2 = () => Leaf(Iso2.Value, CertificateRole.Secc),
        Iso20 = () => [Leaf(P521.Value, CertificateRole.Secc), Leaf(Ed448.Value, CertificateRole.Secc)],
        VehicleRoots = [P521.Value.OemRoot, Ed448.Value.OemRoot],
        RequireVehicleCertificate = requireVehicle,
    };

    private static V2gTlsClientSetup Ev(PkiAlgorithm algorithm, bool vehicle = true, V2gTlsVersion[]? versions = null) => new()
    {
        V2gRoots = [Iso2.Value.V2gRoot, P521.Value.V2gRoot, Ed448.Value.V2gRoot],
        Now = DateTimeOffset.UtcNow,
        Versions = versions ?? [V2gTlsVersion.Tls13],
        Iso20Algorithms = [algorithm],
        VehicleCertificate = vehicle ? Leaf(Pki(algorithm), CertificateRole.Vehicle) : null,
    };

    /// <summary>A server on loopback: per connection the outcome ("ok VERSION SUITE CN-of-vehicle" or "failed …") and an upper-case echo of one read.</summary>
    private static (TcpListener Listener, Task Serving) Serve(V2gTlsServerSetup setup, List<string> outcomes, int connections = 1) =>
        V2gTlsTests.Serve(s => V2gTls.AcceptAsync(s, setup, CancellationToken.None),
            tls => $"ok {tls.Version} {tls.CipherSuite} {(tls.PeerChain.Count > 0 ? V2gCertificates.CommonName(tls.PeerChain[0]) ?? "?" : "none")}", outcomes, connections);

    private static async Task<V2gTlsStream> Connect(TcpListener listener, V2gTlsClientSetup setup, TcpClient tcp)
    {
        await tcp.ConnectAsync(IPAddress.Loopback, V2gTlsTests.PortOf(listener));
        return await V2gTls.ConnectAsync(tcp.GetStream(), setup, CancellationToken.None);
    }

    private static async Task Echo(V2gTlsStream tls)
    {
        await tls.WriteAsync("iso20"u8.ToArray());
        var buffer = new byte[64];
        int n = await tls.ReadAsync(buffer);
        Assert.Equal("ISO20", Encoding.ASCII.GetString(buffer, 0, n));
    }

    [Theory]
    [InlineData(PkiAlgorithm.Secp521r1)]
    [InlineData(PkiAlgorithm.Ed448)]
    public async Task Our_EV_and_SECC_speak_TLS_1_3_with_the_certificate_profile_the_EV_lists_and_the_vehicle_certificate(PkiAlgorithm algorithm)
    {
        var outcomes = new List<string>();
        var (listener, serving) = Serve(Both(), outcomes);
        using var tcp = new TcpClient();
        await using (var tls = await Connect(listener, Ev(algorithm), tcp))
        {
            Assert.Equal(V2gTlsVersion.Tls13, tls.Version);
            Assert.Equal(V2gCipherSuite.Aes256GcmSha384, tls.CipherSuite);   // [V2G20-1856]: the first of the two
            Assert.Equal(3, tls.PeerChain.Count);
            Assert.Equal(algorithm, PkiKeys.Of(tls.PeerChain[0].GetPublicKey()));
            Assert.Equal(Pki(algorithm)[CertificateRole.Secc].Certificate, tls.PeerChain[0]);
            await Echo(tls);
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        listener.Stop();
        Assert.Equal([$"ok Tls13 Aes256GcmSha384 {new TestPkiOptions().VehicleName}"], outcomes);
    }

    [Fact]
    public async Task One_server_answers_a_TLS_1_2_EV_with_the_ISO_15118_2_certificate_and_an_EV_offering_both_with_TLS_1_3()
    {
        var outcomes = new List<string>();
        var (listener, serving) = Serve(Both(), outcomes, connections: 2);
        using (var tcp = new TcpClient())
        {
            await using var tls = await Connect(listener, Ev(PkiAlgorithm.Secp521r1, versions: [V2gTlsVersion.Tls12]), tcp);
            Assert.Equal(V2gTlsVersion.Tls12, tls.Version);
            Assert.Equal(V2gCipherSuite.EcdheEcdsaAes128CbcSha256, tls.CipherSuite);
            Assert.Equal(Iso2.Value[CertificateRole.Secc].Certificate, tls.PeerChain[0]);
            await Echo(tls);
        }
        using (var tcp = new TcpClient())
        {
            await using var tls = await Connect(listener, Ev(PkiAlgorithm.Ed448, versions: [V2gTlsVersion.Tls13, V2gTlsVersion.Tls12]), tcp);
            Assert.Equal(V2gTlsVersion.Tls13, tls.Version);
            Assert.Equal(PkiAlgorithm.Ed448, PkiKeys.Of(tls.PeerChain[0].GetPublicKey()));
            await Echo(tls);
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        listener.Stop();
        // ISO 15118-2 has no client authentication: the TLS 1.2 EV shows no certificate
        Assert.Equal(["ok Tls12 EcdheEcdsaAes128CbcSha256 none", $"ok Tls13 Aes256GcmSha384 {new TestPkiOptions().VehicleName}"], outcomes);
    }

    [Fact]
    public async Task A_server_for_ISO_15118_20_only_refuses_a_client_that_offers_only_TLS_1_2()
    {
        var outcomes = new List<string>();
        var setup = Both() with { Iso2 = () => null };
        var (listener, serving) = Serve(setup, outcomes, connections: 2);
        using (var tcp = new TcpClient())
        {
            var e = await Assert.ThrowsAsync<V2gTlsException>(() => Connect(listener, Ev(PkiAlgorithm.Secp521r1, versions: [V2gTlsVersion.Tls12]), tcp));
            Assert.Contains("protocol_version", e.Message);
        }
        var (code, output) = await V2gTlsTests.Run("openssl", null, "s_client", "-connect", "127.0.0.1:" + V2gTlsTests.PortOf(listener), "-tls1_2");
        Assert.NotEqual(0, code);
        Assert.Contains("alert protocol version", output);
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        listener.Stop();
        Assert.Equal(2, outcomes.Count);
        Assert.All(outcomes, o => Assert.StartsWith("failed", o));
    }

    [Fact]
    public async Task Foreign_chains_are_refused_both_ways_and_a_missing_vehicle_certificate_where_the_SECC_requires_one()
    {
        var foreign = TestPki.Generate(new TestPkiOptions { Seed = "tls13-foreign", ValidFrom = From, Algorithm = PkiAlgorithm.Secp521r1 });

        // the EV trusts only another V2G root
        var outcomes = new List<string>();
        var (listener, serving) = Serve(Both(), outcomes);
        using (var tcp = new TcpClient())
        {
            var e = await Assert.ThrowsAsync<V2gTlsException>(() => Connect(listener, Ev(PkiAlgorithm.Secp521r1) with { V2gRoots = [foreign.V2gRoot] }, tcp));
            Assert.Contains("unknown_ca", e.Message);
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        listener.Stop();
        Assert.Contains("unknown_ca", Assert.Single(outcomes));

        // a vehicle certificate from an OEM the SECC does not trust
        outcomes.Clear();
        (listener, serving) = Serve(Both(), outcomes);
        using (var tcp = new TcpClient())
        {
            var setup = Ev(PkiAlgorithm.Secp521r1) with { VehicleCertificate = Leaf(foreign, CertificateRole.Vehicle) };
            // in TLS 1.3 the client's handshake is done before the server has read its certificate: the refusal
            // arrives as an alert on the first read
            await Assert.ThrowsAnyAsync<IOException>(async () =>
            {
                await using var tls = await Connect(listener, setup, tcp);
                await Echo(tls);
            });
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        listener.Stop();
        Assert.Contains("the vehicle certificate is refused (UntrustedRoot)", Assert.Single(outcomes));

        // no vehicle certificate where the SECC requires one; accepted where it does not
        outcomes.Clear();
        (listener, serving) = Serve(Both(requireVehicle: true), outcomes);
        using (var tcp = new TcpClient())
        {
            await Assert.ThrowsAnyAsync<IOException>(async () =>
            {
                await using var tls = await Connect(listener, Ev(PkiAlgorithm.Ed448, vehicle: false), tcp);
                await Echo(tls);
            });
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        listener.Stop();
        Assert.Contains("certificate_required", Assert.Single(outcomes));
        outcomes.Clear();
        (listener, serving) = Serve(Both(), outcomes);
        using (var tcp = new TcpClient())
        {
            await using var tls = await Connect(listener, Ev(PkiAlgorithm.Ed448, vehicle: false), tcp);
            await Echo(tls);
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        listener.Stop();
        Assert.Equal(["ok Tls13 Aes256GcmSha384 none"], outcomes);
    }

    [Fact]
    public async Task The_EV_refuses_an_ISO_15118_2_certificate_shown_in_TLS_1_3()
    {
        var outcomes = new List<string>();
        // a misconfigured SECC that serves its -2 (secp256r1) chain for TLS 1.3
        var setup = new V2gTlsServerSetup { Iso20 = () => [Leaf(Iso2.Value, CertificateRole.Secc)] };
        var (listener, serving) = Serve(setup, outcomes);
        using (var tcp = new TcpClient())
        {
            var ev = Ev(PkiAlgorithm.Secp521r1) with { Iso20Algorithms = [PkiAlgorithm.Secp521r1] };
            await Assert.ThrowsAsync<V2gTlsException>(() => Connect(listener, ev, tcp));
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        listener.Stop();
        Assert.StartsWith("failed", Assert.Single(outcomes));
    }

    [Theory]
    [InlineData("p521", "ecdsa_secp521r1_sha512", "P-521", "TLS_AES_256_GCM_SHA384")]
    [InlineData("ed448", "ed448", "X448", "TLS_CHACHA20_POLY1305_SHA256")]
    public async Task OpenSSL_s_client_with_the_vehicle_certificate_completes_TLS_1_3_with_our_SECC(string pki, string sigalg, string group, string suite)
    {
        var outcomes = new List<string>();
        var (listener, serving) = Serve(Both(requireVehicle: true), outcomes);
        string dir = Path.Combine(_dir, pki);
        string intermediates = Path.Combine(dir, "vehicle-intermediates.pem");
        File.WriteAllText(intermediates, V2gCertificates.ToPem(Pki(pki == "p521" ? PkiAlgorithm.Secp521r1 : PkiAlgorithm.Ed448).Chain(CertificateRole.Vehicle).Skip(1)));
        var (code, output) = await V2gTlsTests.Run("openssl", "ping\n", "s_client", "-connect", "127.0.0.1:" + V2gTlsTests.PortOf(listener), "-tls1_3",
            "-sigalgs", sigalg, "-groups", group, "-ciphersuites", suite, "-CAfile", Path.Combine(dir, "v2g-root.pem"), "-verify_return_error",
            "-cert", Path.Combine(dir, "vehicle.pem"), "-key", Path.Combine(dir, "vehicle.key.pem"), "-cert_chain", intermediates);
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        listener.Stop();
        Assert.True(code == 0, output);
        Assert.Contains("PING", output);
        Assert.Contains("Verify return code: 0 (ok)", output);
        Assert.Contains("TLSv1.3", output);
        Assert.Contains(suite, output);
        Assert.Contains("CN = V2G Root CA", output);
        var expectedSuite = suite == "TLS_AES_256_GCM_SHA384" ? V2gCipherSuite.Aes256GcmSha384 : V2gCipherSuite.ChaCha20Poly1305Sha256;
        Assert.Equal([$"ok Tls13 {expectedSuite} {new TestPkiOptions().VehicleName}"], outcomes);
    }

    [Theory]
    [InlineData("p521", PkiAlgorithm.Secp521r1)]
    [InlineData("ed448", PkiAlgorithm.Ed448)]
    public async Task Our_EV_connects_to_OpenSSL_s_server_with_a_ISO_15118_20_chain_and_shows_its_vehicle_certificate(string pki, PkiAlgorithm algorithm)
    {
        string dir = Path.Combine(_dir, pki);
        string intermediates = Path.Combine(dir, "secc-intermediates.pem");
        File.WriteAllText(intermediates, V2gCertificates.ToPem(Pki(algorithm).Chain(CertificateRole.Secc).Skip(1)));
        string oemTrust = Path.Combine(dir, "oem-trust.pem");
        File.WriteAllText(oemTrust, V2gCertificates.ToPem([Pki(algorithm).OemRoot]));
        var (server, output, tcp) = await V2gTlsTests.StartOpenSslServer(["-tls1_3", "-cert", Path.Combine(dir, "secc.pem"), "-key", Path.Combine(dir, "secc.key.pem"),
            "-cert_chain", intermediates, "-Verify", "3", "-CAfile", oemTrust, "-verify_return_error"]);
        using var _server = server;
        using var _tcp = tcp;
        await using (var tls = await V2gTls.ConnectAsync(tcp.GetStream(), Ev(algorithm), CancellationToken.None))
        {
            Assert.Equal(V2gTlsVersion.Tls13, tls.Version);
            await tls.WriteAsync("abc\n"u8.ToArray());   // -rev: the server answers reversed
            var buffer = new byte[64];
            int n = await tls.ReadAsync(buffer);
            Assert.Contains("cba", Encoding.ASCII.GetString(buffer, 0, n));
        }
        await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        string log = await output;
        Assert.Contains("CN=" + new TestPkiOptions().VehicleName, log.Replace(" = ", "=", StringComparison.Ordinal));   // OpenSSL verified our vehicle chain
    }

    [Fact]
    public async Task The_key_log_of_a_TLS_1_3_session_names_the_handshake_and_application_traffic_secrets()
    {
        var lines = new List<string>();
        var outcomes = new List<string>();
        var (listener, serving) = Serve(Both(), outcomes);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, V2gTlsTests.PortOf(listener));
        await using (var tls = await V2gTls.ConnectAsync(tcp.GetStream(), Ev(PkiAlgorithm.Secp521r1), CancellationToken.None, lines.Add))
        {
            await Echo(tls);
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        listener.Stop();
        Assert.Equal(4, lines.Count);
        // SHA-384 secrets of TLS_AES_256_GCM_SHA384: the handshake's (logged while it runs) and the application's
        Assert.Matches("^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]{96}$", lines[0]);
        Assert.Matches("^SERVER_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]{96}$", lines[1]);
        Assert.Matches("^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]{96}$", lines[2]);
        Assert.Matches("^SERVER_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]{96}$", lines[3]);
        Assert.NotEqual(lines[0].Split(' ')[2], lines[2].Split(' ')[2]);
    }
}
