using Traffic.Actors.Ingest;
using Xunit;

namespace Traffic.Tests.Ingest;

public sealed class BrokerUrlLoggingSpecs
{
    private static BrokerPollSettings Poll(string url) =>
        new(new Uri(url), null, null, 100, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    [Fact]
    public void The_broker_url_in_the_logs_has_no_user_name_or_password()
    {
        Assert.Equal("http://broker.internal:1026/ngsi-ld", Poll("http://ops:s3cret@broker.internal:1026/ngsi-ld").BrokerForLogs);
        Assert.DoesNotContain("s3cret", Poll("https://ops:s3cret@broker/").BrokerForLogs);
        Assert.Equal("http://broker:1026/", Poll("http://broker:1026/").BrokerForLogs);
    }
}
