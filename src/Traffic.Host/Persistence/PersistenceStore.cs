using Akka.Hosting;
using Akka.Persistence.Hosting;
using Akka.Persistence.Sql.Hosting;
using LinqToDB;
using Microsoft.Data.Sqlite;
using Traffic.Host.Configuration;

namespace Traffic.Host.Persistence;

/// <summary>
/// The database behind Akka.Persistence (docs/operations.md, "Persistence"): checked before the
/// service starts, then given to Akka.Persistence.Sql (Linq2Db), which creates its tables on first use.
/// A SQLite file is created on first start, held by one process at a time (a lock file beside it),
/// and refused, with exit code 2 and nothing written, when it is corrupt or belongs to something else.
/// </summary>
public sealed class PersistenceStore : IDisposable
{
    private readonly FileStream? _lock;

    private PersistenceStore(PersistenceSettings settings, FileStream? fileLock)
    {
        Settings = settings;
        _lock = fileLock;
    }

    public PersistenceSettings Settings { get; }

    public bool Enabled => Settings.Kind != PersistenceKind.None;

    /// <summary>Checks (and for SQLite, creates and locks) the database; a problem is a <see cref="ServiceConfigurationException"/>.</summary>
    public static PersistenceStore Open(PersistenceSettings settings) =>
        settings.Kind == PersistenceKind.Sqlite ? new PersistenceStore(settings, OpenSqlite(settings.SqlitePath!)) : new PersistenceStore(settings, null);

    /// <summary>Akka.Persistence's journal and snapshot store on this database (nothing with <see cref="PersistenceKind.None"/>).</summary>
    public void Configure(AkkaConfigurationBuilder akka)
    {
        switch (Settings.Kind)
        {
            case PersistenceKind.Sqlite:
                akka.WithSqlPersistence(SqliteOptions(Settings), autoInitialize: true)
                    // SQLite takes one writer at a time: concurrent write transactions only wait on its lock
                    // (measured: one writer takes 2-7 ms off the publish p50, bench/results/20261207-issue18-persistence.md).
                    .AddHocon("akka.persistence.journal.sql.parallelism = 1", HoconAddMode.Prepend);
                break;
            case PersistenceKind.Postgres:
                akka.WithSqlPersistence(Settings.ConnectionString!, ProviderName.PostgreSQL15, autoInitialize: true);
                break;
        }
    }

    public void Dispose() => _lock?.Dispose();

    private static string SqliteConnectionString(string path) => new SqliteConnectionStringBuilder { DataSource = path }.ToString();

    /// <summary>
    /// The journal's and the snapshot store's connections to the file: each opened with the chosen
    /// <c>PRAGMA synchronous</c> (a setting of the connection, not of the file; SQLite's default is FULL).
    /// </summary>
    public static DataOptions SqliteOptions(PersistenceSettings settings)
    {
        var pragma = $"PRAGMA synchronous={(settings.SqliteSync == SqliteSync.Normal ? "NORMAL" : "FULL")};";
        return new DataOptions()
            .UseConnectionString(ProviderName.SQLiteMS, SqliteConnectionString(settings.SqlitePath!))
            .UseAfterConnectionOpened(
                connection => Scalar(connection, pragma),
                async (connection, cancel) =>
                {
                    await using var command = connection.CreateCommand();
                    command.CommandText = pragma;
                    await command.ExecuteNonQueryAsync(cancel);
                });
    }

    private static FileStream OpenSqlite(string path)
    {
        try { Directory.CreateDirectory(Path.GetDirectoryName(path)!); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ServiceConfigurationException($"PERSISTENCE_PATH: cannot create the folder of {path}: {e.Message}", e);
        }

        FileStream fileLock;
        try { fileLock = new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException e)
        {
            throw new ServiceConfigurationException($"{path} is in use by another running instance of the service (its lock {path}.lock is held); " +
                                                    "stop it, or give this one another PERSISTENCE_PATH", e);
        }

        try
        {
            Check(path);
            return fileLock;
        }
        catch
        {
            fileLock.Dispose();
            throw;
        }
    }

    /// <summary>A usable file: empty, or a SQLite database whose tables are this service's (Akka.Persistence.Sql's).</summary>
    private static void Check(string path)
    {
        var existed = File.Exists(path) && new FileInfo(path).Length > 0;
        try
        {
            using var connection = new SqliteConnection(SqliteConnectionString(path));
            connection.Open();
            if (existed)
            {
                var integrity = Scalar(connection, "PRAGMA quick_check;");
                if (integrity != "ok") throw Refuse(path, $"it fails SQLite's integrity check ({integrity})");
                var tables = Tables(connection);
                if (tables.Count > 0 && !tables.Contains("journal"))
                    throw Refuse(path, $"it holds another application's tables ({string.Join(", ", tables.Take(5))}), not this service's journal");
            }
            // Readers (resumes from the journal) do not wait for the writer; a commit survives a crash of the process.
            Scalar(connection, "PRAGMA journal_mode=WAL;");
        }
        catch (SqliteException e)
        {
            throw Refuse(path, $"it is not a usable SQLite database ({e.Message})", e);
        }
    }

    private static List<string> Tables(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name;";
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read()) names.Add(reader.GetString(0));
        return names;
    }

    private static string? Scalar(System.Data.Common.DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar()?.ToString();
    }

    private static ServiceConfigurationException Refuse(string path, string why, Exception? inner = null) =>
        new($"PERSISTENCE_PATH: {path} cannot be used: {why}; nothing was written to it (move it away, or set PERSISTENCE_PATH to another file)", inner!);
}
