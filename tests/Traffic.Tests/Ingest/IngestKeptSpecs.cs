using System.Text.Json;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Ingest;
using Xunit;

namespace Traffic.Tests.Ingest;

/// <summary>
/// A notification is answered only once the aggregator confirms that what it changed is kept
/// (<see cref="AggregatorCommands.ConfirmKept"/>), and the wait for that does not hold up the next batch.
/// </summary>
public sealed class IngestKeptSpecs : TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static IngestBatch Batch(string json) =>
        new(IngestOrigin.Notification, [JsonDocument.Parse(json).RootElement], new TaskCompletionSource<IngestOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));

    private static IngestBatch Camera(int n) => Batch($$"""{"id":"urn:ngsi-ld:Camera:{{n}}","type":"Camera"}""");

    [Fact]
    public async Task A_notification_is_answered_once_kept_and_the_next_one_is_handed_over_meanwhile()
    {
        var aggregator = CreateTestProbe();
        var pipeline = IngestPipeline.Start(Sys, aggregator.Ref, IngestSettings.Default with { HandoffTimeout = TimeSpan.FromMinutes(1) }, null);
        var first = Camera(1);
        var second = Camera(2);
        await pipeline.OfferAsync(first);
        await pipeline.OfferAsync(second);

        aggregator.ExpectMsg<AggregatorCommands.UpsertEntities>(Patience);
        aggregator.Reply(AggregatorCommands.EntitiesApplied.Instance);
        aggregator.ExpectMsg<AggregatorCommands.ConfirmKept>(Patience);
        var firstAsker = aggregator.LastSender;
        Assert.Equal("urn:ngsi-ld:Camera:2", aggregator.ExpectMsg<AggregatorCommands.UpsertEntities>(Patience).Entities.Single().Id); // not held up
        aggregator.Reply(AggregatorCommands.EntitiesApplied.Instance);
        aggregator.ExpectMsg<AggregatorCommands.ConfirmKept>(Patience);
        var secondAsker = aggregator.LastSender;
        Assert.False(first.Reply!.Task.IsCompleted); // applied, not yet kept

        firstAsker.Tell(AggregatorCommands.Kept.Instance, aggregator.Ref);
        var outcome = await first.Reply.Task.WaitAsync(Patience);
        Assert.Equal((1, 0), (outcome.Taken, outcome.Refused.Count));

        secondAsker.Tell(new AggregatorCommands.NotKept("the database is unreachable"), aggregator.Ref);
        var refused = await Assert.ThrowsAsync<IngestNotKeptException>(() => second.Reply!.Task.WaitAsync(Patience));
        Assert.Equal("the database is unreachable", refused.Message);
        pipeline.Complete();
    }

    [Fact]
    public async Task A_notification_that_takes_nothing_is_answered_without_asking()
    {
        var aggregator = CreateTestProbe();
        var pipeline = IngestPipeline.Start(Sys, aggregator.Ref, IngestSettings.Default, null);
        var nothing = Batch("""{"type":"Camera"}"""); // no id: refused
        await pipeline.OfferAsync(nothing);
        var outcome = await nothing.Reply!.Task.WaitAsync(Patience);
        Assert.Equal((0, 1), (outcome.Taken, outcome.Refused.Count));
        aggregator.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        pipeline.Complete();
    }
}
