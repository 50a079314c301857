using Akka;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Tests.Support;
using Xunit;
using Traffic.Actors.Transport;

namespace Traffic.Tests.Actors;

public sealed class ConnectionHubSpecs : TestKit
{
    private static readonly ConnectionSettings Settings = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));

    [Fact]
    public void A_leaving_cluster_node_closes_every_connection_with_1012_and_then_every_new_one()
    {
        var registry = CreateTestProbe();
        var snapshots = CreateTestProbe();
        var hub = Sys.ActorOf(ConnectionHubActor.Props(registry.Ref, snapshots.Ref, Settings));
        var before = new ProbeSocket(CreateTestProbe());
        hub.Tell(new ConnectionHubCommands.Accept(before, TopicSet.All));
        before.Probe.ExpectMsg<ProbeSocket.Started>();
        before.ExpectFrame("connection");
        snapshots.ExpectMsg<AggregatorQueries.GetSnapshot>();

        hub.Tell(new ConnectionHubCommands.CloseAll(CloseCodes.ServiceRestart, "service restart"));
        ExpectMsg<Done>();
        Assert.Equal(new ProbeSocket.ClosedByServer(1012, "service restart"), before.Probe.ExpectMsg<ProbeSocket.ClosedByServer>());

        // A client that still gets in while the node leaves is greeted and told the same at once.
        var after = new ProbeSocket(CreateTestProbe());
        hub.Tell(new ConnectionHubCommands.Accept(after, TopicSet.All));
        after.Probe.ExpectMsg<ProbeSocket.Started>();
        after.ExpectFrame("connection");
        Assert.Equal(1012, after.Probe.ExpectMsg<ProbeSocket.ClosedByServer>().Status);
    }

    [Fact]
    public void A_registry_that_stops_closes_every_connection_with_service_restart()
    {
        var registry = CreateTestProbe();
        var hub = Sys.ActorOf(ConnectionHubActor.Props(registry.Ref, CreateTestProbe().Ref, Settings));
        var sockets = new[] { new ProbeSocket(CreateTestProbe()), new ProbeSocket(CreateTestProbe()) };
        foreach (var socket in sockets)
        {
            hub.Tell(new ConnectionHubCommands.Accept(socket, TopicSet.All));
            socket.Probe.ExpectMsg<ProbeSocket.Started>();
        }
        Sys.Stop(registry.Ref);
        foreach (var socket in sockets)
            Assert.Equal(CloseCodes.ServiceRestart, socket.Probe.FishForMessage<ProbeSocket.ClosedByServer>(_ => true).Status);
    }

    [Fact]
    public void A_single_node_shutting_down_closes_every_connection_with_1001()
    {
        var hub = Sys.ActorOf(ConnectionHubActor.Props(CreateTestProbe().Ref, CreateTestProbe().Ref, Settings));
        var socket = new ProbeSocket(CreateTestProbe());
        hub.Tell(new ConnectionHubCommands.Accept(socket, TopicSet.All));
        socket.Probe.ExpectMsg<ProbeSocket.Started>();
        socket.ExpectFrame("connection");

        hub.Tell(ConnectionHubCommands.CloseAll.Instance);
        Assert.Equal(1001, socket.Probe.ExpectMsg<ProbeSocket.ClosedByServer>().Status);
    }

    [Fact]
    public void Close_all_answers_only_once_every_connection_has_closed_its_socket()
    {
        var hub = Sys.ActorOf(ConnectionHubActor.Props(CreateTestProbe().Ref, CreateTestProbe().Ref, Settings));
        var socket = new ProbeSocket(CreateTestProbe()) { ReportsClose = false };
        hub.Tell(new ConnectionHubCommands.Accept(socket, TopicSet.All));
        var connection = socket.Probe.ExpectMsg<ProbeSocket.Started>().Connection;

        hub.Tell(ConnectionHubCommands.CloseAll.Instance);
        socket.Probe.FishForMessage(m => m is ProbeSocket.ClosedByServer);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // the close frame has not gone out yet: no Done

        connection.Tell(new SocketEvents.Closed("closed by the server (1001)"));
        ExpectMsg<Done>();
    }

    [Fact]
    public void Close_all_answers_after_its_bound_when_a_socket_never_closes()
    {
        var hub = Sys.ActorOf(ConnectionHubActor.Props(CreateTestProbe().Ref, CreateTestProbe().Ref, Settings,
            closeAllBound: TimeSpan.FromMilliseconds(300)));
        var socket = new ProbeSocket(CreateTestProbe()) { ReportsClose = false };
        hub.Tell(new ConnectionHubCommands.Accept(socket, TopicSet.All));
        socket.Probe.ExpectMsg<ProbeSocket.Started>();

        hub.Tell(ConnectionHubCommands.CloseAll.Instance);
        ExpectMsg<Done>(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Client_ids_carry_a_node_tag_so_that_two_nodes_never_hand_out_the_same_id()
    {
        string FirstClientId()
        {
            var hub = Sys.ActorOf(ConnectionHubActor.Props(CreateTestProbe().Ref, CreateTestProbe().Ref, Settings));
            var socket = new ProbeSocket(CreateTestProbe());
            hub.Tell(new ConnectionHubCommands.Accept(socket, TopicSet.All));
            socket.Probe.ExpectMsg<ProbeSocket.Started>();
            return socket.ExpectFrame("connection").GetProperty("clientId").GetString()!;
        }

        var (a, b) = (FirstClientId(), FirstClientId());
        Assert.Matches("^client-[0-9a-z]{6}-1$", a);
        Assert.Matches("^client-[0-9a-z]{6}-1$", b);
        Assert.NotEqual(a, b);
    }
}
