using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// RFC 6455 violations from a raw TCP client get the close frame the RFC asks for (1002 protocol
/// error, 1007 invalid UTF-8), on both ways a WebSocket is accepted: the direct path (the
/// connection's first request is the upgrade) and the standard ASP.NET Core path (an upgrade on a
/// reused keep-alive connection). (.NET's server WebSocket accepts unmasked client frames, so
/// that violation is not among them: docs/protocol.md.)
/// </summary>
public sealed class ProtocolViolationSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    public static TheoryData<string, bool, int> Cases() => new()
    {
        { "reserved bits", false, 1002 }, { "reserved bits", true, 1002 },
        { "reserved opcode", false, 1002 }, { "reserved opcode", true, 1002 },
        { "invalid UTF-8", false, 1007 }, { "invalid UTF-8", true, 1007 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_protocol_violation_gets_its_close_frame(string violation, bool afterAnotherRequest, int expectedCode)
    {
        using var raw = await RawWebSocketConnection.OpenAsync(_service.BaseAddress);
        if (afterAnotherRequest) Assert.StartsWith("HTTP/1.1 200", await raw.GetAsync("/health")); // keep-alive: the upgrade comes second

        Assert.StartsWith("HTTP/1.1 101", await raw.UpgradeAsync("/ws?topics=cameras"));
        // The ACK and the SNAPSHOT come first: read them so that the close frame is what follows.
        Assert.Equal(0x1, raw.ReadFrame().Opcode);
        Assert.Equal(0x1, raw.ReadFrame().Opcode);

        await raw.WriteAsync(violation switch
        {
            "reserved bits" => RawWebSocketConnection.Masked(0xC1, "hi"u8.ToArray()),   // RSV1 set, no extension negotiated
            "reserved opcode" => RawWebSocketConnection.Masked(0x83, "hi"u8.ToArray()), // opcode 3 is reserved
            _ => RawWebSocketConnection.Masked(0x81, [0xC3, 0x28]),                    // not UTF-8
        });

        var close = raw.ReadFrame();
        while (close.Opcode == 0x9) close = raw.ReadFrame(); // the server's keep-alive pings may come first
        Assert.Equal(0x8, close.Opcode);
        Assert.Equal(expectedCode, (close.Payload[0] << 8) | close.Payload[1]);
    }
}
