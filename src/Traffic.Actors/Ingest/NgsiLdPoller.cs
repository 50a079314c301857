using System.Net.Http.Headers;
using System.Text.Json;
using Akka;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Traffic.Actors.Ingest;

/// <summary>
/// The polling source: for each mapped entity type, on its topic's interval, pages through
/// <c>GET /ngsi-ld/v1/entities?type=T&amp;limit=L&amp;offset=O</c> and emits what changed since the last
/// complete listing (<see cref="ChangeTracker"/>, one per type, given by the owner so that it outlives a
/// restart of the graph). With <see cref="PollMode.Start"/> a type's source ends after its first complete
/// listing (the start-up load). A broker that fails or answers too slowly is not a failure of the stream:
/// the poll marks it away (<see cref="BrokerStatus"/>, logged once per outage), waits a growing pause
/// (min..max back-off, doubled per failed try) and the next tick tries again; meanwhile the aggregator keeps
/// the last known state. Anything unexpected (a bug) fails the graph, which its owner
/// (<see cref="PollingActor"/>) sees and restarts with back-off.
/// </summary>
/// <param name="userAgent">Sent as User-Agent: names the node that polls, so the broker's log shows which one does.</param>
public sealed class NgsiLdPoller(BrokerPollSettings settings, HttpClient http, BrokerStatus status, ILoggingAdapter log, Func<DateTimeOffset> now,
    string userAgent)
{
    /// <summary>A broker that never ends its listing (a paging bug) stops here.</summary>
    private const int MaxPages = 10_000;

    private sealed record PollResult(IngestBatch Batch, bool Complete);

    /// <summary>Every type's polling, merged; <paramref name="intervalOf"/> gives a type's polling interval.</summary>
    public Source<IngestBatch, NotUsed> Source(IReadOnlyDictionary<string, ChangeTracker> trackers, Func<string, TimeSpan> intervalOf)
    {
        Source<IngestBatch, NotUsed>? merged = null;
        foreach (var (type, tracker) in trackers)
        {
            var backoff = new Backoff(settings.MinBackoff, settings.MaxBackoff);
            var polls = Akka.Streams.Dsl.Source.Tick(TimeSpan.Zero, intervalOf(type), NotUsed.Instance) // ticks while a poll runs are dropped
                .SelectAsync(1, _ => PollAsync(type, tracker, backoff));
            if (settings.Mode == PollMode.Start) polls = polls.TakeWhile(result => !result.Complete, inclusive: true);
            var one = polls
                .Where(result => result.Batch.Entities.Count > 0 || result.Batch.RemovedIds is { Count: > 0 })
                .Select(result => result.Batch)
                .MapMaterializedValue(_ => NotUsed.Instance);
            merged = merged is null ? one : merged.Merge(one);
        }
        return merged ?? Akka.Streams.Dsl.Source.Empty<IngestBatch>();
    }

    private async Task<PollResult> PollAsync(string type, ChangeTracker tracker, Backoff backoff)
    {
        List<JsonElement> listing;
        var started = now();
        try { listing = await ListAsync(type); }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or BrokerAnswerException)
        {
            var reason = e is OperationCanceledException ? $"no answer within {settings.RequestTimeout.TotalSeconds:0.#} s" : e.Message;
            if (status.MarkDown(reason, now()))
                log.Warning("NGSI-LD broker {0} is away ({1}); keeping the last known state and retrying with back-off", settings.BrokerForLogs, reason);
            await Task.Delay(backoff.Next());
            return new PollResult(new IngestBatch(IngestOrigin.Poll, []), Complete: false);
        }
        backoff.Reset();
        if (status.MarkUp(now(), started)) log.Info("NGSI-LD broker {0} answers again", settings.BrokerForLogs);
        var (changed, removed, raiseAlerts) = tracker.Take(listing);
        return new PollResult(new IngestBatch(IngestOrigin.Poll, changed, RemovedType: type, RemovedIds: removed, RaiseAlerts: raiseAlerts), Complete: true);
    }

    private async Task<List<JsonElement>> ListAsync(string type)
    {
        var all = new List<JsonElement>();
        for (var page = 0; page < MaxPages; page++)
        {
            var offset = page * settings.PageSize;
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(settings.BrokerUrl,
                $"ngsi-ld/v1/entities?type={Uri.EscapeDataString(type)}&limit={settings.PageSize}&offset={offset}"));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            if (settings.Tenant is { } tenant) request.Headers.Add("NGSILD-Tenant", tenant);
            if (settings.BearerToken is { } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);

            using var timeout = new CancellationTokenSource(settings.RequestTimeout);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
                throw new BrokerAnswerException($"GET entities of type {type} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var document = await JsonDocument.ParseAsync(body, cancellationToken: timeout.Token);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw new BrokerAnswerException($"GET entities of type {type} answered {NgsiLdEntity.Describe(document.RootElement.ValueKind)}, not an array");
            var count = 0;
            foreach (var entity in document.RootElement.EnumerateArray())
            {
                all.Add(entity.Clone());
                count++;
            }
            if (count < settings.PageSize) return all;
        }
        throw new BrokerAnswerException($"the listing of {type} did not end within {MaxPages} pages");
    }

    private sealed class BrokerAnswerException(string message) : Exception(message);
}
