using System.Text;
using Traffic.Actors.Protocol;
using Xunit;

namespace Traffic.Tests.Protocol;

/// <summary>
/// What a client gets back for each kind of frame it may send: the command, or the ERROR's code
/// and the words of its message that tell the client what to fix (docs/protocol.md, "Errors").
/// </summary>
public sealed class ClientMessageParserSpecs
{
    private static ClientCommand Parse(string json) => ClientMessageParser.Parse(Encoding.UTF8.GetBytes(json));

    private static ClientCommand.Invalid Refused(string json, string code)
    {
        var invalid = Assert.IsType<ClientCommand.Invalid>(Parse(json));
        Assert.Equal(code, invalid.Code);
        return invalid;
    }

    [Fact]
    public void A_ping_is_a_ping_and_whitespace_after_the_object_is_fine()
    {
        Assert.Same(ClientCommand.Ping.Instance, Parse("""{"action":"ping"}"""));
        Assert.Same(ClientCommand.Ping.Instance, Parse(" {\"action\":\"ping\"} \r\n\t "));
    }

    [Fact]
    public void A_subscribe_without_options_asks_for_no_resume_and_no_deltas()
    {
        var subscribe = Assert.IsType<ClientCommand.Subscribe>(Parse("""{"action":"subscribe","topics":["cameras","weather"]}"""));
        Assert.Equal(TopicSet.Of(Topic.Cameras, Topic.Weather), subscribe.Topics);
        Assert.Null(subscribe.Since);
        Assert.False(subscribe.Deltas);
    }

    [Fact]
    public void An_unsubscribe_names_its_topics_and_all_means_every_one()
    {
        var unsubscribe = Assert.IsType<ClientCommand.Unsubscribe>(Parse("""{"action":"unsubscribe","topics":["accidents"]}"""));
        Assert.Equal(TopicSet.Of(Topic.Accidents), unsubscribe.Topics);
        var all = Assert.IsType<ClientCommand.Unsubscribe>(Parse("""{"action":"unsubscribe","topics":["weather","all"]}"""));
        Assert.Equal(TopicSet.All, all.Topics);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    public void Delta_true_or_false_is_taken_as_given(string value, bool expected)
    {
        var subscribe = Assert.IsType<ClientCommand.Subscribe>(Parse($$"""{"action":"subscribe","topics":["cameras"],"delta":{{value}}}"""));
        Assert.Equal(expected, subscribe.Deltas);
    }

    [Theory]
    [InlineData("\"yes\"")]
    [InlineData("1")]
    [InlineData("null")]
    public void A_delta_that_is_no_boolean_is_refused(string value)
    {
        var invalid = Refused($$"""{"action":"subscribe","topics":["cameras"],"delta":{{value}}}""", ErrorCodes.InvalidDelta);
        Assert.Equal("\"delta\" must be true or false", invalid.Message);
    }

    [Fact]
    public void A_subscribe_with_since_carries_the_positions()
    {
        var subscribe = Assert.IsType<ClientCommand.Subscribe>(Parse(
            """{"action":"subscribe","topics":["accidents"],"since":{"accidents":{"epoch":"k3x9ab12","offset":41}},"delta":true}"""));
        var since = Assert.IsType<ResumeRequest>(subscribe.Since);
        var position = Assert.Single(since.Positions).Value;
        Assert.Equal(new StreamPosition("k3x9ab12", 41), position);
        Assert.True(subscribe.Deltas);
    }

    [Fact]
    public void A_malformed_since_is_refused_with_the_resume_requests_reason()
    {
        var invalid = Refused("""{"action":"subscribe","topics":["accidents"],"since":[1]}""", ErrorCodes.InvalidPosition);
        Assert.Contains("\"since\" must be an object", invalid.Message);
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"ping\"")]
    [InlineData("42")]
    public void Json_that_is_no_object_is_malformed(string json)
    {
        var invalid = Refused(json, ErrorCodes.MalformedJson);
        Assert.Equal("message must be a JSON object with an \"action\"", invalid.Message);
    }

    [Theory]
    [InlineData("""{"topics":["cameras"]}""")]
    [InlineData("""{"action":7}""")]
    [InlineData("""{"action":null}""")]
    public void A_missing_or_non_string_action_is_an_unknown_action(string json)
    {
        var invalid = Refused(json, ErrorCodes.UnknownAction);
        Assert.Equal("missing \"action\": expected subscribe, unsubscribe or ping", invalid.Message);
    }

    [Fact]
    public void An_unknown_action_is_named_back_whole_when_short()
    {
        var name = new string('x', 64);
        var invalid = Refused($$"""{"action":"{{name}}"}""", ErrorCodes.UnknownAction);
        Assert.Equal($"unknown action \"{name}\": expected subscribe, unsubscribe or ping", invalid.Message);
    }

    [Fact]
    public void An_unknown_action_is_named_back_cut_to_64_characters_when_long()
    {
        var name = new string('y', 64) + "TAIL";
        var invalid = Refused($$"""{"action":"{{name}}"}""", ErrorCodes.UnknownAction);
        Assert.Equal($"unknown action \"{new string('y', 64)}...\": expected subscribe, unsubscribe or ping", invalid.Message);
    }

    [Theory]
    [InlineData("""{"action":"subscribe"}""")]
    [InlineData("""{"action":"subscribe","topics":"cameras"}""")]
    [InlineData("""{"action":"subscribe","topics":[]}""")]
    [InlineData("""{"action":"unsubscribe","topics":{}}""")]
    public void Topics_must_be_a_non_empty_array(string json)
    {
        var invalid = Refused(json, ErrorCodes.InvalidTopics);
        Assert.Equal("\"topics\" must be a non-empty array of topic names", invalid.Message);
    }

    [Theory]
    [InlineData("""{"action":"subscribe","topics":["cameras",3]}""")]
    [InlineData("""{"action":"unsubscribe","topics":[null]}""")]
    public void Topics_must_be_strings(string json)
    {
        var invalid = Refused(json, ErrorCodes.InvalidTopics);
        Assert.Equal("\"topics\" must contain only strings", invalid.Message);
    }

    [Fact]
    public void An_unknown_topic_is_named_back_with_the_known_ones()
    {
        var invalid = Refused("""{"action":"subscribe","topics":["cameras","boats"]}""", ErrorCodes.UnknownTopic);
        Assert.Equal(
            "unknown topic \"boats\": expected one of cameras, weather, airQuality, accidents, patterns, congestion or all",
            invalid.Message);
        var longName = new string('b', 70);
        var cut = Refused($$"""{"action":"unsubscribe","topics":["{{longName}}"]}""", ErrorCodes.UnknownTopic);
        Assert.StartsWith($"unknown topic \"{new string('b', 64)}...\"", cut.Message);
    }

    [Fact]
    public void Broken_json_is_malformed_and_says_so()
    {
        var invalid = Refused("""{"action":""", ErrorCodes.MalformedJson);
        Assert.StartsWith("message is not valid JSON: ", invalid.Message);
    }

    [Theory]
    [InlineData("""{"action":"ping"} 1""")]
    [InlineData("""{"action":"ping"}{"action":"ping"}""")]
    [InlineData("""{"action":"ping"} []""")]
    public void A_second_value_after_the_object_is_malformed(string json)
    {
        // System.Text.Json's reader (AllowMultipleValues off) throws on any second value, so this is the
        // reader's message; the parser's own "more data follows" answer is never reached (see docs/testing.md).
        var invalid = Refused(json, ErrorCodes.MalformedJson);
        Assert.StartsWith("message is not valid JSON: ", invalid.Message);
    }

    [Fact]
    public void Nesting_deeper_than_eight_is_malformed_and_eight_is_not()
    {
        const string eight = """{"action":"ping","x":[[[[[[[1]]]]]]]}""";
        Assert.Same(ClientCommand.Ping.Instance, Parse(eight));
        const string nine = """{"action":"ping","x":[[[[[[[[1]]]]]]]]}""";
        Refused(nine, ErrorCodes.MalformedJson);
    }

    [Fact]
    public void A_lone_surrogate_names_the_field_it_was_found_in()
    {
        var action = Refused("""{"action":"\udfff"}""", ErrorCodes.MalformedJson);
        Assert.Equal("\"action\" holds a string that is not valid Unicode (a lone surrogate escape)", action.Message);
        var topics = Refused("""{"action":"unsubscribe","topics":["cameras","\ud800"]}""", ErrorCodes.MalformedJson);
        Assert.Equal("\"topics\" holds a string that is not valid Unicode (a lone surrogate escape)", topics.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void An_empty_topics_query_means_every_topic(string? query)
    {
        Assert.True(ClientMessageParser.TryParseTopicList(query, out var topics, out var unknown));
        Assert.Equal(TopicSet.All, topics);
        Assert.Null(unknown);
    }

    [Fact]
    public void A_topics_query_skips_empty_items_trims_names_and_knows_all()
    {
        Assert.True(ClientMessageParser.TryParseTopicList(" weather ,, congestion,", out var two, out var unknown));
        Assert.Equal(TopicSet.Of(Topic.Weather, Topic.Congestion), two);
        Assert.Null(unknown);
        Assert.True(ClientMessageParser.TryParseTopicList("cameras,all", out var all, out _));
        Assert.Equal(TopicSet.All, all);
    }

    [Fact]
    public void A_topics_query_with_an_unknown_name_leaves_the_topics_at_all()
    {
        Assert.False(ClientMessageParser.TryParseTopicList("cameras,boats,trains", out var topics, out var unknown));
        Assert.Equal("boats", unknown);
        Assert.Equal(TopicSet.All, topics);
    }

    [Fact]
    public void TryGetString_gives_the_value_or_false_for_a_lone_surrogate()
    {
        using var good = System.Text.Json.JsonDocument.Parse("\"caf\\u00e9\"");
        Assert.True(ClientMessageParser.TryGetString(good.RootElement, out var value));
        Assert.Equal("café", value);
        using var bad = System.Text.Json.JsonDocument.Parse("\"\\ud800\"");
        Assert.False(ClientMessageParser.TryGetString(bad.RootElement, out var none));
        Assert.Null(none);
    }
}
