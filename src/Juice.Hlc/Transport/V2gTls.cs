using System.Runtime.CompilerServices;
using Juice.Hlc.Security;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Agreement;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace Juice.Hlc.Transport;

/// <summary>
/// The cipher suites of V2G TLS: the two of ISO 15118-2 [V2G2-614] (TLS 1.2; the SECC offers both, an EV may use
/// either) and the two of ISO 15118-20 [V2G20-1856] (TLS 1.3, in this order of preference).
/// </summary>
public enum V2gCipherSuite
{
    /// <summary>TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (0xC023): ephemeral ECDH, the server signs with its ECDSA key.</summary>
    EcdheEcdsaAes128CbcSha256 = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,

    /// <summary>TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256 (0xC025): the server's certificate key is its ECDH key.</summary>
    EcdhEcdsaAes128CbcSha256 = CipherSuite.TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256,

    /// <summary>TLS_AES_256_GCM_SHA384 (0x1302), TLS 1.3.</summary>
    Aes256GcmSha384 = CipherSuite.TLS_AES_256_GCM_SHA384,

    /// <summary>TLS_CHACHA20_POLY1305_SHA256 (0x1303), TLS 1.3.</summary>
    ChaCha20Poly1305Sha256 = CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
}

/// <summary>The TLS version of a connection: 1.2 for DIN SPEC 70121 and ISO 15118-2, 1.3 for ISO 15118-20.</summary>
public enum V2gTlsVersion
{
    Tls12,
    Tls13,
}

/// <summary>A TLS identity: a certificate chain (leaf, Sub-CA 2, Sub-CA 1; no root) and the leaf's private key (secp256r1, secp521r1 or Ed448).</summary>
public sealed record V2gTlsCredentials(IReadOnlyList<BcCertificate> Chain, AsymmetricKeyParameter PrivateKey)
{
    public PkiAlgorithm Algorithm => PkiKeys.Of(PrivateKey);
}

/// <summary>
/// What the SECC's TLS server offers. ISO 15118-2 and -20 need different SECC certificates (secp256r1 for TLS 1.2;
/// secp521r1 or Ed448 for TLS 1.3), so the server holds both and answers each EV with the version it offers: an EV
/// that offers TLS 1.3 gets it with the -20 certificate whose signature scheme it lists, an EV that offers only
/// TLS 1.2 gets the -2 certificate. Which protocols may then run over the connection is the SECC's decision
/// (ISO 15118-20 only over TLS 1.3).
/// </summary>
public sealed record V2gTlsServerSetup
{
    /// <summary>The ISO 15118-2 SECC certificate (secp256r1), read per connection; null: TLS 1.2 is refused.</summary>
    public Func<V2gTlsCredentials?> Iso2 { get; init; } = () => null;

    /// <summary>The ISO 15118-20 SECC certificates (secp521r1 and/or Ed448), read per connection; empty: TLS 1.3 is refused.</summary>
    public Func<IReadOnlyList<V2gTlsCredentials>> Iso20 { get; init; } = () => [];

    /// <summary>
    /// The roots the EV's vehicle certificate is checked against in TLS 1.3 ([V2G20-2356]: the SECC asks for it);
    /// empty: no certificate is asked for.
    /// </summary>
    public IReadOnlyCollection<BcCertificate> VehicleRoots { get; init; } = [];

    /// <summary>Refuse a TLS 1.3 EV that sends no vehicle certificate (default: accept it, e.g. for EIM).</summary>
    public bool RequireVehicleCertificate { get; init; }

    /// <summary>The time the vehicle certificate is checked at.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The TLS 1.2 suites offered, in order (default both of [V2G2-614]).</summary>
    public IReadOnlyList<V2gCipherSuite> Tls12Suites { get; init; } = [V2gCipherSuite.EcdheEcdsaAes128CbcSha256, V2gCipherSuite.EcdhEcdsaAes128CbcSha256];
}

/// <summary>What the EV's TLS client offers and trusts.</summary>
public sealed record V2gTlsClientSetup
{
    /// <summary>The V2G roots the SECC's chain must end at (the -2 and/or -20 ones, as the versions offered need).</summary>
    public required IReadOnlyCollection<BcCertificate> V2gRoots { get; init; }

    /// <summary>The time the SECC's chain is checked at.</summary>
    public required DateTimeOffset Now { get; init; }

    /// <summary>The versions offered: TLS 1.2 (DIN, ISO 15118-2), TLS 1.3 (ISO 15118-20), or both.</summary>
    public IReadOnlyList<V2gTlsVersion> Versions { get; init; } = [V2gTlsVersion.Tls12];

    /// <summary>The TLS 1.2 suites offered (default both of [V2G2-614]).</summary>
    public IReadOnlyList<V2gCipherSuite> Tls12Suites { get; init; } = [V2gCipherSuite.EcdheEcdsaAes128CbcSha256, V2gCipherSuite.EcdhEcdsaAes128CbcSha256];

    /// <summary>The vehicle certificate sent when a TLS 1.3 SECC asks for one; null: an empty Certificate message.</summary>
    public V2gTlsCredentials? VehicleCertificate { get; init; }

    /// <summary>ISO 15118-20 signature schemes offered in TLS 1.3 (default both: ecdsa_secp521r1_sha512, ed448).</summary>
    public IReadOnlyList<PkiAlgorithm> Iso20Algorithms { get; init; } = [PkiAlgorithm.Secp521r1, PkiAlgorithm.Ed448];
}

/// <summary>The outcome of a TLS handshake.</summary>
public sealed class V2gTlsException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// TLS for V2G communication. ISO 15118-2 §7.7.3: TLS 1.2 only, the two cipher suites of [V2G2-614] on secp256r1,
/// server authentication only, and no host name: the EV checks the SECC's chain against its V2G roots [V2G2-620].
/// ISO 15118-20 §7.7.3: TLS 1.3 [V2G20-2458] with TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256
/// [V2G20-1856], key exchange on secp521r1 or x448, signatures ecdsa_secp521r1_sha512 or ed448, and the SECC asks
/// for the EV's vehicle certificate (mutual authentication). Built on BouncyCastle's TLS in non-blocking mode under
/// async I/O; the static-ECDH suite of -2 uses an explicit client key (RFC 4492 §5.7), which neither OpenSSL 3 nor
/// BouncyCastle's own key exchange offer.
/// </summary>
public static class V2gTls
{
    /// <summary>The SECC side of the handshake on an accepted connection (ISO 15118-2 only, TLS 1.2); the secured stream, or <see cref="V2gTlsException"/>.</summary>
    /// <remarks><paramref name="keyLog"/> gets the session's key log lines (see <see cref="KeyLogLines"/>) once the handshake is done.</remarks>
    public static Task<V2gTlsStream> AcceptAsync(Stream network, Func<V2gTlsCredentials> credentials, CancellationToken ct, IReadOnlyList<V2gCipherSuite>? suites = null,
        Action<string>? keyLog = null) =>
        AcceptAsync(network, new V2gTlsServerSetup { Iso2 = credentials, Tls12Suites = suites ?? new V2gTlsServerSetup().Tls12Suites }, ct, keyLog);

    /// <summary>The SECC side of the handshake, TLS 1.2 and/or 1.3 as <paramref name="setup"/> allows; the secured stream, or <see cref="V2gTlsException"/>.</summary>
    public static Task<V2gTlsStream> AcceptAsync(Stream network, V2gTlsServerSetup setup, CancellationToken ct, Action<string>? keyLog = null)
    {
        var crypto = new BcTlsCrypto(new SecureRandom());
        var protocol = new TlsServerProtocol();
        var server = new Server(crypto, setup, keyLog);
        protocol.Accept(server);
        return V2gTlsStream.HandshakeAsync(network, protocol, server, ct);
    }

    /// <summary>
    /// The EV side (ISO 15118-2, TLS 1.2): connects over <paramref name="network"/> and checks the SECC's chain against
    /// <paramref name="v2gRoots"/> at <paramref name="now"/>; the secured stream, or <see cref="V2gTlsException"/>.
    /// </summary>
    public static Task<V2gTlsStream> ConnectAsync(Stream network, IReadOnlyCollection<BcCertificate> v2gRoots, DateTimeOffset now, CancellationToken ct,
        IReadOnlyList<V2gCipherSuite>? suites = null, Action<string>? keyLog = null) =>
        ConnectAsync(network, new V2gTlsClientSetup { V2gRoots = v2gRoots, Now = now, Tls12Suites = suites ?? new V2gTlsServerSetup().Tls12Suites }, ct, keyLog);

    /// <summary>The EV side with the versions, roots and vehicle certificate of <paramref name="setup"/>.</summary>
    public static Task<V2gTlsStream> ConnectAsync(Stream network, V2gTlsClientSetup setup, CancellationToken ct, Action<string>? keyLog = null)
    {
        var crypto = new BcTlsCrypto(new SecureRandom());
        var protocol = new TlsClientProtocol();
        var client = new Client(crypto, setup, keyLog);
        protocol.Connect(client);
        return V2gTlsStream.HandshakeAsync(network, protocol, client, ct);
    }

    /// <summary>
    /// The NSS key log lines of a finished handshake (the SSLKEYLOGFILE format Wireshark and tshark read to decrypt a
    /// capture): TLS 1.2 <c>CLIENT_RANDOM &lt;client random&gt; &lt;master secret&gt;</c>; TLS 1.3 the application traffic
    /// secrets <c>CLIENT_TRAFFIC_SECRET_0</c> and <c>SERVER_TRAFFIC_SECRET_0</c> (the handshake traffic secrets come
    /// earlier, <see cref="HandshakeKeyLogLines"/>). For debugging only: whoever holds them reads the session.
    /// </summary>
    public static IEnumerable<string> KeyLogLines(TlsContext context)
    {
        var p = context.SecurityParameters;
        string random = Convert.ToHexStringLower(p.ClientRandom);
        if (TlsUtilities.IsTlsV13(context))
        {
            yield return $"CLIENT_TRAFFIC_SECRET_0 {random} {Convert.ToHexStringLower(SecretBytes((AbstractTlsSecret)p.TrafficSecretClient))}";
            yield return $"SERVER_TRAFFIC_SECRET_0 {random} {Convert.ToHexStringLower(SecretBytes((AbstractTlsSecret)p.TrafficSecretServer))}";
        }
        else
        {
            yield return $"CLIENT_RANDOM {random} {Convert.ToHexStringLower(SecretBytes((AbstractTlsSecret)p.MasterSecret))}";
        }
    }

    /// <summary>
    /// TLS 1.3, during the handshake (once the handshake keys are in place, before the application keys replace them):
    /// <c>CLIENT_HANDSHAKE_TRAFFIC_SECRET</c> and <c>SERVER_HANDSHAKE_TRAFFIC_SECRET</c>, which Wireshark needs to follow the
    /// encrypted handshake and so the session.
    /// </summary>
    internal static IEnumerable<string> HandshakeKeyLogLines(TlsContext context)
    {
        var p = context.SecurityParameters;
        if (!TlsUtilities.IsTlsV13(context) || p.TrafficSecretClient is not AbstractTlsSecret client || p.TrafficSecretServer is not AbstractTlsSecret server)
        {
            yield break;
        }
        string random = Convert.ToHexStringLower(p.ClientRandom);
        yield return $"CLIENT_HANDSHAKE_TRAFFIC_SECRET {random} {Convert.ToHexStringLower(SecretBytes(client))}";
        yield return $"SERVER_HANDSHAKE_TRAFFIC_SECRET {random} {Convert.ToHexStringLower(SecretBytes(server))}";
    }

    // BouncyCastle hands a secret out only by destroying it (Extract); the master secret is still needed afterwards
    // (session resumption), so the key log reads the bytes in place.
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "m_data")]
    private static extern ref byte[] SecretBytes(AbstractTlsSecret secret);

    private static readonly PkiAlgorithm[] Iso20Algorithms = [PkiAlgorithm.Secp521r1, PkiAlgorithm.Ed448];

    private static readonly int[] Tls13Suites = [CipherSuite.TLS_AES_256_GCM_SHA384, CipherSuite.TLS_CHACHA20_POLY1305_SHA256];

    /// <summary>The TLS 1.3 signature scheme of a -20 key: ecdsa_secp521r1_sha512 or ed448.</summary>
    private static SignatureAndHashAlgorithm SchemeOf(PkiAlgorithm algorithm) => algorithm switch
    {
        PkiAlgorithm.Secp521r1 => SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha512, SignatureAlgorithm.ecdsa),
        PkiAlgorithm.Ed448 => SignatureAndHashAlgorithm.ed448,
        _ => SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa),
    };

    private static ProtocolVersion[] VersionsOf(bool tls13, bool tls12) =>
        [.. (tls13 ? [ProtocolVersion.TLSv13] : Array.Empty<ProtocolVersion>()), .. (tls12 ? [ProtocolVersion.TLSv12] : Array.Empty<ProtocolVersion>())];

    /// <summary>A chain as a TLS Certificate message: the TLS 1.2 form, or the TLS 1.3 form with the request's context.</summary>
    private static Certificate ToTls(BcTlsCrypto crypto, IReadOnlyList<BcCertificate> chain, byte[]? context13)
    {
        var list = chain.Select(c => crypto.CreateCertificate(c.GetEncoded())).ToArray();
        return context13 is null ? new Certificate(list) : new Certificate(context13, [.. list.Select(c => new CertificateEntry(c, null))]);
    }

    private static short AlertFor(ChainStatus status) => status switch
    {
        ChainStatus.Expired or ChainStatus.NotYetValid => AlertDescription.certificate_expired,
        ChainStatus.UntrustedRoot => AlertDescription.unknown_ca,
        _ => AlertDescription.bad_certificate,
    };

    /// <summary>What the handshake agreed on, for <see cref="V2gTlsStream"/>.</summary>
    internal interface IOutcome
    {
        V2gCipherSuite? Selected { get; }

        IReadOnlyList<BcCertificate> PeerChain { get; }

        V2gTlsVersion Version { get; }

        /// <summary>The SECC's: the certificate and key it showed; null on the EV.</summary>
        V2gTlsCredentials? Local { get; }
    }

    private sealed class Server(BcTlsCrypto crypto, V2gTlsServerSetup setup, Action<string>? keyLog) : DefaultTlsServer(crypto), IOutcome
    {
        private readonly V2gTlsCredentials? _iso2 = setup.Iso2();
        private readonly IReadOnlyList<V2gTlsCredentials> _iso20 = setup.Iso20();

        public V2gCipherSuite? Selected { get; private set; }

        public IReadOnlyList<BcCertificate> PeerChain { get; private set; } = [];

        public V2gTlsVersion Version => TlsUtilities.IsTlsV13(m_context) ? V2gTlsVersion.Tls13 : V2gTlsVersion.Tls12;

        public V2gTlsCredentials? Local { get; private set; }

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            foreach (var line in keyLog is null ? [] : KeyLogLines(m_context))
            {
                keyLog!(line);
            }
        }

        protected override ProtocolVersion[] GetSupportedVersions()
        {
            var versions = VersionsOf(_iso20.Count > 0, _iso2 is not null);
            return versions.Length > 0 ? versions : throw new TlsFatalAlert(AlertDescription.internal_error, "no SECC certificate");
        }

        protected override int[] GetSupportedCipherSuites() => [.. Tls13Suites, .. setup.Tls12Suites.Select(s => (int)s)];

        // TLS 1.3: secp521r1 and x448 for -20; TLS 1.2: secp256r1 for -2 (the EV names what it takes)
        public override int[] GetSupportedGroups() => [NamedGroup.secp521r1, NamedGroup.x448, NamedGroup.secp256r1];

        public override TlsKeyExchangeFactory GetKeyExchangeFactory() => new Factory(_iso2?.PrivateKey as ECPrivateKeyParameters, null);

        public override void NotifySecureRenegotiation(bool secureRenegotiation)
        {
            // EVs rarely send the renegotiation_info extension; this server never renegotiates either way
        }

        public override TlsCredentials GetCredentials()
        {
            var parameters = m_context.SecurityParameters;
            Selected = (V2gCipherSuite)parameters.CipherSuite;
            if (TlsUtilities.IsTlsV13(m_context))
            {
                // the -20 certificate whose signature scheme the EV lists (its order of preference)
                var offered = parameters.ClientSigAlgs ?? [];
                var chosen = offered.Select(a => _iso20.FirstOrDefault(c => SchemeOf(c.Algorithm).Equals(a))).FirstOrDefault(c => c is not null)
                    ?? throw new TlsFatalAlert(AlertDescription.handshake_failure, "the EV offers neither ecdsa_secp521r1_sha512 nor ed448 for the SECC's certificates");
                Local = chosen;
                return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(m_context), crypto, chosen.PrivateKey, ToTls(crypto, chosen.Chain, TlsUtilities.EmptyBytes),
                    SchemeOf(chosen.Algorithm));
            }
            var iso2 = _iso2 ?? throw new TlsFatalAlert(AlertDescription.protocol_version);
            Local = iso2;
            return parameters.KeyExchangeAlgorithm switch
            {
                KeyExchangeAlgorithm.ECDHE_ECDSA => new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(m_context), crypto, iso2.PrivateKey, ToTls(crypto, iso2.Chain, null),
                    SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa)),
                KeyExchangeAlgorithm.ECDH_ECDSA => new BcDefaultTlsCredentialedAgreement(crypto, ToTls(crypto, iso2.Chain, null), iso2.PrivateKey),
                _ => throw new TlsFatalAlert(AlertDescription.handshake_failure),
            };
        }

        public override CertificateRequest? GetCertificateRequest()
        {
            // called with the handshake keys in place (TLS 1.3): their key log lines, before the application keys replace them
            foreach (var line in keyLog is null ? [] : HandshakeKeyLogLines(m_context))
            {
                keyLog!(line);
            }
            // ISO 15118-2 has no client authentication; -20 asks for the vehicle certificate
            if (!TlsUtilities.IsTlsV13(m_context) || setup.VehicleRoots.Count == 0)
            {
                return null;
            }
            return new CertificateRequest(TlsUtilities.EmptyBytes, [.. Iso20Algorithms.Select(SchemeOf)], null, null);
        }

        public override void NotifyClientCertificate(Certificate clientCertificate)
        {
            if (clientCertificate.IsEmpty)
            {
                if (setup.RequireVehicleCertificate)
                {
                    throw new TlsFatalAlert(AlertDescription.certificate_required, "the EV sent no vehicle certificate");
                }
                return;
            }
            var chain = clientCertificate.GetCertificateList().Select(c => new BcCertificate(c.GetEncoded())).ToList();
            var result = CertificateChains.Validate(chain, setup.VehicleRoots, setup.Time.GetUtcNow(), "OEM");
            if (!result.Valid)
            {
                throw new TlsFatalAlert(AlertFor(result.Status), $"the vehicle certificate is refused ({result.Status}): {result.Detail}");
            }
            PeerChain = chain;
        }
    }

    private sealed class Client(BcTlsCrypto crypto, V2gTlsClientSetup setup, Action<string>? keyLog) : DefaultTlsClient(crypto), IOutcome
    {
        private bool Offers13 => setup.Versions.Contains(V2gTlsVersion.Tls13);

        private bool Offers12 => setup.Versions.Contains(V2gTlsVersion.Tls12);

        public V2gCipherSuite? Selected { get; private set; }

        public IReadOnlyList<BcCertificate> PeerChain { get; private set; } = [];

        public V2gTlsVersion Version => TlsUtilities.IsTlsV13(m_context) ? V2gTlsVersion.Tls13 : V2gTlsVersion.Tls12;

        public V2gTlsCredentials? Local => null;

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            foreach (var line in keyLog is null ? [] : KeyLogLines(m_context))
            {
                keyLog!(line);
            }
        }

        protected override ProtocolVersion[] GetSupportedVersions() => VersionsOf(Offers13, Offers12);

        protected override int[] GetSupportedCipherSuites() =>
            [.. (Offers13 ? Tls13Suites : []), .. (Offers12 ? setup.Tls12Suites.Select(s => (int)s) : [])];

        protected override IList<int> GetSupportedGroups(IList<int> namedGroupRoles) =>
            [.. (Offers13 ? [NamedGroup.secp521r1, NamedGroup.x448] : Array.Empty<int>()), .. (Offers12 ? [NamedGroup.secp256r1] : Array.Empty<int>())];

        public override IList<int> GetEarlyKeyShareGroups() => Offers13 ? [NamedGroup.secp521r1] : [];

        protected override IList<SignatureAndHashAlgorithm> GetSupportedSignatureAlgorithms() =>
            [.. (Offers13 ? setup.Iso20Algorithms.Select(SchemeOf) : []), .. (Offers12 ? [SchemeOf(PkiAlgorithm.Secp256r1)] : Array.Empty<SignatureAndHashAlgorithm>())];

        public override TlsKeyExchangeFactory GetKeyExchangeFactory() => new Factory(null, () => PeerChain);

        public override void NotifySelectedCipherSuite(int selectedCipherSuite) => Selected = (V2gCipherSuite)selectedCipherSuite;

        public override TlsAuthentication GetAuthentication() => new Authentication(this);

        private sealed class Authentication(Client client) : TlsAuthentication
        {
            public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
            {
                var chain = serverCertificate.Certificate.GetCertificateList().Select(c => new BcCertificate(c.GetEncoded())).ToList();
                client.PeerChain = chain;
                // TLS 1.3: the certificate came encrypted under the handshake keys, still in place here
                foreach (var line in client.KeyLog is null ? [] : HandshakeKeyLogLines(client.m_context))
                {
                    client.KeyLog!(line);
                }
                // [V2G2-620], [V2G20-2354]: the SECC certificate chain up to a V2G root the EV trusts; no host name check
                var result = CertificateChains.Validate(chain, client.Setup.V2gRoots, client.Setup.Now, "CPO");
                if (!result.Valid)
                {
                    throw new TlsFatalAlert(AlertFor(result.Status), $"the SECC certificate is refused ({result.Status}): {result.Detail}");
                }
                if (TlsUtilities.IsTlsV13(client.m_context) && PkiKeys.Of(chain[0].GetPublicKey()) == PkiAlgorithm.Secp256r1)
                {
                    // [V2G20-2458]: the -20 certificate profiles only
                    throw new TlsFatalAlert(AlertDescription.bad_certificate, "the SECC shows a secp256r1 certificate in TLS 1.3 (ISO 15118-20 needs secp521r1 or Ed448)");
                }
            }

            public TlsCredentials? GetClientCredentials(CertificateRequest certificateRequest)
            {
                if (client.Setup.VehicleCertificate is not { } vehicle || !TlsUtilities.IsTlsV13(client.m_context))
                {
                    return null;
                }
                var scheme = SchemeOf(vehicle.Algorithm);
                if (certificateRequest.SupportedSignatureAlgorithms is { } asked && !asked.Contains(scheme))
                {
                    return null;   // the SECC cannot check this certificate's signature: an empty Certificate
                }
                return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(client.m_context), client.Bc, vehicle.PrivateKey,
                    ToTls(client.Bc, vehicle.Chain, certificateRequest.GetCertificateRequestContext()), scheme);
            }
        }

        private BcTlsCrypto Bc => crypto;

        private V2gTlsClientSetup Setup => setup;

        private Action<string>? KeyLog => keyLog;
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
