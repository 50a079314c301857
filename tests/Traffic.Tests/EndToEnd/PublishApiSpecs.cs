using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

public sealed class PublishApiSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static bool Carries(JsonElement message, string marker) =>
        message.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object &&
        data.TryGetProperty("marker", out var m) && m.GetString() == marker;

    [Fact]
    public async Task A_published_alert_reaches_the_subscribers_of_its_topic_only()
    {
        await using var accidents = await _service.ConnectAsync("/ws?topics=accidents");
        await using var weather = await _service.ConnectAsync("/ws?topics=weather");
        await accidents.ExpectGreetingAsync();
        await weather.ExpectGreetingAsync();

        var response = await _service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker = "crash-1", severity = "high" } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var alert = await accidents.NextAsync(m => Carries(m, "crash-1"));
        Assert.Equal("ALERT", alert.Type());
        Assert.Equal("accidents", alert.GetProperty("topic").GetString());
        Assert.Equal("high", alert.GetProperty("data").GetProperty("severity").GetString());

        await _service.PublishAsync(new { type = "UPDATE", topic = "weather", data = new { marker = "rain-1" } });
        await weather.NextAsync(m => Carries(m, "rain-1"));
        Assert.DoesNotContain(weather.Seen, m => Carries(m, "crash-1")); // it came before rain-1, had it been sent
    }

    [Fact]
    public async Task A_publish_to_all_reaches_every_client()
    {
        await using var one = await _service.ConnectAsync("/ws?topics=cameras");
        await using var two = await _service.ConnectAsync("/ws?topics=patterns");
        await one.ExpectGreetingAsync();
        await two.ExpectGreetingAsync();

        Assert.Equal(HttpStatusCode.Accepted, (await _service.PublishAsync(new { type = "ALERT", topic = "all", data = new { marker = "city-wide" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _service.PublishAsync(new { type = "ALERT", data = new { marker = "no-topic" } })).StatusCode);
        foreach (var client in new[] { one, two })
        {
            var message = await client.NextAsync(m => Carries(m, "city-wide"));
            Assert.False(message.TryGetProperty("topic", out _));
            await client.NextAsync(m => Carries(m, "no-topic"));
        }
    }

    [Fact]
    public async Task Publishing_needs_the_key()
    {
        var missing = await _service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { } }, apiKey: null);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);

        var wrong = await _service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { } }, apiKey: "guess");
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);

        var bearer = new HttpRequestMessage(HttpMethod.Post, "/api/publish")
        {
            Content = JsonContent.Create(new { type = "UPDATE", topic = "cameras", data = Array.Empty<int>() }),
        };
        bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", RunningService.ApiKey);
        Assert.Equal(HttpStatusCode.Accepted, (await _service.Http.SendAsync(bearer)).StatusCode);
    }

    [Theory]
    [InlineData("""{"type":"NEWS","topic":"cameras","data":{}}""", "Bad type")]
    [InlineData("""{"topic":"cameras","data":{}}""", "Bad type")]
    [InlineData("""{"type":"UPDATE","topic":"parking","data":{}}""", "Unknown topic")]
    [InlineData("""{"type":"UPDATE","topic":"cameras"}""", "Missing data")]
    [InlineData("""{"type":"UPDATE",""", "Malformed JSON")]
    [InlineData("""[1,2]""", "Malformed body")]
    [InlineData("""{"type":"UPDATE","topic":"cameras","data":{}}garbage""", "Malformed JSON")]
    [InlineData("""{"type":"UPDATE","topic":"cameras","data":{}} {"type":"ALERT","data":{}}""", "Malformed JSON")]
    [InlineData("""{"type":"\ud800","topic":"cameras","data":{}}""", "Invalid string")]
    [InlineData("""{"type":"UPDATE","topic":"\udc00","data":{}}""", "Invalid string")]
    public async Task A_bad_publish_is_refused_with_a_problem_body(string body, string title)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Api-Key", RunningService.ApiKey);
        var response = await _service.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData(null)]
    public async Task A_body_that_is_not_json_by_its_content_type_is_refused_with_415(string? contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"type":"UPDATE","topic":"cameras","data":{}}"""));
        if (contentType is not null) content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish") { Content = content };
        request.Headers.Add("X-Api-Key", RunningService.ApiKey);
        var response = await _service.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/ld+json")]
    public async Task Json_content_types_are_accepted(string contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"type":"UPDATE","topic":"cameras","data":{}}"""));
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish") { Content = content };
        request.Headers.Add("X-Api-Key", RunningService.ApiKey);
        Assert.Equal(HttpStatusCode.Accepted, (await _service.Http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task A_burst_of_publishes_arrives_whole_and_in_order()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=congestion");
        await client.ExpectGreetingAsync();

        const int count = 300;
        await Task.WhenAll(Enumerable.Range(0, 10).Select(async worker =>
        {
            for (var i = worker; i < count; i += 10)
                Assert.Equal(HttpStatusCode.Accepted,
                    (await _service.PublishAsync(new { type = "UPDATE", topic = "congestion", data = new { marker = "burst", worker, seq = i } })).StatusCode);
        }));

        var lastPerWorker = new int[10];
        Array.Fill(lastPerWorker, -1);
        for (var received = 0; received < count; received++)
        {
            var data = (await client.NextAsync(m => Carries(m, "burst"))).GetProperty("data");
            var worker = data.GetProperty("worker").GetInt32();
            var seq = data.GetProperty("seq").GetInt32();
            Assert.True(seq > lastPerWorker[worker], $"worker {worker}: {seq} after {lastPerWorker[worker]}");
            lastPerWorker[worker] = seq;
        }
        await client.SendAsync("""{"action":"ping"}""");
        await client.NextOfTypeAsync("PONG");
    }
}

/// <summary>PUBLISH_RATE_PER_SECOND: a key over its rate gets 429 with Retry-After; what was accepted is delivered.</summary>
public sealed class PublishRateLimitSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["PUBLISH_RATE_PER_SECOND"] = "5",
        });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Beyond_its_rate_a_key_gets_429_with_retry_after_and_every_accepted_publish_is_delivered()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=accidents");
        await client.ExpectGreetingAsync();

        // Far more than the bucket holds (5), faster than it refills: some must be refused.
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            _service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker = "rated", seq = i } })));
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        var accepted = responses.Count(r => r.StatusCode == HttpStatusCode.Accepted);
        Assert.NotEmpty(refused);
        Assert.Equal(40, accepted + refused.Count);
        Assert.True(int.Parse(refused[0].Headers.GetValues("Retry-After").Single()) >= 1);
        Assert.Equal("application/problem+json", refused[0].Content.Headers.ContentType?.MediaType);
        var problem = await refused[0].Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("PUBLISH_RATE_PER_SECOND", problem.GetProperty("detail").GetString());

        for (var i = 0; i < accepted; i++) await client.NextOfTypeAsync("ALERT");

        // A wrong key is not rate limited but refused as before, and the key never appears in an answer.
        var wrong = await _service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { } }, apiKey: "guess");
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.DoesNotContain(RunningService.ApiKey, await wrong.Content.ReadAsStringAsync());

        // After waiting as told, the key publishes again.
        await Poll.UntilAsync(async () =>
            (await _service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker = "later" } })).StatusCode == HttpStatusCode.Accepted,
            "the bucket refills");
    }
}
