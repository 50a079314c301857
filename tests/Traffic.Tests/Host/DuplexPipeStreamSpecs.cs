using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Traffic.Host.WebSockets;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Host;

public sealed class DuplexPipeStreamSpecs
{
    private readonly Pipe _fromClient = new();
    private readonly Pipe _toClient = new(new PipeOptions(pauseWriterThreshold: 0)); // never waits for the client: a spec reads after writing
    private readonly DuplexPipeStream _stream;

    public DuplexPipeStreamSpecs() => _stream = new DuplexPipeStream(new PipeTransport(_fromClient.Reader, _toClient.Writer));

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
    public async Task Frames_are_written_with_their_headers_in_order_and_leave_in_one_flush()
    {
        var small = "{\"a\":1}"u8.ToArray();              // 7 bytes: 7-bit length
        var edge = Enumerable.Repeat((byte)'e', 125).ToArray();   // the longest 7-bit length
        var medium = Enumerable.Repeat((byte)'m', 300).ToArray(); // 16-bit length
        var longest16 = Enumerable.Repeat((byte)'s', 65_535).ToArray(); // the longest 16-bit length
        var large = Enumerable.Repeat((byte)'l', 70_000).ToArray(); // 64-bit length
        var deflated = new byte[] { 0xAA, 0xBB };

        await _stream.EnterAsync();
        _stream.WriteTextFrame(small, deflated: false);
        _stream.WriteTextFrame(edge, deflated: false);
        _stream.WriteTextFrame(medium, deflated: false);
        _stream.WriteTextFrame(deflated, deflated: true);
        _stream.WriteTextFrame(longest16, deflated: false);
        _stream.WriteTextFrame(large, deflated: false);
        Assert.False(_toClient.Reader.TryRead(out _)); // nothing leaves before the batch's flush
        await _stream.FlushFramesAsync();
        _stream.Exit();

        Assert.True(_toClient.Reader.TryRead(out var result));
        var sent = result.Buffer.ToArray();
        _toClient.Reader.AdvanceTo(result.Buffer.End);
        byte[] expected =
        [
            0x81, 7, .. small,
            0x81, 125, .. edge,
            0x81, 126, 0x01, 0x2C, .. medium,
            0xC1, 2, .. deflated,
            0x81, 126, 0xFF, 0xFF, .. longest16,
            0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70, .. large,
        ];
        Assert.Equal(expected, sent);
    }

    [Fact]
    public async Task A_write_of_the_runtime_waits_for_the_batch_being_written_and_follows_it_whole()
    {
        await _stream.EnterAsync();
        _stream.WriteTextFrame("first"u8, deflated: false);
        var pong = _stream.WriteAsync(new byte[] { 0x8A, 0x00 }).AsTask(); // what the runtime writes for a PONG
        Assert.False(pong.IsCompleted, "the runtime's write waits for the drain's turn to end");
        _stream.WriteTextFrame("second"u8, deflated: false);
        await _stream.FlushFramesAsync();
        _stream.Exit();
        await pong.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(_toClient.Reader.TryRead(out var result));
        byte[] expected = [0x81, 5, .. "first"u8, 0x81, 6, .. "second"u8, 0x8A, 0x00];
        Assert.Equal(expected, result.Buffer.ToArray());
    }

    [Fact]
    public async Task A_disposed_stream_writes_no_more_frames()
    {
        _stream.Dispose(); // what the WebSocket does when it is aborted
        await _stream.EnterAsync();
        Assert.Throws<ObjectDisposedException>(() => _stream.WriteTextFrame("late"u8, deflated: false));
        _stream.Exit();
        Assert.False(_toClient.Reader.TryRead(out _));
    }
}
