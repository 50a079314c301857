using System.Net.WebSockets;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

public sealed class ClientRateLimitSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task A_client_flooding_subscribe_and_unsubscribe_while_reading_is_told_then_closed_with_1008_never_called_slow()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();

        for (var i = 0; i < 10_000; i++)
        {
            try { await client.SendAsync(i % 2 == 0 ? """{"action":"subscribe","topics":["weather"]}""" : """{"action":"unsubscribe","topics":["weather"]}"""); }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException) { break; } // closed by the server meanwhile
        }

        var error = await client.NextAsync(m => m.Type() == "ERROR");
        Assert.Equal("rate_limited", error.GetProperty("error").GetString());
        Assert.Contains("50 messages a second", error.GetProperty("message").GetString());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await client.Closed.WaitAsync(TestClient.DefaultWait)); // 1008, not 1013
        Assert.Equal(1, client.Seen.Count(m => m.Type() == "ERROR")); // told once, not once per dropped message
    }
}
