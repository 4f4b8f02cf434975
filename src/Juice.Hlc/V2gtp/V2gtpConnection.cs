using System.Buffers;
using System.IO.Pipelines;

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
/// V2GTP over a byte stream (TCP now, TLS later: any <see cref="Stream"/>). Reads whole frames; writes each message
/// as one buffer in one call, because some peers take one TCP read for one message.
/// </summary>
public sealed class V2gtpConnection : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly V2gtpOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public V2gtpConnection(Stream stream, V2gtpOptions? options = null, TimeProvider? time = null)
    {
        _stream = stream;
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        _options = options ?? V2gtpOptions.Default;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Reads the next message, or null when the peer closed the connection between messages. Throws
    /// <see cref="V2gtpException"/> for a frame to reject, a frame cut by the peer or one that stalls.
    /// </summary>
    public async ValueTask<V2gtpMessage?> ReadAsync(CancellationToken cancellationToken = default)
    {
        CancellationTokenSource? timeout = null;
        CancellationTokenSource? partial = null;
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await _reader.ReadAsync(partial?.Token ?? cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (partial is not null && partial.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new V2gtpException(V2gtpError.PartialFrameTimeout, $"incomplete V2GTP frame: the rest did not arrive within {_options.PartialFrameTimeout.TotalSeconds:0.###} s");
                }
                var buffer = result.Buffer;
                SequencePosition consumed = buffer.Start;
                SequencePosition examined = buffer.End;
                try
                {
                    if (V2gtpFrame.TryReadFrame(ref buffer, _options.MaxPayloadLength, out var type, out var payload))
                    {
                        consumed = payload.End;
                        examined = consumed;
                        return new V2gtpMessage(type, payload.ToArray());
                    }
                    if (result.IsCompleted)
                    {
                        if (buffer.IsEmpty)
                        {
                            return null;
                        }
                        throw new V2gtpException(V2gtpError.TruncatedFrame, $"connection closed in the middle of a V2GTP frame ({buffer.Length} byte(s) received)");
                    }
                    if (!buffer.IsEmpty && partial is null)
                    {
                        // a frame has started: the rest is due within the partial-frame timeout
                        timeout = new CancellationTokenSource(_options.PartialFrameTimeout, _time);
                        partial = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
                    }
                }
                finally
                {
                    _reader.AdvanceTo(consumed, examined);
                }
            }
        }
        finally
        {
            partial?.Dispose();
            timeout?.Dispose();
        }
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
        await _reader.CompleteAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        _writeLock.Dispose();
    }
}
