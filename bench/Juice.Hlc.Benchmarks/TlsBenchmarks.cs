using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Security;
using Juice.Hlc.Transport;

namespace Juice.Hlc.Benchmarks;

/// <summary>
/// The cost of V2G security per session: a full TLS handshake over loopback TCP (both sides in this process, so the
/// time is the SECC's and the EV's work together) for ISO 15118-2 (TLS 1.2, ECDHE, secp256r1) and ISO 15118-20
/// (TLS 1.3 with the vehicle certificate, secp521r1 or Ed448), and the header signature of a -20 PnC authorization
/// (sign on the EV, verify on the SECC) against the -2 one.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 15)]
public class TlsBenchmarks
{
    [Params("iso2-p256", "iso20-p521", "iso20-ed448")]
    public string Profile { get; set; } = "";

    private TestPki _pki = null!;
    private TcpListener _listener = null!;
    private V2gTlsServerSetup _server = null!;
    private V2gTlsClientSetup _client = null!;
    private ExiRoot _element = null!;

    [GlobalSetup]
    public void Setup()
    {
        var algorithm = Profile switch { "iso20-p521" => PkiAlgorithm.Secp521r1, "iso20-ed448" => PkiAlgorithm.Ed448, _ => PkiAlgorithm.Secp256r1 };
        _pki = TestPki.Generate(new TestPkiOptions { Seed = "bench", ValidFrom = DateTimeOffset.UtcNow.AddDays(-1), Algorithm = algorithm });
        var secc = new V2gTlsCredentials(_pki.Chain(CertificateRole.Secc), _pki[CertificateRole.Secc].Key);
        bool iso20 = algorithm != PkiAlgorithm.Secp256r1;
        _server = iso20
            ? new V2gTlsServerSetup { Iso20 = () => [secc], VehicleRoots = [_pki.OemRoot] }
            : new V2gTlsServerSetup { Iso2 = () => secc };
        _client = new V2gTlsClientSetup
        {
            V2gRoots = [_pki.V2gRoot],
            Now = DateTimeOffset.UtcNow,
            Versions = [iso20 ? V2gTlsVersion.Tls13 : V2gTlsVersion.Tls12],
            Tls12Suites = [V2gCipherSuite.EcdheEcdsaAes128CbcSha256],
            Iso20Algorithms = iso20 ? [algorithm] : [PkiAlgorithm.Secp521r1],
            VehicleCertificate = iso20 ? new V2gTlsCredentials(_pki.Chain(CertificateRole.Vehicle), _pki[CertificateRole.Vehicle].Key) : null,
        };
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();

        var chain = _pki.Chain(CertificateRole.Contract);
        var mode = new PnC_AReqAuthorizationModeType
        {
            Id = "id1",
            GenChallenge = new byte[16],
            ContractCertificateChain = new ContractCertificateChainType
            {
                Certificate = chain[0].GetEncoded(),
                SubCertificates = new SubCertificatesType { Certificate = [.. chain.Skip(1).Select(c => c.GetEncoded())] },
            },
        };
        _element = Iso20Signatures.Element("PnC_AReqAuthorizationMode", mode);
    }

    [GlobalCleanup]
    public void Cleanup() => _listener.Stop();

    /// <summary>One connection: TCP connect, both sides of the handshake, close.</summary>
    [Benchmark]
    public async Task Handshake()
    {
        var accepted = _listener.AcceptTcpClientAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)_listener.LocalEndpoint).Port);
        using var serverSide = await accepted;
        var server = V2gTls.AcceptAsync(serverSide.GetStream(), _server, CancellationToken.None);
        await using var client = await V2gTls.ConnectAsync(tcp.GetStream(), _client with { Now = DateTimeOffset.UtcNow }, CancellationToken.None);
        await using var secc = await server;
    }

    /// <summary>The EV signs its authorization, the SECC verifies it (-2: AuthorizationReq with ECDSA P-256; -20: PnC_AReqAuthorizationMode).</summary>
    [Benchmark]
    public bool SignAndVerifyAuthorization()
    {
        if (Profile == "iso2-p256")
        {
            var body = Iso2Signatures.Body("AuthorizationReq", new Juice.Hlc.Exi.Iso2.AuthorizationReqType { Id = "id1", GenChallenge = new byte[16] });
            var signature = Iso2Signatures.Sign([("id1", body)], _pki[CertificateRole.Contract].PrivateKey);
            return Iso2Signatures.Verify(signature, [("id1", body)], _pki[CertificateRole.Contract].PublicKey).Result == SignatureCheck.Valid;
        }
        var signed = Iso20Signatures.Sign([("id1", _element)], _pki[CertificateRole.Contract].Key);
        return Iso20Signatures.Verify(signed, [("id1", _element)], _pki[CertificateRole.Contract].Certificate.GetPublicKey()).Result == SignatureCheck.Valid;
    }
}
