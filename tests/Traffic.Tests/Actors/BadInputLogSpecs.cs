using Akka.Actor;
using System.Text;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Transport;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>What a client can put in the service's log: escaped, cut short, at most a line a second.</summary>
public sealed class BadInputLogSpecs : TestKit
{
    public BadInputLogSpecs() : base(VirtualTime.Config) { }

    [Fact]
    public void Text_from_a_client_is_escaped_and_cut_short_for_the_log()
    {
        Assert.Equal("evil\\r\\n[ERROR] forged", ClientText.Safe("evil\r\n[ERROR] forged"));
        Assert.Equal("a\\u0007b", ClientText.Safe("a\u0007b"));
        Assert.Equal("abc...(3 more)", ClientText.Safe("abcdef", max: 3));
        Assert.Equal("plain", ClientText.Safe("plain"));
    }

    [Fact]
    public void Bad_input_is_answered_every_time_and_logged_at_most_once_a_second_escaped()
    {
        var socket = new ProbeSocket(CreateTestProbe());
        var registry = CreateTestProbe();
        var snapshots = CreateTestProbe();
        var connection = Sys.ActorOf(ConnectionActor.Props(socket, registry.Ref, snapshots.Ref,
            new ConnectionSettings(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)), TopicSet.Of(Topic.Cameras)));
        socket.Probe.ExpectMsg<ProbeSocket.Started>();
        socket.ExpectFrame("connection");
        snapshots.ExpectMsg<AggregatorQueries.GetSnapshot>();
        snapshots.Reply(new AggregatorQueries.SnapshotReady(ServerMessages.Snapshot(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), DateTimeOffset.UtcNow)));
        registry.ExpectMsg<RegistryCommands.SetSubscriptions>();

        var forged = """{"action":"subscribe","topics":["x\r\n[ERROR] forged line"]}""";
        // Five at once: five ERROR frames, one log line (escaped: no line break of the client's making).
        EventFilter.Info(contains: "sent bad input (unknown_topic): unknown topic \"x\\r\\n[ERROR] forged line\"").Expect(1, () =>
        {
            for (var i = 0; i < 5; i++) connection.Tell(new SocketEvents.TextReceived(Encoding.UTF8.GetBytes(forged)));
            for (var i = 0; i < 5; i++) socket.ExpectFrame("ERROR");
        });

        // A second later the next one is logged again, saying how many were not.
        ((TestScheduler)Sys.Scheduler).Advance(TimeSpan.FromSeconds(1));
        EventFilter.Info(contains: "and 4 more bad inputs in the last second").ExpectOne(() =>
        {
            connection.Tell(new SocketEvents.TextReceived(Encoding.UTF8.GetBytes(forged)));
            socket.ExpectFrame("ERROR");
        });
    }
}
