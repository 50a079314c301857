using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using Traffic.Actors.Protocol;
using Traffic.Host.WebSockets;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Host;

/// <summary>
/// The keep-alive PING on the direct path: the connection's heartbeat asks the writer
/// (<see cref="OutboundWriter.Ping"/>), and the drain writes it whole, ahead of the frames of its batch,
/// into the connection's pipe. Read back from the pipe, byte for byte.
/// </summary>
public sealed class OutboundWriterPingSpecs
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly Pipe _fromClient = new();
    private readonly Pipe _toClient = new(new PipeOptions(pauseWriterThreshold: 0)); // never waits for the client
    private readonly DuplexPipeStream _stream;
    private readonly OutboundWriter _writer;

    public OutboundWriterPingSpecs()
    {
        _stream = new DuplexPipeStream(new PipeTransport(_fromClient.Reader, _toClient.Writer));
        var socket = WebSocket.CreateFromStream(_stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        _writer = new OutboundWriter(socket, _stream, queueLimit: 100);
    }

    private static ServerFrame Frame(string text) => new(ServerMessageType.Alert, Topic.Cameras, Encoding.UTF8.GetBytes(text));

    /// <summary>Waits until at least <paramref name="count"/> bytes were sent, and takes them all.</summary>
    private async Task<byte[]> Sent(int count)
    {
        var result = await _toClient.Reader.ReadAtLeastAsync(count).AsTask().WaitAsync(Wait);
        var sent = result.Buffer.ToArray();
        _toClient.Reader.AdvanceTo(result.Buffer.End);
        return sent;
    }

    [Fact]
    public async Task A_ping_on_an_idle_socket_goes_out_alone()
    {
        _writer.Ping();
        Assert.Equal(new byte[] { 0x89, 0x00 }, await Sent(2));
    }

    [Fact]
    public async Task A_ping_asked_for_during_a_drain_goes_out_once_whole_ahead_of_the_next_batch()
    {
        await _stream.EnterAsync(); // the pipe is busy (a flush to a slow client): the drain waits its turn
        Assert.True(_writer.TrySend(Frame("a")));
        _writer.Ping();
        _writer.Ping(); // asked again before the first went: still one
        Assert.True(_writer.TrySend(Frame("bb")));
        _stream.Exit();

        byte[] expected = [0x89, 0x00, 0x81, 1, .. "a"u8, 0x81, 2, .. "bb"u8];
        Assert.Equal(expected, await Sent(expected.Length));
        Assert.True(_writer.TrySend(Frame("c"))); // and nothing else was waiting: the next frame follows alone
        Assert.Equal(new byte[] { 0x81, 1, (byte)'c' }, await Sent(3));
    }

    [Fact]
    public async Task A_closing_socket_sends_no_ping()
    {
        _writer.Complete(WebSocketCloseStatus.NormalClosure, "bye");
        _writer.Ping();
        await _writer.Finished.WaitAsync(Wait);

        var sent = await Sent(2);
        Assert.Equal(0x88, sent[0]); // the close frame, and nothing after it
        Assert.Equal(2 + sent[1], sent.Length);
    }
}
