using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Traffic.Tests.Ingest;

/// <summary>
/// A small NGSI-LD broker on a real Kestrel (127.0.0.1, a port the OS picks): answers
/// <c>GET /ngsi-ld/v1/entities?type&amp;limit&amp;offset</c> from an in-memory list per type (keyValues or
/// normalized as stored), records every request (with the User-Agent that names the polling node), and can be made to
/// fail (503), to answer slowly, or to change its listing between two pages. It also keeps subscriptions
/// (<c>POST /ngsi-ld/v1/subscriptions</c>: 201, or 409 for an id it has; <c>PATCH .../{id}</c>: 204, 404 if unknown) as
/// the <see cref="Flavour"/> it plays answers them, or refuses them (<see cref="RefuseSubscriptions"/>).
/// </summary>
public sealed class FakeNgsiLdBroker : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly Dictionary<string, List<(string Id, string Json)>> _entities = new();

    public sealed record Seen(string? Type, int Limit, int Offset, string? Tenant, string? Authorization, string? UserAgent = null);

    /// <summary>A subscription request as received: its method, path, content type, tenant and body.</summary>
    public sealed record SubscriptionRequest(string Method, string Path, string? ContentType, string? Tenant, string Body);

    /// <summary>
    /// How subscriptions are answered: both answer an existing id 409 and a PATCH 204; Stellio (as its sources show) also
    /// refuses application/ld+json without an <c>@context</c> (400 BadRequestData), where Orion-LD falls back to the core context.
    /// </summary>
    public enum BrokerFlavour { OrionLd, Stellio }

    public BrokerFlavour Flavour { get; set; } = BrokerFlavour.OrionLd;

    /// <summary>When set, every subscription request is answered 400 with this as the problem's detail.</summary>
    public volatile string? RefuseSubscriptions;

    public ConcurrentQueue<SubscriptionRequest> SubscriptionRequests { get; } = new();

    private readonly Dictionary<string, string> _subscriptions = new();

    /// <summary>The subscriptions held, by id (their JSON as last written).</summary>
    public IReadOnlyDictionary<string, string> Subscriptions
    {
        get { lock (_gate) return new Dictionary<string, string>(_subscriptions); }
    }

    /// <summary>Run once, before the first page at this offset of this type is answered (a listing that changes between pages).</summary>
    public void BeforePage(string type, int offset, Action change)
    {
        lock (_gate) _beforePage[(type, offset)] = change;
    }

    private readonly Dictionary<(string, int), Action> _beforePage = new();

    private FakeNgsiLdBroker(WebApplication app) => _app = app;

    public Uri BaseAddress => new(_app.Urls.Single());

    public ConcurrentQueue<Seen> Requests { get; } = new();

    /// <summary>While true every request is answered 503.</summary>
    public volatile bool Down;

    /// <summary>How long each answer waits (a slow broker).</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.Zero;

    public static async Task<FakeNgsiLdBroker> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var broker = new FakeNgsiLdBroker(app);
        app.MapGet("/ngsi-ld/v1/entities", broker.ListAsync);
        app.MapPost("/ngsi-ld/v1/subscriptions", broker.SubscribeAsync);
        app.MapMethods("/ngsi-ld/v1/subscriptions/{id}", ["PATCH"], broker.UpdateSubscriptionAsync);
        await app.StartAsync();
        return broker;
    }

    /// <summary>Adds or replaces an entity (by id) in its type's listing.</summary>
    public void Put(string type, string id, string json)
    {
        lock (_gate)
        {
            if (!_entities.TryGetValue(type, out var list)) _entities[type] = list = [];
            var at = list.FindIndex(e => e.Id == id);
            if (at >= 0) list[at] = (id, json);
            else list.Add((id, json));
        }
    }

    public void Delete(string type, string id)
    {
        lock (_gate) _entities.GetValueOrDefault(type)?.RemoveAll(e => e.Id == id);
    }

    public int RequestsFor(string type) => Requests.Count(r => r.Type == type);

    private async Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var type = query["type"].ToString();
        var limit = int.TryParse(query["limit"], out var l) ? l : 20;
        var offset = int.TryParse(query["offset"], out var o) ? o : 0;
        Requests.Enqueue(new Seen(type, limit, offset, context.Request.Headers["NGSILD-Tenant"].FirstOrDefault(),
            context.Request.Headers.Authorization.FirstOrDefault(), context.Request.Headers.UserAgent.FirstOrDefault()));
        Action? change;
        lock (_gate)
        {
            if (_beforePage.Remove((type, offset), out change)) { }
        }
        change?.Invoke();
        if (Delay > TimeSpan.Zero)
        {
            try { await Task.Delay(Delay, context.RequestAborted); }
            catch (OperationCanceledException) { return; }
        }
        if (Down)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await context.Response.WriteAsync("""{"type":"https://uri.etsi.org/ngsi-ld/errors/InternalError","title":"down for maintenance"}""");
            return;
        }
        string[] page;
        lock (_gate) page = (_entities.GetValueOrDefault(type) ?? []).Skip(offset).Take(limit).Select(e => e.Json).ToArray();
        context.Response.ContentType = "application/json";
        context.Response.Headers.Link = "<https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"";
        await context.Response.WriteAsync("[" + string.Join(",", page) + "]");
    }

    private async Task SubscribeAsync(HttpContext context)
    {
        var (body, refusal) = await ReadSubscriptionAsync(context);
        if (refusal is not null) { await refusal; return; }
        using var document = System.Text.Json.JsonDocument.Parse(body);
        var id = document.RootElement.TryGetProperty("id", out var idElement) ? idElement.GetString() ?? "" : $"urn:ngsi-ld:Subscription:{Guid.NewGuid()}";
        bool exists;
        lock (_gate)
        {
            exists = _subscriptions.ContainsKey(id);
            if (!exists) _subscriptions[id] = body;
        }
        if (exists)
        {
            context.Response.StatusCode = StatusCodes.Status409Conflict;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"type\":\"https://uri.etsi.org/ngsi-ld/errors/AlreadyExists\",\"title\":\"Subscription already exists\",\"detail\":\"" + id + "\"}");
            return;
        }
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = "/ngsi-ld/v1/subscriptions/" + id;
    }

    private async Task UpdateSubscriptionAsync(HttpContext context, string id)
    {
        var (body, refusal) = await ReadSubscriptionAsync(context);
        if (refusal is not null) { await refusal; return; }
        lock (_gate)
        {
            if (!_subscriptions.ContainsKey(id))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            // A merge of the fragment into what is held, member by member (enough for the members the service sends).
            var held = System.Text.Json.Nodes.JsonNode.Parse(_subscriptions[id])!.AsObject();
            foreach (var (name, value) in System.Text.Json.Nodes.JsonNode.Parse(body)!.AsObject()) held[name] = value?.DeepClone();
            _subscriptions[id] = held.ToJsonString();
        }
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task<(string Body, Task? Refusal)> ReadSubscriptionAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        SubscriptionRequests.Enqueue(new SubscriptionRequest(context.Request.Method, context.Request.Path, context.Request.ContentType,
            context.Request.Headers["NGSILD-Tenant"].FirstOrDefault(), body));
        string? problem = RefuseSubscriptions;
        if (problem is null && Flavour == BrokerFlavour.Stellio && context.Request.ContentType?.StartsWith("application/ld+json") == true && !body.Contains("\"@context\""))
            problem = "Request payload must contain @context term for a request having an application/ld+json content type";
        if (problem is null) return (body, null);
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "application/json";
        return (body, context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(new
        {
            type = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData", title = "The request includes input data which does not meet the requirements of the operation", detail = problem,
        })));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
