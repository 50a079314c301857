using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Connections;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Transport;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// A connection's resumes, deltas, closing, metrics and log lines, driven with probes in virtual
/// time (the basics are in <see cref="ConnectionActorSpecs"/>).
/// </summary>
public sealed class ConnectionLifecycleSpecs : TestKit, IDisposable
{
    private static readonly ConnectionSettings Settings = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
    private static readonly ServerFrame SnapshotFrame = ServerMessages.Snapshot(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), DateTimeOffset.UtcNow);
    private readonly TestProbe _registry;
    private readonly TestProbe _aggregator;
    private readonly ProbeSocket _socket;
    private readonly Meter _meter = new("connection-lifecycle-spec");
    private readonly TrafficMetrics _metrics;

    public ConnectionLifecycleSpecs() : base(VirtualTime.Config)
    {
        _registry = CreateTestProbe();
        _aggregator = CreateTestProbe();
        _socket = new ProbeSocket(CreateTestProbe());
        _metrics = new TrafficMetrics(_meter);
    }

    void IDisposable.Dispose()
    {
        _meter.Dispose();
        Dispose();
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static SocketEvents.TextReceived Text(string json) => new(Encoding.UTF8.GetBytes(json));

    private static JsonElement Parse(ServerFrame frame) => JsonDocument.Parse(frame.Utf8Json).RootElement;

    private static ResumeRequest Since(string query)
    {
        Assert.True(ResumeRequest.TryParseQuery(query, out var since, out var problem), problem);
        return since!;
    }

    private IActorRef Create(TopicSet topics, ResumeRequest? since = null, IClientSocket? socket = null, string? name = null) =>
        Sys.ActorOf(ConnectionActor.Props(socket ?? _socket, _registry.Ref, _aggregator.Ref, Settings, topics, _metrics, since), name);

    /// <summary>Starts a connection and plays the aggregator's part, up to its registration, which it returns.</summary>
    private (IActorRef Connection, RegistryCommands.SetSubscriptions Registered) Start(TopicSet topics, ResumeRequest? since = null)
    {
        var connection = Create(topics, since);
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        _socket.ExpectFrame("connection");
        _aggregator.ExpectMsg<AggregatorQueries.GetSnapshot>();
        _aggregator.Reply(new AggregatorQueries.SnapshotReady(SnapshotFrame));
        return (connection, _registry.ExpectMsg<RegistryCommands.SetSubscriptions>());
    }

    /// <summary>Waits until the actor has handled everything sent to it before (Identify is answered in mailbox order).</summary>
    private void Barrier(IActorRef connection)
    {
        connection.Tell(new Identify(null));
        ExpectMsg<ActorIdentity>();
    }

    [Fact]
    public void The_ack_names_the_client_by_its_actors_name()
    {
        Create(TopicSet.All, name: "client-t-7");
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        Assert.Equal("client-t-7", _socket.ExpectFrame("connection").GetProperty("clientId").GetString());
    }

    [Fact]
    public void A_connection_that_resumes_from_its_url_registers_with_its_positions_and_the_state_for_every_topic()
    {
        var since = Since("cameras:k3x9ab12:41,all:k3x9ab12:2");
        var (connection, registered) = Start(TopicSet.Of(Topic.Cameras, Topic.Weather), since);
        Assert.Same(since, registered.Since);
        Assert.Equal(TopicSet.Of(Topic.Cameras, Topic.Weather), registered.NeedState);
        Assert.Same(SnapshotFrame, registered.Snapshot);
        Assert.Null(registered.ThenSend);
        Assert.Same(connection, registered.Connection);
        Assert.Same(_socket, registered.Socket);
    }

    [Fact]
    public void A_connection_without_positions_registers_without_a_resume()
    {
        var (_, registered) = Start(TopicSet.Of(Topic.Accidents));
        Assert.Null(registered.Since);
        Assert.Equal(TopicSet.Of(Topic.Accidents), registered.NeedState);
    }

    [Fact]
    public void A_subscribe_with_since_fetches_the_state_again_and_registers_with_its_ack_positions_and_the_topics_it_names()
    {
        var (connection, _) = Start(TopicSet.Of(Topic.Cameras));
        connection.Tell(Text("""{"action":"subscribe","topics":["accidents"],"since":{"accidents":{"epoch":"k3x9ab12","offset":41}}}"""));
        _aggregator.ExpectMsg<AggregatorQueries.GetSnapshot>();
        connection.Tell(Text("""{"action":"ping"}""")); // waits behind the resume
        _registry.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        _aggregator.Reply(new AggregatorQueries.SnapshotReady(SnapshotFrame));
        var resumed = _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();
        Assert.Equal(TopicSet.Of(Topic.Cameras, Topic.Accidents), resumed.Topics);
        Assert.Equal(TopicSet.Of(Topic.Accidents), resumed.NeedState);
        Assert.Equal(new StreamPosition("k3x9ab12", 41), Assert.Single(resumed.Since!.Positions).Value);
        Assert.Same(SnapshotFrame, resumed.Snapshot);
        var ack = Parse(resumed.ThenSend!);
        Assert.Equal("SUBSCRIBED", ack.Type());
        Assert.Equal(["accidents"], ack.GetProperty("topics").Strings());
        Assert.Equal(["cameras", "accidents"], ack.GetProperty("subscriptions").Strings());
        _socket.ExpectFrame("PONG"); // what waited is handled once registered

        // A later plain subscribe is no resume.
        connection.Tell(Text("""{"action":"subscribe","topics":["weather"]}"""));
        var plain = _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();
        Assert.Null(plain.Since);
        Assert.Null(plain.Snapshot);
        _aggregator.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_resume_held_before_the_first_snapshot_holds_what_came_after_it_until_its_own_state()
    {
        var connection = Create(TopicSet.Of(Topic.Cameras));
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        _socket.ExpectFrame("connection");
        _aggregator.ExpectMsg<AggregatorQueries.GetSnapshot>();
        connection.Tell(Text("""{"action":"subscribe","topics":["accidents"],"since":{"accidents":{"epoch":"k3x9ab12","offset":1}}}"""));
        connection.Tell(Text("""{"action":"ping"}"""));
        connection.Tell(Text("""{"action":"unsubscribe","topics":["cameras"]}"""));

        _aggregator.Reply(new AggregatorQueries.SnapshotReady(SnapshotFrame));
        Assert.Null(_registry.ExpectMsg<RegistryCommands.SetSubscriptions>().Since); // the first registration
        _aggregator.ExpectMsg<AggregatorQueries.GetSnapshot>();                        // the resume asks again
        _socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));                     // the ping waits behind it

        _aggregator.Reply(new AggregatorQueries.SnapshotReady(SnapshotFrame));
        Assert.NotNull(_registry.ExpectMsg<RegistryCommands.SetSubscriptions>().Since);
        _socket.ExpectFrame("PONG");
        Assert.Equal(TopicSet.Of(Topic.Accidents), _registry.ExpectMsg<RegistryCommands.SetSubscriptions>().Topics);
    }

    [Fact]
    public void A_position_for_a_topic_that_is_not_subscribed_is_refused_and_changes_nothing()
    {
        var (connection, _) = Start(TopicSet.Of(Topic.Cameras));
        connection.Tell(Text("""{"action":"subscribe","topics":["weather"],"since":{"accidents":{"epoch":"k3x9ab12","offset":4}}}"""));
        var error = _socket.ExpectFrame("ERROR");
        Assert.Equal(ErrorCodes.InvalidPosition, error.GetProperty("error").GetString());
        Assert.Contains("\"accidents\", which is not subscribed", error.GetProperty("message").GetString());
        _registry.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        _aggregator.ExpectNoMsg(TimeSpan.Zero);

        connection.Tell(Text("""{"action":"unsubscribe","topics":["cameras"]}""")); // still on cameras only
        Assert.Equal(TopicSet.None, _registry.ExpectMsg<RegistryCommands.SetSubscriptions>().Topics);
    }

    /// <summary>A probe socket that also reports <see cref="IClientSocket.UseDeltas"/>.</summary>
    private sealed class DeltaSocket(ProbeSocket inner) : IClientSocket
    {
        public sealed record DeltasOn;

        public string RemoteAddress => inner.RemoteAddress;
        public void Start(IActorRef connection) => inner.Start(connection);
        public bool TrySend(ServerFrame frame) => inner.TrySend(frame);
        public void Close(int status, string reason) => inner.Close(status, reason);
        public void Abort() => inner.Abort();
        public void UseDeltas() => inner.Probe.Ref.Tell(new DeltasOn());
    }

    [Fact]
    public void A_subscribe_asking_for_deltas_switches_the_socket_to_them_and_one_without_does_not()
    {
        var socket = new DeltaSocket(_socket);
        var connection = Create(TopicSet.None, socket: socket);
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        _socket.ExpectFrame("connection");
        _aggregator.ExpectMsg<AggregatorQueries.GetSnapshot>();
        _aggregator.Reply(new AggregatorQueries.SnapshotReady(SnapshotFrame));
        _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();

        connection.Tell(Text("""{"action":"subscribe","topics":["cameras"]}"""));
        _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();
        _socket.Probe.ExpectNoMsg(TimeSpan.Zero);

        connection.Tell(Text("""{"action":"subscribe","topics":["weather"],"delta":true}"""));
        _socket.Probe.ExpectMsg<DeltaSocket.DeltasOn>();
        Assert.Equal(TopicSet.Of(Topic.Cameras, Topic.Weather), _registry.ExpectMsg<RegistryCommands.SetSubscriptions>().Topics);
    }

    [Fact]
    public void An_unsubscribe_is_acknowledged_as_such_with_what_remains()
    {
        var (connection, _) = Start(TopicSet.Of(Topic.Cameras, Topic.Weather));
        connection.Tell(Text("""{"action":"unsubscribe","topics":["weather","patterns"]}"""));
        var change = _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();
        var ack = Parse(change.ThenSend!);
        Assert.Equal("UNSUBSCRIBED", ack.Type());
        Assert.Equal(["weather", "patterns"], ack.GetProperty("topics").Strings());
        Assert.Equal(["cameras"], ack.GetProperty("subscriptions").Strings());
        Assert.Null(change.Snapshot);
    }

    [Fact]
    public void Client_messages_and_binary_frames_are_signs_of_life_too()
    {
        var (connection, _) = Start(TopicSet.All);
        Watch(connection);
        for (var i = 0; i < 6; i++) // a minute, the client heard from only through what it sends
        {
            Scheduler.Advance(Settings.HeartbeatInterval);
            Barrier(connection);
            if (i % 2 == 0) connection.Tell(Text("""{"action":"ping"}"""));
            else connection.Tell(new SocketEvents.BinaryReceived(1));
            _socket.Probe.ExpectMsg<ServerFrame>();
        }
        _socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Messages_held_before_the_snapshot_are_signs_of_life()
    {
        var connection = Create(TopicSet.All);
        Watch(connection);
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        _socket.ExpectFrame("connection");
        for (var i = 0; i < 6; i++) // the SNAPSHOT is late (a cluster's replica), the client keeps sending
        {
            Scheduler.Advance(Settings.HeartbeatInterval);
            Barrier(connection);
            connection.Tell(Text("""{"action":"ping"}"""));
        }
        Barrier(connection);
        _socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // not aborted
    }

    [Fact]
    public void Error_frames_say_what_was_wrong()
    {
        var (connection, _) = Start(TopicSet.All);
        connection.Tell(new SocketEvents.BinaryReceived(3));
        Assert.Equal("binary frames are not supported (3 bytes ignored); send JSON text",
            _socket.ExpectFrame("ERROR").GetProperty("message").GetString());
        connection.Tell(Text("""{"action":"dance"}"""));
        Assert.Equal("unknown action \"dance\": expected subscribe, unsubscribe or ping",
            _socket.ExpectFrame("ERROR").GetProperty("message").GetString());
    }

    [Fact]
    public void Over_the_rate_limit_before_the_snapshot_messages_are_dropped_not_held()
    {
        var settings = Settings with { MessagesPerSecond = 1, MessageBurst = 2 };
        var connection = Sys.ActorOf(ConnectionActor.Props(_socket, _registry.Ref, _aggregator.Ref, settings, TopicSet.All));
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        _socket.ExpectFrame("connection");
        _aggregator.ExpectMsg<AggregatorQueries.GetSnapshot>();
        for (var i = 0; i < 4; i++) connection.Tell(Text("""{"action":"ping"}"""));
        var error = _socket.ExpectFrame("ERROR");
        Assert.Equal(ConnectionErrorCodes.RateLimited, error.GetProperty("error").GetString());
        Assert.Equal("more than 1 messages a second (bursts of 2): messages over the limit are dropped", error.GetProperty("message").GetString());

        _aggregator.Reply(new AggregatorQueries.SnapshotReady(SnapshotFrame));
        _registry.ExpectMsg<RegistryCommands.SetSubscriptions>();
        _socket.ExpectFrame("PONG");
        _socket.ExpectFrame("PONG");
        _socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void The_messages_over_the_hold_bound_are_refused_with_a_message_that_says_why()
    {
        var connection = Create(TopicSet.All);
        _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        _socket.ExpectFrame("connection");
        for (var i = 0; i <= ConnectionActor.MaxHeldBeforeSnapshot; i++) connection.Tell(Text("""{"action":"ping"}"""));
        Assert.Equal(
            "message dropped: the connection is still waiting for its SNAPSHOT, and holds at most 32 messages until then",
            _socket.ExpectFrame("ERROR").GetProperty("message").GetString());
    }

    [Fact]
    public void Closes_say_why_on_the_wire()
    {
        var (connection, _) = Start(TopicSet.All);
        connection.Tell(SocketEvents.OutboundOverflow.Instance);
        Assert.Equal(new ProbeSocket.ClosedByServer(CloseCodes.TryAgainLater, "client too slow: unsent ALERTs fill its outbound queue"),
            _socket.Probe.ExpectMsg<ProbeSocket.ClosedByServer>());

        var other = new ProbeSocket(CreateTestProbe());
        var second = Create(TopicSet.All, socket: other);
        Watch(second);
        second.Tell(new ConnectionCommands.CloseWith(CloseCodes.ServiceRestart, "service restart: reconnect"));
        other.Probe.FishForMessage(m => m is ProbeSocket.ClosedByServer { Status: CloseCodes.ServiceRestart, Reason: "service restart: reconnect" });
        ExpectTerminated(second);
        // Stopping closes the socket once more (idempotent for the real one) with going away.
        Assert.Equal(new ProbeSocket.ClosedByServer(CloseCodes.GoingAway, "server closed the connection"), other.Probe.ExpectMsg<ProbeSocket.ClosedByServer>());
    }

    [Fact]
    public void A_closing_connection_answers_nothing_more_and_is_not_closed_twice()
    {
        var (connection, _) = Start(TopicSet.All);
        Watch(connection);
        _socket.ReportsClose = false;
        connection.Tell(new ConnectionCommands.CloseWith(CloseCodes.GoingAway, "bye"));
        Assert.Equal(CloseCodes.GoingAway, _socket.Probe.ExpectMsg<ProbeSocket.ClosedByServer>().Status);

        connection.Tell(Text("""{"action":"ping"}"""));
        connection.Tell(new SocketEvents.BinaryReceived(2));
        connection.Tell(SocketEvents.OutboundOverflow.Instance);
        connection.Tell(new ConnectionCommands.CloseWith(CloseCodes.PolicyViolation, "again"));
        Barrier(connection);
        _socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        connection.Tell(new SocketEvents.Closed("closed by the server (1001)"));
        ExpectTerminated(connection);
    }

    [Fact]
    public void Open_connections_are_counted_while_they_live()
    {
        Assert.Equal(0, MeterReader.Read(_meter, "traffic.connections"));
        var (first, _) = Start(TopicSet.All);
        Assert.Equal(1, MeterReader.Read(_meter, "traffic.connections"));
        Watch(first);
        first.Tell(new SocketEvents.Closed("client closed"));
        ExpectTerminated(first);
        Assert.Equal(0, MeterReader.Read(_meter, "traffic.connections"));
    }

    [Fact]
    public void A_silent_connection_is_counted_as_a_heartbeat_termination_and_logged_with_its_silence()
    {
        var (connection, _) = Start(TopicSet.All);
        Watch(connection);
        for (var i = 0; i < 3; i++)
        {
            Scheduler.Advance(Settings.HeartbeatInterval);
            Barrier(connection);
        }
        Assert.Equal(0, MeterReader.Read(_meter, "traffic.heartbeat.terminations"));
        EventFilter.Info(contains: "disconnected after 40.0 s: silent for 40.0 s (timeout 30.0 s): dropped by the server").ExpectOne(() =>
        {
            Scheduler.Advance(Settings.HeartbeatInterval);
            _socket.Probe.ExpectMsg<ProbeSocket.Aborted>();
            ExpectTerminated(connection);
        });
        Assert.Equal(1, MeterReader.Read(_meter, "traffic.heartbeat.terminations"));
    }

    [Fact]
    public void The_connect_and_the_disconnect_are_logged_once_each_with_how_it_ended()
    {
        IActorRef connection = ActorRefs.Nobody;
        EventFilter.Info(start: "Client client-log-1 connected from 127.0.0.1:50000, topics [cameras]").ExpectOne(() =>
        {
            connection = Create(TopicSet.Of(Topic.Cameras), name: "client-log-1");
            _socket.Probe.ExpectMsg<ProbeSocket.Started>();
        });
        Watch(connection);
        EventFilter.Info(start: "Client client-log-1 from 127.0.0.1:50000 disconnected after 0.0 s: client closed (1000)").ExpectOne(() =>
        {
            connection.Tell(new SocketEvents.Closed("client closed (1000)"));
            ExpectTerminated(connection);
        });
    }

    [Fact]
    public void A_close_the_server_asked_for_is_logged_with_its_code_and_what_the_socket_said()
    {
        var (connection, _) = Start(TopicSet.All);
        Watch(connection);
        EventFilter.Info(contains: "closed by the server with 1013 (client too slow: unsent ALERTs fill its outbound queue); socket: closed by the server (1013)")
            .ExpectOne(() =>
            {
                connection.Tell(SocketEvents.OutboundOverflow.Instance);
                ExpectTerminated(connection);
            });
    }

    [Fact]
    public void A_socket_that_ended_with_a_fault_is_logged_as_an_error()
    {
        var (connection, _) = Start(TopicSet.All);
        Watch(connection);
        EventFilter.Error(contains: "disconnected after 0.0 s: send failed").ExpectOne(() =>
        {
            connection.Tell(new SocketEvents.Closed("send failed", new InvalidOperationException("a bug")));
            ExpectTerminated(connection);
        });
    }

    [Fact]
    public void Rate_limit_abuse_is_logged_and_closes_with_its_reason()
    {
        var settings = Settings with { MessagesPerSecond = 1, MessageBurst = 1 };
        var connection = Sys.ActorOf(ConnectionActor.Props(_socket, _registry.Ref, _aggregator.Ref, settings, TopicSet.All), "client-flood");
        Watch(connection);
        EventFilter.Info(start: "Client client-flood kept sending over its rate limit (1/s, burst 1)").ExpectOne(() =>
        {
            for (var i = 0; i < 10; i++) connection.Tell(Text("""{"action":"ping"}"""));
            ExpectTerminated(connection);
        });
        var close = (ProbeSocket.ClosedByServer)_socket.Probe.FishForMessage(m => m is ProbeSocket.ClosedByServer);
        Assert.Equal(new ProbeSocket.ClosedByServer(CloseCodes.PolicyViolation, "rate limit exceeded: too many messages"), close);
        // The message that closed it is not answered: the next thing on the socket is the stop's close.
        Assert.Equal(CloseCodes.GoingAway, _socket.Probe.ExpectMsg<ProbeSocket.ClosedByServer>().Status);
    }

    [Fact]
    public void A_snapshot_that_comes_when_none_is_awaited_changes_nothing()
    {
        var (connection, _) = Start(TopicSet.Of(Topic.Cameras));
        connection.Tell(new AggregatorQueries.SnapshotReady(SnapshotFrame));
        connection.Tell(Text("""{"action":"ping"}"""));
        _socket.ExpectFrame("PONG");
        _registry.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // not registered a second time
    }

    [Fact]
    public void A_connection_stopped_by_the_server_says_so_in_its_disconnect_line()
    {
        var (connection, _) = Start(TopicSet.All);
        Watch(connection);
        EventFilter.Info(contains: "disconnected after 0.0 s: stopped by the server").ExpectOne(() =>
        {
            Sys.Stop(connection);
            ExpectTerminated(connection);
        });
    }

    [Fact]
    public void Bad_input_is_logged_with_its_code_and_message()
    {
        var (connection, _) = Start(TopicSet.All);
        EventFilter.Info(contains: "sent bad input (unknown_action): unknown action \"dance\": expected subscribe, unsubscribe or ping").ExpectOne(() =>
        {
            connection.Tell(Text("""{"action":"dance"}"""));
            _socket.ExpectFrame("ERROR");
        });
    }
}
