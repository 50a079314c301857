using Traffic.Host.WebSockets;
using Xunit;

namespace Traffic.Tests.Host;

public sealed class InboundByteBudgetSpecs
{
    [Fact]
    public void Holds_a_second_of_bytes_or_one_largest_message_whichever_is_more()
    {
        Assert.Equal(4096, new InboundByteBudget(bytesPerSecond: 4096, maxMessageBytes: 1024).Capacity);
        Assert.Equal(16384, new InboundByteBudget(bytesPerSecond: 1024, maxMessageBytes: 16384).Capacity);
    }

    [Fact]
    public void Reads_within_the_budget_go_on_and_an_overdraft_waits_as_long_as_the_rate_takes_to_repay_it()
    {
        var budget = new InboundByteBudget(bytesPerSecond: 1000, maxMessageBytes: 500);
        Assert.Equal(TimeSpan.Zero, budget.Take(600, nowMs: 0));
        Assert.Equal(TimeSpan.Zero, budget.Take(400, nowMs: 0)); // exactly the capacity
        Assert.Equal(TimeSpan.FromMilliseconds(250), budget.Take(250, nowMs: 0)); // 250 bytes over at 1000/s
        Assert.Equal(TimeSpan.Zero, budget.Take(100, nowMs: 350)); // repaid 350: 100 left, then taken
        Assert.Equal(TimeSpan.FromMilliseconds(1), budget.Take(1, nowMs: 350));
    }

    [Fact]
    public void A_quiet_client_saves_up_no_more_than_the_capacity()
    {
        var budget = new InboundByteBudget(bytesPerSecond: 1000, maxMessageBytes: 500);
        budget.Take(1000, nowMs: 0);
        Assert.Equal(TimeSpan.FromMilliseconds(500), budget.Take(1500, nowMs: 60_000)); // a minute idle still holds 1000
    }
}
