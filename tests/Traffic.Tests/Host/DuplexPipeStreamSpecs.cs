using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Traffic.Host.WebSockets;
using Xunit;

namespace Traffic.Tests.Host;

public sealed class DuplexPipeStreamSpecs
{
    private sealed class Transport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    private readonly Pipe _fromClient = new();
    private readonly Pipe _toClient = new(new PipeOptions(pauseWriterThreshold: 0)); // never waits for the client: a spec reads after writing
    private readonly DuplexPipeStream _stream;

    public DuplexPipeStreamSpecs() => _stream = new DuplexPipeStream(new Transport(_fromClient.Reader, _toClient.Writer));

    private async Task<string> SentSoFar()
    {
        Assert.True(_toClient.Reader.TryRead(out var result), "nothing was flushed to the client");
        var text = Encoding.ASCII.GetString(result.Buffer);
        _toClient.Reader.AdvanceTo(result.Buffer.End);
        return await Task.FromResult(text);
    }

    [Fact]
    public async Task A_zero_byte_read_waits_for_data_and_consumes_none_of_it()
    {
        var pending = _stream.ReadAsync(Memory<byte>.Empty);
        Assert.False(pending.IsCompleted);
        await _fromClient.Writer.WriteAsync("hello"u8.ToArray());

        Assert.Equal(0, await pending);
        var buffer = new byte[16];
        var read = await _stream.ReadAsync(buffer);
        Assert.Equal("hello", Encoding.ASCII.GetString(buffer, 0, read));
    }

    [Fact]
    public async Task Held_writes_stay_unflushed_until_the_first_write_that_is_not_held()
    {
        _stream.HoldWrites = true;
        await _stream.WriteAsync("ab"u8.ToArray());
        await _stream.WriteAsync("c"u8.ToArray());
        Assert.False(_toClient.Reader.TryRead(out _));

        _stream.HoldWrites = false;
        await _stream.WriteAsync("d"u8.ToArray());
        Assert.Equal("abcd", await SentSoFar());
    }

    [Fact]
    public async Task Reads_that_return_bytes_are_noticed()
    {
        var noticed = 0;
        _stream.BytesRead = () => noticed++;
        await _fromClient.Writer.WriteAsync("x"u8.ToArray());
        Assert.Equal(0, await _stream.ReadAsync(Memory<byte>.Empty));
        Assert.Equal(0, noticed);
        Assert.Equal(1, await _stream.ReadAsync(new byte[4]));
        Assert.Equal(1, noticed);
    }

    [Fact]
    public async Task Disposing_ends_a_pending_read()
    {
        var pending = _stream.ReadAsync(new byte[4]).AsTask();
        _stream.Dispose(); // what the WebSocket does when it is aborted
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10)));
    }
    [Fact]
    public async Task The_announced_empty_message_is_replaced_by_the_batch_of_frames_in_order_in_one_flush()
    {
        var small = "{\"a\":1}"u8.ToArray();              // 7 bytes: 7-bit length
        var medium = Enumerable.Repeat((byte)'m', 300).ToArray(); // 16-bit length
        var large = Enumerable.Repeat((byte)'l', 70_000).ToArray(); // 64-bit length
        var deflated = new byte[] { 0xAA, 0xBB };
        var frames = new[] { new OutgoingFrame(small, false), new OutgoingFrame(medium, false), new OutgoingFrame(deflated, true), new OutgoingFrame(large, false), new OutgoingFrame(small, false) };

        await _stream.WriteAsync(new byte[] { 0x89, 0x00 });           // a PING written first passes as it is
        _stream.SendFramesInstead(frames, count: 4);                   // the last one is not part of the batch
        await _stream.WriteAsync(new byte[] { 0x81, 0x00 });           // what the WebSocket writes for the empty message
        await _stream.WriteAsync(new byte[] { 0x81, 0x00 });           // a later empty message is not replaced again

        Assert.True(_toClient.Reader.TryRead(out var result));
        var sent = result.Buffer.ToArray();
        _toClient.Reader.AdvanceTo(result.Buffer.End);
        byte[] expected =
        [
            0x89, 0x00,
            0x81, 7, .. small,
            0x81, 126, 0x01, 0x2C, .. medium,
            0xC1, 2, .. deflated,
            0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70, .. large,
            0x81, 0x00,
        ];
        Assert.Equal(expected, sent);
    }

    [Fact]
    public async Task Without_an_announcement_an_empty_message_is_written_as_it_is()
    {
        await _stream.WriteAsync(new byte[] { 0x81, 0x00 });
        Assert.True(_toClient.Reader.TryRead(out var result));
        Assert.Equal(new byte[] { 0x81, 0x00 }, result.Buffer.ToArray());
    }
}
