using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Juice.Station.Core;

namespace Juice.Station.Persistence;

/// <summary>Writes what must happen with the start and the end of every transaction in the database transaction that records it.</summary>
public interface ITransactionJournal
{
    void Started(Microsoft.Data.Sqlite.SqliteCommand command, OpenTransaction transaction);

    void Stopped(Microsoft.Data.Sqlite.SqliteCommand command, ChargingSession session);
}

/// <summary>A metering receipt as kept: who signed, the meter reading signed, the signature value (hex) and when it came.</summary>
public sealed record StoredReceipt(string Emaid, string MeterId, long? ReadingWh, long? MeterTime, string Signature, DateTimeOffset Received);

/// <summary>Figures of the dashboard, from the charging history.</summary>
public sealed record DashboardFigures(int TotalSessions, TimeSpan AverageDuration, double AverageKwh, int LastMonthSessions, double LastMonthKwh);

/// <summary>
/// The charging history and the transactions still open. A transaction is written when it starts and its meter
/// reading refreshed while it runs; when it stops, its history row is written and its open row deleted in the same
/// database transaction. A transaction found open at start-up (the station was killed or lost power) is closed
/// with reason PowerLoss at its last meter reading, so no session is lost. A <see cref="ITransactionJournal"/>
/// (the OCPP client's message queue) writes its own rows in the same database transactions: a station killed at any
/// moment has either both the transaction and its message, or neither.
/// </summary>
public sealed class HistoryStore(StationDatabase database, ITransactionJournal? journal = null)
{
    /// <summary>Records a new transaction and returns its id.</summary>
    public long Open(int connector, IdToken tag, DateTimeOffset start, double meterStartWh, string? contract = null, double exportStartWh = 0) => database.Write(cmd =>
    {
        long id = Convert.ToInt64(cmd.With("SELECT MAX(m) FROM (SELECT COALESCE(MAX(id), 0) AS m FROM history UNION ALL SELECT COALESCE(MAX(id), 0) FROM open_transaction)").ExecuteScalar(), CultureInfo.InvariantCulture) + 1;
        cmd.With("INSERT OR REPLACE INTO open_transaction (connector, id, id_tag, id_source, start_utc, meter_start_wh, meter_last_wh, updated_utc, contract, export_start_wh, export_last_wh) "
            + "VALUES ($c, $id, $tag, $src, $start, $m, $m, $start, $e, $x, $x)",
            ("$c", connector), ("$id", id), ("$tag", tag.Value), ("$src", tag.Source.ToString()), ("$start", Sql.Utc(start)), ("$m", meterStartWh), ("$e", contract),
            ("$x", exportStartWh)).ExecuteNonQuery();
        journal?.Started(cmd, new OpenTransaction(id, connector, tag, start, meterStartWh));
        return id;
    });

    /// <summary>
    /// Plug &amp; Charge: the eMAID of the contract the EV presented and the SECC verified, kept with the transaction
    /// whatever decided the authorization (free charging too).
    /// </summary>
    public void SetContract(long id, string emaid) => database.Write(cmd =>
        cmd.With("UPDATE open_transaction SET contract = $e WHERE id = $id", ("$e", emaid), ("$id", id)).ExecuteNonQuery());

    /// <summary>Refreshes the last meter reading of an open transaction (what a restart would close it with).</summary>
    public void Progress(long id, double meterWh, DateTimeOffset at, double exportWh = 0) => database.Write(cmd =>
        cmd.With("UPDATE open_transaction SET meter_last_wh = $m, export_last_wh = $x, updated_utc = $at WHERE id = $id",
            ("$m", meterWh), ("$x", exportWh), ("$at", Sql.Utc(at)), ("$id", id)).ExecuteNonQuery());

    /// <summary>Closes a transaction: its history row in, its open row out, in one database transaction.</summary>
    public void Close(ChargingSession session) => database.Write(cmd =>
    {
        Insert(cmd, session);
        cmd.With("DELETE FROM open_transaction WHERE id = $id", ("$id", session.Id)).ExecuteNonQuery();
        journal?.Stopped(cmd, session);
    });

    private static void Insert(Microsoft.Data.Sqlite.SqliteCommand cmd, ChargingSession s) =>
        cmd.With("INSERT OR REPLACE INTO history (id, connector, id_tag, id_source, start_utc, stop_utc, meter_start_wh, meter_stop_wh, stop_reason, ocpp_transaction_id, contract, exported_wh) "
            + "VALUES ($id, $c, $tag, $src, $start, $stop, $m0, $m1, $reason, COALESCE($ocpp, (SELECT remote_id FROM ocpp_transaction WHERE local_id = $id)), "
            + "COALESCE($contract, (SELECT contract FROM open_transaction WHERE id = $id)), $x)",
            ("$id", s.Id), ("$c", s.Connector), ("$tag", s.IdTag), ("$src", s.Source.ToString()), ("$start", Sql.Utc(s.Start)), ("$stop", Sql.Utc(s.Stop)),
            ("$m0", s.MeterStartWh), ("$m1", s.MeterStopWh), ("$reason", s.Reason.ToString()), ("$ocpp", s.OcppTransactionId), ("$contract", s.Contract),
            ("$x", s.ExportedWh)).ExecuteNonQuery();

    /// <summary>Closes every transaction left open by a previous run (reason PowerLoss); returns them.</summary>
    public IReadOnlyList<ChargingSession> CloseInterrupted() => database.Write(cmd =>
    {
        var open = new List<ChargingSession>();
        cmd.With("SELECT id, connector, id_tag, id_source, start_utc, meter_start_wh, meter_last_wh, updated_utc, contract, export_last_wh - export_start_wh FROM open_transaction");
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                open.Add(new ChargingSession(r.GetInt64(0), r.GetInt32(1), r.GetString(2), Enum.Parse<IdSource>(r.GetString(3)), Sql.ParseUtc(r.GetString(4)),
                    Sql.ParseUtc(r.GetString(7)), r.GetDouble(5), r.GetDouble(6), StopReason.PowerLoss, null, r.IsDBNull(8) ? null : r.GetString(8), Math.Max(0, r.GetDouble(9))));
            }
        }
        foreach (var s in open)
        {
            Insert(cmd, s);
            journal?.Stopped(cmd, s);
        }
        cmd.With("DELETE FROM open_transaction").ExecuteNonQuery();
        return (IReadOnlyList<ChargingSession>)open;
    });

    /// <summary>Sessions that started at or after <paramref name="since"/>, newest first.</summary>
    public IReadOnlyList<ChargingSession> Since(DateTimeOffset since, int limit = 10_000) => database.Read(cmd =>
    {
        cmd.With("SELECT id, connector, id_tag, id_source, start_utc, stop_utc, meter_start_wh, meter_stop_wh, stop_reason, ocpp_transaction_id, contract, exported_wh FROM history "
            + "WHERE start_utc >= $since ORDER BY start_utc DESC LIMIT $limit", ("$since", Sql.Utc(since)), ("$limit", limit));
        var list = new List<ChargingSession>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new ChargingSession(r.GetInt64(0), r.GetInt32(1), r.GetString(2), Enum.Parse<IdSource>(r.GetString(3)), Sql.ParseUtc(r.GetString(4)),
                Sql.ParseUtc(r.GetString(5)), r.GetDouble(6), r.GetDouble(7), Enum.Parse<StopReason>(r.GetString(8)), r.IsDBNull(9) ? null : r.GetInt32(9),
                r.IsDBNull(10) ? null : r.GetString(10), r.GetDouble(11)));
        }
        return (IReadOnlyList<ChargingSession>)list;
    });

    /// <summary>Keeps a metering receipt the EV signed with its contract key (Plug &amp; Charge), with the transaction it belongs to.</summary>
    public void AddReceipt(long? transaction, int connector, Juice.Hlc.Secc.MeteringReceipt receipt, DateTimeOffset at) => database.Write(cmd =>
        cmd.With("INSERT INTO metering_receipt (transaction_id, connector, emaid, meter_id, reading_wh, meter_time, signature, received_utc) VALUES ($t, $c, $e, $m, $r, $mt, $s, $at)",
            ("$t", transaction), ("$c", connector), ("$e", receipt.Emaid), ("$m", receipt.MeterId), ("$r", receipt.ReadingWh is { } r ? (long)r : null),
            ("$mt", receipt.MeterTime), ("$s", Convert.ToHexString(receipt.SignatureValue)), ("$at", Sql.Utc(at))).ExecuteNonQuery());

    /// <summary>The metering receipts of a transaction, oldest first.</summary>
    public IReadOnlyList<StoredReceipt> Receipts(long transaction) => database.Read(cmd =>
    {
        cmd.With("SELECT emaid, meter_id, reading_wh, meter_time, signature, received_utc FROM metering_receipt WHERE transaction_id = $t ORDER BY id", ("$t", transaction));
        var list = new List<StoredReceipt>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new StoredReceipt(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetInt64(2), r.IsDBNull(3) ? null : r.GetInt64(3), r.GetString(4), Sql.ParseUtc(r.GetString(5))));
        }
        return (IReadOnlyList<StoredReceipt>)list;
    });

    /// <summary>Sets the backend's transaction id of a session (OCPP).</summary>
    public void SetOcppTransactionId(long id, int ocppTransactionId) => database.Write(cmd =>
        cmd.With("UPDATE history SET ocpp_transaction_id = $o WHERE id = $id", ("$o", ocppTransactionId), ("$id", id)).ExecuteNonQuery());

    /// <summary>Totals over the whole history and over the last 30 days before <paramref name="now"/>.</summary>
    public DashboardFigures Dashboard(DateTimeOffset now) => database.Read(cmd =>
    {
        cmd.With("SELECT COUNT(*), COALESCE(AVG((julianday(stop_utc) - julianday(start_utc)) * 86400.0), 0), COALESCE(AVG(MAX(meter_stop_wh - meter_start_wh, 0)), 0) FROM history");
        int total;
        double avgSeconds, avgWh;
        using (var r = cmd.ExecuteReader())
        {
            r.Read();
            total = r.GetInt32(0);
            avgSeconds = r.GetDouble(1);
            avgWh = r.GetDouble(2);
        }
        cmd.With("SELECT COUNT(*), COALESCE(SUM(MAX(meter_stop_wh - meter_start_wh, 0)), 0) FROM history WHERE start_utc >= $since", ("$since", Sql.Utc(now.AddDays(-30))));
        using var m = cmd.ExecuteReader();
        m.Read();
        return new DashboardFigures(total, TimeSpan.FromSeconds(avgSeconds), avgWh / 1000, m.GetInt32(0), m.GetDouble(1) / 1000);
    });

    /// <summary>
    /// The history as CSV (RFC 4180, UTF-8; times in the station's time zone as the manual's columns have them):
    /// start date, start time, duration (h:mm:ss), energy Wh, id tag, plus connector, source, stop reason, the
    /// transaction id, the Plug &amp; Charge contract (eMAID) when the EV presented one, and the energy fed back to the
    /// grid (bidirectional power; 0 otherwise).
    /// </summary>
    public static string ToCsv(IEnumerable<ChargingSession> sessions, TimeZoneInfo zone)
    {
        var sb = new StringBuilder("start_date,start_time,duration,energy_wh,id_tag,connector,id_source,stop_reason,transaction_id,contract,exported_wh\r\n");
        foreach (var s in sessions.OrderBy(s => s.Start))
        {
            var local = TimeZoneInfo.ConvertTime(s.Start, zone);
            var d = s.Duration < TimeSpan.Zero ? TimeSpan.Zero : s.Duration;
            sb.Append(local.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append(',')
              .Append(local.ToString("HH:mm:ss", CultureInfo.InvariantCulture)).Append(',')
              .Append(string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalHours}:{d.Minutes:00}:{d.Seconds:00}")).Append(',')
              .Append(Math.Round(s.EnergyWh).ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(Authorization.Csv.Field(s.IdTag)).Append(',')
              .Append(s.Connector.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(s.Source).Append(',').Append(s.Reason).Append(',')
              .Append(s.Id.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(s.Contract is { } contract ? Authorization.Csv.Field(contract) : "").Append(',')
              .Append(Math.Round(s.ExportedWh).ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        }
        return sb.ToString();
    }
}

/// <summary>
/// The operator account: a PBKDF2-SHA256 hash with a random salt per password, never the password. Without an
/// account the first start creates one with a password from configuration (Api:InitialPassword) or a random one
/// printed once to the log.
/// </summary>
public sealed class OperatorAccount(StationDatabase database)
{
    public const string Name = "operator";
    private const int Iterations = 210_000;

    public bool Exists => database.Read(cmd => cmd.With("SELECT COUNT(*) FROM operator WHERE name = $n", ("$n", Name)).ExecuteScalar() is long n && n > 0);

    public void SetPassword(string password)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA256, 32);
        database.Write(cmd => cmd.With("INSERT INTO operator (name, salt, hash, iterations) VALUES ($n, $s, $h, $i) "
            + "ON CONFLICT (name) DO UPDATE SET salt = excluded.salt, hash = excluded.hash, iterations = excluded.iterations",
            ("$n", Name), ("$s", salt), ("$h", hash), ("$i", Iterations)).ExecuteNonQuery());
    }

    public bool Verify(string password)
    {
        var stored = database.Read(cmd =>
        {
            cmd.With("SELECT salt, hash, iterations FROM operator WHERE name = $n", ("$n", Name));
            using var r = cmd.ExecuteReader();
            return r.Read() ? ((byte[])r[0], (byte[])r[1], r.GetInt32(2)) : default((byte[], byte[], int)?);
        });
        if (stored is not ({ } salt, { } hash, var iterations))
        {
            return false;
        }
        byte[] candidate = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, hash.Length);
        return CryptographicOperations.FixedTimeEquals(candidate, hash);
    }

    /// <summary>A random password of 16 characters (letters and digits without look-alikes).</summary>
    public static string GeneratePassword()
    {
        const string alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return new string(Enumerable.Range(0, 16).Select(_ => alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)]).ToArray());
    }
}
