using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Juice.Station.Persistence;

/// <summary>Where the station keeps its data. Configuration section <c>Database</c>.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>The SQLite file (created with its folder when missing). Relative paths are relative to the working directory.</summary>
    public string Path { get; set; } = System.IO.Path.Combine("data", "juice.db");
}

/// <summary>
/// The station's embedded SQLite file: settings, both whitelists, charging history, the open transactions and
/// pending work. WAL journal with synchronous = FULL and one transaction per change, so that a station killed at
/// any moment (or losing power) keeps every finished session and every whitelist entry. One connection, used
/// under a lock: the station writes a few rows a minute.
/// </summary>
public sealed class StationDatabase : IDisposable
{
    private readonly object _gate = new();
    private SqliteConnection? _connection;

    public StationDatabase(IOptions<DatabaseOptions> options)
    {
        Path = System.IO.Path.GetFullPath(options.Value.Path);
    }

    public string Path { get; }

    /// <summary>The schema, one migration per version; a database is brought to the last version at start.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE whitelist (list TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'Accepted', expiry_utc TEXT, parent_id TEXT, added_utc TEXT NOT NULL, PRIMARY KEY (list, id));
        CREATE TABLE history (id INTEGER PRIMARY KEY, connector INTEGER NOT NULL, id_tag TEXT NOT NULL, id_source TEXT NOT NULL,
            start_utc TEXT NOT NULL, stop_utc TEXT NOT NULL, meter_start_wh REAL NOT NULL, meter_stop_wh REAL NOT NULL,
            stop_reason TEXT NOT NULL, ocpp_transaction_id INTEGER);
        CREATE INDEX history_start ON history (start_utc);
        CREATE TABLE open_transaction (connector INTEGER PRIMARY KEY, id INTEGER NOT NULL, id_tag TEXT NOT NULL, id_source TEXT NOT NULL,
            start_utc TEXT NOT NULL, meter_start_wh REAL NOT NULL, meter_last_wh REAL NOT NULL, updated_utc TEXT NOT NULL);
        CREATE TABLE operator (name TEXT PRIMARY KEY, salt BLOB NOT NULL, hash BLOB NOT NULL, iterations INTEGER NOT NULL);
        CREATE TABLE pending_work (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL, created_utc TEXT NOT NULL);
        """,
        """
        ALTER TABLE pending_work ADD COLUMN local_transaction INTEGER;
        ALTER TABLE pending_work ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE ocpp_transaction (local_id INTEGER PRIMARY KEY, remote_id INTEGER NOT NULL);
        CREATE TABLE charging_profile (id INTEGER PRIMARY KEY, connector INTEGER NOT NULL, purpose TEXT NOT NULL, stack_level INTEGER NOT NULL,
            transaction_id INTEGER, json TEXT NOT NULL);
        """,
        """
        CREATE TABLE metering_receipt (id INTEGER PRIMARY KEY AUTOINCREMENT, transaction_id INTEGER, connector INTEGER NOT NULL, emaid TEXT NOT NULL,
            meter_id TEXT NOT NULL, reading_wh INTEGER, meter_time INTEGER, signature TEXT NOT NULL, received_utc TEXT NOT NULL);
        CREATE INDEX metering_receipt_transaction ON metering_receipt (transaction_id);
        CREATE TABLE certificate (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, pem TEXT NOT NULL, key_pem TEXT, fingerprint TEXT NOT NULL,
            added_utc TEXT NOT NULL, UNIQUE (kind, fingerprint));
        """,
        """
        ALTER TABLE history ADD COLUMN contract TEXT;
        ALTER TABLE open_transaction ADD COLUMN contract TEXT;
        """,
        """
        ALTER TABLE history ADD COLUMN exported_wh REAL NOT NULL DEFAULT 0;
        ALTER TABLE open_transaction ADD COLUMN export_start_wh REAL NOT NULL DEFAULT 0;
        ALTER TABLE open_transaction ADD COLUMN export_last_wh REAL NOT NULL DEFAULT 0;
        """,
        """
        CREATE TABLE meter_total (connector INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, l1_wh REAL NOT NULL, l2_wh REAL NOT NULL, l3_wh REAL NOT NULL,
            exported_wh REAL NOT NULL, at_utc TEXT NOT NULL);
        CREATE TABLE web_session (id_hash TEXT PRIMARY KEY, csrf TEXT NOT NULL, expires_utc TEXT NOT NULL);
        """,
    ];

    /// <summary>Opens (creating) the file, switches to WAL and migrates; returns the schema version.</summary>
    public int Migrate()
    {
        lock (_gate)
        {
            var c = Connection();
            int version = Convert.ToInt32(Scalar(c, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
            for (int v = version; v < Migrations.Length; v++)
            {
                using var tx = c.BeginTransaction();
                using (var cmd = c.CreateCommand())
                {
                    cmd.Transaction = tx;
                    cmd.CommandText = Migrations[v] + $"\nPRAGMA user_version = {v + 1};";
                    cmd.ExecuteNonQuery();
                }
                tx.Commit();
            }
            return Convert.ToInt32(Scalar(c, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
        }
    }

    private SqliteConnection Connection()
    {
        if (_connection is null)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
            c.Open();
            Scalar(c, "PRAGMA journal_mode = WAL;");
            Scalar(c, "PRAGMA synchronous = FULL;");
            Scalar(c, "PRAGMA foreign_keys = ON;");
            _connection = c;
        }
        return _connection;
    }

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    /// <summary>Runs <paramref name="work"/> in one database transaction (committed when it returns).</summary>
    public T Write<T>(Func<SqliteCommand, T> work)
    {
        lock (_gate)
        {
            var c = Connection();
            using var tx = c.BeginTransaction();
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            var result = work(cmd);
            tx.Commit();
            return result;
        }
    }

    public void Write(Action<SqliteCommand> work) => Write(cmd =>
    {
        work(cmd);
        return 0;
    });

    /// <summary>Runs a query.</summary>
    public T Read<T>(Func<SqliteCommand, T> query)
    {
        lock (_gate)
        {
            using var cmd = Connection().CreateCommand();
            return query(cmd);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _connection?.Dispose();
            _connection = null;
        }
    }
}

/// <summary>Helpers for SQLite commands: parameters and ISO 8601 UTC timestamps.</summary>
internal static class Sql
{
    public static SqliteCommand With(this SqliteCommand cmd, string sql, params (string Name, object? Value)[] parameters)
    {
        cmd.CommandText = sql;
        cmd.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return cmd;
    }

    public static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseUtc(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
