using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// Frames that are JSON only at first sight: a string that is no valid Unicode (a lone surrogate
/// escape), data after the object, two objects. Each gets an ERROR, the connection stays, and it
/// and another client go on receiving every message.
/// </summary>
public sealed class ClientInputStrictnessSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Theory]
    [InlineData("""{"action":"\ud800"}""")]
    [InlineData("""{"action":"subscribe","topics":["\udc00"]}""")]
    [InlineData("""{"action":"subscribe","topics":["weather","\ud83d"]}""")]
    [InlineData("""{"action":"ping"}garbage""")]
    [InlineData("""{"action":"ping"}{"action":"ping"}""")]
    [InlineData("""{"action":"ping"} {"action":"subscribe","topics":["weather"]}""")]
    public async Task A_frame_that_is_not_one_valid_json_object_gets_malformed_json_and_the_connection_stays(string frame)
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await using var bystander = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();
        await bystander.ExpectGreetingAsync();

        await client.SendAsync(frame);
        var error = await client.NextAsync(m => m.Type() is "ERROR" or "PONG" or "SUBSCRIBED");
        Assert.Equal("ERROR", error.Type());
        Assert.Equal("malformed_json", error.GetProperty("error").GetString());

        // Still served, still on cameras only (nothing of the frame was applied).
        await client.SendAsync("""{"action":"ping"}""");
        await client.NextOfTypeAsync("PONG");
        await _service.PublishAsync(new { type = "UPDATE", topic = "weather", data = new { marker = "weather" } });
        await _service.PublishAsync(new { type = "UPDATE", topic = "cameras", data = new { marker = "cameras" } });
        foreach (var c in new[] { client, bystander })
        {
            var update = await c.NextOfTypeAsync("UPDATE");
            Assert.Equal("cameras", update.GetProperty("data").GetProperty("marker").GetString());
        }
        Assert.False(client.Closed.IsCompleted);
    }

    [Fact]
    public async Task Trailing_whitespace_is_fine()
    {
        await using var client = await _service.ConnectAsync();
        await client.ExpectGreetingAsync();
        await client.SendAsync("{\"action\":\"ping\"} \r\n\t");
        Assert.Equal("PONG", (await client.NextAsync(m => m.Type() is "ERROR" or "PONG")).Type());
    }
}
