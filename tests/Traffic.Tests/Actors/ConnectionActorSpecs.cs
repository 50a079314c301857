using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;
using Traffic.Actors.Transport;

namespace Traffic.Tests.Actors;

public sealed class ConnectionActorSpecs : TestKit
{
    private static readonly ConnectionSettings Settings = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
    private readonly TestProbe _registry;
    private readonly TestProbe _aggregator;
    private readonly ProbeSocket _socket;

    public ConnectionActorSpecs() : base(VirtualTime.Config)
    {
        _registry = CreateTestProbe();
        _aggregator = CreateTestProbe();
        _socket = new ProbeSocket(CreateTestProbe());
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static readonly ServerFrame SnapshotFrame = ServerMessages.Snapshot(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), DateTimeOffset.UtcNow);

    /// <summary>Starts a connection and plays the aggregator's part, up to its registration.</summary>
    private IActorRef StartConnection(TopicSet initial)
    {
        var connection = Sys.ActorOf(ConnectionActor.Props(_socket, _registry.Ref, _aggregator.Ref, Settings, initial));
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        _socket.ExpectFrame("connection");
        _aggregator.ExpectMsg<AggregatorQueries.GetSnapshot>();
        _aggregator.Reply(new AggregatorQueries.SnapshotReady(SnapshotFrame));
        var registered = _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();
        Assert.Equal(initial, registered.Topics);
        Assert.Same(SnapshotFrame, registered.Snapshot); // the snapshot goes out through the registry, before any publish
        return connection;
    }

    private static SocketEvents.TextReceived Text(string json) => new(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Greets_with_the_connection_ack_carrying_the_heartbeat_interval_and_topics()
    {
        Sys.ActorOf(ConnectionActor.Props(_socket, _registry.Ref, _aggregator.Ref, Settings, TopicSet.Of(Topic.Cameras)));
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        var ack = _socket.ExpectFrame("connection");
        Assert.Equal(10000, ack.GetProperty("heartbeatInterval").GetInt32());
        Assert.Equal(["cameras"], ack.GetProperty("topics").Strings());
        Assert.False(string.IsNullOrEmpty(ack.GetProperty("clientId").GetString()));
    }

    [Fact]
    public void Subscribe_adds_topics_and_the_ack_travels_through_the_registry()
    {
        var connection = StartConnection(TopicSet.Of(Topic.Cameras));
        connection.Tell(Text("""{"action":"subscribe","topics":["weather","accidents"]}"""));
        var change = _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();
        Assert.Equal(TopicSet.Of(Topic.Cameras, Topic.Weather, Topic.Accidents), change.Topics);
        var ack = System.Text.Json.JsonDocument.Parse(change.ThenSend!.Utf8Json).RootElement;
        Assert.Equal("SUBSCRIBED", ack.Type());
        Assert.Equal(["weather", "accidents"], ack.GetProperty("topics").Strings());
        Assert.Equal(["cameras", "weather", "accidents"], ack.GetProperty("subscriptions").Strings());
    }

    [Fact]
    public void Unsubscribing_one_topic_while_on_all_leaves_every_other_topic()
    {
        var connection = StartConnection(TopicSet.All);
        connection.Tell(Text("""{"action":"unsubscribe","topics":["weather"]}"""));
        var change = _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();
        Assert.Equal(TopicSet.All.Except(TopicSet.Of(Topic.Weather)), change.Topics);

        connection.Tell(Text("""{"action":"subscribe","topics":["all"]}"""));
        Assert.Equal(TopicSet.All, _registry.ExpectMsg<RegistryCommands.SetSubscriptions>().Topics);

        connection.Tell(Text("""{"action":"unsubscribe","topics":["all"]}"""));
        Assert.Equal(TopicSet.None, _registry.ExpectMsg<RegistryCommands.SetSubscriptions>().Topics);
    }

    [Fact]
    public void Client_commands_sent_before_the_snapshot_wait_for_it()
    {
        var connection = Sys.ActorOf(ConnectionActor.Props(_socket, _registry.Ref, _aggregator.Ref, Settings, TopicSet.All));
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        _socket.ExpectFrame("connection");
        connection.Tell(Text("""{"action":"unsubscribe","topics":["patterns"]}"""));
        _aggregator.ExpectMsg<AggregatorQueries.GetSnapshot>();
        _registry.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        _aggregator.Reply(new AggregatorQueries.SnapshotReady(SnapshotFrame));
        Assert.Same(SnapshotFrame, _registry.ExpectMsg<RegistryCommands.SetSubscriptions>().Snapshot);
        Assert.Equal(TopicSet.All.Except(TopicSet.Of(Topic.Patterns)), _registry.ExpectMsg<RegistryCommands.SetSubscriptions>().Topics);
    }

    [Fact]
    public void Ping_is_answered_with_pong()
    {
        var connection = StartConnection(TopicSet.All);
        connection.Tell(Text("""{"action":"ping"}"""));
        _socket.ExpectFrame("PONG");
    }

    [Theory]
    [InlineData("{not json", "malformed_json")]
    [InlineData("""["subscribe"]""", "malformed_json")]
    [InlineData("""{"action":"dance"}""", "unknown_action")]
    [InlineData("""{"topics":["cameras"]}""", "unknown_action")]
    [InlineData("""{"action":"subscribe","topics":["cameras","traffic-lights"]}""", "unknown_topic")]
    [InlineData("""{"action":"subscribe","topics":"cameras"}""", "invalid_topics")]
    [InlineData("""{"action":"unsubscribe"}""", "invalid_topics")]
    public void Bad_input_gets_an_error_frame_and_changes_nothing(string input, string expectedCode)
    {
        var connection = StartConnection(TopicSet.Of(Topic.Cameras));
        connection.Tell(Text(input));
        var error = _socket.ExpectFrame("ERROR");
        Assert.Equal(expectedCode, error.GetProperty("error").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        _registry.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        connection.Tell(Text("""{"action":"ping"}""")); // still serving
        _socket.ExpectFrame("PONG");
    }

    [Fact]
    public void A_binary_frame_gets_an_error_frame()
    {
        var connection = StartConnection(TopicSet.All);
        connection.Tell(new SocketEvents.BinaryReceived(3));
        Assert.Equal("binary_not_supported", _socket.ExpectFrame("ERROR").GetProperty("error").GetString());
    }

    /// <summary>
    /// Moves virtual time one heartbeat interval and waits until the actor has handled the check,
    /// so that it reads the clock before the next advance (Identify is answered in mailbox order).
    /// </summary>
    private void AdvanceOneInterval(IActorRef connection)
    {
        Scheduler.Advance(Settings.HeartbeatInterval);
        Handled(connection);
    }

    /// <summary>Waits until the actor has handled everything told to it so far (Identify is answered in mailbox order).</summary>
    private void Handled(IActorRef connection)
    {
        connection.Tell(new Identify(null));
        ExpectMsg<ActorIdentity>();
    }

    [Fact]
    public void A_connection_silent_for_longer_than_the_timeout_is_aborted_and_stops()
    {
        var connection = StartConnection(TopicSet.All);
        Watch(connection);
        for (var i = 0; i < 3; i++) AdvanceOneInterval(connection); // checks at 10, 20, 30 s: silent for exactly 30 s is allowed
        _socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        Scheduler.Advance(Settings.HeartbeatInterval); // check at 40 s: silent for 40 s
        _socket.Probe.ExpectMsg<ProbeSocket.Aborted>();
        ExpectTerminated(connection);
    }

    [Fact]
    public void A_connection_that_answers_pings_stays_open()
    {
        var connection = StartConnection(TopicSet.All);
        Watch(connection);
        for (var i = 0; i < 12; i++) // two simulated minutes, the peer heard from every 10 s
        {
            AdvanceOneInterval(connection);
            connection.Tell(SocketEvents.PeerActive.Instance);
        }
        _socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // no abort, no close
        connection.Tell(Text("""{"action":"ping"}"""));
        _socket.ExpectFrame("PONG");
    }

    [Fact]
    public void A_quiet_client_is_pinged_at_every_check_and_one_heard_lately_is_not()
    {
        var connection = StartConnection(TopicSet.All);
        AdvanceOneInterval(connection); // 10 s of silence
        Assert.Equal(1, _socket.Pings);

        connection.Tell(SocketEvents.PeerActive.Instance); // its PONG, just after the check
        Handled(connection);
        AdvanceOneInterval(connection); // quiet for a whole interval since: pinged again
        Assert.Equal(2, _socket.Pings);

        Scheduler.Advance(Settings.HeartbeatInterval * 0.6);
        connection.Tell(SocketEvents.PeerActive.Instance); // heard 4 s before the next check
        Handled(connection);
        Scheduler.Advance(Settings.HeartbeatInterval * 0.4);
        Handled(connection);
        Assert.Equal(2, _socket.Pings); // it spoke lately: no PING

        for (var i = 0; i < 2; i++) AdvanceOneInterval(connection); // silent again (14 s, 24 s): a PING at each check
        Assert.Equal(4, _socket.Pings);
    }

    [Fact]
    public void The_socket_closing_stops_the_actor()
    {
        var connection = StartConnection(TopicSet.All);
        Watch(connection);
        connection.Tell(new SocketEvents.Closed("client closed"));
        ExpectTerminated(connection);
    }

    [Fact]
    public void The_actor_stopping_closes_the_socket_with_going_away()
    {
        var connection = StartConnection(TopicSet.All);
        Watch(connection);
        Sys.Stop(connection);
        ExpectTerminated(connection);
        Assert.Equal(CloseCodes.GoingAway, _socket.Probe.ExpectMsg<ProbeSocket.ClosedByServer>().Status);
    }

    [Fact]
    public void A_slow_consumer_is_closed_with_try_again_later()
    {
        var connection = StartConnection(TopicSet.All);
        Watch(connection);
        connection.Tell(SocketEvents.OutboundOverflow.Instance);
        Assert.Equal(CloseCodes.TryAgainLater, _socket.Probe.ExpectMsg<ProbeSocket.ClosedByServer>().Status);
        ExpectTerminated(connection);
    }

    [Fact]
    public void Messages_sent_before_the_snapshot_are_held_up_to_a_bound_and_the_rest_refused_once()
    {
        var connection = Sys.ActorOf(ConnectionActor.Props(_socket, _registry.Ref, _aggregator.Ref, Settings, TopicSet.All));
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        _socket.ExpectFrame("connection");
        _aggregator.ExpectMsg<AggregatorQueries.GetSnapshot>();
        for (var i = 0; i < ConnectionActor.MaxHeldBeforeSnapshot + 8; i++) connection.Tell(Text("""{"action":"ping"}"""));

        Assert.Equal(ConnectionErrorCodes.NotReady, _socket.ExpectFrame("ERROR").GetProperty("error").GetString()); // once, not 8 times
        connection.Tell(new AggregatorQueries.SnapshotReady(SnapshotFrame), _aggregator.Ref);
        _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();
        for (var i = 0; i < ConnectionActor.MaxHeldBeforeSnapshot; i++) _socket.ExpectFrame("PONG");
        _socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Messages_over_the_rate_limit_are_dropped_told_once_a_second_and_a_client_that_keeps_going_is_closed_with_1008()
    {
        var settings = Settings with { MessagesPerSecond = 5, MessageBurst = 10 };
        var connection = Sys.ActorOf(ConnectionActor.Props(_socket, _registry.Ref, _aggregator.Ref, settings, TopicSet.All));
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        _socket.ExpectFrame("connection");
        _aggregator.ExpectMsg<AggregatorQueries.GetSnapshot>();
        _aggregator.Reply(new AggregatorQueries.SnapshotReady(SnapshotFrame));
        _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();
        Watch(connection);
        void Ping(int times) { for (var i = 0; i < times; i++) connection.Tell(Text("""{"action":"ping"}""")); }

        Ping(15); // the burst of 10 passes; 5 over it are dropped, and the client is told once
        for (var i = 0; i < 10; i++) _socket.ExpectFrame("PONG");
        var error = _socket.ExpectFrame("ERROR");
        Assert.Equal(ConnectionErrorCodes.RateLimited, error.GetProperty("error").GetString());
        Assert.Contains("5 messages a second", error.GetProperty("message").GetString());
        _socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        Scheduler.Advance(TimeSpan.FromSeconds(1)); // 5 more tokens
        Ping(5);
        for (var i = 0; i < 5; i++) _socket.ExpectFrame("PONG");
        Ping(11); // a new second: told again; then more than the burst (10) dropped within it
        Assert.Equal(ConnectionErrorCodes.RateLimited, _socket.ExpectFrame("ERROR").GetProperty("error").GetString());
        Assert.Equal(CloseCodes.PolicyViolation, _socket.Probe.ExpectMsg<ProbeSocket.ClosedByServer>().Status);
        ExpectTerminated(connection);
    }

    [Fact]
    public void A_closing_connection_stays_until_its_socket_has_closed_within_a_bound()
    {
        var connection = StartConnection(TopicSet.All);
        Watch(connection);
        _socket.ReportsClose = false;
        connection.Tell(new ConnectionCommands.CloseWith(CloseCodes.GoingAway, "bye"));
        Assert.Equal(CloseCodes.GoingAway, _socket.Probe.ExpectMsg<ProbeSocket.ClosedByServer>().Status);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // still there: the close frame has not gone out yet

        connection.Tell(new SocketEvents.Closed("closed by the server (1001)"));
        ExpectTerminated(connection);

        // A peer that never finishes the close: the connection gives up after its bound.
        var other = new ProbeSocket(CreateTestProbe()) { ReportsClose = false };
        var second = Sys.ActorOf(ConnectionActor.Props(other, _registry.Ref, _aggregator.Ref, Settings, TopicSet.All));
        Watch(second);
        second.Tell(new ConnectionCommands.CloseWith(CloseCodes.GoingAway, "bye"));
        other.Probe.FishForMessage(m => m is ProbeSocket.ClosedByServer);
        second.Tell(new Identify(null));
        ExpectMsg<ActorIdentity>(); // the close (and its timer) has been handled
        Scheduler.Advance(ConnectionActor.CloseWait);
        ExpectTerminated(second);
    }
}
