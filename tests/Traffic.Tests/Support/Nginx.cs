using System.Text.RegularExpressions;

namespace Traffic.Tests.Support;

/// <summary>
/// nginx in front of the nodes, running the repository's own <c>deploy/nginx/traffic.conf</c>
/// with its ports replaced: the configuration docs/operations.md tells operators to use.
/// Started in the foreground (<c>daemon off</c>) under a temporary prefix; ended by its PID.
/// </summary>
public static class Nginx
{
    public static string? Binary() =>
        new[] { "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx" }.FirstOrDefault(File.Exists)
        ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "nginx")).FirstOrDefault(File.Exists);

    public static ChildProcess Start(string repositoryRoot, string directory, int listenPort, IReadOnlyList<int> nodePorts)
    {
        var binary = Binary() ?? throw new InvalidOperationException(
            "nginx is not installed: the cluster spec runs the load balancer configuration it documents. " +
            "Install it (apt-get install -y nginx; .ci/run does this on a fresh machine).");

        var site = File.ReadAllText(Path.Combine(repositoryRoot, "deploy", "nginx", "traffic.conf"));
        var documented = Regex.Matches(site, @"server 127\.0\.0\.1:(\d+)").Select(m => m.Groups[1].Value).ToList();
        if (documented.Count != nodePorts.Count) throw new InvalidOperationException($"traffic.conf lists {documented.Count} nodes, the spec runs {nodePorts.Count}");
        for (var i = 0; i < documented.Count; i++)
            site = site.Replace($"server 127.0.0.1:{documented[i]} ", $"server 127.0.0.1:{nodePorts[i]} ");
        site = Regex.Replace(site, @"listen 127\.0\.0\.1:\d+;", $"listen 127.0.0.1:{listenPort};");

        Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, (UnixFileMode)0b111_111_111); // the workers may run as another user
        File.WriteAllText(Path.Combine(directory, "traffic.conf"), site);
        File.WriteAllText(Path.Combine(directory, "nginx.conf"), $$"""
            worker_processes 1;
            error_log {{directory}}/error.log warn;
            pid {{directory}}/nginx.pid;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path {{directory}}/client_body;
                proxy_temp_path {{directory}}/proxy;
                fastcgi_temp_path {{directory}}/fastcgi;
                uwsgi_temp_path {{directory}}/uwsgi;
                scgi_temp_path {{directory}}/scgi;
                include {{directory}}/traffic.conf;
            }
            """);
        return ChildProcess.Start("nginx", binary, ["-p", directory, "-c", Path.Combine(directory, "nginx.conf"), "-g", "daemon off;"],
            new Dictionary<string, string>(), directory);
    }
}
