using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Traffic.Host;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// wss:// and https:// on Kestrel (docs/operations.md, "TLS"): a certificate made here, in PEM files as an
/// operator has them; real clients that trust exactly that certificate; both ways a WebSocket is accepted
/// (the direct path on a new connection, the HTTP pipeline on a reused one) over TLS.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class TlsSpecs : IAsyncLifetime
{
    private readonly TlsTestCertificate _certificate = new(Directory.CreateTempSubdirectory("tls-specs-").FullName);
    private TlsService _service = null!;

    public async Task InitializeAsync() => _service = await TlsService.StartAsync(_certificate);
    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_wss_client_that_trusts_the_certificate_gets_the_ack_the_snapshot_and_a_published_alert(bool deflate)
    {
        await using var client = await WssClient.ConnectAsync(_service.Wss("/ws?topics=accidents"), _certificate, deflate);

        // A new connection's upgrade is taken by the direct path, after TLS: its 101 is the service's own
        // (no Date or Server header, which Kestrel's HTTP layer adds to every response of the pipeline).
        Assert.NotNull(client.HandshakeHeaders);
        Assert.False(client.HandshakeHeaders!.ContainsKey("Date"), "the 101 came from the HTTP pipeline, not the direct path");
        var extensions = client.HandshakeHeaders.TryGetValue("Sec-WebSocket-Extensions", out var values) ? string.Join(",", values) : "";
        if (deflate) Assert.StartsWith("permessage-deflate", extensions);
        else Assert.Equal("", extensions);

        var ack = await client.NextAsync();
        Assert.Equal("connection", ack.Type());
        Assert.Equal(["accidents"], ack.GetProperty("topics").Strings());
        var snapshot = await client.NextAsync();
        Assert.Equal("SNAPSHOT", snapshot.Type());
        Assert.True(snapshot.GetProperty("data").GetProperty("accidents").GetArrayLength() > 0);

        var marker = $"tls-{deflate}-{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.Accepted, await _service.PublishAlertAsync(marker));
        var alert = await client.NextAsync(m => m.Type() == "ALERT");
        Assert.Equal(marker, alert.GetProperty("data").GetProperty("marker").GetString());
    }

    [Fact]
    public async Task An_upgrade_on_a_reused_tls_connection_is_served_by_the_http_pipeline_the_same_way()
    {
        using var connection = await TlsConnection.OpenAsync(_service.Https!, _certificate);
        await connection.SendAsync("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        var (healthHead, healthBody) = await connection.ReadResponseAsync();
        Assert.StartsWith("HTTP/1.1 200", healthHead);
        Assert.Contains("ok", healthBody);

        await connection.SendAsync(RawHttp.Upgrade("/ws?topics=accidents", host: "Host: 127.0.0.1\r\n"));
        var (head, _) = await connection.ReadResponseAsync();
        Assert.StartsWith("HTTP/1.1 101", head);
        Assert.Contains("Date:", head); // Kestrel's HTTP layer answered: the standard path

        var socket = WebSocket.CreateFromStream(connection.Stream, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        await using var client = new WssClient(socket);
        Assert.Equal("connection", (await client.NextAsync()).Type());
        Assert.Equal("SNAPSHOT", (await client.NextAsync()).Type());
        var marker = $"tls-pipeline-{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.Accepted, await _service.PublishAlertAsync(marker));
        var alert = await client.NextAsync(m => m.Type() == "ALERT");
        Assert.Equal(marker, alert.GetProperty("data").GetProperty("marker").GetString());
    }

    [Fact]
    public async Task Https_serves_the_api_and_the_dashboard_and_plain_http_stays_on_its_own_port()
    {
        using var health = await _service.Client.GetAsync(new Uri(_service.Https!, "/health"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var page = await _service.Client.GetAsync(_service.Https);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        Assert.NotNull(_service.Http); // HTTP_ENABLED defaults to true: WS_PORT keeps serving plain HTTP
        Assert.NotEqual(_service.Http!.Port, _service.Https!.Port);
        await using var plain = await TestClient.ConnectAsync(new Uri($"ws://{_service.Http.Authority}/ws?topics=accidents"));
        await plain.ExpectGreetingAsync();
    }

    /// <summary>
    /// Plain HTTP sent to the TLS port is not a TLS handshake: the connection is closed on those bytes,
    /// not held until Kestrel's handshake timeout (10 s) ends it.
    /// </summary>
    [Fact]
    public async Task A_plain_http_client_on_the_tls_port_is_refused_at_once()
    {
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(_service.Https!.Host, _service.Https.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(RawHttp.Upgrade(host: "Host: 127.0.0.1\r\n")));

        var clock = Stopwatch.StartNew();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(8)); // below the 10 s handshake timeout
        var answer = new MemoryStream();
        try
        {
            var buffer = new byte[4096];
            int read;
            while ((read = await stream.ReadAsync(buffer, wait.Token)) > 0) answer.Write(buffer, 0, read);
        }
        catch (IOException) { } // a reset is a refusal too
        catch (OperationCanceledException)
        {
            Assert.Fail($"the TLS port held a plain HTTP connection open for {clock.Elapsed.TotalSeconds:0.0} s");
        }
        Assert.DoesNotContain("101", Encoding.ASCII.GetString(answer.ToArray()));

        // The .NET client says so at once as well, instead of waiting.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(8) };
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://{_service.Https.Authority}/health"));
        Assert.IsNotType<TaskCanceledException>(refused.InnerException);
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_certificate_is_not_served()
    {
        using var socket = new ClientWebSocket(); // the machine's trust store: a self-signed certificate is not in it
        await Assert.ThrowsAnyAsync<WebSocketException>(() => socket.ConnectAsync(_service.Wss(), CancellationToken.None));
    }
}

/// <summary>The other ways TLS is set up, and what a wrong setting says.</summary>
[Trait("Speed", "Slow")]
public sealed class TlsSetupSpecs
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tls-setup-specs-").FullName;

    [Fact]
    public async Task With_plain_http_turned_off_only_the_tls_port_listens()
    {
        var certificate = new TlsTestCertificate(_directory);
        await using var service = await TlsService.StartAsync(certificate, new Dictionary<string, string?> { ["HTTP_ENABLED"] = "false" });

        Assert.Null(service.Http);
        await using var client = await WssClient.ConnectAsync(service.Wss("/ws?topics=accidents"), certificate, deflate: true);
        Assert.Equal("connection", (await client.NextAsync()).Type());
    }

    /// <summary>Kestrel's standard certificate configuration: a PKCS#12 file with its password (Kestrel__Certificates__Default__Path).</summary>
    [Fact]
    public async Task The_certificate_may_come_from_kestrels_own_configuration()
    {
        var authority = new TestCertificates(_directory, "spec-ca");
        var pfx = authority.Node("server");
        var trusted = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(pfx, TestCertificates.Password);
        await using var service = await TlsService.StartAsync(null, new Dictionary<string, string?>
        {
            ["Kestrel:Certificates:Default:Path"] = pfx,
            ["Kestrel:Certificates:Default:Password"] = TestCertificates.Password,
            ["HTTPS_PORT"] = "0",
        });

        var socket = new ClientWebSocket();
        socket.Options.RemoteCertificateValidationCallback = (_, presented, _, _) =>
            presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(trusted.RawData);
        await socket.ConnectAsync(service.Wss("/ws?topics=accidents"), CancellationToken.None);
        await using var client = new WssClient(socket);
        Assert.Equal("connection", (await client.NextAsync()).Type());
        Assert.Equal("SNAPSHOT", (await client.NextAsync()).Type());
    }

    private async Task<(int ExitCode, string[] Lines)> RunAsync(Dictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["WS_HOST"] = "127.0.0.1",
            ["WS_PORT"] = "0",
            ["SIMULATOR_ENABLED"] = "false",
            ["PERSISTENCE"] = "none",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings) all[key] = value;
        var error = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // a start that wrongly succeeds ends the spec
        var exitCode = await TrafficProgram.RunAsync([], error, all, stop.Token);
        return (exitCode, error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task A_missing_certificate_file_is_one_line_naming_it_and_exit_code_2()
    {
        var missing = Path.Combine(_directory, "nowhere.pem");
        var (exitCode, lines) = await RunAsync(new() { ["TLS_CERT_PATH"] = missing, ["TLS_KEY_PATH"] = missing });

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        Assert.Equal($"Cannot start: TLS_CERT_PATH=\"{missing}\" cannot be read: no such file", Assert.Single(lines));
    }

    [Fact]
    public async Task A_missing_key_file_is_named_and_not_the_certificate()
    {
        var certificate = new TlsTestCertificate(_directory);
        var missing = Path.Combine(_directory, "no-key.pem");
        var (exitCode, lines) = await RunAsync(new() { ["TLS_CERT_PATH"] = certificate.CertPath, ["TLS_KEY_PATH"] = missing });

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        Assert.Equal($"Cannot start: TLS_KEY_PATH=\"{missing}\" cannot be read: no such file", Assert.Single(lines));
    }

    [Fact]
    public async Task Files_that_are_not_a_certificate_and_its_key_are_named_in_one_line()
    {
        var certificate = new TlsTestCertificate(_directory);
        var garbage = Path.Combine(_directory, "garbage.pem");
        await File.WriteAllTextAsync(garbage, "not a certificate\n");
        var other = new TlsTestCertificate(Path.Combine(_directory, "other"));

        var (notPem, notPemLines) = await RunAsync(new() { ["TLS_CERT_PATH"] = garbage, ["TLS_KEY_PATH"] = certificate.KeyPath });
        Assert.Equal(TrafficProgram.BadSetting, notPem);
        Assert.StartsWith($"Cannot start: TLS_CERT_PATH=\"{garbage}\" holds no PEM certificate", Assert.Single(notPemLines));

        var (wrongKey, wrongKeyLines) = await RunAsync(new() { ["TLS_CERT_PATH"] = certificate.CertPath, ["TLS_KEY_PATH"] = other.KeyPath });
        Assert.Equal(TrafficProgram.BadSetting, wrongKey);
        Assert.StartsWith($"Cannot start: TLS_KEY_PATH=\"{other.KeyPath}\" holds no private key that matches the certificate of TLS_CERT_PATH=\"{certificate.CertPath}\"",
            Assert.Single(wrongKeyLines));

        var (noKey, noKeyLines) = await RunAsync(new() { ["TLS_CERT_PATH"] = certificate.CertPath });
        Assert.Equal(TrafficProgram.BadSetting, noKey);
        Assert.Contains("set TLS_KEY_PATH", Assert.Single(noKeyLines));
    }

    [Theory]
    [InlineData("HTTP_ENABLED", "false", "HTTP_ENABLED=false needs a certificate")]
    [InlineData("HTTP_ENABLED", "sometimes", "HTTP_ENABLED=\"sometimes\" is not true or false")]
    [InlineData("HTTPS_PORT", "5443", "HTTPS_PORT=\"5443\" is set without a certificate")]
    [InlineData("TLS_KEY_PATH", "/etc/key.pem", "TLS_KEY_PATH is set without TLS_CERT_PATH")]
    public async Task A_tls_setting_without_what_it_needs_is_one_line_and_exit_code_2(string name, string value, string expected)
    {
        var (exitCode, lines) = await RunAsync(new() { [name] = value });

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        Assert.Contains(expected, Assert.Single(lines));
    }

    [Fact]
    public async Task A_kestrel_certificate_file_that_is_missing_is_named_too()
    {
        var missing = Path.Combine(_directory, "server.pfx");
        var (exitCode, lines) = await RunAsync(new() { ["Kestrel:Certificates:Default:Path"] = missing });

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        Assert.Equal($"Cannot start: Kestrel:Certificates:Default:Path=\"{missing}\" cannot be read: no such file", Assert.Single(lines));
    }

    /// <summary>The built program, as an operator starts it: the one line and the exit code, nothing else.</summary>
    [Fact]
    public async Task The_program_prints_one_line_naming_the_file_and_exits_2()
    {
        var missing = Path.Combine(_directory, "cert.pem");
        var dll = HostDll();
        await using var host = ChildProcess.Start("tls-missing", "dotnet", [dll],
            new Dictionary<string, string> { ["TLS_CERT_PATH"] = missing, ["TLS_KEY_PATH"] = missing, ["WS_HOST"] = "127.0.0.1", ["PERSISTENCE"] = "none" },
            _directory, Path.GetDirectoryName(dll));

        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the program did not exit:\n" + host.Tail());
        Assert.Equal(TrafficProgram.BadSetting, host.ExitCode);
        Assert.Equal($"Cannot start: TLS_CERT_PATH=\"{missing}\" cannot be read: no such file", host.Tail().Trim());
    }

    /// <summary>The host as built beside the tests (dotnet build of the solution builds both).</summary>
    private static string HostDll()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<configuration>/net10.0
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Traffic.sln")))
                return Path.Combine(dir.FullName, "src", "Traffic.Host", "bin", configuration, "net10.0", "Traffic.Host.dll");
        throw new InvalidOperationException("Traffic.sln not found above " + AppContext.BaseDirectory);
    }
}
