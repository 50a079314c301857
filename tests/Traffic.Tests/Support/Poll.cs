using System.Diagnostics;

namespace Traffic.Tests.Support;

/// <summary>Waits for a condition observed from outside (HTTP stats, a socket's state), bounded in time.</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var limit = within ?? TimeSpan.FromSeconds(20);
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit) throw new Xunit.Sdk.XunitException($"timed out after {limit.TotalSeconds} s waiting for: {what}");
            await Task.Delay(50);
        }
    }
}
