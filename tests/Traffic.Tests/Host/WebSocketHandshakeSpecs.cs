using System.Buffers;
using System.Text;
using Traffic.Host.WebSockets;
using Xunit;

namespace Traffic.Tests.Host;

public sealed class WebSocketHandshakeSpecs
{
    private static ReadOnlySequence<byte> Bytes(string text) => new(Encoding.ASCII.GetBytes(text));

    private const string Upgrade =
        "GET /ws?topics=cameras,weather HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n" +
        "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    [Fact]
    public void The_head_ends_at_the_blank_line_and_not_before_it_has_arrived()
    {
        Assert.False(WebSocketHandshake.TryFindHeadEnd(Bytes(Upgrade[..40]), out _));
        var withMore = Bytes(Upgrade + "extra");
        Assert.True(WebSocketHandshake.TryFindHeadEnd(withMore, out var end));
        Assert.Equal(Upgrade.Length, withMore.Slice(0, end).Length);
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
    }

    [Theory]
    [InlineData("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("POST /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n\r\n")]
    public void Anything_else_is_left_to_the_http_pipeline(string head) =>
        Assert.Null(WebSocketHandshake.TryParse(Bytes(head)));

    [Theory]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n", "Version")]
    [InlineData("Sec-WebSocket-Version: 13\r\n", "Key")]
    [InlineData("Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n", "Key")]
    public void A_bad_key_or_version_is_a_problem(string headers, string named)
    {
        var handshake = WebSocketHandshake.TryParse(Bytes($"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{headers}\r\n"));
        Assert.Contains(named, handshake!.Problem);
    }
}
