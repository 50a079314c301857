using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Event;

namespace Traffic.Actors.Ingest;

/// <summary>
/// Makes the service's subscription at the broker (NGSI_LD_SUBSCRIBE=true, docs/ngsi-ld.md): <c>POST /ngsi-ld/v1/subscriptions</c>
/// with a fixed id; when the broker already has it (409, as Orion-LD and Stellio answer an existing id), <c>PATCH
/// /ngsi-ld/v1/subscriptions/{id}</c> with the same content, so a restart or another node of the cluster makes it match
/// instead of adding one. The result is logged once and kept in <see cref="SubscriptionStatus"/> (/health/ready); a broker
/// that refuses (another 4xx) is said in one line with its problem's title and detail, and not asked again; one that
/// cannot be reached (or answers 5xx) is retried with back-off, logged once.
/// </summary>
public sealed class BrokerSubscription(SubscriptionSettings settings, TypeTopicMap types, HttpClient http, SubscriptionStatus status, ILoggingAdapter log)
{
    /// <summary>How much of a refusal's body is read to say why (the broker is trusted, but not unboundedly).</summary>
    private const int MaxProblemBytes = 8 * 1024;

    private const int MaxReasonChars = 300;

    private string BrokerForLogs => string.IsNullOrEmpty(settings.BrokerUrl.UserInfo)
        ? settings.BrokerUrl.ToString()
        : new UriBuilder(settings.BrokerUrl) { UserName = "", Password = "" }.Uri.ToString();

    /// <summary>The subscription as created (docs/ngsi-ld.md shows it): every mapped type, normalized, the key as receiverInfo.</summary>
    public JsonObject Body(bool forUpdate)
    {
        var body = new JsonObject();
        if (!forUpdate)
        {
            body["id"] = settings.Id;
            body["type"] = "Subscription";
        }
        body["description"] = "Real-time push service: every change of the city's traffic entities";
        body["entities"] = new JsonArray(types.Types.Order(StringComparer.Ordinal).Select(t => (JsonNode)new JsonObject { ["type"] = t }).ToArray());
        body["notification"] = new JsonObject
        {
            ["format"] = "normalized",
            ["endpoint"] = new JsonObject
            {
                ["uri"] = settings.NotifyUrl.ToString(),
                ["accept"] = "application/json",
                ["receiverInfo"] = new JsonArray(new JsonObject { ["key"] = "X-Api-Key", ["value"] = settings.NotifyKey }),
            },
        };
        body["@context"] = settings.Context;
        return body;
    }

    /// <summary>Creates or updates the subscription; returns once the broker said yes or no (or the service stops).</summary>
    public async Task EnsureAsync(CancellationToken stopping)
    {
        var backoff = new Backoff(settings.MinBackoff, settings.MaxBackoff);
        var warned = false;
        while (!stopping.IsCancellationRequested)
        {
            string? unreachable;
            try
            {
                using var created = await SendAsync(HttpMethod.Post, "ngsi-ld/v1/subscriptions", Body(forUpdate: false), stopping);
                if (created.IsSuccessStatusCode)
                {
                    Done("created", $"POST answered {(int)created.StatusCode}");
                    return;
                }
                if (created.StatusCode == HttpStatusCode.Conflict)
                {
                    using var updated = await SendAsync(HttpMethod.Patch, $"ngsi-ld/v1/subscriptions/{Uri.EscapeDataString(settings.Id)}", Body(forUpdate: true), stopping);
                    if (updated.IsSuccessStatusCode)
                    {
                        Done("updated", $"it existed (POST answered 409); PATCH answered {(int)updated.StatusCode}");
                        return;
                    }
                    unreachable = await RefusedOrRetryAsync("PATCH", updated, stopping);
                }
                else unreachable = await RefusedOrRetryAsync("POST", created, stopping);
                if (unreachable is null) return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested) { return; }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                unreachable = e is OperationCanceledException ? $"no answer within {settings.RequestTimeout.TotalSeconds:0.#} s" : e.Message;
            }
            status.Set("unreachable", settings.Id, unreachable, DateTimeOffset.UtcNow);
            if (!warned)
                log.Warning("NGSI-LD subscription {0} could not be made at {1} ({2}); retrying with back-off", settings.Id, BrokerForLogs, unreachable);
            warned = true;
            try { await Task.Delay(backoff.Next(), stopping); }
            catch (OperationCanceledException) { return; }
        }
    }

    private void Done(string state, string detail)
    {
        status.Set(state, settings.Id, detail, DateTimeOffset.UtcNow);
        log.Info("NGSI-LD subscription {0} {1} at {2} (notifications to {3}; {4})", settings.Id, state, BrokerForLogs, settings.NotifyUrl, detail);
    }

    /// <summary>A 4xx: refused, said once, not retried (null). A 5xx: the reason to retry.</summary>
    private async Task<string?> RefusedOrRetryAsync(string method, HttpResponseMessage response, CancellationToken stopping)
    {
        var why = $"{method} answered {(int)response.StatusCode} {response.ReasonPhrase}{await ProblemAsync(response, stopping)}";
        if ((int)response.StatusCode >= 500) return why;
        status.Set("refused", settings.Id, why, DateTimeOffset.UtcNow);
        log.Error("NGSI-LD broker {0} refused the subscription {1}: {2}", BrokerForLogs, settings.Id, why);
        return null;
    }

    /// <summary>": title: detail" of the broker's problem body (or its text), bounded, on one line.</summary>
    private static async Task<string> ProblemAsync(HttpResponseMessage response, CancellationToken stopping)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            stopping = timeout.Token;
            await using var body = await response.Content.ReadAsStreamAsync(stopping);
            var buffer = new byte[MaxProblemBytes];
            var read = 0;
            while (read < buffer.Length && await body.ReadAsync(buffer.AsMemory(read), stopping) is var n and > 0) read += n;
            if (read == 0) return "";
            var text = Encoding.UTF8.GetString(buffer, 0, read);
            string said;
            try
            {
                using var problem = JsonDocument.Parse(text);
                var parts = new[] { "title", "detail" }
                    .Select(name => problem.RootElement.ValueKind == JsonValueKind.Object && problem.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null)
                    .Where(p => !string.IsNullOrEmpty(p)).ToArray();
                said = parts.Length > 0 ? string.Join(": ", parts) : text;
            }
            catch (JsonException) { said = text; }
            said = new string(said.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
            return ": " + (said.Length > MaxReasonChars ? said[..MaxReasonChars] + "..." : said);
        }
        catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException) { return ""; }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, JsonObject body, CancellationToken stopping)
    {
        using var request = new HttpRequestMessage(method, new Uri(settings.BrokerUrl, path))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8),
        };
        // The @context is in the body: application/ld+json (Orion-LD, Stellio and Scorpio all take it so).
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/ld+json");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (settings.Tenant is { } tenant) request.Headers.Add("NGSILD-Tenant", tenant);
        if (settings.BearerToken is { } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(settings.RequestTimeout);
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
    }
}
