using System.Security.Cryptography;
using LinqToDB.Data;
using Microsoft.Data.Sqlite;
using Traffic.Host;
using Traffic.Host.Configuration;
using Traffic.Host.Persistence;
using Xunit;

namespace Traffic.Tests.Persistence;

/// <summary>
/// The SQLite file an operator points the service at: a corrupt file, another application's database
/// and a file another running instance holds are each refused with one line naming the file and the
/// fault, exit code 2, and the file left as it was; a cluster node cannot use SQLite.
/// </summary>
public sealed class DatabaseFileSpecs : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"traffic-dbfile-{Guid.NewGuid():N}");

    public DatabaseFileSpecs() => Directory.CreateDirectory(_directory);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_corrupt_file_is_refused_and_left_as_it_was()
    {
        var path = Path.Combine(_directory, "corrupt.db");
        await File.WriteAllBytesAsync(path, RandomNumberGenerator.GetBytes(8192));
        var before = Hash(path);

        var (exitCode, lines) = await RunAsync(("PERSISTENCE_PATH", path));

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        var line = Assert.Single(lines);
        Assert.Contains(path, line);
        Assert.Contains("not a usable SQLite database", line);
        Assert.Equal(before, Hash(path));
    }

    [Fact]
    public async Task Another_applications_database_is_refused_and_left_as_it_was()
    {
        var path = Path.Combine(_directory, "foreign.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (9.5);";
            command.ExecuteNonQuery();
        }
        var before = Hash(path);

        var (exitCode, lines) = await RunAsync(("PERSISTENCE_PATH", path));

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        var line = Assert.Single(lines);
        Assert.Contains(path, line);
        Assert.Contains("another application's tables (invoices)", line);
        Assert.Equal(before, Hash(path));
    }

    [Fact]
    public async Task A_file_held_by_a_running_instance_is_refused()
    {
        var path = Path.Combine(_directory, "traffic.db");
        using var held = new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); // as a running instance holds it

        var (exitCode, lines) = await RunAsync(("PERSISTENCE_PATH", path));

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        Assert.Contains("in use by another running instance", Assert.Single(lines));
    }

    [Fact]
    public async Task A_cluster_node_cannot_keep_a_sqlite_file()
    {
        var (exitCode, lines) = await RunAsync(("PERSISTENCE", "sqlite"), ("AKKA_HOSTNAME", "127.0.0.1"), ("AKKA_PORT", "0"));

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        Assert.Contains("use PERSISTENCE=postgres", Assert.Single(lines));
    }

    [Theory]
    [InlineData("PERSISTENCE", "mysql", "PERSISTENCE=\"mysql\" is not sqlite, postgres or none")]
    [InlineData("PERSISTENCE", "postgres", "PERSISTENCE=postgres needs PERSISTENCE_CONNECTION_STRING")]
    [InlineData("PERSISTENCE_SQLITE_SYNC", "off", "PERSISTENCE_SQLITE_SYNC=\"off\" is not full or normal")]
    public async Task A_bad_persistence_setting_is_named(string name, string value, string expected)
    {
        var (exitCode, lines) = await RunAsync((name, value));

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        Assert.Contains(expected, Assert.Single(lines));
    }

    /// <summary>
    /// PERSISTENCE_SQLITE_SYNC reaches every connection the journal and the snapshot store open (a
    /// setting of the connection, not of the file), by the blocking and the asynchronous way of opening.
    /// </summary>
    [Theory]
    [InlineData(SqliteSync.Full, 2)]
    [InlineData(SqliteSync.Normal, 1)]
    public async Task The_stores_connections_are_opened_with_the_chosen_synchronous_setting(SqliteSync sync, long expected)
    {
        var settings = new PersistenceSettings(PersistenceKind.Sqlite, SqlitePath: Path.Combine(_directory, "sync.db"), SqliteSync: sync);
        using (var blocking = new DataConnection(PersistenceStore.SqliteOptions(settings)))
            Assert.Equal(expected, blocking.Execute<long>("PRAGMA synchronous;"));
        await using var asynchronous = new DataConnection(PersistenceStore.SqliteOptions(settings));
        Assert.Equal(expected, await asynchronous.ExecuteAsync<long>("PRAGMA synchronous;"));
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static async Task<(int ExitCode, string[] Lines)> RunAsync(params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["WS_HOST"] = "127.0.0.1",
            ["WS_PORT"] = "0",
            ["SIMULATOR_ENABLED"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings) all[key] = value;
        var error = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // a start that wrongly succeeds ends the spec
        var exitCode = await TrafficProgram.RunAsync([], error, all, stop.Token);
        return (exitCode, error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
