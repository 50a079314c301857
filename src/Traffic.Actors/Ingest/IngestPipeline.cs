using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Traffic.Actors.Aggregation;

namespace Traffic.Actors.Ingest;

/// <summary>
/// The ingest as Akka.Streams graphs (docs/architecture.md, "Ingest pipeline"):
/// <code>
///   Source.Queue (notifications, bounded, DropNew) ─ KillSwitch ─┐
///                                                                 ├─ Select(map) ─ SelectAsync(1, Ask aggregator per command) ─ Sink.Ignore
///   polling (PollingActor, on one node of a cluster) ─ KillSwitch ┘  (<see cref="Stages"/>, its own graph)
/// </code>
/// A full queue answers a notification at once (<see cref="QueueOfferResult.Dropped"/>: the endpoint
/// says 429) instead of holding it in memory; the aggregator's acknowledgement paces the whole graph.
/// A notification is answered (its <see cref="IngestBatch.Reply"/>) only once what it changed is kept in
/// the database (<see cref="AggregatorCommands.ConfirmKept"/>); that wait runs beside the graph, which
/// goes on with the next batch meanwhile, so durability adds latency to the answer, not to the pacing.
/// <see cref="Completion"/> ends when the graph stops (faulted when it failed): its owner watches it and restarts the graph.
/// </summary>
public sealed class IngestPipeline
{
    private readonly ISourceQueueWithComplete<IngestBatch> _queue;
    private readonly UniqueKillSwitch _killSwitch;

    private IngestPipeline(ISourceQueueWithComplete<IngestBatch> queue, UniqueKillSwitch killSwitch, Task completion)
    {
        _queue = queue;
        _killSwitch = killSwitch;
        Completion = completion;
    }

    public Task Completion { get; }

    /// <summary>The notifications' graph.</summary>
    /// <param name="aggregator">The aggregator (in a cluster: the singleton's proxy, on whichever node this runs).</param>
    public static IngestPipeline Start(ActorSystem system, IActorRef aggregator, IngestSettings settings, IngestMetrics? metrics)
    {
        var ((queue, killSwitch), done) = Source.Queue<IngestBatch>(settings.QueueSize, OverflowStrategy.DropNew)
            .ViaMaterialized(KillSwitches.Single<IngestBatch>(), Keep.Both)
            .Via(Stages(system, aggregator, settings, metrics))
            .ToMaterialized(Sink.Ignore<NotUsed>(), Keep.Both)
            .Run(system.Materializer(namePrefix: "ngsi-ld-ingest"));
        return new IngestPipeline(queue, killSwitch, done);
    }

    /// <summary>The mapping and hand-off stages every source goes through (notifications, polling).</summary>
    public static Flow<IngestBatch, NotUsed, NotUsed> Stages(ActorSystem system, IActorRef aggregator, IngestSettings settings, IngestMetrics? metrics)
    {
        var log = Logging.GetLogger(system, typeof(IngestPipeline));
        var mapper = new IngestMapper(settings);
        return Flow.Create<IngestBatch>()
            .Select(batch => (batch.Reply, Mapped: Map(mapper, batch, metrics, log)))                        // the mapping stage
            .SelectAsync(1, mapped => HandOff(aggregator, mapped.Mapped, mapped.Reply, settings.HandoffTimeout, log)); // the hand-off stage
    }

    /// <summary>Fails the graph (operators' drills and specs: what a defect in a stage would do); its owner restarts it.</summary>
    public void Fail(Exception reason) => _killSwitch.Abort(reason);

    /// <summary>
    /// Offers a notification's batch; <see cref="QueueOfferResult.Dropped"/> when the queue is full (answer 429),
    /// <see cref="QueueOfferResult.QueueClosed"/> while shutting down (503). Never waits for room.
    /// </summary>
    public Task<IQueueOfferResult> OfferAsync(IngestBatch batch) => _queue.OfferAsync(batch);

    public void Complete() => _queue.Complete();

    private static IngestMapper.Mapped? Map(IngestMapper mapper, IngestBatch batch, IngestMetrics? metrics, ILoggingAdapter log)
    {
        try
        {
            var mapped = mapper.Map(batch);
            foreach (var command in mapped.Commands)
                if (command is AggregatorCommands.UpsertEntities upsert) metrics?.Taken(upsert.Topic, upsert.Entities.Count);
            if (mapped.Outcome.Refused.Count > 0)
            {
                metrics?.Refused(mapped.Outcome.Refused.Count);
                // An entity whose mapping threw something unforeseen: once, with its stack (its batch went on without it).
                foreach (var refusal in mapped.Outcome.Refused.Where(r => r.Error is not null))
                    log.Error(refusal.Error, "NGSI-LD ingest: {0}; the rest of its batch was taken", refusal.Fault);
                // A notification's refusals are logged by the endpoint with its answer; a poll's here, once per poll.
                if (batch.Origin == IngestOrigin.Poll)
                    log.Warning("NGSI-LD poll: refused {0} entities; first: {1}", mapped.Outcome.Refused.Count, mapped.Outcome.Refused[0].Fault);
            }
            return mapped;
        }
        catch (Exception e)
        {
            // A bug in the mapping must cost this batch, not the pipeline.
            log.Error(e, "NGSI-LD ingest: a batch of {0} entities could not be mapped", batch.Entities.Count);
            batch.Reply?.TrySetException(e);
            return null;
        }
    }

    /// <summary>Each command to the aggregator in turn (paced by its acknowledgements), then a notification's answer once kept.</summary>
    private static async Task<NotUsed> HandOff(IActorRef aggregator, IngestMapper.Mapped? mapped, TaskCompletionSource<IngestOutcome>? reply,
        TimeSpan timeout, ILoggingAdapter log)
    {
        if (mapped is null) return NotUsed.Instance;
        foreach (var command in mapped.Commands)
        {
            try { await aggregator.Ask<AggregatorCommands.EntitiesApplied>(command, timeout); }
            catch (AskTimeoutException)
            {
                // The proxy still delivers it (e.g. once a moved singleton is up): only the pacing is lost.
                log.Warning("NGSI-LD ingest: the aggregator did not confirm a change within {0:0.#} s; going on", timeout.TotalSeconds);
            }
        }
        if (reply is null) return NotUsed.Instance;
        if (mapped.Commands.Count == 0) reply.TrySetResult(mapped.Outcome); // nothing taken: nothing to keep
        else _ = AnswerOnceKeptAsync(aggregator, mapped.Outcome, reply, timeout);
        return NotUsed.Instance;
    }

    /// <summary>
    /// Completes a notification's answer once the aggregator confirms that what it handed over is in the database
    /// (with persistence; at once without), or fails it with <see cref="IngestNotKeptException"/> (the endpoint says 503).
    /// </summary>
    private static async Task AnswerOnceKeptAsync(IActorRef aggregator, IngestOutcome outcome, TaskCompletionSource<IngestOutcome> reply, TimeSpan timeout)
    {
        try
        {
            switch (await aggregator.Ask<object>(AggregatorCommands.ConfirmKept.Instance, timeout))
            {
                case AggregatorCommands.Kept:
                    reply.TrySetResult(outcome);
                    break;
                case AggregatorCommands.NotKept notKept:
                    reply.TrySetException(new IngestNotKeptException(notKept.Reason));
                    break;
                case var other:
                    reply.TrySetException(new InvalidOperationException($"unexpected answer to ConfirmKept: {other?.GetType().Name}"));
                    break;
            }
        }
        catch (AskTimeoutException)
        {
            reply.TrySetException(new IngestNotKeptException($"the database did not confirm the change within {timeout.TotalSeconds:0.#} s"));
        }
    }
}
