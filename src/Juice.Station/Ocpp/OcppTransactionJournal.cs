using System.Globalization;
using System.Text.Json.Nodes;
using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Juice.Station.Ocpp;

/// <summary>
/// Puts StartTransaction and StopTransaction into the <see cref="TransactionQueue"/> in the database transaction that
/// opens or closes the station's transaction (and closes, with reason PowerLoss, one a killed station left open):
/// whatever moment the station dies, the backend later hears of every transaction the history has.
/// </summary>
internal sealed class OcppTransactionJournal(IOptions<OcppOptions> options, TransactionQueue queue, OcppConfiguration configuration) : ITransactionJournal
{
    public void Started(SqliteCommand command, OpenTransaction tx)
    {
        if (!options.Value.Enabled)
        {
            return;
        }
        queue.Enqueue(command, "StartTransaction", new JsonObject
        {
            ["connectorId"] = tx.Connector,
            ["idTag"] = tx.IdTag.Value,
            ["meterStart"] = (long)Math.Round(tx.MeterStartWh),
            ["timestamp"] = OcppTime.Format(tx.Start),
        }.ToJsonString(), tx.Id);
    }

    public void Stopped(SqliteCommand command, ChargingSession session)
    {
        if (!options.Value.Enabled)
        {
            return;
        }
        var payload = new JsonObject
        {
            ["transactionId"] = session.Id,   // the station's id: the queue puts the central system's in its place
            ["idTag"] = session.IdTag,
            ["meterStop"] = (long)Math.Round(session.MeterStopWh),
            ["timestamp"] = OcppTime.Format(session.Stop),
            ["reason"] = session.Reason.Ocpp16(),
        };
        // StopTxnSampledData: the registers at the start and the end of the transaction
        var measurands = configuration.List("StopTxnSampledData");
        if (measurands.Contains("Energy.Active.Import.Register"))
        {
            payload["transactionData"] = new JsonArray(
                Sample(session.Start, "Transaction.Begin", session.MeterStartWh),
                Sample(session.Stop, "Transaction.End", session.MeterStopWh));
        }
        queue.Enqueue(command, "StopTransaction", payload.ToJsonString(), session.Id);
    }

    private static JsonObject Sample(DateTimeOffset at, string context, double wh) => new()
    {
        ["timestamp"] = OcppTime.Format(at),
        ["sampledValue"] = new JsonArray(new JsonObject
        {
            ["value"] = Math.Round(wh, 1).ToString("0.#", CultureInfo.InvariantCulture),
            ["context"] = context,
            ["measurand"] = "Energy.Active.Import.Register",
            ["unit"] = "Wh",
        }),
    };
}
