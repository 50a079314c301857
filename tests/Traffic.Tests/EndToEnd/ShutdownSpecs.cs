using System.Net.WebSockets;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

[Trait("Speed", "Slow")]
public sealed class ShutdownSpecs
{
    [Fact]
    public async Task Stopping_the_server_closes_every_client_with_going_away()
    {
        var service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });
        await using var client = await service.ConnectAsync();
        await client.ExpectGreetingAsync();

        await service.DisposeAsync();

        var status = await client.Closed.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, status); // 1001 going away
    }
}
