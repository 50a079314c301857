using System.Text;
using System.Text.Json;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Xunit;

namespace Traffic.Tests.Protocol;

public sealed class ProtocolSpecs
{
    private static ClientCommand Parse(string json) => ClientMessageParser.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Subscribe_with_all_means_every_topic()
    {
        var command = Assert.IsType<ClientCommand.Subscribe>(Parse("""{"action":"subscribe","topics":["all"]}"""));
        Assert.Equal(TopicSet.All, command.Topics);
        Assert.Equal(6, command.Topics.Members().Count());
    }

    [Fact]
    public void Topic_names_are_the_seeds_exact_spelling()
    {
        var command = Assert.IsType<ClientCommand.Unsubscribe>(Parse("""{"action":"unsubscribe","topics":["airQuality","congestion"]}"""));
        Assert.Equal(TopicSet.Of(Topic.AirQuality, Topic.Congestion), command.Topics);
        var wrongCase = Assert.IsType<ClientCommand.Invalid>(Parse("""{"action":"subscribe","topics":["airquality"]}"""));
        Assert.Equal(ErrorCodes.UnknownTopic, wrongCase.Code);
    }

    [Fact]
    public void The_topics_query_accepts_names_and_all_and_names_the_first_unknown_one()
    {
        Assert.True(ClientMessageParser.TryParseTopicList(null, out var none, out _));
        Assert.Equal(TopicSet.All, none);
        Assert.True(ClientMessageParser.TryParseTopicList("cameras, accidents", out var two, out _));
        Assert.Equal(TopicSet.Of(Topic.Cameras, Topic.Accidents), two);
        Assert.False(ClientMessageParser.TryParseTopicList("cameras,boats", out _, out var unknown));
        Assert.Equal("boats", unknown);
    }

    [Fact]
    public void A_published_frame_keeps_the_data_as_sent_and_the_seeds_field_names()
    {
        var frame = ServerMessages.Published(ServerMessageType.Alert, Topic.Accidents, """{"id":"urn:ngsi-ld:RoadAccident:1","severity":"high"}"""u8,
            new DateTimeOffset(2025, 11, 29, 10, 31, 0, TimeSpan.Zero));
        var json = JsonDocument.Parse(frame.Utf8Json).RootElement;
        Assert.Equal("ALERT", json.GetProperty("type").GetString());
        Assert.Equal("accidents", json.GetProperty("topic").GetString());
        Assert.Equal("high", json.GetProperty("data").GetProperty("severity").GetString());
        Assert.Equal("2025-11-29T10:31:00.000Z", json.GetProperty("timestamp").GetString());
    }

    [Fact]
    public void Topic_intervals_default_to_the_seed_table_and_can_be_overridden()
    {
        var schedule = TopicSchedule.Parse("accidents=1000");
        Assert.Equal(TimeSpan.FromSeconds(1), schedule.IntervalOf(Topic.Accidents));
        Assert.Equal(TimeSpan.FromSeconds(30), schedule.IntervalOf(Topic.Cameras));
        Assert.Equal(TimeSpan.FromSeconds(60), schedule.IntervalOf(Topic.Patterns));
        Assert.Throws<FormatException>(() => TopicSchedule.Parse("boats=5"));
    }

    [Theory]
    [InlineData("""{"action":"\ud800"}""", "action")]
    [InlineData("""{"action":"subscribe","topics":["\udc00"]}""", "topics")]
    [InlineData("""{"action":"ping"}garbage""", "not valid JSON")]
    [InlineData("""{"action":"ping"}{"action":"ping"}""", "")]
    public void A_lone_surrogate_or_trailing_data_is_malformed_json_not_an_exception(string frame, string named)
    {
        var command = Assert.IsType<ClientCommand.Invalid>(ClientMessageParser.Parse(System.Text.Encoding.UTF8.GetBytes(frame)));
        Assert.Equal(ErrorCodes.MalformedJson, command.Code);
        Assert.Contains(named, command.Message);
    }

    [Fact]
    public void A_surrogate_pair_escape_is_valid_and_names_an_unknown_topic()
    {
        var command = Assert.IsType<ClientCommand.Invalid>(ClientMessageParser.Parse("""{"action":"subscribe","topics":["\ud83d\ude97"]}"""u8));
        Assert.Equal(ErrorCodes.UnknownTopic, command.Code);
    }
}
