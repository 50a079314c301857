using System.Net;
using System.Net.WebSockets;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// Who may connect, and how many: the Origin allow-list, and the connection limits in total and
/// per client address (from a trusted proxy's X-Forwarded-For), refused before the upgrade with a
/// problem body, on both ways a WebSocket arrives; a connected client meanwhile misses nothing.
/// </summary>
public sealed class AdmissionSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["ALLOWED_ORIGINS"] = "https://traffic.example, https://*.hcmc.example",
            ["MAX_CONNECTIONS_PER_ADDRESS"] = "2",
        });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    /// <summary>Connects with extra request headers; the status the server answered, and the socket when it is 101.</summary>
    private async Task<(HttpStatusCode Status, ClientWebSocket Socket)> TryConnectAsync(params (string Name, string Value)[] headers)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        foreach (var (name, value) in headers) socket.Options.SetRequestHeader(name, value);
        try { await socket.ConnectAsync(_service.WebSocketUri(), CancellationToken.None); }
        catch (WebSocketException) { }
        return (socket.HttpStatusCode, socket);
    }

    [Theory]
    [InlineData("https://traffic.example")]
    [InlineData("https://map.hcmc.example")]
    public async Task A_listed_origin_connects(string origin)
    {
        var (status, socket) = await TryConnectAsync(("Origin", origin));
        using (socket) Assert.Equal(HttpStatusCode.SwitchingProtocols, status);
    }

    [Fact]
    public async Task A_page_on_the_servers_own_host_connects_and_a_client_without_origin_too()
    {
        var (status, socket) = await TryConnectAsync(("Origin", $"http://{_service.BaseAddress.Authority}"));
        using (socket) Assert.Equal(HttpStatusCode.SwitchingProtocols, status);
        await using var noOrigin = await _service.ConnectAsync();
        await noOrigin.ExpectGreetingAsync();
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("https://traffic.example.evil.example")]
    [InlineData("http://localhost:3000")] // not Development: localhost pages are not allowed by default
    [InlineData("null")]
    public async Task Another_origin_is_refused_with_403_and_a_problem_before_the_upgrade(string origin)
    {
        await using var raw = await RawHttp.OpenAsync(_service);
        await raw.SendAsync(RawHttp.Upgrade(extraHeaders: $"Origin: {origin}\r\n"));
        var response = await raw.ReadResponseAsync();
        Assert.Equal(403, response.Status);
        Assert.Equal("Origin not allowed", response.Problem.GetProperty("title").GetString());
        Assert.Contains("ALLOWED_ORIGINS", response.Problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Another_origin_is_refused_on_the_standard_path_too()
    {
        await using var raw = await RawHttp.OpenAsync(_service);
        await raw.SendAsync("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.Equal(200, (await raw.ReadResponseAsync()).Status);
        await raw.SendAsync(RawHttp.Upgrade(extraHeaders: "Origin: https://evil.example\r\n"));
        var response = await raw.ReadResponseAsync();
        Assert.Equal(403, response.Status);
        Assert.Equal("Origin not allowed", response.Problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task One_address_behind_a_trusted_proxy_gets_429_with_retry_after_beyond_its_limit_others_still_connect()
    {
        await using var bystander = await _service.ConnectAsync("/ws?topics=accidents");
        await bystander.ExpectGreetingAsync();

        // The test connects from 127.0.0.1, a trusted proxy by default: X-Forwarded-For names the client.
        var held = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var (ok, socket) = await TryConnectAsync(("X-Forwarded-For", "198.51.100.1, 203.0.113.7"));
                held.Add(socket);
                Assert.Equal(HttpStatusCode.SwitchingProtocols, ok);
            }

            await using (var raw = await RawHttp.OpenAsync(_service))
            {
                await raw.SendAsync(RawHttp.Upgrade(extraHeaders: "X-Forwarded-For: 203.0.113.7\r\n"));
                var response = await raw.ReadResponseAsync();
                Assert.Equal(429, response.Status);
                Assert.Equal("5", response.Header("Retry-After"));
                Assert.Contains("203.0.113.7", response.Problem.GetProperty("detail").GetString());
            }

            // The same on the standard path (an upgrade on a reused connection).
            await using (var raw = await RawHttp.OpenAsync(_service))
            {
                await raw.SendAsync("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
                await raw.ReadResponseAsync();
                await raw.SendAsync(RawHttp.Upgrade(extraHeaders: "X-Forwarded-For: 203.0.113.7\r\n"));
                var response = await raw.ReadResponseAsync();
                Assert.Equal(429, response.Status);
                Assert.NotNull(response.Header("Retry-After"));
            }

            var (other, otherSocket) = await TryConnectAsync(("X-Forwarded-For", "203.0.113.8"));
            held.Add(otherSocket);
            Assert.Equal(HttpStatusCode.SwitchingProtocols, other);

            // Its connections end: the address may connect again (the count follows the sockets).
            foreach (var socket in held.Take(2)) await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            await Poll.UntilAsync(async () =>
            {
                var (again, socket) = await TryConnectAsync(("X-Forwarded-For", "203.0.113.7"));
                held.Add(socket);
                return again == HttpStatusCode.SwitchingProtocols;
            }, "the address can connect again once its sockets are closed");

            Assert.Equal(HttpStatusCode.Accepted,
                (await _service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker = "still-here" } })).StatusCode);
            await bystander.NextOfTypeAsync("ALERT");
        }
        finally
        {
            foreach (var socket in held) socket.Dispose();
        }
    }

    [Fact]
    public async Task Loopback_clients_are_not_held_to_the_per_address_limit()
    {
        var clients = new List<TestClient>();
        try
        {
            for (var i = 0; i < 4; i++) clients.Add(await _service.ConnectAsync()); // limit is 2 per address
            foreach (var client in clients) await client.ExpectGreetingAsync();
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
    }
}

/// <summary>MAX_CONNECTIONS: beyond it, 503 with Retry-After before the upgrade; a slot frees when a socket ends.</summary>
public sealed class TotalConnectionLimitSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["MAX_CONNECTIONS"] = "3",
            ["TRUSTED_PROXIES"] = "none", // X-Forwarded-For from this test is ignored
        });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Beyond_the_total_a_handshake_gets_503_with_retry_after_and_the_held_clients_keep_receiving()
    {
        var clients = new List<TestClient>();
        try
        {
            for (var i = 0; i < 3; i++) clients.Add(await _service.ConnectAsync("/ws?topics=cameras"));
            foreach (var client in clients) await client.ExpectGreetingAsync();

            await using (var raw = await RawHttp.OpenAsync(_service))
            {
                await raw.SendAsync(RawHttp.Upgrade(extraHeaders: "X-Forwarded-For: 203.0.113.9\r\n"));
                var response = await raw.ReadResponseAsync();
                Assert.Equal(503, response.Status);
                Assert.Equal("5", response.Header("Retry-After"));
                Assert.Equal("Too many connections", response.Problem.GetProperty("title").GetString());
            }

            await _service.PublishAsync(new { type = "UPDATE", topic = "cameras", data = new { marker = "full-house" } });
            foreach (var client in clients) await client.NextOfTypeAsync("UPDATE");

            // One leaves: a new client gets its place.
            await clients[0].DisposeAsync();
            clients.RemoveAt(0);
            TestClient? late = null;
            await Poll.UntilAsync(async () =>
            {
                try { late = await _service.ConnectAsync(); return true; }
                catch (WebSocketException) { return false; }
            }, "a place frees when a client leaves");
            clients.Add(late!);
            await late!.ExpectGreetingAsync();
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
    }
}
