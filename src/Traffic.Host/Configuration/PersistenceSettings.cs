namespace Traffic.Host.Configuration;

/// <summary>Where the streams' history and the city's state are kept (docs/operations.md, "Persistence").</summary>
public enum PersistenceKind
{
    /// <summary>Memory only: a restart starts new epochs (the behaviour before persistence).</summary>
    None,

    /// <summary>A SQLite file (single node; the default there).</summary>
    Sqlite,

    /// <summary>PostgreSQL, shared by every node of a cluster.</summary>
    Postgres,
}

/// <summary>When a SQLite commit is on disk (SQLite's <c>PRAGMA synchronous</c>, in WAL mode).</summary>
public enum SqliteSync
{
    /// <summary>Every commit waits for the disk (fsync): survives a crash of the machine. The default.</summary>
    Full,

    /// <summary>Commits reach the disk at checkpoints: survives a crash of the process (kill -9), not of the machine; no fsync per commit.</summary>
    Normal,
}

/// <summary>
/// PERSISTENCE (sqlite | postgres | none), PERSISTENCE_PATH (the SQLite file, default data/traffic.db
/// under the working directory), PERSISTENCE_SQLITE_SYNC (full | normal, default full),
/// PERSISTENCE_CONNECTION_STRING (PostgreSQL).
/// </summary>
public sealed record PersistenceSettings(PersistenceKind Kind, string? SqlitePath = null, string? ConnectionString = null,
    SqliteSync SqliteSync = SqliteSync.Full)
{
    public const string DefaultSqlitePath = "data/traffic.db";

    public static readonly PersistenceSettings None = new(PersistenceKind.None);

    /// <summary>The settings, and for a cluster node without PERSISTENCE the line that says it keeps nothing.</summary>
    public static (PersistenceSettings Settings, string? Notice) From(IConfiguration config, bool clustered)
    {
        var raw = config["PERSISTENCE"]?.Trim().ToLowerInvariant();
        var sync = config["PERSISTENCE_SQLITE_SYNC"]?.Trim().ToLowerInvariant() switch
        {
            null or "" or "full" => SqliteSync.Full,
            "normal" => SqliteSync.Normal,
            _ => throw new ServiceConfigurationException($"PERSISTENCE_SQLITE_SYNC=\"{config["PERSISTENCE_SQLITE_SYNC"]}\" is not full or normal"),
        };
        if (string.IsNullOrEmpty(raw))
        {
            if (clustered)
                return (None, "PERSISTENCE is not set: in a cluster nothing is kept across a restart of every node " +
                              "(set PERSISTENCE=postgres and PERSISTENCE_CONNECTION_STRING to keep positions, history and state)");
            raw = "sqlite";
        }
        switch (raw)
        {
            case "none":
                return (None, null);
            case "sqlite":
                if (clustered)
                    throw new ServiceConfigurationException(
                        "PERSISTENCE=sqlite keeps a file on one machine, which the nodes of a cluster cannot share: use PERSISTENCE=postgres (or none)");
                var path = config["PERSISTENCE_PATH"] is { Length: > 0 } p ? p : DefaultSqlitePath;
                return (new PersistenceSettings(PersistenceKind.Sqlite, SqlitePath: Path.GetFullPath(path), SqliteSync: sync), null);
            case "postgres" or "postgresql":
                if (config["PERSISTENCE_CONNECTION_STRING"] is not { Length: > 0 } connection)
                    throw new ServiceConfigurationException("PERSISTENCE=postgres needs PERSISTENCE_CONNECTION_STRING (e.g. Host=db;Database=traffic;Username=traffic;Password=...)");
                return (new PersistenceSettings(PersistenceKind.Postgres, ConnectionString: connection), null);
            default:
                throw new ServiceConfigurationException($"PERSISTENCE=\"{config["PERSISTENCE"]}\" is not sqlite, postgres or none");
        }
    }

    /// <summary>For the start line: where, without any password.</summary>
    public override string ToString() => Kind switch
    {
        PersistenceKind.Sqlite => SqliteSync == SqliteSync.Full ? $"sqlite ({SqlitePath})" : $"sqlite ({SqlitePath}, synchronous=normal)",
        PersistenceKind.Postgres => $"postgres ({WithoutPassword(ConnectionString!)})",
        _ => "none",
    };

    private static string WithoutPassword(string connection) =>
        string.Join(';', connection.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Where(part => !part.TrimStart().StartsWith("password", StringComparison.OrdinalIgnoreCase)));
}
