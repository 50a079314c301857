using System.Net;
using System.Text.Json;
using Akka.Streams;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Ingest;
using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>
/// A flood of notifications is answered, never queued without bound: the pipeline holds at most its
/// queue (plus what its stages hold) while the aggregator is slow, and refuses the rest at once (429).
/// </summary>
public sealed class IngestFloodSpecs : TestKit
{
    private static IngestBatch Batch(int n) =>
        new(IngestOrigin.Notification, [JsonDocument.Parse($$"""{"id":"urn:ngsi-ld:Camera:{{n}}","type":"Camera"}""").RootElement],
            new TaskCompletionSource<IngestOutcome>());

    [Fact]
    public async Task While_the_aggregator_does_not_keep_up_offers_beyond_the_queue_are_dropped_at_once_and_then_taken_again()
    {
        var aggregator = CreateTestProbe();
        aggregator.IgnoreMessages<AggregatorCommands.ConfirmKept>(); // a notification's answer waits on it beside the graph, not in it
        const int queue = 8;
        var pipeline = IngestPipeline.Start(Sys, aggregator.Ref, IngestSettings.Default with { QueueSize = queue, HandoffTimeout = TimeSpan.FromMinutes(1) }, null);

        var results = new List<IQueueOfferResult>();
        for (var i = 0; i < 200; i++) results.Add(await pipeline.OfferAsync(Batch(i)).WaitAsync(TimeSpan.FromSeconds(5)));

        var enqueued = results.Count(r => r is QueueOfferResult.Enqueued);
        // The queue, one batch in the mapping stage, one waiting for the aggregator: nothing else is held.
        Assert.InRange(enqueued, queue, queue + 3);
        Assert.Equal(200 - enqueued, results.Count(r => r is QueueOfferResult.Dropped));

        // The aggregator catches up: everything enqueued is handed over, in order, and new offers are taken again.
        for (var i = 0; i < enqueued; i++)
        {
            var upsert = aggregator.ExpectMsg<AggregatorCommands.UpsertEntities>();
            Assert.Equal($"urn:ngsi-ld:Camera:{i}", upsert.Entities.Single().Id);
            aggregator.Reply(AggregatorCommands.EntitiesApplied.Instance);
        }
        Assert.IsType<QueueOfferResult.Enqueued>(await pipeline.OfferAsync(Batch(1000)));
        Assert.Equal("urn:ngsi-ld:Camera:1000", aggregator.ExpectMsg<AggregatorCommands.UpsertEntities>().Entities.Single().Id);
        pipeline.Complete();
    }

    [Fact]
    public async Task A_flood_over_http_is_answered_200_or_429_and_the_service_goes_on()
    {
        await using var service = await RunningService.StartAsync(NgsiLdOnly(new Dictionary<string, string?> { ["NGSI_LD_QUEUE_SIZE"] = "2" }));
        var body = Read("notification-normalized.json");
        using var gate = new SemaphoreSlim(32);
        var answers = await Task.WhenAll(Enumerable.Range(0, 400).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                using var response = await service.NotifyAsync(body);
                return (response.StatusCode, response.Headers.RetryAfter?.Delta);
            }
            finally { gate.Release(); }
        }));

        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.All(answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests), a => Assert.Equal(TimeSpan.FromSeconds(1), a.Delta));
        await using var client = await service.ConnectAsync("/ws?topics=cameras");
        var (_, snapshot) = await client.ExpectGreetingAsync();
        Assert.Equal("urn:ngsi-ld:Camera:CAM-D1-017", snapshot.GetProperty("data").GetProperty("cameras")[0].GetProperty("id").GetString());
    }
}
