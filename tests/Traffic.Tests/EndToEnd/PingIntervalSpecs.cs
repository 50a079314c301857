using System.Diagnostics;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// The server's protocol PINGs arrive every HEARTBEAT_INTERVAL_MS, as docs/protocol.md says
/// (the runtime's keep-alive timer alone would make it 1.25 times that). Measured with a raw
/// client that answers every PING and notes when it arrived.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class PingIntervalSpecs(ITestOutputHelper output)
{
    [Fact]
    public async Task Pings_arrive_every_heartbeat_interval()
    {
        const int intervalMs = 1000;
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["HEARTBEAT_INTERVAL_MS"] = $"{intervalMs}",
            ["HEARTBEAT_TIMEOUT_MS"] = "30000",
        });
        using var raw = await RawWebSocketConnection.OpenAsync(service.BaseAddress);
        Assert.StartsWith("HTTP/1.1 101", await raw.UpgradeAsync());

        var arrivals = new List<double>();
        var clock = Stopwatch.StartNew();
        while (arrivals.Count < 6)
        {
            var (opcode, payload) = raw.ReadFrame();
            if (opcode != 0x9) continue; // the ACK, the SNAPSHOT
            arrivals.Add(clock.Elapsed.TotalMilliseconds);
            await raw.WriteAsync(RawWebSocketConnection.Masked(0x8A, payload)); // PONG with the PING's payload
        }

        var gaps = arrivals.Zip(arrivals.Skip(1), (a, b) => b - a).OrderBy(g => g).ToList();
        output.WriteLine($"gaps between pings (ms), sorted: {string.Join(", ", gaps.Select(g => g.ToString("0")))}");
        // The median gap: near the interval, clearly below the 1.25 x interval of the runtime's own timer.
        Assert.InRange(gaps[gaps.Count / 2], 0.85 * intervalMs, 1.15 * intervalMs);
    }
}
