using System.Net.Sockets;

namespace Juice.Hlc.Transport;

/// <summary>
/// A socket stream whose reads and writes block the calling thread, for connections that have a thread of their own
/// (the SECC's thread-per-connection mode, the EV load mode, where each simulated EV runs on
/// a thread of its own as a real EV has its own controller): nothing waits for a continuation to be
/// scheduled. A cancelled read (a response or sequence timeout) shuts the socket down.
/// </summary>
public sealed class BlockingSocketStream(Socket socket) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => socket.Receive(buffer, offset, count, SocketFlags.None);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ShutDown((Socket)s!), socket)
            : default;
        try
        {
            int n = socket.Receive(buffer.Span, SocketFlags.None);
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(n);
        }
        catch (SocketException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    /// <summary>Ends a blocked read from another thread (a timeout, or the server stopping).</summary>
    public static void ShutDown(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => socket.Send(buffer, offset, count, SocketFlags.None);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        socket.Send(buffer.Span, SocketFlags.None);
        return ValueTask.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            socket.Dispose();
        }
        base.Dispose(disposing);
    }
}
