using System.Runtime.InteropServices;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Mvc;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Host.Admission;
using Traffic.Host.Configuration;

namespace Traffic.Host.Api;

/// <summary>
/// POST /api/publish: other back-end services push an UPDATE or ALERT to a topic's subscribers,
/// or to every client (topic "all" or no topic). The body's `data` is relayed as it is, encoded
/// into one frame shared by every recipient; it does not change the aggregator's state. It goes to
/// the <see cref="TopicSequencerActor"/> (in a cluster, the singleton's proxy), which numbers and
/// encodes it, then to every node's registry.
/// </summary>
public static class PublishEndpoint
{
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>
    /// How long a publish waits to be numbered (and written, with persistence) before it is answered 503.
    /// One the sequencer had not numbered by then is dropped; one numbered but whose write outlasted the
    /// wait (a database slower than this) may still be delivered: docs/operations.md, "Persistence".
    /// </summary>
    public static readonly TimeSpan ConfirmWait = TimeSpan.FromSeconds(5);

    public static void MapPublish(this IEndpointRouteBuilder app) =>
        app.MapPost("/api/publish", Publish)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes))
            .RequireRateLimiting(PublishRateLimiting.PolicyName);

    private static async Task<IResult> Publish(HttpRequest request, ServiceOptions options, IRequiredActor<SequencerInbox> sequencer,
        TrafficMetrics metrics, ILoggerFactory loggers, FailedKeyAttempts failures)
    {
        if (ApiKeyCheck.Refusal(request, ApiKey.Publish(options), failures) is { } refusal) return refusal;
        // application/json or application/*+json, any charset (ASP.NET Core's own test).
        if (!request.HasJsonContentType())
            return Refuse(loggers, StatusCodes.Status415UnsupportedMediaType, "Unsupported content type",
                $"The body must be JSON (Content-Type: application/json), not {(request.ContentType is { Length: > 0 } sent ? $"\"{Truncate(sent)}\"" : "missing")}.");

        JsonDocument body;
        try { body = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted); }
        catch (JsonException e) { return BadRequest(loggers, "Malformed JSON", $"The body is not valid JSON: {e.Message}"); }
        catch (BadHttpRequestException e) { return Results.Problem(statusCode: e.StatusCode, title: "Bad request body", detail: e.Message); }

        using (body)
        {
            var root = body.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return BadRequest(loggers, "Malformed body", "Expected {\"type\":\"UPDATE\"|\"ALERT\",\"topic\":...,\"data\":...}.");

            string? type = null;
            if (root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String &&
                !ClientMessageParser.TryGetString(t, out type))
                return BadRequest(loggers, "Invalid string", LoneSurrogate("type"));
            var messageType = type switch
            {
                "UPDATE" => ServerMessageType.Update,
                "ALERT" => ServerMessageType.Alert,
                _ => (ServerMessageType?)null,
            };
            if (messageType is null)
                return BadRequest(loggers, "Bad type", $"\"type\" must be \"UPDATE\" or \"ALERT\", not {(type is null ? "missing" : $"\"{type}\"")}.");

            Topic? topic = null;
            if (root.TryGetProperty("topic", out var topicElement) && topicElement.ValueKind != JsonValueKind.Null)
            {
                string? name;
                if (topicElement.ValueKind != JsonValueKind.String) name = topicElement.GetRawText();
                else if (!ClientMessageParser.TryGetString(topicElement, out name))
                    return BadRequest(loggers, "Invalid string", LoneSurrogate("topic"));
                if (name != Topics.AllName)
                {
                    if (!Topics.TryParse(name, out var parsed))
                        return BadRequest(loggers, "Unknown topic",
                            $"\"topic\" \"{name}\" is not one of {string.Join(", ", TopicSet.All.WireNames())} or all.");
                    topic = parsed;
                }
            }

            if (!root.TryGetProperty("data", out var data))
                return BadRequest(loggers, "Missing data", "\"data\" is required (any JSON value).");

            // 202 means "it will be delivered": with persistence, once it is written to the journal.
            var publish = new SequencerCommands.PublishData(messageType.Value, topic, JsonMarshal.GetRawUtf8Value(data).ToArray());
            object answer;
            // The sequencer drops it unnumbered if it only gets to it after the publisher was told 503 (a margin before the wait ends).
            var giveUp = DateTime.UtcNow + ConfirmWait - TimeSpan.FromSeconds(1);
            try { answer = await sequencer.ActorRef.Ask<object>(new SequencerCommands.PublishAndConfirm(publish, giveUp), ConfirmWait); }
            catch (AskTimeoutException) { answer = new SequencerCommands.PublishRefused($"not confirmed within {ConfirmWait.TotalSeconds:0} s (the database or the sequencer is slow or away); try again"); }
            if (answer is SequencerCommands.PublishRefused refused)
            {
                request.HttpContext.Response.Headers.RetryAfter = "1";
                return Refuse(loggers, StatusCodes.Status503ServiceUnavailable, "Not accepted now", $"The publish was not kept: {refused.Reason}.");
            }
            metrics.CountPublish(messageType.Value, topic);
            return Results.Accepted(value: new { accepted = true, type, topic = topic?.WireName() ?? Topics.AllName });
        }
    }

    private static IResult BadRequest(ILoggerFactory loggers, string title, string detail) =>
        Refuse(loggers, StatusCodes.Status400BadRequest, title, detail);

    private static IResult Refuse(ILoggerFactory loggers, int status, string title, string detail)
    {
        loggers.CreateLogger(typeof(PublishEndpoint)).LogInformation("Refused a publish: {Status} {Title}: {Detail}", status, title, detail);
        return Results.Problem(statusCode: status, title: title, detail: detail);
    }

    private static string LoneSurrogate(string field) =>
        $"\"{field}\" holds a string that is not valid Unicode (a lone surrogate escape).";

    private static string Truncate(string s) => s.Length > 64 ? s[..64] + "..." : s;
}
