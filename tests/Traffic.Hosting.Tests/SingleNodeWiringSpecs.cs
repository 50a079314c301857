using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources.Simulation;
using Traffic.Hosting.Tests.Support;
using Xunit;

namespace Traffic.Hosting.Tests;

/// <summary>
/// What only the real wiring can show: the actors the host starts, each found where the others
/// look for it (the registry keys the extensions register), pass a client's frames along end to end.
/// Traffic.Tests drives each actor alone with probes for its neighbours; these specs have no probe
/// between the actors, only at the socket.
/// </summary>
public sealed class SingleNodeWiringSpecs(ITestOutputHelper output) : SingleNodeSpec(output)
{
    private static SequencerCommands.PublishData Alert(Topic topic, string marker) =>
        new(ServerMessageType.Alert, topic, Encoding.UTF8.GetBytes($$"""{"marker":"{{marker}}"}"""));

    /// <summary>Every topic's UPDATE every 45 s (UPDATE_INTERVALS_MS): between the feed's first step (30 s) and its second (60 s).</summary>
    protected override TopicSchedule Schedule { get; } =
        new(Topics.Every.ToDictionary(topic => topic, _ => TimeSpan.FromSeconds(45)));

    private static JsonNode Entities(IReadOnlyList<JsonObject> entities) =>
        new JsonArray(entities.Select(e => e.DeepClone()).ToArray());

    private static void AssertSameEntities(IReadOnlyList<JsonObject> expected, JsonElement actual, string what)
    {
        var want = Entities(expected);
        Assert.True(JsonNode.DeepEquals(want, JsonNode.Parse(actual.GetRawText())),
            $"{what}: expected {Cut(want.ToJsonString())}, got {Cut(actual.GetRawText())}");
    }

    private static string Cut(string text) => text.Length <= 200 ? text : text[..200] + "...";

    [Fact]
    public void A_publish_told_to_the_sequencer_inbox_reaches_a_socket_accepted_by_the_hub_as_a_numbered_frame()
    {
        var accidents = Connect(TopicSet.Of(Topic.Accidents));
        var weather = Connect(TopicSet.Of(Topic.Weather));
        foreach (var socket in new[] { accidents, weather })
        {
            socket.ExpectFrame("connection");
            socket.ExpectFrame("SNAPSHOT"); // registered with the registry from here on
        }

        // Where POST /api/publish tells it (IRequiredActor<SequencerInbox>).
        var inbox = Required<SequencerInbox>();
        inbox.Tell(Alert(Topic.Accidents, "a1"));
        inbox.Tell(Alert(Topic.Accidents, "a2"));
        inbox.Tell(Alert(Topic.Weather, "w1"));

        var first = accidents.ExpectServerFrame();
        var second = accidents.ExpectServerFrame();
        var json = JsonDocument.Parse(first.Utf8Json).RootElement;
        Assert.Equal("ALERT", json.GetProperty("type").GetString());
        Assert.Equal("accidents", json.GetProperty("topic").GetString());
        Assert.Equal("a1", json.GetProperty("data").GetProperty("marker").GetString());
        // Numbered by the sequencer: the stream's first two positions, in one epoch, each naming the one before.
        Assert.Equal(new FrameSequence(first.Sequence!.Epoch, 1, 0), first.Sequence);
        Assert.Equal(new FrameSequence(first.Sequence.Epoch, 2, 1), second.Sequence);
        Assert.Equal(first.Sequence.Epoch, json.GetProperty("epoch").GetString());
        Assert.Equal(1, json.GetProperty("offset").GetInt64());
        Assert.Equal("a2", JsonDocument.Parse(second.Utf8Json).RootElement.GetProperty("data").GetProperty("marker").GetString());

        // The weather client got only its own topic's publish (its first frame after the SNAPSHOT is w1, not a1).
        var w1 = weather.ExpectFrame("ALERT");
        Assert.Equal("w1", w1.GetProperty("data").GetProperty("marker").GetString());
        Assert.Equal(1, w1.GetProperty("offset").GetInt64()); // weather is a stream of its own
    }

    [Fact]
    public void A_new_connection_gets_its_ACK_then_a_SNAPSHOT_of_the_whole_simulated_city_from_the_snapshot_source()
    {
        var city = new CitySimulation(Seed, Origin); // what the feed filled the aggregator with at start-up

        var socket = Connect(TopicSet.All);
        var ack = socket.ExpectFrame("connection");
        Assert.Matches("^client-[0-9a-z]{6}-1$", ack.GetProperty("clientId").GetString()!);
        var snapshot = socket.ExpectFrame("SNAPSHOT");

        var data = snapshot.GetProperty("data");
        foreach (var topic in Topics.Every)
            AssertSameEntities(city.Current(topic), data.GetProperty(topic.WireName()), $"SNAPSHOT's {topic.WireName()}");
        // The registry counted the subscriber when it queued the SNAPSHOT (what /metrics reports).
        Assert.All(Topics.Every, topic => Assert.Equal(1, Metrics.SubscribersOf(topic)));
    }

    [Fact]
    public void The_simulated_feeds_first_step_reaches_a_subscriber_in_the_next_scheduled_UPDATE()
    {
        // What the city looks like after its first step (the feed's seed, origin and step), and what it changed.
        var expected = new SteppedSimulation(Seed, Origin, StepInterval);
        var step = expected.AdvanceTo(Origin + StepInterval);
        Assert.NotEmpty(step.ChangedTopics); // else this spec would show nothing
        var changed = step.ChangedTopics[0];
        var before = new CitySimulation(Seed, Origin).Current(changed);

        var socket = Connect(TopicSet.Of(changed));
        socket.ExpectFrame("connection");
        AssertSameEntities(before, socket.ExpectFrame("SNAPSHOT").GetProperty("data").GetProperty(changed.WireName()), "SNAPSHOT");

        // The feed's first step: it hands the changed topics to the aggregator (no UPDATE yet).
        Advance(StepInterval);
        Barrier(Sys.ActorSelection("/user/simulated-feed"));
        Barrier(Required<AggregatorActor>());
        // Then the topic's scheduled UPDATE, before a second step could change the city again.
        Advance(Schedule.IntervalOf(changed) - StepInterval);

        var update = socket.Probe.FishForMessage<ServerFrame>(f => f.Type == ServerMessageType.Update, TimeSpan.FromSeconds(10),
            cancellationToken: TestContext.Current.CancellationToken);
        var json = JsonDocument.Parse(update.Utf8Json).RootElement;
        Assert.Equal(changed.WireName(), json.GetProperty("topic").GetString());
        AssertSameEntities(expected.City.Current(changed), json.GetProperty("data"), $"first UPDATE of {changed.WireName()}");
        Assert.False(JsonNode.DeepEquals(Entities(before), JsonNode.Parse(json.GetProperty("data").GetRawText())),
            "the UPDATE still holds the city before the step");
    }
}
