using System.Text.Json;
using System.Text.Json.Nodes;
using Juice.Station.Persistence;

namespace Juice.Station.Ocpp;

public sealed record ChargingSchedulePeriod(int StartPeriod, double Limit, int? NumberPhases = null);

public sealed record ChargingSchedule(int? Duration, DateTimeOffset? StartSchedule, string ChargingRateUnit, List<ChargingSchedulePeriod> ChargingSchedulePeriod, double? MinChargingRate = null);

/// <summary>An OCPP 1.6 charging profile (SetChargingProfile, RemoteStartTransaction).</summary>
public sealed record ChargingProfile(int ChargingProfileId, int? TransactionId, int StackLevel, string ChargingProfilePurpose, string ChargingProfileKind,
    string? RecurrencyKind, DateTimeOffset? ValidFrom, DateTimeOffset? ValidTo, ChargingSchedule ChargingSchedule);

/// <summary>A profile installed on a connector (0: the whole station).</summary>
public sealed record InstalledProfile(int Connector, ChargingProfile Profile);

/// <summary>
/// Smart charging (OCPP 1.6 §3.13): the installed profiles, kept in SQLite, and the composite limit they give a
/// connector at a moment: the TxProfile of its transaction if one is active, else the TxDefaultProfile (a profile
/// for the connector or for connector 0; the highest stack level wins), and never more than the station's share
/// of the ChargePointMaxProfile. Limits in W are converted to A with the period's number of phases (default 3) at
/// the nominal voltage.
/// </summary>
public sealed class ChargingProfiles(StationDatabase db, double nominalVoltage, int stationPhases)
{
    public const int MaxStackLevel = 10;
    public const int MaxPeriods = 24;
    public const int MaxInstalled = 20;

    private readonly object _gate = new();
    private List<InstalledProfile>? _profiles;

    private List<InstalledProfile> Profiles
    {
        get
        {
            _profiles ??= db.Read(cmd =>
            {
                cmd.With("SELECT connector, json FROM charging_profile ORDER BY id");
                var list = new List<InstalledProfile>();
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    list.Add(new InstalledProfile(r.GetInt32(0), JsonSerializer.Deserialize<ChargingProfile>(r.GetString(1), OcppFrame.Json)!));
                }
                return list;
            });
            return _profiles;
        }
    }

    public IReadOnlyList<InstalledProfile> All
    {
        get
        {
            lock (_gate)
            {
                return [.. Profiles];
            }
        }
    }

    public static ChargingProfile Read(JsonNode node) => node.Deserialize<ChargingProfile>(OcppFrame.Json) ?? throw new JsonException("no charging profile");

    /// <summary>Why a profile cannot be installed on a connector, or null. <paramref name="activeTransaction"/>: the connector's transaction (central system id).</summary>
    public string? Problem(int connector, ChargingProfile p, int connectors, int? activeTransaction)
    {
        if (connector < 0 || connector > connectors)
        {
            return $"no connector {connector}";
        }
        if (p.ChargingProfilePurpose == "ChargePointMaxProfile" && connector != 0)
        {
            return "a ChargePointMaxProfile belongs to connector 0";
        }
        if (p.ChargingProfilePurpose == "TxProfile")
        {
            if (connector == 0)
            {
                return "a TxProfile needs a connector";
            }
            if (activeTransaction is null)
            {
                return "a TxProfile needs an active transaction on the connector";
            }
            if (p.TransactionId is { } t && t != activeTransaction)
            {
                return $"transaction {t} is not the connector's ({activeTransaction})";
            }
        }
        if (p.StackLevel is < 0 or > MaxStackLevel)
        {
            return $"stack level {p.StackLevel} is not 0 to {MaxStackLevel}";
        }
        var periods = p.ChargingSchedule.ChargingSchedulePeriod;
        if (periods.Count is 0 or > MaxPeriods)
        {
            return $"1 to {MaxPeriods} schedule periods";
        }
        // a negative limit asks a bidirectional EV to feed in (an extension of 1.6, as V2G backends use it): only
        // for a connector's own profiles, never as the station's maximum
        bool negativeAllowed = p.ChargingProfilePurpose is "TxProfile" or "TxDefaultProfile";
        if (periods[0].StartPeriod != 0 || periods.Zip(periods.Skip(1)).Any(x => x.Second.StartPeriod <= x.First.StartPeriod) || periods.Any(x => x.Limit < 0 && !negativeAllowed))
        {
            return "the periods must start at 0, ascend and have limits of 0 or more (a negative limit, a discharge request, only in a TxProfile or TxDefaultProfile)";
        }
        if (p.ChargingProfileKind == "Recurring" && (p.RecurrencyKind is null || p.ChargingSchedule.StartSchedule is null))
        {
            return "a Recurring profile needs a recurrencyKind and a startSchedule";
        }
        if (p.ChargingProfileKind == "Absolute" && p.ChargingSchedule.StartSchedule is null)
        {
            return "an Absolute profile needs a startSchedule";
        }
        return null;
    }

    /// <summary>Installs a profile, replacing one with the same id or the same connector, purpose and stack level.</summary>
    public bool Install(int connector, ChargingProfile p)
    {
        lock (_gate)
        {
            var list = Profiles;
            list.RemoveAll(x => x.Profile.ChargingProfileId == p.ChargingProfileId
                || (x.Connector == connector && x.Profile.ChargingProfilePurpose == p.ChargingProfilePurpose && x.Profile.StackLevel == p.StackLevel));
            if (list.Count >= MaxInstalled)
            {
                return false;
            }
            list.Add(new InstalledProfile(connector, p));
            Save(list);
            return true;
        }
    }

    /// <summary>ClearChargingProfile: removes the profiles that match every given criterion; returns how many.</summary>
    public int Clear(int? id, int? connector, string? purpose, int? stackLevel)
    {
        lock (_gate)
        {
            var list = Profiles;
            int removed = list.RemoveAll(x => (id is null || x.Profile.ChargingProfileId == id)
                && (id is not null || ((connector is null || x.Connector == connector) && (purpose is null || x.Profile.ChargingProfilePurpose == purpose)
                    && (stackLevel is null || x.Profile.StackLevel == stackLevel))));
            if (removed > 0)
            {
                Save(list);
            }
            return removed;
        }
    }

    /// <summary>A transaction ended: its TxProfiles go with it.</summary>
    public void TransactionEnded(int connector)
    {
        lock (_gate)
        {
            if (Profiles.RemoveAll(x => x.Connector == connector && x.Profile.ChargingProfilePurpose == "TxProfile") > 0)
            {
                Save(Profiles);
            }
        }
    }

    private void Save(List<InstalledProfile> list) => db.Write(cmd =>
    {
        cmd.With("DELETE FROM charging_profile").ExecuteNonQuery();
        foreach (var x in list)
        {
            cmd.With("INSERT INTO charging_profile (id, connector, purpose, stack_level, transaction_id, json) VALUES ($id, $c, $p, $s, $t, $j)",
                ("$id", x.Profile.ChargingProfileId), ("$c", x.Connector), ("$p", x.Profile.ChargingProfilePurpose), ("$s", x.Profile.StackLevel),
                ("$t", x.Profile.TransactionId), ("$j", JsonSerializer.Serialize(x.Profile, OcppFrame.Json))).ExecuteNonQuery();
        }
    });

    /// <summary>The limit of one profile at <paramref name="t"/> in A (null: not in force then).</summary>
    private double? LimitOf(ChargingProfile p, DateTimeOffset t, DateTimeOffset? transactionStart)
    {
        if ((p.ValidFrom is { } from && t < from) || (p.ValidTo is { } to && t >= to))
        {
            return null;
        }
        var s = p.ChargingSchedule;
        DateTimeOffset? start = p.ChargingProfileKind switch
        {
            "Absolute" => s.StartSchedule,
            "Relative" => transactionStart ?? t,
            _ => s.StartSchedule,
        };
        if (start is not { } begin)
        {
            return null;
        }
        double offset = (t - begin).TotalSeconds;
        if (p.ChargingProfileKind == "Recurring")
        {
            double cycle = p.RecurrencyKind == "Weekly" ? 7 * 86_400 : 86_400;
            offset = ((offset % cycle) + cycle) % cycle;
        }
        if (offset < 0 || (s.Duration is { } d && offset >= d))
        {
            return null;
        }
        var period = s.ChargingSchedulePeriod.LastOrDefault(x => x.StartPeriod <= offset);
        if (period is null)
        {
            return null;
        }
        return s.ChargingRateUnit == "W" ? period.Limit / (Math.Min(period.NumberPhases ?? 3, stationPhases) * nominalVoltage) : period.Limit;
    }

    private double? Strongest(IEnumerable<InstalledProfile> candidates, DateTimeOffset t, DateTimeOffset? transactionStart) =>
        candidates.Select(x => (x, limit: LimitOf(x.Profile, t, transactionStart)))
            .Where(x => x.limit is not null)
            .OrderByDescending(x => x.x.Profile.StackLevel).ThenByDescending(x => x.x.Connector)
            .Select(x => x.limit).FirstOrDefault();

    /// <summary>
    /// The composite limit of <paramref name="connector"/> at <paramref name="t"/> (A per phase), or null when no profile
    /// limits it. <paramref name="sharing"/>: connectors that share the station's ChargePointMaxProfile now.
    /// </summary>
    public double? LimitAt(int connector, DateTimeOffset t, bool transactionActive, DateTimeOffset? transactionStart, int sharing)
    {
        lock (_gate)
        {
            var list = Profiles;
            double? station = Strongest(list.Where(x => x.Connector == 0 && x.Profile.ChargingProfilePurpose == "ChargePointMaxProfile"), t, null);
            if (connector == 0)
            {
                return station;
            }
            double? tx = transactionActive ? Strongest(list.Where(x => x.Connector == connector && x.Profile.ChargingProfilePurpose == "TxProfile"), t, transactionStart) : null;
            double? limit = tx ?? Strongest(list.Where(x => (x.Connector == connector || x.Connector == 0) && x.Profile.ChargingProfilePurpose == "TxDefaultProfile"), t, transactionStart);
            if (station is { } max)
            {
                double share = max / Math.Max(1, sharing);
                limit = limit is { } l ? Math.Min(l, share) : share;
            }
            return limit;
        }
    }

    /// <summary>
    /// GetCompositeSchedule: the limit of a connector from now for <paramref name="duration"/> seconds as schedule
    /// periods, the hardware limit where no profile limits it, in A or W.
    /// </summary>
    public ChargingSchedule Composite(int connector, DateTimeOffset now, int duration, string unit, double hardwareLimit, bool transactionActive, DateTimeOffset? transactionStart, int sharing)
    {
        var periods = new List<ChargingSchedulePeriod>();
        double? last = null;
        duration = Math.Clamp(duration, 1, 7 * 86_400);
        for (int second = 0; second < duration; second++)
        {
            double amps = Math.Min(hardwareLimit, LimitAt(connector, now.AddSeconds(second), transactionActive, transactionStart, sharing) ?? hardwareLimit);
            double value = Math.Round(unit == "W" ? amps * stationPhases * nominalVoltage : amps, 1);
            if (value != last)
            {
                periods.Add(new ChargingSchedulePeriod(second, value, unit == "W" ? stationPhases : null));
                last = value;
            }
        }
        return new ChargingSchedule(duration, now, unit, periods);
    }
}
