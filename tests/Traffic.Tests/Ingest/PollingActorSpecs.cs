using Akka.Actor;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Ingest;
using Traffic.Actors.Protocol;
using Xunit;

namespace Traffic.Tests.Ingest;

/// <summary>
/// The poller's own graph is watched too: a failure in it (here the aggregator's answer to a change is a failure, which
/// the hand-off stage does not swallow) is logged once at Error, shown, and the graph restarted with back-off; the
/// restarted graph takes the whole listing again (the failed change may be lost). A TestKit probe stands for the
/// aggregator; the broker is the fake one on Kestrel.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class PollingActorSpecs : TestKit, IAsyncLifetime
{
    private FakeNgsiLdBroker _broker = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _broker = await FakeNgsiLdBroker.StartAsync();
        _broker.Put("Camera", "urn:ngsi-ld:Camera:PA1", """{"id":"urn:ngsi-ld:Camera:PA1","type":"Camera","name":"Polled camera","status":"active"}""");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _broker.DisposeAsync();
    }

    [Fact]
    public void A_failed_polling_graph_is_logged_once_shown_and_restarted_taking_the_listing_again()
    {
        var aggregator = CreateTestProbe();
        var graphs = new IngestGraphStatus();
        var settings = IngestSettings.Default with
        {
            Types = TypeTopicMap.Parse("WeatherObserved=,AirQualityObserved=,RoadAccident=,TrafficFlowObserved=,CongestionZone="),
            Poll = new BrokerPollSettings(_broker.BaseAddress, null, null, 10, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400)),
            RestartMinBackoff = TimeSpan.FromMilliseconds(300),
            RestartMaxBackoff = TimeSpan.FromSeconds(1),
        };
        var poller = Sys.ActorOf(PollingActor.Props(settings, TopicSchedule.Parse("cameras=300"), aggregator.Ref,
            new PollingServices(_http, new BrokerStatus(), graphs, null)));

        aggregator.ExpectMsg<StateReplication.GetFullState>(TimeSpan.FromSeconds(10));
        aggregator.Reply(new StateReplication.FullState(1, 0, new Dictionary<Topic, IReadOnlyList<EntityJson>>()));
        var first = aggregator.ExpectMsg<AggregatorCommands.UpsertEntities>(TimeSpan.FromSeconds(10));
        Assert.Equal("urn:ngsi-ld:Camera:PA1", Assert.Single(first.Entities).Id);

        EventFilter.Error(contains: "NGSI-LD polling graph stopped (Exception: the aggregator failed on purpose)").ExpectOne(TimeSpan.FromSeconds(10), () =>
            aggregator.Reply(new Status.Failure(new Exception("the aggregator failed on purpose"))));
        AwaitAssert(() => Assert.Equal(1, graphs.Read()[IngestGraphStatus.Polling].Restarts), TimeSpan.FromSeconds(10));

        // Restarted: the unchanged camera is taken again (its change may not have arrived), then polling goes on quietly.
        var again = aggregator.ExpectMsg<AggregatorCommands.UpsertEntities>(TimeSpan.FromSeconds(10));
        Assert.Equal("urn:ngsi-ld:Camera:PA1", Assert.Single(again.Entities).Id);
        aggregator.Reply(AggregatorCommands.EntitiesApplied.Instance);
        AwaitAssert(() => Assert.Equal("running", graphs.Read()[IngestGraphStatus.Polling].State), TimeSpan.FromSeconds(10));
        var polled = _broker.RequestsFor("Camera");
        AwaitCondition(() => _broker.RequestsFor("Camera") >= polled + 3, TimeSpan.FromSeconds(20));
        aggregator.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Sys.Stop(poller);
    }
}
