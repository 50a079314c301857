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
    private readonly Pipe _toClient = new();
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
}
