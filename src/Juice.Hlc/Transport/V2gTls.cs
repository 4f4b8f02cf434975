using System.Runtime.CompilerServices;
using Juice.Hlc.Security;
using Org.BouncyCastle.Crypto.Agreement;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace Juice.Hlc.Transport;

/// <summary>The two cipher suites of ISO 15118-2 [V2G2-614]; the SECC offers both, an EV may use either.</summary>
public enum V2gCipherSuite
{
    /// <summary>TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (0xC023): ephemeral ECDH, the server signs with its ECDSA key.</summary>
    EcdheEcdsaAes128CbcSha256 = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,

    /// <summary>TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256 (0xC025): the server's certificate key is its ECDH key.</summary>
    EcdhEcdsaAes128CbcSha256 = CipherSuite.TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256,
}

/// <summary>The SECC's TLS identity: its certificate chain (leaf, Sub-CA 2, Sub-CA 1) and the leaf's private key.</summary>
public sealed record V2gTlsCredentials(IReadOnlyList<BcCertificate> Chain, ECPrivateKeyParameters PrivateKey);

/// <summary>The outcome of a TLS handshake.</summary>
public sealed class V2gTlsException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// TLS 1.2 for V2G communication (ISO 15118-2 §7.7.3): TLS 1.2 only, the two cipher suites of [V2G2-614] on
/// secp256r1, server authentication only (no client certificate in -2), and no host name: the EV checks the SECC's
/// chain against its V2G roots [V2G2-620]. Built on BouncyCastle's TLS in non-blocking mode under async I/O;
/// the static-ECDH suite uses an explicit client key (RFC 4492 §5.7), which neither OpenSSL 3 nor BouncyCastle's
/// own key exchange offer.
/// </summary>
public static class V2gTls
{
    /// <summary>The SECC side of the handshake on an accepted connection; the secured stream, or <see cref="V2gTlsException"/>.</summary>
    /// <remarks><paramref name="keyLog"/> gets the session's key log line (see <see cref="KeyLogLine"/>) once the handshake is done.</remarks>
    public static Task<V2gTlsStream> AcceptAsync(Stream network, Func<V2gTlsCredentials> credentials, CancellationToken ct, IReadOnlyList<V2gCipherSuite>? suites = null,
        Action<string>? keyLog = null)
    {
        var crypto = new BcTlsCrypto(new SecureRandom());
        var protocol = new TlsServerProtocol();
        var server = new Server(crypto, credentials(), suites ?? [V2gCipherSuite.EcdheEcdsaAes128CbcSha256, V2gCipherSuite.EcdhEcdsaAes128CbcSha256], keyLog);
        protocol.Accept(server);
        return V2gTlsStream.HandshakeAsync(network, protocol, () => server.Selected, ct);
    }

    /// <summary>
    /// The EV side: connects over <paramref name="network"/> and checks the SECC's chain against
    /// <paramref name="v2gRoots"/> at <paramref name="now"/>; the secured stream, or <see cref="V2gTlsException"/>.
    /// </summary>
    public static Task<V2gTlsStream> ConnectAsync(Stream network, IReadOnlyCollection<BcCertificate> v2gRoots, DateTimeOffset now, CancellationToken ct,
        IReadOnlyList<V2gCipherSuite>? suites = null, Action<string>? keyLog = null)
    {
        var crypto = new BcTlsCrypto(new SecureRandom());
        var protocol = new TlsClientProtocol();
        var client = new Client(crypto, v2gRoots, now, suites ?? [V2gCipherSuite.EcdheEcdsaAes128CbcSha256, V2gCipherSuite.EcdhEcdsaAes128CbcSha256], keyLog);
        protocol.Connect(client);
        return V2gTlsStream.HandshakeAsync(network, protocol, () => client.Selected, ct, () => client.ServerChain);
    }

    /// <summary>
    /// The NSS key log line of a finished TLS 1.2 handshake (<c>CLIENT_RANDOM &lt;client random&gt; &lt;master secret&gt;</c>, the
    /// SSLKEYLOGFILE format Wireshark and tshark read to decrypt a capture). For debugging only: whoever holds it
    /// reads the session.
    /// </summary>
    public static string KeyLogLine(TlsContext context) =>
        $"CLIENT_RANDOM {Convert.ToHexStringLower(context.SecurityParameters.ClientRandom)} {Convert.ToHexStringLower(SecretBytes((AbstractTlsSecret)context.SecurityParameters.MasterSecret))}";

    // BouncyCastle hands a secret out only by destroying it (Extract); the master secret is still needed afterwards
    // (session resumption), so the key log reads the bytes in place.
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "m_data")]
    private static extern ref byte[] SecretBytes(AbstractTlsSecret secret);

    private static readonly ProtocolVersion[] Tls12 = ProtocolVersion.TLSv12.Only();
    private static readonly int[] Groups = [NamedGroup.secp256r1];

    private sealed class Server(BcTlsCrypto crypto, V2gTlsCredentials credentials, IReadOnlyList<V2gCipherSuite> suites, Action<string>? keyLog) : DefaultTlsServer(crypto)
    {
        public V2gCipherSuite? Selected { get; private set; }

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            keyLog?.Invoke(KeyLogLine(m_context));
        }

        protected override ProtocolVersion[] GetSupportedVersions() => Tls12;

        protected override int[] GetSupportedCipherSuites() => [.. suites.Select(s => (int)s)];

        public override int[] GetSupportedGroups() => Groups;

        public override TlsKeyExchangeFactory GetKeyExchangeFactory() => new Factory(credentials.PrivateKey, null);

        public override void NotifySecureRenegotiation(bool secureRenegotiation)
        {
            // EVs rarely send the renegotiation_info extension; this server never renegotiates either way
        }

        private Certificate Chain() =>
            new([.. credentials.Chain.Select(c => crypto.CreateCertificate(c.GetEncoded()))]);

        public override TlsCredentials GetCredentials()
        {
            int suite = m_context.SecurityParameters.CipherSuite;
            Selected = (V2gCipherSuite)suite;
            return m_context.SecurityParameters.KeyExchangeAlgorithm switch
            {
                KeyExchangeAlgorithm.ECDHE_ECDSA => new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(m_context), crypto, credentials.PrivateKey, Chain(),
                    SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa)),
                KeyExchangeAlgorithm.ECDH_ECDSA => new BcDefaultTlsCredentialedAgreement(crypto, Chain(), credentials.PrivateKey),
                _ => throw new TlsFatalAlert(AlertDescription.handshake_failure),
            };
        }
    }

    private sealed class Client(BcTlsCrypto crypto, IReadOnlyCollection<BcCertificate> roots, DateTimeOffset now, IReadOnlyList<V2gCipherSuite> suites, Action<string>? keyLog)
        : DefaultTlsClient(crypto)
    {
        public V2gCipherSuite? Selected { get; private set; }

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            keyLog?.Invoke(KeyLogLine(m_context));
        }

        public IReadOnlyList<BcCertificate> ServerChain { get; private set; } = [];

        private IReadOnlyCollection<BcCertificate> Roots => roots;

        private DateTimeOffset Now => now;

        protected override ProtocolVersion[] GetSupportedVersions() => Tls12;

        protected override int[] GetSupportedCipherSuites() => [.. suites.Select(s => (int)s)];

        protected override IList<int> GetSupportedGroups(IList<int> namedGroupRoles) => Groups;

        public override TlsKeyExchangeFactory GetKeyExchangeFactory() => new Factory(null, () => ServerChain);

        public override void NotifySelectedCipherSuite(int selectedCipherSuite) => Selected = (V2gCipherSuite)selectedCipherSuite;

        public override TlsAuthentication GetAuthentication() => new Authentication(this);

        private sealed class Authentication(Client client) : TlsAuthentication
        {
            public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
            {
                var chain = serverCertificate.Certificate.GetCertificateList().Select(c => new BcCertificate(c.GetEncoded())).ToList();
                client.ServerChain = chain;
                // [V2G2-620]: the SECC certificate chain up to a V2G root the EV trusts; no host name check
                var result = CertificateChains.Validate(chain, client.Roots, client.Now, "CPO");
                if (!result.Valid)
                {
                    short alert = result.Status switch
                    {
                        ChainStatus.Expired or ChainStatus.NotYetValid => AlertDescription.certificate_expired,
                        ChainStatus.UntrustedRoot => AlertDescription.unknown_ca,
                        _ => AlertDescription.bad_certificate,
                    };
                    throw new TlsFatalAlert(alert, $"the SECC certificate is refused ({result.Status}): {result.Detail}");
                }
            }

            public TlsCredentials? GetClientCredentials(CertificateRequest certificateRequest) => null;
        }
    }

    /// <summary>The key exchanges: BouncyCastle's own for ECDHE_ECDSA, ours for ECDH_ECDSA with an explicit client key.</summary>
    private sealed class Factory(ECPrivateKeyParameters? serverKey, Func<IReadOnlyList<BcCertificate>>? serverChain) : DefaultTlsKeyExchangeFactory
    {
        public override TlsKeyExchange CreateECDHKeyExchange(int keyExchange) => new ExplicitEcdhKeyExchange(keyExchange, serverKey, serverChain);
    }

    /// <summary>
    /// ECDH_ECDSA (RFC 4492): no ServerKeyExchange, the server's certificate key is its ECDH key; the client sends
    /// an ephemeral public point in ClientKeyExchange ("explicit", §5.7) and both sides agree on its x-coordinate.
    /// </summary>
    private sealed class ExplicitEcdhKeyExchange(int keyExchange, ECPrivateKeyParameters? serverKey, Func<IReadOnlyList<BcCertificate>>? serverChain)
        : AbstractTlsKeyExchange(keyExchange)
    {
        private ECPublicKeyParameters? _peer;
        private ECPrivateKeyParameters? _own;

        public override void SkipServerCredentials() => throw new TlsFatalAlert(AlertDescription.internal_error);

        public override void ProcessServerCredentials(TlsCredentials serverCredentials) => _own = serverKey ?? throw new TlsFatalAlert(AlertDescription.internal_error);

        public override void ProcessServerCertificate(Certificate serverCertificate)
        {
            serverCertificate.GetCertificateAt(0).CheckUsageInRole(TlsCertificateRole.ECDH);
            var leaf = serverChain?.Invoke() is { Count: > 0 } chain ? chain[0] : new BcCertificate(serverCertificate.GetCertificateAt(0).GetEncoded());
            _peer = leaf.GetPublicKey() as ECPublicKeyParameters ?? throw new TlsFatalAlert(AlertDescription.bad_certificate);
        }

        public override short[] GetClientCertificateTypes() => [ClientCertificateType.ecdsa_sign];

        public override void SkipClientCredentials()
        {
        }

        public override void ProcessClientCredentials(TlsCredentials clientCredentials) => throw new TlsFatalAlert(AlertDescription.internal_error);

        public override void GenerateClientKeyExchange(Stream output)
        {
            var ephemeral = V2gKeys.Generate(new SecureRandom());
            _own = (ECPrivateKeyParameters)ephemeral.Private;
            TlsUtilities.WriteOpaque8(V2gKeys.Point((ECPublicKeyParameters)ephemeral.Public), output);
        }

        public override void ProcessClientKeyExchange(Stream input)
        {
            try
            {
                _peer = V2gKeys.FromPoint(TlsUtilities.ReadOpaque8(input, 1));
            }
            catch (ArgumentException e)
            {
                throw new TlsFatalAlert(AlertDescription.illegal_parameter, "the client's ECDH point: " + e.Message);
            }
        }

        public override TlsSecret GeneratePreMasterSecret()
        {
            var agreement = new ECDHBasicAgreement();
            agreement.Init(_own ?? throw new TlsFatalAlert(AlertDescription.internal_error));
            byte[] z = agreement.CalculateAgreement(_peer ?? throw new TlsFatalAlert(AlertDescription.internal_error)).ToByteArrayUnsigned();
            byte[] x = new byte[32];
            z.CopyTo(x.AsSpan(32 - z.Length));
            return m_context.Crypto.CreateSecret(x);
        }
    }
}

/// <summary>
/// A TLS connection as a stream: BouncyCastle's protocol engine in non-blocking mode between the application and the
/// network stream. Each write becomes the TLS records of that write, sent in one network write (V2GTP: one message
/// per send).
/// </summary>
public sealed class V2gTlsStream : Stream
{
    private readonly Stream _network;
    private readonly TlsProtocol _protocol;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _readBuffer = new byte[16 * 1024 + 512];
    private bool _closed;

    private V2gTlsStream(Stream network, TlsProtocol protocol, V2gCipherSuite suite, IReadOnlyList<BcCertificate> peerChain)
    {
        _network = network;
        _protocol = protocol;
        CipherSuite = suite;
        PeerChain = peerChain;
    }

    /// <summary>The cipher suite the handshake agreed on.</summary>
    public V2gCipherSuite CipherSuite { get; }

    /// <summary>The server's certificate chain as the EV received it (empty on the SECC side).</summary>
    public IReadOnlyList<BcCertificate> PeerChain { get; }

    internal static async Task<V2gTlsStream> HandshakeAsync(Stream network, TlsProtocol protocol, Func<V2gCipherSuite?> selected, CancellationToken ct,
        Func<IReadOnlyList<BcCertificate>>? peer = null)
    {
        var buffer = new byte[16 * 1024 + 512];
        try
        {
            while (true)
            {
                await FlushOutputAsync(network, protocol, ct).ConfigureAwait(false);
                if (!protocol.IsHandshaking)
                {
                    break;
                }
                int n = await network.ReadAsync(buffer, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new V2gTlsException("the peer closed the connection during the TLS handshake");
                }
                protocol.OfferInput(buffer, 0, n);
            }
        }
        catch (TlsFatalAlertReceived e)
        {
            throw new V2gTlsException($"the peer refused the TLS handshake: alert {AlertDescription.GetText(e.AlertDescription)}", e);
        }
        catch (TlsFatalAlert e)
        {
            await TryFlushAsync(network, protocol).ConfigureAwait(false);   // the alert goes out before the connection closes
            throw new V2gTlsException($"TLS handshake failed: {AlertDescription.GetText(e.AlertDescription)} ({e.Message})", e);
        }
        catch (TlsException e)
        {
            await TryFlushAsync(network, protocol).ConfigureAwait(false);
            throw new V2gTlsException("TLS handshake failed: " + e.Message, e);
        }
        return new V2gTlsStream(network, protocol, selected() ?? throw new V2gTlsException("no cipher suite selected"), peer?.Invoke() ?? []);
    }

    private static async Task FlushOutputAsync(Stream network, TlsProtocol protocol, CancellationToken ct)
    {
        int available = protocol.GetAvailableOutputBytes();
        if (available > 0)
        {
            var output = new byte[available];
            protocol.ReadOutput(output, 0, available);
            await network.WriteAsync(output, ct).ConfigureAwait(false);
            await network.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    private static async Task TryFlushAsync(Stream network, TlsProtocol protocol)
    {
        try
        {
            await FlushOutputAsync(network, protocol, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or TlsException or InvalidOperationException)
        {
        }
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            lock (_gate)
            {
                int available = _protocol.GetAvailableInputBytes();
                if (available > 0)
                {
                    int n = Math.Min(available, buffer.Length);
                    var chunk = new byte[n];
                    _protocol.ReadInput(chunk, 0, n);
                    chunk.CopyTo(buffer);
                    return n;
                }
                if (_protocol.IsClosed)
                {
                    return 0;
                }
            }
            int read = await _network.ReadAsync(_readBuffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return 0;
            }
            try
            {
                lock (_gate)
                {
                    _protocol.OfferInput(_readBuffer, 0, read);
                }
            }
            catch (TlsException e)
            {
                throw new V2gTlsException("TLS: " + e.Message, e);
            }
            await SendPendingAsync(cancellationToken).ConfigureAwait(false);   // alerts, close_notify
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] output;
            lock (_gate)
            {
                if (_protocol.IsClosed)
                {
                    throw new IOException("the TLS connection is closed");
                }
                _protocol.WriteApplicationData(buffer.Span);
                output = new byte[_protocol.GetAvailableOutputBytes()];
                _protocol.ReadOutput(output, 0, output.Length);
            }
            await _network.WriteAsync(output, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task SendPendingAsync(CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            byte[] output;
            lock (_gate)
            {
                output = new byte[_protocol.GetAvailableOutputBytes()];
                if (output.Length > 0)
                {
                    _protocol.ReadOutput(output, 0, output.Length);
                }
            }
            if (output.Length > 0)
            {
                await _network.WriteAsync(output, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => _network.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush() => _network.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (!_closed)
        {
            _closed = true;
            try
            {
                lock (_gate)
                {
                    _protocol.Close();   // close_notify
                }
                await SendPendingAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or TlsException or InvalidOperationException)
            {
            }
            await _network.DisposeAsync().ConfigureAwait(false);
            _writeLock.Dispose();
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_closed)
        {
            DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        base.Dispose(disposing);
    }
}
