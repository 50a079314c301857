using Traffic.Actors.Protocol;
using Traffic.Host.Configuration;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Ingest;

/// <summary>SOURCES and the NGSI_LD_* settings: defaults, overrides, and a bad value named at start.</summary>
public sealed class IngestConfigurationSpecs
{
    private static ServiceOptions Options(params (string Key, string Value)[] settings) =>
        ServiceOptions.From(InMemoryConfiguration.Of(settings)); // a later setting of the same name wins

    [Fact]
    public void Sources_default_to_the_simulator_and_name_either_or_both()
    {
        var defaults = Options();
        Assert.True(defaults.SimulatorEnabled);
        Assert.Null(defaults.Ingest);

        var ngsiLd = Options(("SOURCES", "ngsi-ld"));
        Assert.False(ngsiLd.SimulatorEnabled);
        Assert.NotNull(ngsiLd.Ingest);
        Assert.Null(ngsiLd.Ingest!.Poll);

        var both = Options(("SOURCES", "both"), ("NGSI_LD_BROKER_URL", "http://broker:1026"), ("NGSI_LD_TENANT", "hcmc"));
        Assert.True(both.SimulatorEnabled);
        Assert.Equal(new Uri("http://broker:1026/"), both.Ingest!.Poll!.BrokerUrl);
        Assert.Equal("hcmc", both.Ingest.Poll.Tenant);
        Assert.Equal((100, TimeSpan.FromSeconds(10)), (both.Ingest.Poll.PageSize, both.Ingest.Poll.RequestTimeout));

        Assert.False(Options(("SOURCES", "simulator,ngsi-ld"), ("SIMULATOR_ENABLED", "false")).SimulatorEnabled);
    }

    [Fact]
    public void The_type_mapping_and_alert_rules_are_configurable()
    {
        var ingest = Options(("SOURCES", "ngsi-ld"), ("NGSI_LD_TYPES", "TrafficCamera=cameras, CongestionZone="),
            ("NGSI_LD_ALERT_AQI", "100"), ("NGSI_LD_ALERT_SEVERITIES", "fatal")).Ingest!;
        Assert.Equal(Topic.Cameras, ingest.Types.Topics["TrafficCamera"]);
        Assert.Equal(Topic.Cameras, ingest.Types.Topics["Camera"]);
        Assert.False(ingest.Types.Topics.ContainsKey("CongestionZone"));
        Assert.Equal(100, ingest.Alerts.AqiThreshold);
        Assert.Equal(["fatal"], ingest.Alerts.AccidentSeverities);
    }

    [Theory]
    [InlineData("SOURCES", "kafka", "SOURCES=\"kafka\": \"kafka\" is not simulator, ngsi-ld or both")]
    [InlineData("NGSI_LD_TYPES", "Camera=pictures", "NGSI_LD_TYPES: \"pictures\" in \"Camera=pictures\" is not one of")]
    [InlineData("NGSI_LD_BROKER_URL", "ftp://broker", "NGSI_LD_BROKER_URL=\"ftp://broker\" is not an http(s) URL")]
    [InlineData("NGSI_LD_PAGE_SIZE", "0", "NGSI_LD_PAGE_SIZE=\"0\" is not a whole number between 1 and 1000")]
    [InlineData("NGSI_LD_POLL", "sometimes", "NGSI_LD_POLL=\"sometimes\" is not interval or start")]
    [InlineData("NGSI_LD_SUBSCRIBE", "yes", "NGSI_LD_SUBSCRIBE=\"yes\" is not true or false")]
    [InlineData("NGSI_LD_SUBSCRIBE", "true", "NGSI_LD_SUBSCRIBE=true needs NGSI_LD_NOTIFY_URL")]
    public void A_bad_value_stops_the_start_naming_the_variable(string name, string value, string message)
    {
        var error = Assert.Throws<ServiceConfigurationException>(() => Options(("SOURCES", "ngsi-ld"), ("NGSI_LD_BROKER_URL", "http://b"), (name, value)));
        Assert.StartsWith(message, error.Message);
    }

    [Fact]
    public void Subscribing_names_the_notify_url_and_key_and_makes_polling_a_start_up_load()
    {
        var ingest = Options(("SOURCES", "ngsi-ld"), ("NGSI_LD_BROKER_URL", "http://broker:1026"), ("NGSI_LD_SUBSCRIBE", "true"),
            ("NGSI_LD_NOTIFY_URL", "http://traffic:5000/ngsi-ld/notify"), ("NGSI_LD_NOTIFY_KEY", "notify-key-0000000001")).Ingest!;
        Assert.Equal(Traffic.Actors.Ingest.PollMode.Start, ingest.Poll!.Mode);
        Assert.Equal(("urn:ngsi-ld:Subscription:hcmc-traffic-realtime", "notify-key-0000000001", new Uri("http://traffic:5000/ngsi-ld/notify")),
            (ingest.Subscribe!.Id, ingest.Subscribe.NotifyKey, ingest.Subscribe.NotifyUrl));
        Assert.True(ingest.SoleSource);

        var polled = Options(("SOURCES", "both"), ("NGSI_LD_BROKER_URL", "http://broker:1026")).Ingest!;
        Assert.Equal(Traffic.Actors.Ingest.PollMode.Interval, polled.Poll!.Mode);
        Assert.Null(polled.Subscribe);
        Assert.False(polled.SoleSource);
    }
}
