using System.Buffers;
using System.Text;
using Traffic.Host.WebSockets;
using Xunit;

namespace Traffic.Tests.Host;

public sealed class WebSocketHandshakeSpecs
{
    private static ReadOnlySequence<byte> Bytes(string text) => new(Encoding.Latin1.GetBytes(text));

    private const string Upgrade =
        "GET /ws?topics=cameras,weather HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n" +
        "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    private static RequestHead.ScanState Scan(string text, out HeadFault? fault, HeadLimits? limits = null) =>
        RequestHead.Scan(Bytes(text), limits ?? HeadLimits.Default, out _, out fault);

    [Fact]
    public void The_head_ends_at_the_blank_line_and_not_before_it_has_arrived()
    {
        Assert.Equal(RequestHead.ScanState.Incomplete, Scan(Upgrade[..40], out _));
        var withMore = Bytes(Upgrade + "extra");
        Assert.Equal(RequestHead.ScanState.Complete, RequestHead.Scan(withMore, HeadLimits.Default, out var end, out _));
        Assert.Equal(Upgrade.Length, withMore.Slice(0, end).Length);
    }

    [Fact]
    public void A_head_is_held_to_the_limit_even_when_it_has_arrived_whole()
    {
        var limits = new HeadLimits(MaxRequestLineBytes: 100, MaxHeadBytes: 200, MaxHeaderCount: 100);
        var big = Upgrade.Replace("Host:", $"X-Pad: {new string('a', 300)}\r\nHost:");
        Assert.Equal(RequestHead.ScanState.Refused, Scan(big, out var fault, limits));
        Assert.Equal(431, fault!.Status);
        Assert.Equal(RequestHead.ScanState.Complete, Scan(Upgrade, out _, limits));
    }

    [Theory]
    [InlineData("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "TLS")]
    [InlineData("hello there, server", "cannot be an HTTP/1.1 request")]
    [InlineData("GET /ws\x01", "control character")]
    [InlineData("GET /ws HTTP/1.1\n", "HTTP/1.1 and CRLF")]
    [InlineData("GET /ws SMTP", "HTTP/1.1 and CRLF")]
    public void Bytes_that_cannot_be_a_request_are_refused_before_any_blank_line(string start, string named)
    {
        Assert.Equal(RequestHead.ScanState.Refused, Scan(start, out var fault));
        Assert.Equal(400, fault!.Status);
        Assert.Contains(named, fault.Detail);
    }

    [Fact]
    public void An_upgrade_is_recognised_with_its_path_query_and_the_rfc_6455_accept_key()
    {
        var handshake = WebSocketHandshake.TryParse(Bytes(Upgrade));
        Assert.NotNull(handshake);
        Assert.Equal("/ws", handshake.Path);
        Assert.Equal("?topics=cameras,weather", handshake.Query);
        Assert.Null(handshake.Problem);
        // The worked example of RFC 6455 section 1.3.
        Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", Encoding.ASCII.GetString(handshake.SwitchingProtocolsResponse()));
        Assert.Contains("Sec-WebSocket-Protocol: traffic.v1\r\n", Encoding.ASCII.GetString(handshake.SwitchingProtocolsResponse("traffic.v1")));
    }

    [Theory]
    [InlineData("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n\r\n")]
    public void Anything_else_is_left_to_the_http_pipeline(string head) =>
        Assert.Null(WebSocketHandshake.TryParse(Bytes(head)));

    [Theory]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n", "Version", 426)]
    [InlineData("Sec-WebSocket-Version: 13\r\n", "Key", 400)]
    [InlineData("Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n", "Key", 400)]
    public void A_bad_key_or_version_is_a_problem(string headers, string named, int status)
    {
        var handshake = WebSocketHandshake.TryParse(Bytes($"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{headers}\r\n"));
        Assert.Contains(named, handshake!.Problem);
        Assert.Equal(status, handshake.Fault!.Status);
    }

    [Theory]
    [InlineData("Bad: header\r\nno colon here\r\n", "no colon")]
    [InlineData("Host : x\r\n", "hitespace between a header name and its colon")]
    [InlineData("X-Folded: a\r\n  b\r\n", "folding")]
    public void A_malformed_header_line_is_refused_with_400_naming_it(string headers, string named)
    {
        var head = RequestHead.Parse(Bytes($"GET /ws HTTP/1.1\r\nHost: x\r\n{headers}\r\n"), HeadLimits.Default, out var fault);
        Assert.Null(head);
        Assert.Equal(400, fault!.Status);
        Assert.Contains(named, fault.Detail);
    }

    [Fact]
    public void Too_many_header_lines_are_refused_with_431()
    {
        var headers = string.Concat(Enumerable.Range(0, 101).Select(i => $"X-{i}: v\r\n"));
        Assert.Null(RequestHead.Parse(Bytes($"GET /ws HTTP/1.1\r\nHost: x\r\n{headers}\r\n"), HeadLimits.Default, out var fault));
        Assert.Equal(431, fault!.Status);
    }

    /// <summary>Feeds a head one byte more per read, as a slow client sends it, carrying the progress between reads.</summary>
    private static (RequestHead.ScanState State, long End, HeadFault? Fault, int Reads) ByteByByte(string text, HeadLimits limits)
    {
        var bytes = Encoding.Latin1.GetBytes(text);
        var progress = new RequestHead.ScanProgress();
        for (var n = 1; n <= bytes.Length; n++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes, 0, n);
            var state = RequestHead.Scan(buffer, limits, ref progress, out var end, out var fault);
            if (state != RequestHead.ScanState.Incomplete) return (state, state == RequestHead.ScanState.Complete ? buffer.Slice(0, end).Length : -1, fault, n);
        }
        return (RequestHead.ScanState.Incomplete, -1, null, bytes.Length);
    }

    [Fact]
    public void A_head_sent_a_byte_at_a_time_is_judged_as_if_it_came_whole()
    {
        var whole = ByteByByte(Upgrade + "frame bytes", HeadLimits.Default);
        Assert.Equal((RequestHead.ScanState.Complete, (long)Upgrade.Length), (whole.State, whole.End));
        Assert.Equal(Upgrade.Length, whole.Reads); // complete on the read that brought the blank line

        var tls = ByteByByte("\x16\x03\x01\x00\xa5", HeadLimits.Default);
        Assert.Equal((RequestHead.ScanState.Refused, 1), (tls.State, tls.Reads));

        var limits = new HeadLimits(MaxRequestLineBytes: 100, MaxHeadBytes: 200, MaxHeaderCount: 100);
        var big = ByteByByte(Upgrade.Replace("Host:", $"X-Pad: {new string('a', 300)}\r\nHost:"), limits);
        Assert.Equal((RequestHead.ScanState.Refused, 431, 200), (big.State, big.Fault!.Status, big.Reads));
    }
}
