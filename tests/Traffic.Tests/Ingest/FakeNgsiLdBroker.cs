using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Traffic.Tests.Ingest;

/// <summary>
/// A small NGSI-LD broker on a real Kestrel (127.0.0.1, a port the OS picks): answers
/// <c>GET /ngsi-ld/v1/entities?type&amp;limit&amp;offset</c> from an in-memory list per type (keyValues or
/// normalized as stored), records every request, and can be made to fail (503) or to answer slowly.
/// </summary>
public sealed class FakeNgsiLdBroker : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly Dictionary<string, List<(string Id, string Json)>> _entities = new();

    public sealed record Seen(string? Type, int Limit, int Offset, string? Tenant, string? Authorization);

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
            context.Request.Headers.Authorization.FirstOrDefault()));
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

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
