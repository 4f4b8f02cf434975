using System.Buffers;

namespace Juice.Hlc.V2gtp;

/// <summary>Options of a V2GTP connection.</summary>
public sealed record V2gtpOptions
{
    public static readonly V2gtpOptions Default = new();

    /// <summary>Largest accepted payload; a header announcing more is rejected before anything is buffered.</summary>
    public int MaxPayloadLength { get; init; } = 64 * 1024;

    /// <summary>Once a frame has started, the rest must arrive within this time.</summary>
    public TimeSpan PartialFrameTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>One received V2GTP message.</summary>
public readonly record struct V2gtpMessage(V2gtpPayloadType PayloadType, byte[] Payload);

/// <summary>
/// V2GTP over a byte stream (TCP or TLS: any <see cref="Stream"/>). Reads whole frames into a small buffer of its
/// own that grows only for a large frame (and shrinks back after it), so an idle connection holds about one
/// kilobyte; writes each message as one buffer in one call, because some peers take one TCP read for one message.
/// </summary>
public sealed class V2gtpConnection : IAsyncDisposable
{
    private const int IdleBufferSize = 1024;

    private readonly Stream _stream;
    private readonly V2gtpOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private byte[] _buffer = new byte[IdleBufferSize];
    private int _start;
    private int _end;

    public V2gtpConnection(Stream stream, V2gtpOptions? options = null, TimeProvider? time = null)
    {
        _stream = stream;
        _options = options ?? V2gtpOptions.Default;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Reads the next message, or null when the peer closed the connection between messages. Throws
    /// <see cref="V2gtpException"/> for a frame to reject, a frame cut by the peer or one that stalls.
    /// </summary>
    /// <summary>The stream the connection runs over (a <c>V2gTlsStream</c> when TLS secures it).</summary>
    public Stream Stream => _stream;

    public async ValueTask<V2gtpMessage?> ReadAsync(CancellationToken cancellationToken = default)
    {
        CancellationTokenSource? partial = null;
        try
        {
            while (true)
            {
                int available = _end - _start;
                if (TryTake(out var message, out int needed))
                {
                    return message;
                }
                if (available > 0 && partial is null)
                {
                    // a frame has started: the rest is due within the partial-frame timeout
                    partial = CreatePartialTimeout(cancellationToken);
                }
                MakeRoom(needed);
                int read;
                try
                {
                    read = await _stream.ReadAsync(_buffer.AsMemory(_end), partial?.Token ?? cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (partial is not null && partial.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new V2gtpException(V2gtpError.PartialFrameTimeout, $"incomplete V2GTP frame: the rest did not arrive within {_options.PartialFrameTimeout.TotalSeconds:0.###} s");
                }
                if (read == 0)
                {
                    if (_end == _start)
                    {
                        return null;
                    }
                    throw new V2gtpException(V2gtpError.TruncatedFrame, $"connection closed in the middle of a V2GTP frame ({_end - _start} byte(s) received)");
                }
                _end += read;
            }
        }
        finally
        {
            partial?.Dispose();
        }
    }

    private CancellationTokenSource CreatePartialTimeout(CancellationToken cancellationToken)
    {
        var timeout = new CancellationTokenSource(_options.PartialFrameTimeout, _time);
        var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        linked.Token.Register(static t => ((IDisposable)t!).Dispose(), timeout);
        return linked;
    }

    /// <summary>
    /// A whole frame from the buffer if there is one; else false and the number of bytes the frame needs in all
    /// (the header's announced length once the header is there). Bad headers throw before their payload is read.
    /// </summary>
    private bool TryTake(out V2gtpMessage? message, out int needed)
    {
        message = null;
        var data = _buffer.AsSpan(_start, _end - _start);
        if (data.Length < V2gtpFrame.HeaderLength)
        {
            if (data.Length >= 2)
            {
                V2gtpFrame.CheckVersion(data);   // a wrong version is rejected before the header is complete
            }
            needed = V2gtpFrame.HeaderLength;
            return false;
        }
        var (type, length) = V2gtpFrame.ParseHeader(data[..V2gtpFrame.HeaderLength], _options.MaxPayloadLength);
        needed = V2gtpFrame.HeaderLength + length;
        if (data.Length < needed)
        {
            return false;
        }
        message = new V2gtpMessage(type, data.Slice(V2gtpFrame.HeaderLength, length).ToArray());
        _start += needed;
        if (_start == _end)
        {
            _start = _end = 0;
            if (_buffer.Length > IdleBufferSize)
            {
                _buffer = new byte[IdleBufferSize];   // back to the idle size after a large frame
            }
        }
        return true;
    }

    /// <summary>Makes room for a frame of <paramref name="needed"/> bytes: grows the buffer or moves the buffered bytes to the front.</summary>
    private void MakeRoom(int needed)
    {
        int buffered = _end - _start;
        if (needed > _buffer.Length)
        {
            var bigger = new byte[needed];
            _buffer.AsSpan(_start, buffered).CopyTo(bigger);
            _buffer = bigger;
        }
        else if (_start + needed <= _buffer.Length)
        {
            return;   // the rest of the frame fits behind what is buffered
        }
        else
        {
            _buffer.AsSpan(_start, buffered).CopyTo(_buffer);
        }
        _start = 0;
        _end = buffered;
    }

    /// <summary>Sends one message: header and payload in a single write.</summary>
    public async ValueTask WriteAsync(V2gtpPayloadType payloadType, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        byte[] frame = ArrayPool<byte>.Shared.Rent(V2gtpFrame.HeaderLength + payload.Length);
        try
        {
            V2gtpFrame.WriteHeader(frame, payloadType, payload.Length);
            payload.Span.CopyTo(frame.AsSpan(V2gtpFrame.HeaderLength));
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _stream.WriteAsync(frame.AsMemory(0, V2gtpFrame.HeaderLength + payload.Length), cancellationToken).ConfigureAwait(false);
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _writeLock.Dispose();
    }
}

/// <summary>
/// A timeout that can be armed again and again without allocating: one timer and one cancellation source for the
/// life of a connection. Once it has fired, its token stays cancelled (the connection ends on a timeout).
/// </summary>
public sealed class ReusableTimeout : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly ITimer _timer;

    public ReusableTimeout(TimeProvider time, CancellationToken outer)
    {
        _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _timer = time.CreateTimer(static s => Fire((ReusableTimeout)s!), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Cancelled when the armed time has run out (or the outer token is cancelled).</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>True once the timer itself (not the outer token) has cancelled the token.</summary>
    public bool Expired { get; private set; }

    private static void Fire(ReusableTimeout t)
    {
        t.Expired = true;
        try
        {
            t._cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Arm(TimeSpan after) => _timer.Change(after, Timeout.InfiniteTimeSpan);

    public void Disarm() => _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

    public void Dispose()
    {
        _timer.Dispose();
        _cts.Dispose();
    }
}
