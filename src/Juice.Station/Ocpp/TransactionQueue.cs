using System.Globalization;
using Juice.Station.Persistence;
using Microsoft.Data.Sqlite;

namespace Juice.Station.Ocpp;

/// <summary>A transaction-related message waiting for the central system.</summary>
public sealed record QueuedMessage(long Seq, string Action, string Payload, long? LocalTransaction, int Attempts, DateTimeOffset Created);

/// <summary>
/// The transaction-related messages (StartTransaction, StopTransaction, transaction MeterValues), written to SQLite
/// before they are sent and removed when the central system has answered, in one database transaction with the
/// mapping of the station's transaction id to the central system's. They are delivered in the order they were
/// made; a backend outage or a restart loses none of them.
/// </summary>
public sealed class TransactionQueue(StationDatabase db, TimeProvider time)
{
    public event Action? Enqueued;

    public void Enqueue(string action, string payload, long? localTransaction) => db.Write(cmd => Enqueue(cmd, action, payload, localTransaction));

    /// <summary>Queues a message in the database transaction of <paramref name="cmd"/> (it is sent once that commits).</summary>
    public void Enqueue(SqliteCommand cmd, string action, string payload, long? localTransaction)
    {
        cmd.With("INSERT INTO pending_work (kind, payload, created_utc, local_transaction, attempts) VALUES ($k, $p, $t, $l, 0)",
            ("$k", action), ("$p", payload), ("$t", Sql.Utc(time.GetUtcNow())), ("$l", localTransaction)).ExecuteNonQuery();
        Enqueued?.Invoke();
    }

    public QueuedMessage? Oldest() => db.Read(cmd =>
    {
        cmd.With("SELECT seq, kind, payload, local_transaction, attempts, created_utc FROM pending_work ORDER BY seq LIMIT 1");
        using var r = cmd.ExecuteReader();
        return r.Read() ? new QueuedMessage(r.GetInt64(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetInt64(3), r.GetInt32(4), Sql.ParseUtc(r.GetString(5))) : null;
    });

    public int Count => db.Read(cmd => Convert.ToInt32(cmd.With("SELECT COUNT(*) FROM pending_work").ExecuteScalar(), CultureInfo.InvariantCulture));

    public IReadOnlyList<QueuedMessage> All() => db.Read(cmd =>
    {
        cmd.With("SELECT seq, kind, payload, local_transaction, attempts, created_utc FROM pending_work ORDER BY seq");
        var list = new List<QueuedMessage>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new QueuedMessage(r.GetInt64(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetInt64(3), r.GetInt32(4), Sql.ParseUtc(r.GetString(5))));
        }
        return (IReadOnlyList<QueuedMessage>)list;
    });

    /// <summary>The message was delivered; for a StartTransaction, the central system's transaction id is recorded with it.</summary>
    public void Delivered(QueuedMessage message, int? remoteTransactionId = null) => db.Write(cmd =>
    {
        cmd.With("DELETE FROM pending_work WHERE seq = $s", ("$s", message.Seq)).ExecuteNonQuery();
        if (remoteTransactionId is { } remote && message.LocalTransaction is { } local)
        {
            cmd.With("INSERT OR REPLACE INTO ocpp_transaction (local_id, remote_id) VALUES ($l, $r)", ("$l", local), ("$r", remote)).ExecuteNonQuery();
            cmd.With("UPDATE history SET ocpp_transaction_id = $r WHERE id = $l", ("$l", local), ("$r", remote)).ExecuteNonQuery();
        }
    });

    public void Failed(QueuedMessage message) => db.Write(cmd =>
        cmd.With("UPDATE pending_work SET attempts = attempts + 1 WHERE seq = $s", ("$s", message.Seq)).ExecuteNonQuery());

    public void Drop(QueuedMessage message) => db.Write(cmd => cmd.With("DELETE FROM pending_work WHERE seq = $s", ("$s", message.Seq)).ExecuteNonQuery());

    /// <summary>The central system's id of a station transaction, once its StartTransaction was answered.</summary>
    public int? RemoteId(long localTransaction) => db.Read(cmd =>
        cmd.With("SELECT remote_id FROM ocpp_transaction WHERE local_id = $l", ("$l", localTransaction)).ExecuteScalar() is long r ? (int)r : (int?)null);

    /// <summary>The station's transaction the central system knows by <paramref name="remoteId"/>.</summary>
    public long? LocalId(int remoteId) => db.Read(cmd =>
        cmd.With("SELECT local_id FROM ocpp_transaction WHERE remote_id = $r ORDER BY local_id DESC LIMIT 1", ("$r", remoteId)).ExecuteScalar() is long l ? l : (long?)null);

    /// <summary>True while a StartTransaction of this transaction is still waiting to be delivered.</summary>
    public bool StartPending(long localTransaction) => db.Read(cmd =>
        cmd.With("SELECT COUNT(*) FROM pending_work WHERE kind = 'StartTransaction' AND local_transaction = $l", ("$l", localTransaction)).ExecuteScalar() is long n && n > 0);
}
