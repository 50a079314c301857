using Akka.Actor;
using Akka.Dispatch.MessageQueues;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Actors.Transport;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// The connection actors' light mailbox (<see cref="ConnectionMailbox"/>): used by the hub where the
/// system configures it (as AddConnectionHub does), and an ordinary FIFO message queue.
/// </summary>
public sealed class ConnectionMailboxSpecs() : TestKit(ConnectionMailbox.Hocon)
{
    private static readonly ConnectionSettings Settings = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));

    private static IMessageQueue QueueOf(IActorRef actor) =>
        ((ActorCell)((ActorRefWithCell)actor).Underlying).Mailbox!.MessageQueue;

    [Fact]
    public void The_hub_gives_its_connections_the_light_mailbox_and_they_work_on_it()
    {
        var snapshots = CreateTestProbe();
        var registry = CreateTestProbe();
        var hub = Sys.ActorOf(ConnectionHubActor.Props(registry.Ref, snapshots.Ref, Settings));
        var socket = new ProbeSocket(CreateTestProbe());
        hub.Tell(new ConnectionHubCommands.Accept(socket, TopicSet.All));

        var connection = socket.Probe.ExpectMsg<ProbeSocket.Started>().Connection;
        Assert.IsType<ConnectionMessageQueue>(QueueOf(connection));
        socket.ExpectFrame("connection");
        snapshots.ExpectMsg<AggregatorQueries.GetSnapshot>();
        snapshots.Reply(new AggregatorQueries.SnapshotReady(ServerMessages.Snapshot(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), DateTimeOffset.UtcNow)));
        registry.ExpectMsg<Traffic.Actors.Routing.RegistryCommands.SetSubscriptions>();
        connection.Tell(new SocketEvents.TextReceived("""{"action":"ping"}"""u8.ToArray()));
        socket.ExpectFrame("PONG");
    }

    [Fact]
    public void Messages_leave_in_the_order_they_came_through_every_growth_and_the_rest_go_to_dead_letters()
    {
        var queue = new ConnectionMessageQueue();
        Assert.False(queue.HasMessages);
        for (var i = 0; i < 3; i++) queue.Enqueue(TestActor, new Envelope(i, TestActor));
        Assert.True(queue.TryDequeue(out var first));
        Assert.Equal(0, first.Message);
        for (var i = 3; i < 40; i++) queue.Enqueue(TestActor, new Envelope(i, TestActor)); // grows past 4, 8, 16, 32 with the head moved
        Assert.Equal(39, queue.Count);
        Assert.True(queue.HasMessages);
        for (var i = 1; i < 20; i++)
        {
            Assert.True(queue.TryDequeue(out var next));
            Assert.Equal(i, next.Message);
        }

        var dead = new UnboundedMessageQueue();
        queue.CleanUp(TestActor, dead);
        Assert.False(queue.HasMessages);
        Assert.Equal(0, queue.Count);
        Assert.False(queue.TryDequeue(out _));
        Assert.Equal(20, dead.Count);
        Assert.True(dead.TryDequeue(out var oldestLeft));
        Assert.Equal(20, oldestLeft.Message);
    }
}
