using System.Net.WebSockets;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Connections;
using Traffic.Host.WebSockets;
using Xunit;
using Traffic.Actors.Transport;

namespace Traffic.Tests.Host;

public sealed class WebSocketClientSocketSpecs : TestKit
{
    /// <summary>A WebSocket whose receive fails with an exception no peer can cause (a bug beneath the socket).</summary>
    private sealed class FailingReceiveWebSocket : WebSocket
    {
        public int Aborts;
        public override WebSocketCloseStatus? CloseStatus => null;
        public override string? CloseStatusDescription => null;
        public override WebSocketState State => Aborts > 0 ? WebSocketState.Aborted : WebSocketState.Open;
        public override string? SubProtocol => null;
        public override void Abort() => Interlocked.Increment(ref Aborts);
        public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) => Task.CompletedTask;
        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;
        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;
        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug beneath the receive loop");
        public override ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug beneath the receive loop");
        public override void Dispose() { }
    }

    [Fact]
    public async Task An_unexpected_exception_in_the_receive_loop_reaches_the_connection_as_the_fault_and_the_socket_is_finished()
    {
        var webSocket = new FailingReceiveWebSocket();
        var socket = new WebSocketClientSocket(webSocket, stream: null, outboundQueueLimit: 8, maxMessageBytes: 1024);
        var connection = CreateTestProbe();

        socket.Start(connection.Ref);

        var closed = connection.ExpectMsg<SocketEvents.Closed>(TimeSpan.FromSeconds(10));
        Assert.IsType<InvalidOperationException>(closed.Fault); // logged at Error by the actor, with the exception
        Assert.Contains(nameof(InvalidOperationException), closed.Reason);
        await socket.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(webSocket.Aborts > 0);
    }
}
