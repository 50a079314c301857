using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Traffic.Tests.Support;

namespace Traffic.Tests.Ingest;

/// <summary>The recorded notifications (tests/Traffic.Tests/Ingest/Payloads, also used by docs/ngsi-ld.md) and how to post them.</summary>
public static class IngestPayloads
{
    private static readonly Lazy<string> Folder = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Traffic.sln"))) return Path.Combine(dir.FullName, "tests", "Traffic.Tests", "Ingest", "Payloads");
        }
        throw new InvalidOperationException($"no Traffic.sln above {AppContext.BaseDirectory}");
    });

    public static string Read(string name) => File.ReadAllText(Path.Combine(Folder.Value, name));

    /// <summary>A notification around these entities (JSON objects as text), as a broker sends it.</summary>
    public static string Notification(params string[] entities) =>
        $$"""{"id":"urn:ngsi-ld:Notification:{{Guid.NewGuid()}}","type":"Notification","subscriptionId":"urn:ngsi-ld:Subscription:spec","notifiedAt":"{{DateTime.UtcNow:O}}","data":[{{string.Join(",", entities)}}]}""";

    public static Task<HttpResponseMessage> NotifyAsync(this RunningService service, string body, string contentType = "application/json",
        string? apiKey = RunningService.ApiKey, string? link = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/ngsi-ld/notify") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        if (link is not null) request.Headers.TryAddWithoutValidation("Link", link);
        return service.Http.SendAsync(request);
    }

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    /// <summary>The entity with this id in an UPDATE's data, if there.</summary>
    public static JsonElement? EntityIn(JsonElement update, string id) =>
        update.GetProperty("data").EnumerateArray().Where(e => e.GetProperty("id").GetString() == id).Select(e => (JsonElement?)e).FirstOrDefault();

    /// <summary>The settings of a service fed by NGSI-LD only, every topic's UPDATE every 300 ms.</summary>
    public static Dictionary<string, string?> NgsiLdOnly(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SOURCES"] = "ngsi-ld",
            ["UPDATE_INTERVALS_MS"] = "cameras=300,weather=300,airQuality=300,accidents=300,patterns=300,congestion=300",
        };
        foreach (var (key, value) in more ?? []) settings[key] = value;
        return settings;
    }
}
