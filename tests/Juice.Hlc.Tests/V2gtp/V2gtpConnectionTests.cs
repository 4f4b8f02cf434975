using Juice.Hlc.V2gtp;
using Microsoft.Extensions.Time.Testing;

namespace Juice.Hlc.Tests.V2gtp;

public sealed class V2gtpConnectionTests
{
    /// <summary>A stream that serves fixed bytes a few at a time, then either ends or waits until cancelled; records writes.</summary>
    private sealed class ScriptedStream(byte[] input, int chunk, bool endAfterInput) : Stream
    {
        private int _position;
        public List<byte[]> Writes { get; } = [];

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_position >= input.Length)
            {
                if (endAfterInput)
                {
                    return 0;
                }
                await Task.Delay(Timeout.Infinite, ct);
            }
            int n = Math.Min(Math.Min(chunk, buffer.Length), input.Length - _position);
            input.AsSpan(_position, n).CopyTo(buffer.Span);
            _position += n;
            return n;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            Writes.Add(buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task Frames_arriving_byte_by_byte_are_reassembled_and_the_end_between_frames_is_null()
    {
        byte[] two = [.. V2gtpFrame.Build(V2gtpPayloadType.Exi, [0x80, 0x40]), .. V2gtpFrame.Build(V2gtpPayloadType.Exi, [0x80, 0x98, 0x02])];
        await using var c = new V2gtpConnection(new ScriptedStream(two, 1, endAfterInput: true));
        Assert.Equal([0x80, 0x40], (await c.ReadAsync())!.Value.Payload);
        Assert.Equal([0x80, 0x98, 0x02], (await c.ReadAsync())!.Value.Payload);
        Assert.Null(await c.ReadAsync());
    }

    [Fact]
    public async Task A_connection_closed_inside_a_frame_is_an_error()
    {
        byte[] cut = V2gtpFrame.Build(V2gtpPayloadType.Exi, [1, 2, 3, 4])[..10];
        await using var c = new V2gtpConnection(new ScriptedStream(cut, 4, endAfterInput: true));
        Assert.Equal(V2gtpError.TruncatedFrame, (await Assert.ThrowsAsync<V2gtpException>(() => c.ReadAsync().AsTask())).Error);
    }

    [Fact]
    public async Task A_started_frame_that_stalls_times_out_on_the_injected_clock()
    {
        var time = new FakeTimeProvider();
        byte[] start = V2gtpFrame.Build(V2gtpPayloadType.Exi, [1, 2, 3, 4])[..5];
        await using var c = new V2gtpConnection(new ScriptedStream(start, 5, endAfterInput: false), new V2gtpOptions { PartialFrameTimeout = TimeSpan.FromSeconds(2) }, time);
        var read = c.ReadAsync().AsTask();
        await Task.Delay(50);
        Assert.False(read.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await Task.Delay(50);
        Assert.False(read.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal(V2gtpError.PartialFrameTimeout, (await Assert.ThrowsAsync<V2gtpException>(() => read)).Error);
    }

    [Fact]
    public async Task An_idle_connection_waits_without_a_partial_frame_timeout()
    {
        var time = new FakeTimeProvider();
        await using var c = new V2gtpConnection(new ScriptedStream([], 1, endAfterInput: false), new V2gtpOptions { PartialFrameTimeout = TimeSpan.FromSeconds(1) }, time);
        using var cts = new CancellationTokenSource();
        var read = c.ReadAsync(cts.Token).AsTask();
        time.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(50);
        Assert.False(read.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
    }

    [Fact]
    public async Task Each_message_is_written_in_one_write()
    {
        var stream = new ScriptedStream([], 1, endAfterInput: true);
        await using var c = new V2gtpConnection(stream);
        byte[] payload = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();
        await c.WriteAsync(V2gtpPayloadType.Exi, payload);
        var write = Assert.Single(stream.Writes);
        Assert.Equal(V2gtpFrame.Build(V2gtpPayloadType.Exi, payload), write);
    }

    [Fact]
    public async Task An_oversize_header_is_rejected_before_its_payload_is_read()
    {
        byte[] header = [0x01, 0xFE, 0x80, 0x01, 0x7F, 0xFF, 0xFF, 0xFF];
        await using var c = new V2gtpConnection(new ScriptedStream(header, 8, endAfterInput: false));
        Assert.Equal(V2gtpError.PayloadTooLong, (await Assert.ThrowsAsync<V2gtpException>(() => c.ReadAsync().AsTask())).Error);
    }
}
