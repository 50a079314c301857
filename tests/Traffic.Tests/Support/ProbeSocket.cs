using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Actors.Transport;

namespace Traffic.Tests.Support;

/// <summary>
/// Stands in for a client's socket in TestKit specs: every frame queued to it, and every close or
/// abort, arrives at a probe, in order. Like the real socket, a close requested by the server is
/// reported back to the connection as <see cref="SocketEvents.Closed"/> (unless
/// <see cref="ReportsClose"/> is off: a peer that never finishes the close handshake).
/// </summary>
public sealed class ProbeSocket(TestProbe probe) : IClientSocket
{
    private IActorRef _connection = ActorRefs.Nobody;

    public sealed record Started(IActorRef Connection);
    public sealed record ClosedByServer(int Status, string Reason);
    public sealed record Aborted;

    public TestProbe Probe { get; } = probe;

    /// <summary>False makes every send fail, as a full outbound queue does.</summary>
    public volatile bool Accepting = true;

    /// <summary>False: a close never completes, so the connection is left waiting for it.</summary>
    public volatile bool ReportsClose = true;

    public string RemoteAddress => "127.0.0.1:50000";

    private int _pings;

    /// <summary>How many keep-alive PINGs the connection asked for (counted, not told to the probe, so that specs expecting no message still hold).</summary>
    public int Pings => Volatile.Read(ref _pings);

    public void Ping() => Interlocked.Increment(ref _pings);

    public void Start(IActorRef connection)
    {
        _connection = connection;
        Probe.Ref.Tell(new Started(connection));
    }

    public bool TrySend(ServerFrame frame)
    {
        if (!Accepting) return false;
        Probe.Ref.Tell(frame);
        return true;
    }

    public void Close(int status, string reason)
    {
        Probe.Ref.Tell(new ClosedByServer(status, reason));
        if (ReportsClose) _connection.Tell(new SocketEvents.Closed($"closed by the server ({status})"));
    }

    public void Abort() => Probe.Ref.Tell(new Aborted());

    /// <summary>Waits for the next frame and returns it parsed; fails on anything else.</summary>
    public JsonElement ExpectFrame(TimeSpan? timeout = null) =>
        JsonDocument.Parse(Probe.ExpectMsg<ServerFrame>(timeout ?? TimeSpan.FromSeconds(10)).Utf8Json).RootElement;

    /// <summary>Waits for the next frame of the given wire type, failing on any other message first.</summary>
    public JsonElement ExpectFrame(string type, TimeSpan? timeout = null)
    {
        var frame = ExpectFrame(timeout);
        Xunit.Assert.Equal(type, frame.GetProperty("type").GetString());
        return frame;
    }
}
