using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

public sealed class DashboardHeadersSpecs
{
    [Theory]
    [InlineData("/")]
    [InlineData("/dashboard.js")]
    [InlineData("/client/traffic-client.js")]
    public async Task The_dashboard_and_its_scripts_come_with_a_content_security_policy_nosniff_and_no_referrer(string path)
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });
        using var response = await service.Http.GetAsync(path);
        response.EnsureSuccessStatusCode();
        Assert.Equal("default-src 'self'; connect-src 'self'; frame-ancestors 'none'", Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
    }
}
