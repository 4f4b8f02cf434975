using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Juice.Station;

/// <summary>The station's embedded SQLite file (<c>{DataDirectory}/juice.db</c>), created and migrated at start.</summary>
public sealed class StationDatabase(IOptions<StationOptions> options)
{
    public string Path { get; } = System.IO.Path.GetFullPath(System.IO.Path.Combine(options.Value.DataDirectory, "juice.db"));

    public SqliteConnection Open()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path }.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>Creates the schema-version table; later features add their migrations here.</summary>
    public int Migrate()
    {
        using var c = Open();
        using (var pragma = c.CreateCommand())
        {
            pragma.CommandText = "PRAGMA journal_mode = WAL;";
            pragma.ExecuteNonQuery();
        }
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
            INSERT INTO schema_version (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
            SELECT version FROM schema_version;
            """;
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
