using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

public sealed class GreetingSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() => _service = await RunningService.StartAsync();
    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Theory]
    [InlineData("/ws")]
    [InlineData("/")]
    public async Task A_new_client_gets_the_connection_ack_then_a_full_snapshot_of_the_simulated_city(string path)
    {
        await using var client = await _service.ConnectAsync(path);
        var (ack, snapshot) = await client.ExpectGreetingAsync();

        Assert.Equal("Connected to HCMC Traffic Monitoring System", ack.GetProperty("message").GetString());
        Assert.Equal(10000, ack.GetProperty("heartbeatInterval").GetInt32());
        Assert.True(DateTimeOffset.TryParse(ack.GetProperty("timestamp").GetString(), out _));
        Assert.Equal(["cameras", "weather", "airQuality", "accidents", "patterns", "congestion"], ack.GetProperty("topics").Strings());

        var data = snapshot.GetProperty("data");
        foreach (var topic in new[] { "cameras", "weather", "airQuality", "accidents", "patterns", "congestion" })
            Assert.True(data.GetProperty(topic).GetArrayLength() > 0, $"{topic} is empty in the SNAPSHOT");
        Assert.True(data.GetProperty("cameras").GetArrayLength() >= 50);
        var camera = data.GetProperty("cameras")[0];
        Assert.StartsWith("urn:ngsi-ld:Camera:", camera.GetProperty("id").GetString());
        Assert.True(camera.GetProperty("location").GetProperty("latitude").GetDouble() is > 10.5 and < 11.0);
    }

    [Fact]
    public async Task The_topics_query_chooses_the_first_subscriptions()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras,accidents");
        var (ack, _) = await client.ExpectGreetingAsync();
        Assert.Equal(["cameras", "accidents"], ack.GetProperty("topics").Strings());
    }

    [Fact]
    public async Task An_unknown_topic_in_the_query_is_refused_with_a_problem()
    {
        var response = await _service.Http.GetAsync("/ws?topics=cameras,bogus", HttpCompletionOption.ResponseHeadersRead);
        // Not a WebSocket request: the plain GET is refused with 426 before topics are looked at.
        Assert.Equal(426, (int)response.StatusCode);

        var socket = new System.Net.WebSockets.ClientWebSocket();
        var refused = await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() =>
            socket.ConnectAsync(_service.WebSocketUri("/ws?topics=cameras,bogus"), CancellationToken.None));
        Assert.Contains("400", refused.Message);
    }

    [Fact]
    public async Task Health_answers_ok()
    {
        var response = await _service.Http.GetAsync("/health");
        Assert.Equal(200, (int)response.StatusCode);
    }
}
