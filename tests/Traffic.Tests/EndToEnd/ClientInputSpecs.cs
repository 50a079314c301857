using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

public sealed class ClientInputSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["MAX_CLIENT_MESSAGE_BYTES"] = "1024" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Ping_is_answered_with_pong()
    {
        await using var client = await _service.ConnectAsync();
        await client.ExpectGreetingAsync();
        await client.SendAsync("""{"action":"ping"}""");
        var pong = await client.NextOfTypeAsync("PONG");
        Assert.True(pong.TryGetProperty("timestamp", out _));
    }

    [Fact]
    public async Task Every_kind_of_bad_input_gets_an_error_and_the_connection_keeps_working()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await using var bystander = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();
        await bystander.ExpectGreetingAsync();

        async Task ExpectError(Func<Task> send, string code)
        {
            await send();
            var error = await client.NextOfTypeAsync("ERROR");
            Assert.Equal(code, error.GetProperty("error").GetString());
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        }

        await ExpectError(() => client.SendAsync("this is not json"), "malformed_json");
        await ExpectError(() => client.SendAsync(""), "malformed_json"); // an empty message
        await ExpectError(() => client.SendAsync("""{"action":"teleport"}"""), "unknown_action");
        await ExpectError(() => client.SendAsync("""{"action":"subscribe","topics":["parking"]}"""), "unknown_topic");
        await ExpectError(() => client.SendAsync("""{"action":"subscribe","topics":[]}"""), "invalid_topics");
        await ExpectError(() => client.SendBinaryAsync([1, 2, 3]), "binary_not_supported");

        // Still served: commands work, and it still gets its topic; so does the other client.
        await client.SendAsync("""{"action":"ping"}""");
        await client.NextOfTypeAsync("PONG");
        await _service.PublishAsync(new { type = "UPDATE", topic = "cameras", data = new { marker = "after-garbage" } });
        foreach (var c in new[] { client, bystander })
            await c.NextAsync(m => m.Type() == "UPDATE" && m.GetProperty("data").ValueKind == JsonValueKind.Object &&
                                   m.GetProperty("data").TryGetProperty("marker", out _));
    }
}
