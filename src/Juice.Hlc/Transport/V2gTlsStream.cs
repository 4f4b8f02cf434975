using Org.BouncyCastle.Tls;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace Juice.Hlc.Transport;

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

    private V2gTlsStream(Stream network, TlsProtocol protocol, V2gCipherSuite suite, V2gTlsVersion version, IReadOnlyList<BcCertificate> peerChain, V2gTlsCredentials? local)
    {
        Local = local;
        _network = network;
        _protocol = protocol;
        CipherSuite = suite;
        Version = version;
        PeerChain = peerChain;
    }

    /// <summary>The cipher suite the handshake agreed on.</summary>
    public V2gCipherSuite CipherSuite { get; }

    /// <summary>The TLS version the handshake agreed on.</summary>
    public V2gTlsVersion Version { get; }

    /// <summary>
    /// The peer's certificate chain: on the EV the SECC's; on the SECC the EV's vehicle certificate chain (TLS 1.3),
    /// empty where it sent none.
    /// </summary>
    public IReadOnlyList<BcCertificate> PeerChain { get; }

    /// <summary>On the SECC: the certificate and key it showed in the handshake (the -20 one for TLS 1.3); null on the EV.</summary>
    public V2gTlsCredentials? Local { get; }

    internal static async Task<V2gTlsStream> HandshakeAsync(Stream network, TlsProtocol protocol, V2gTls.IOutcome outcome, CancellationToken ct)
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
        return new V2gTlsStream(network, protocol, outcome.Selected ?? throw new V2gTlsException("no cipher suite selected"), outcome.Version, outcome.PeerChain, outcome.Local);
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
