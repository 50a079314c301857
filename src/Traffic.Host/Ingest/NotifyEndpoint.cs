using System.Text.Json;
using Akka.Streams;
using Microsoft.AspNetCore.Mvc;
using Traffic.Actors.Ingest;
using Traffic.Host.Api;
using Traffic.Host.Configuration;

namespace Traffic.Host.Ingest;

/// <summary>
/// POST /ngsi-ld/notify: an NGSI-LD broker's notification (<c>{"type":"Notification","data":[entities]}</c>,
/// normalized, concise or keyValues; application/json or application/ld+json; the @context in the
/// body or a Link header is not needed: names are matched short). Protected by the publish API's key.
/// The batch is offered to the ingest queue and answered once what it changed is applied and kept (with
/// persistence: the city state saved and its ALERTs written, so a crash right after the answer loses
/// nothing): 200 with how many entities were taken (200, not 202: Stellio counts only 200 as delivered;
/// Orion-LD and Scorpio take any 2xx); 400 naming each refused entity's fault (the valid ones are still taken);
/// 503 with Retry-After when it cannot be confirmed kept (the database away, or not in time);
/// 429 when the queue is full (a flood), never held in memory. With SOURCES without ngsi-ld: 404 with a
/// problem that says so and names the setting. docs/ngsi-ld.md.
/// </summary>
public static class NotifyEndpoint
{
    public const int MaxBodyBytes = 4 * 1024 * 1024;

    /// <summary>How many refusals a 400 lists (the count is always whole).</summary>
    private const int ListedFaults = 20;

    /// <summary>How long a notification waits to be mapped, applied and kept before it is answered 503.</summary>
    private static readonly TimeSpan KeptWait = TimeSpan.FromSeconds(10);

    /// <summary>The notify endpoint; with the NGSI-LD source off (<see cref="ServiceOptions.Ingest"/> null), an answer that says so.</summary>
    public static void MapNgsiLdNotify(this IEndpointRouteBuilder app, ServiceOptions options)
    {
        if (options.Ingest is null) app.MapPost("/ngsi-ld/notify", Off);
        else app.MapPost("/ngsi-ld/notify", Notify).WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes));
    }

    /// <summary>
    /// The ingest is off: 404 (nothing here takes notifications), but said, not implied, so that whoever set up the
    /// subscription sees which setting turns it on. No key is needed to learn it: it reveals a setting, takes nothing.
    /// </summary>
    private static IResult Off(ILoggerFactory loggers) =>
        Refuse(loggers.CreateLogger(typeof(NotifyEndpoint)), StatusCodes.Status404NotFound, "NGSI-LD ingest off",
            "This service takes no NGSI-LD notifications: it was started with SOURCES not including ngsi-ld. " +
            "Start it with SOURCES=ngsi-ld (the broker only) or SOURCES=both (the broker beside the simulated city).",
            new Dictionary<string, object?> { ["setting"] = "SOURCES", ["values"] = new[] { "ngsi-ld", "both" } });

    private static async Task<IResult> Notify(HttpRequest request, HttpResponse response, ServiceOptions options, IngestService ingest,
        IngestMetrics metrics, ILoggerFactory loggers, FailedKeyAttempts failures)
    {
        var log = loggers.CreateLogger(typeof(NotifyEndpoint));
        if (ApiKeyCheck.Refusal(request, ApiKey.Notify(options), failures) is { } refusal) return refusal;
        if (!request.HasJsonContentType()) // application/json and application/ld+json (any +json)
            return Refuse(log, StatusCodes.Status415UnsupportedMediaType, "Unsupported content type",
                $"A notification is application/json or application/ld+json, not {(request.ContentType is { Length: > 0 } sent ? $"\"{sent}\"" : "missing")}.");

        JsonDocument document;
        try { document = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted); }
        catch (JsonException e) { return Refuse(log, StatusCodes.Status400BadRequest, "Malformed JSON", $"The body is not valid JSON: {e.Message}"); }
        catch (BadHttpRequestException e) { return Refuse(log, e.StatusCode, "Bad request body", e.Message); }

        var handedOver = false;
        try
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return Refuse(log, StatusCodes.Status400BadRequest, "Not a notification", "Expected {\"type\":\"Notification\",\"data\":[entities],...}.");
            if (root.TryGetProperty("type", out var type) && (type.ValueKind != JsonValueKind.String || type.GetString() != "Notification"))
                return Refuse(log, StatusCodes.Status400BadRequest, "Not a notification", $"\"type\" must be \"Notification\", not {type.GetRawText()}.");
            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
                return Refuse(log, StatusCodes.Status400BadRequest, "Missing data", "\"data\" must be an array of entities.");
            var count = data.GetArrayLength();
            if (count > ingest.Settings.MaxBatchEntities)
                return Refuse(log, StatusCodes.Status400BadRequest, "Oversized batch",
                    $"The notification holds {count} entities; at most {ingest.Settings.MaxBatchEntities} are taken at once (NGSI_LD_MAX_BATCH). None was taken.",
                    new Dictionary<string, object?> { ["taken"] = 0, ["refused"] = count });

            // NGSI-LD 1.8: a notification of deleted entities says so (notificationTrigger / triggerReason "entityDeleted";
            // each entity then carries only id, type and deletedAt, which alone also marks it deleted).
            var deleted = IsDeletion(root, "notificationTrigger") || IsDeletion(root, "triggerReason");

            if (ingest.Pipeline is not { } pipeline)
                return Unavailable(response, log, "The ingest is starting; retry shortly.");
            var reply = new TaskCompletionSource<IngestOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            IQueueOfferResult offered;
            try { offered = await pipeline.OfferAsync(new IngestBatch(IngestOrigin.Notification, data.EnumerateArray().ToArray(), reply, EntitiesDeleted: deleted)); }
            catch (StreamDetachedException) { return Unavailable(response, log, "The ingest is not running (shutting down)."); }
            switch (offered)
            {
                case QueueOfferResult.Enqueued:
                    handedOver = true;
                    break;
                case QueueOfferResult.Dropped:
                    metrics.Shed();
                    response.Headers.RetryAfter = "1";
                    return Refuse(log, StatusCodes.Status429TooManyRequests, "Ingest queue full",
                        $"{ingest.Settings.QueueSize} notifications are waiting to be taken (NGSI_LD_QUEUE_SIZE); retry after a second.");
                default:
                    return Unavailable(response, log, "The ingest is not running (shutting down).");
            }

            IngestOutcome outcome;
            try { outcome = await reply.Task.WaitAsync(KeptWait, request.HttpContext.RequestAborted); }
            catch (TimeoutException) { return Unavailable(response, log, "The notification was queued but not confirmed kept in time; send it again."); }
            catch (IngestNotKeptException e) { return Unavailable(response, log, $"The notification was taken but could not be kept: {e.Message}; send it again."); }
            finally { if (reply.Task.IsCompleted) document.Dispose(); }

            if (outcome.Refused.Count == 0) return Results.Ok(new { taken = outcome.Taken, refused = 0 });
            var first = outcome.Refused[0];
            var more = outcome.Refused.Count > 1 ? $" ({outcome.Refused.Count - 1} more refused; see faults)" : "";
            return Refuse(log, StatusCodes.Status400BadRequest, outcome.Taken > 0 ? "Some entities refused" : "No entity taken",
                $"Entity {first.Index}: {first.Fault}.{more} {outcome.Taken} taken, {outcome.Refused.Count} refused.",
                new Dictionary<string, object?>
                {
                    ["taken"] = outcome.Taken,
                    ["refused"] = outcome.Refused.Count,
                    ["faults"] = outcome.Refused.Take(ListedFaults).Select(r => new { index = r.Index, id = r.Id, fault = r.Fault }).ToArray(),
                });
        }
        finally
        {
            if (!handedOver) document.Dispose();
        }
    }

    private static bool IsDeletion(JsonElement notification, string member) =>
        notification.TryGetProperty(member, out var trigger) && trigger.ValueKind == JsonValueKind.String && trigger.ValueEquals("entityDeleted");

    private static IResult Unavailable(HttpResponse response, ILogger log, string detail)
    {
        response.Headers.RetryAfter = "1";
        return Refuse(log, StatusCodes.Status503ServiceUnavailable, "Ingest unavailable", detail);
    }

    private static IResult Refuse(ILogger log, int status, string title, string detail, IDictionary<string, object?>? extensions = null)
    {
        log.LogInformation("Refused an NGSI-LD notification: {Status} {Title}: {Detail}", status, title, detail);
        return Results.Problem(statusCode: status, title: title, detail: detail, extensions: extensions);
    }
}
