using Juice.Station.Persistence;

namespace Juice.Station.Energy;

/// <summary>
/// The manual's Maximum Current Scheduler: each entry holds from its hour (the station's time zone) until the next
/// entry's hour; the last entry of the day goes on past midnight until the first. The manual's example: 10 A from
/// 8:00 and 63 A from 22:00 means 63 A from 22:00 to 8:00 and 10 A from 8:00 to 22:00.
/// </summary>
public static class CurrentSchedule
{
    /// <summary>The currents in force at <paramref name="now"/> (null: no entries).</summary>
    public static PhaseCurrents? At(IReadOnlyList<CurrentScheduleEntry> entries, DateTimeOffset now, TimeZoneInfo zone)
    {
        if (entries.Count == 0)
        {
            return null;
        }
        int hour = TimeZoneInfo.ConvertTime(now, zone).Hour;
        var ordered = entries.OrderBy(e => e.Hour).ToList();
        var entry = ordered.LastOrDefault(e => e.Hour <= hour) ?? ordered[^1];
        return new PhaseCurrents(entry.L1, entry.L2, entry.L3);
    }

    /// <summary>The next full hour after <paramref name="now"/> (when the schedule may change), in UTC.</summary>
    public static DateTimeOffset NextHour(DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        var hour = new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero).AddHours(1);
        return hour;
    }
}

/// <summary>A DLM master's address: host or host:port (default <see cref="DefaultPort"/>).</summary>
public readonly record struct DlmEndpoint(string Host, int Port)
{
    /// <summary>UDP port of DLM (discovery and the master's messages), unless Dlm:Port says otherwise.</summary>
    public const int DefaultPort = 7458;

    public static bool TryParse(string? text, out DlmEndpoint endpoint, int defaultPort = DefaultPort)
    {
        endpoint = default;
        if (string.IsNullOrWhiteSpace(text) || text.Any(char.IsWhiteSpace))
        {
            return false;
        }
        string host = text;
        int port = defaultPort;
        int colon = text.LastIndexOf(':');
        if (colon > 0 && text.IndexOf(':') == colon)   // host:port (an IPv6 address needs brackets for a port)
        {
            if (!int.TryParse(text[(colon + 1)..], out port) || port is < 1 or > 65535)
            {
                return false;
            }
            host = text[..colon];
        }
        else if (text.StartsWith('[') && text.Contains("]:", StringComparison.Ordinal))
        {
            int close = text.IndexOf("]:", StringComparison.Ordinal);
            if (!int.TryParse(text[(close + 2)..], out port) || port is < 1 or > 65535)
            {
                return false;
            }
            host = text[1..close];
        }
        host = host.Trim('[', ']');
        if (host.Length == 0)
        {
            return false;
        }
        endpoint = new DlmEndpoint(host, port);
        return true;
    }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
