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
/// complete listing (<see cref="ChangeTracker"/>). A broker that fails or answers too slowly is not a
/// failure of the stream: the poll marks it away (<see cref="BrokerStatus"/>, logged once per outage),
/// waits a growing pause (min..max back-off, doubled per failed try) and the next tick tries again;
/// meanwhile the aggregator keeps the last known state. Each type's stream is wrapped in
/// <see cref="RestartSource.WithBackoff{T}(Func{Source{T,NotUsed}}, RestartSettings)"/>, which restarts it
/// after anything unexpected (a bug), with the same back-off. (Letting RestartSource also pace outages
/// would log a line per try: Akka.Streams logs every restart.)
/// </summary>
public sealed class NgsiLdPoller(BrokerPollSettings settings, HttpClient http, BrokerStatus status, ILoggingAdapter log, Func<DateTimeOffset> now)
{
    /// <summary>A broker that never ends its listing (a paging bug) stops here.</summary>
    private const int MaxPages = 10_000;

    /// <summary>Every type's polling, merged; <paramref name="intervalOf"/> gives a type's polling interval.</summary>
    public Source<IngestBatch, NotUsed> Source(IEnumerable<string> types, Func<string, TimeSpan> intervalOf)
    {
        var restart = RestartSettings.Create(settings.MinBackoff, settings.MaxBackoff, randomFactor: 0.2);
        Source<IngestBatch, NotUsed>? merged = null;
        foreach (var type in types)
        {
            // Outlive restarts: a broker back after an outage sends only what changed.
            var tracker = new ChangeTracker();
            var backoff = new Backoff(settings.MinBackoff, settings.MaxBackoff);
            var interval = intervalOf(type);
            var one = RestartSource.WithBackoff(() =>
                Akka.Streams.Dsl.Source.Tick(TimeSpan.Zero, interval, NotUsed.Instance) // ticks while a poll runs are dropped
                    .SelectAsync(1, _ => PollAsync(type, tracker, backoff))
                    .Where(batch => batch.Entities.Count > 0 || batch.RemovedIds is { Count: > 0 }), restart);
            merged = merged is null ? one : merged.Merge(one);
        }
        return merged ?? Akka.Streams.Dsl.Source.Empty<IngestBatch>();
    }

    private async Task<IngestBatch> PollAsync(string type, ChangeTracker tracker, Backoff backoff)
    {
        List<JsonElement> listing;
        try { listing = await ListAsync(type); }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or BrokerAnswerException)
        {
            var reason = e is OperationCanceledException ? $"no answer within {settings.RequestTimeout.TotalSeconds:0.#} s" : e.Message;
            if (status.MarkDown(reason, now()))
                log.Warning("NGSI-LD broker {0} is away ({1}); keeping the last known state and retrying with back-off", settings.BrokerForLogs, reason);
            await Task.Delay(backoff.Next());
            return new IngestBatch(IngestOrigin.Poll, []);
        }
        backoff.Reset();
        if (status.MarkUp(now())) log.Info("NGSI-LD broker {0} answers again", settings.BrokerForLogs);
        var (changed, removed) = tracker.Take(listing);
        return new IngestBatch(IngestOrigin.Poll, changed, RemovedType: type, RemovedIds: removed);
    }

    /// <summary>The pause after a failed poll: <c>min</c>, doubled per consecutive failure up to <c>max</c>, ±20 % so that types do not retry in step.</summary>
    private sealed class Backoff(TimeSpan min, TimeSpan max)
    {
        private int _failures;

        public TimeSpan Next()
        {
            var pause = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, Math.Min(_failures++, 30)));
            return TimeSpan.FromMilliseconds(pause * (0.8 + 0.4 * Random.Shared.NextDouble()));
        }

        public void Reset() => _failures = 0;
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
