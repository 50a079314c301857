using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Traffic.Actors.Protocol;
using Traffic.Actors.Transport;

namespace Traffic.Hosting.Tests.Support;

/// <summary>
/// Stands in for a client's socket (as tests/Traffic.Tests/Support/ProbeSocket.cs does there): every
/// frame queued to it, and every close or abort, arrives at a probe, in order. A close requested by
/// the server is reported back to the connection as <see cref="SocketEvents.Closed"/>, as the real
/// socket does. (A copy: that project is on xunit 2, this one on xunit v3, so neither can reference the other.)
/// </summary>
public sealed class ProbeSocket(TestProbe probe) : IClientSocket
{
    private IActorRef _connection = ActorRefs.Nobody;

    public sealed record Started(IActorRef Connection);
    public sealed record ClosedByServer(int Status, string Reason);
    public sealed record Aborted;

    public TestProbe Probe { get; } = probe;

    public string RemoteAddress => "127.0.0.1:50000";

    public void Start(IActorRef connection)
    {
        _connection = connection;
        Probe.Ref.Tell(new Started(connection));
    }

    public bool TrySend(ServerFrame frame)
    {
        Probe.Ref.Tell(frame);
        return true;
    }

    public void Close(int status, string reason)
    {
        Probe.Ref.Tell(new ClosedByServer(status, reason));
        _connection.Tell(new SocketEvents.Closed($"closed by the server ({status})"));
    }

    public void Abort() => Probe.Ref.Tell(new Aborted());

    /// <summary>Waits for the next message and returns it as a frame; fails on anything else.</summary>
    public ServerFrame ExpectServerFrame(TimeSpan? timeout = null) =>
        Probe.ExpectMsg<ServerFrame>(timeout ?? TimeSpan.FromSeconds(10));

    /// <summary>Waits for the next frame of the given wire type and returns it parsed, failing on any other message first.</summary>
    public JsonElement ExpectFrame(string type, TimeSpan? timeout = null)
    {
        var frame = JsonDocument.Parse(ExpectServerFrame(timeout).Utf8Json).RootElement;
        Xunit.Assert.Equal(type, frame.GetProperty("type").GetString());
        return frame;
    }
}
