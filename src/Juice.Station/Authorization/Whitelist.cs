using System.Globalization;
using System.Text;
using Juice.Station.Persistence;

namespace Juice.Station.Authorization;

/// <summary>What a whitelist entry identifies.</summary>
public enum WhitelistKind
{
    /// <summary>An RFID card UID (4, 7 or 10 bytes), optionally for one connector only (postfix _1 or _2).</summary>
    Rfid,

    /// <summary>The special tag INPUT_AUTH: the digital authorization input may start charging.</summary>
    InputAuth,

    /// <summary>An EV's MAC address (EVCCID), for Autocharge.</summary>
    EvMac,
}

/// <summary>
/// The whitelists of the station: the operator's local list, the backend's local authorization list (OCPP
/// SendLocalList: "the OCPP whitelist") and the authorization cache of the backend's answers.
/// </summary>
public enum WhitelistName
{
    Local,
    Ocpp,
    OcppCache,
}

/// <summary>One whitelist entry in canonical form: upper-case hex, no separators.</summary>
public sealed record WhitelistEntry(string Id, WhitelistKind Kind, int? Connector, string Label, DateTimeOffset Added,
    string Status = "Accepted", DateTimeOffset? Expiry = null, string? ParentId = null)
{
    public const string InputAuthTag = "INPUT_AUTH";

    /// <summary>The validation message of the add-entry dialog.</summary>
    public const string Rule = "Enter an RFID card UID of 4, 7 or 10 bytes in hex (8, 14 or 20 digits), optionally followed by _1 or _2 for one connector, "
        + "the tag INPUT_AUTH, or an EV MAC address (12 hex digits, separators : or - allowed, or with the Autocharge prefix such as VID:)";

    /// <summary>
    /// Reads what an operator typed (or a CSV line holds): an RFID UID of 4, 7 or 10 bytes as 8, 14 or 20 hex digits
    /// with an optional connector postfix _1/_2; INPUT_AUTH; or an EV MAC as 12 hex digits, with : or - between the
    /// bytes or behind the Autocharge prefix. Spaces around it are ignored, letters may be lower case.
    /// </summary>
    public static bool TryParse(string? text, string autochargePrefix, out WhitelistEntry entry, out string error, DateTimeOffset? added = null, string label = "")
    {
        entry = null!;
        error = Rule;
        string s = (text ?? "").Trim();
        var when = added ?? DateTimeOffset.UtcNow;
        if (s.Length == 0)
        {
            error = "The id is empty. " + Rule;
            return false;
        }
        if (string.Equals(s, InputAuthTag, StringComparison.OrdinalIgnoreCase))
        {
            entry = new WhitelistEntry(InputAuthTag, WhitelistKind.InputAuth, null, label, when);
            return true;
        }
        if (autochargePrefix.Length > 0 && s.StartsWith(autochargePrefix, StringComparison.OrdinalIgnoreCase))
        {
            s = s[autochargePrefix.Length..];
            if (Mac(s) is { } mac)
            {
                entry = new WhitelistEntry(mac, WhitelistKind.EvMac, null, label, when);
                return true;
            }
            return false;
        }
        if (Mac(s) is { } m)
        {
            entry = new WhitelistEntry(m, WhitelistKind.EvMac, null, label, when);
            return true;
        }
        int? connector = null;
        if (s.Length > 2 && s[^2] == '_' && s[^1] is '1' or '2')
        {
            connector = s[^1] - '0';
            s = s[..^2];
        }
        if (s.Length is 8 or 14 or 20 && IsHex(s))
        {
            string id = s.ToUpperInvariant() + (connector is { } n ? "_" + n.ToString(CultureInfo.InvariantCulture) : "");
            entry = new WhitelistEntry(id, WhitelistKind.Rfid, connector, label, when);
            return true;
        }
        return false;
    }

    /// <summary>A MAC as 12 upper-case hex digits, from 12 digits or six bytes separated by : or -.</summary>
    private static string? Mac(string s)
    {
        if (s.Length == 12 && IsHex(s))
        {
            return s.ToUpperInvariant();
        }
        if (s.Length == 17)
        {
            char sep = s[2];
            if (sep is not (':' or '-'))
            {
                return null;
            }
            var parts = s.Split(sep);
            if (parts.Length == 6 && parts.All(p => p.Length == 2 && IsHex(p)))
            {
                return string.Concat(parts).ToUpperInvariant();
            }
        }
        return null;
    }

    private static bool IsHex(string s) => s.All(char.IsAsciiHexDigit);

    /// <summary>The bare UID without the connector postfix.</summary>
    public string BaseId => Connector is null ? Id : Id[..^2];
}

/// <summary>One line of a CSV import and what became of it.</summary>
/// <summary>A line of an import that was refused: its number, the id as written and why.</summary>
public sealed record ImportProblem(int Line, string Id, string Reason);

/// <summary>An id that occurs again later in the file: the line that was replaced, and the line whose label counts.</summary>
public sealed record ImportDuplicate(int Line, string Id, int ReplacedBy);

/// <summary>
/// What an import did: entries imported (added new, updated existing), the refused lines in full, the duplicates;
/// <paramref name="Refused"/>: why nothing was imported (a file over the limits).
/// </summary>
public sealed record ImportReport(int Imported, int Added, int Updated, IReadOnlyList<ImportProblem> Rejected, IReadOnlyList<ImportDuplicate> Duplicates, string? Refused)
{
    public static ImportReport TooLarge(string why) => new(0, 0, 0, [], [], why);
}

/// <summary>The station's two whitelists in SQLite: search, add, delete one, delete all, import and export as CSV.</summary>
public sealed class WhitelistStore(StationDatabase database)
{
    public IReadOnlyList<WhitelistEntry> Search(WhitelistName list, string? text = null, int limit = 1000) => database.Read(cmd =>
    {
        cmd.With("SELECT id, kind, label, status, expiry_utc, parent_id, added_utc FROM whitelist WHERE list = $list AND ($q IS NULL OR id LIKE $q OR label LIKE $q) ORDER BY id LIMIT $limit",
            ("$list", list.ToString()), ("$q", string.IsNullOrWhiteSpace(text) ? null : "%" + text.Trim() + "%"), ("$limit", limit));
        var found = new List<WhitelistEntry>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            found.Add(Row(r));
        }
        return (IReadOnlyList<WhitelistEntry>)found;
    });

    public int Count(WhitelistName list) => database.Read(cmd =>
        Convert.ToInt32(cmd.With("SELECT COUNT(*) FROM whitelist WHERE list = $list", ("$list", list.ToString())).ExecuteScalar(), CultureInfo.InvariantCulture));

    public WhitelistEntry? Find(WhitelistName list, string id) => database.Read(cmd =>
    {
        cmd.With("SELECT id, kind, label, status, expiry_utc, parent_id, added_utc FROM whitelist WHERE list = $list AND id = $id", ("$list", list.ToString()), ("$id", id));
        using var r = cmd.ExecuteReader();
        return r.Read() ? Row(r) : null;
    });

    /// <summary>Adds or replaces an entry (one transaction).</summary>
    public void Add(WhitelistName list, WhitelistEntry entry) => database.Write(cmd => cmd.With(
        "INSERT INTO whitelist (list, id, kind, label, status, expiry_utc, parent_id, added_utc) VALUES ($list, $id, $kind, $label, $status, $expiry, $parent, $added) "
        + "ON CONFLICT (list, id) DO UPDATE SET kind = excluded.kind, label = excluded.label, status = excluded.status, expiry_utc = excluded.expiry_utc, parent_id = excluded.parent_id",
        ("$list", list.ToString()), ("$id", entry.Id), ("$kind", entry.Kind.ToString()), ("$label", entry.Label), ("$status", entry.Status),
        ("$expiry", entry.Expiry is { } e ? Sql.Utc(e) : null), ("$parent", entry.ParentId), ("$added", Sql.Utc(entry.Added))).ExecuteNonQuery());

    /// <summary>Adds many entries in one transaction (an import, an OCPP local list).</summary>
    public void AddAll(WhitelistName list, IEnumerable<WhitelistEntry> entries, bool replace = false) => database.Write(cmd =>
    {
        if (replace)
        {
            cmd.With("DELETE FROM whitelist WHERE list = $list", ("$list", list.ToString())).ExecuteNonQuery();
        }
        foreach (var entry in entries)
        {
            cmd.With("INSERT INTO whitelist (list, id, kind, label, status, expiry_utc, parent_id, added_utc) VALUES ($list, $id, $kind, $label, $status, $expiry, $parent, $added) "
                + "ON CONFLICT (list, id) DO UPDATE SET kind = excluded.kind, label = excluded.label, status = excluded.status, expiry_utc = excluded.expiry_utc, parent_id = excluded.parent_id",
                ("$list", list.ToString()), ("$id", entry.Id), ("$kind", entry.Kind.ToString()), ("$label", entry.Label), ("$status", entry.Status),
                ("$expiry", entry.Expiry is { } e ? Sql.Utc(e) : null), ("$parent", entry.ParentId), ("$added", Sql.Utc(entry.Added))).ExecuteNonQuery();
        }
    });

    public bool Remove(WhitelistName list, string id) => database.Write(cmd =>
        cmd.With("DELETE FROM whitelist WHERE list = $list AND id = $id", ("$list", list.ToString()), ("$id", id)).ExecuteNonQuery() > 0);

    public int Clear(WhitelistName list) => database.Write(cmd =>
        cmd.With("DELETE FROM whitelist WHERE list = $list", ("$list", list.ToString())).ExecuteNonQuery());

    private static WhitelistEntry Row(Microsoft.Data.Sqlite.SqliteDataReader r)
    {
        string id = r.GetString(0);
        var kind = Enum.Parse<WhitelistKind>(r.GetString(1));
        int? connector = kind == WhitelistKind.Rfid && id.Length > 2 && id[^2] == '_' ? id[^1] - '0' : null;
        return new WhitelistEntry(id, kind, connector, r.GetString(2), Sql.ParseUtc(r.GetString(6)), r.GetString(3),
            r.IsDBNull(4) ? null : Sql.ParseUtc(r.GetString(4)), r.IsDBNull(5) ? null : r.GetString(5));
    }

    /// <summary>The most lines an import may have (a bigger file is refused as a whole).</summary>
    public const int MaxImportLines = 20_000;

    /// <summary>The most bytes an import may have.</summary>
    public const int MaxImportBytes = 2_000_000;

    /// <summary>
    /// Imports a CSV of ids and labels into the local list (RFC 4180; comma, semicolon or tab; an optional header row
    /// names the id and label columns; a BOM and blank lines are fine), read line by line. All or nothing on size: past
    /// <see cref="MaxImportLines"/> lines or <see cref="MaxImportBytes"/> bytes nothing is imported. Otherwise every
    /// valid line is imported and every invalid one reported with its line, id and reason; an id that occurs twice in
    /// the file is imported once with the later line's label (the earlier line is reported as a duplicate); an id
    /// already in the list gets the file's label (counted as updated).
    /// </summary>
    public ImportReport Import(TextReader csv, string autochargePrefix, DateTimeOffset now)
    {
        var rejected = new List<ImportProblem>();
        var duplicates = new List<ImportDuplicate>();
        var entries = new Dictionary<string, (WhitelistEntry Entry, int Line)>(StringComparer.Ordinal);
        int idColumn = 0, labelColumn = 1, number = 0, bytes = 0;
        bool first = true;
        for (string? line = csv.ReadLine(); line is not null; line = csv.ReadLine())
        {
            number++;
            bytes += Encoding.UTF8.GetByteCount(line) + 1;
            if (number > MaxImportLines || bytes > MaxImportBytes)
            {
                return ImportReport.TooLarge($"the file has more than {(number > MaxImportLines ? $"{MaxImportLines} lines" : $"{MaxImportBytes} bytes")}: nothing was imported");
            }
            if (first)
            {
                line = line.TrimStart('\uFEFF');
            }
            if (line.Trim().Length == 0)
            {
                continue;
            }
            var fields = Csv.SplitLine(line);
            if (first && fields.Any(f => f.Trim().Equals("id", StringComparison.OrdinalIgnoreCase)))
            {
                // a header row (an export's, or a spreadsheet's): the columns by name
                var names = fields.Select(f => f.Trim().ToLowerInvariant()).ToList();
                idColumn = names.IndexOf("id");
                labelColumn = names.IndexOf("label");
                first = false;
                continue;
            }
            first = false;
            string id = fields.Count > idColumn ? Csv.Value(fields[idColumn].Trim()) : "";
            string label = labelColumn >= 0 && fields.Count > labelColumn ? Csv.Value(fields[labelColumn].Trim()) : "";
            if (!WhitelistEntry.TryParse(id, autochargePrefix, out var entry, out string error, now, label))
            {
                rejected.Add(new ImportProblem(number, id, error));
                continue;
            }
            if (entries.TryGetValue(entry.Id, out var earlier))
            {
                duplicates.Add(new ImportDuplicate(earlier.Line, entry.Id, number));
            }
            entries[entry.Id] = (entry, number);
        }
        var existing = Search(WhitelistName.Local, null, int.MaxValue).Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        int updated = entries.Keys.Count(existing.Contains);
        AddAll(WhitelistName.Local, entries.Values.OrderBy(e => e.Line).Select(e => e.Entry));
        return new ImportReport(entries.Count, entries.Count - updated, updated, rejected, duplicates, null);
    }

    public ImportReport Import(string csv, string autochargePrefix, DateTimeOffset now) => Import(new StringReader(csv), autochargePrefix, now);

    /// <summary>The list as CSV (RFC 4180, UTF-8): a header, then id, type, connector and label per entry.</summary>
    public string Export(WhitelistName list)
    {
        var sb = new StringBuilder("id,type,connector,label,status\r\n");
        foreach (var e in Search(list, null, int.MaxValue))
        {
            sb.Append(Csv.Field(e.Id)).Append(',').Append(e.Kind switch { WhitelistKind.EvMac => "ev-mac", WhitelistKind.InputAuth => "input", _ => "rfid" })
                .Append(',').Append(e.Connector?.ToString(CultureInfo.InvariantCulture) ?? "").Append(',').Append(Csv.Field(e.Label))
                .Append(',').Append(Csv.Field(e.Status)).Append("\r\n");
        }
        return sb.ToString();
    }
}

/// <summary>
/// RFC 4180 fields, and reading lines with whichever separator a spreadsheet chose. Every CSV the station writes goes
/// through <see cref="Field"/>: a cell that a spreadsheet would take for a formula (it begins with = + - @, a tab or a
/// CR) gets a leading apostrophe, as OWASP recommends against CSV injection; <see cref="Value"/> takes it off again
/// when a CSV is read back (a whitelist import of an export gives the same labels).
/// </summary>
public static class Csv
{
    private static bool LooksLikeFormula(string value) => value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r';

    public static string Field(string value)
    {
        if (LooksLikeFormula(value))
        {
            value = "'" + value;
        }
        return value.IndexOfAny([',', '"', '\r', '\n', ';', '\'']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    /// <summary>A field as <see cref="Field"/> wrote it, the apostrophe before a would-be formula taken off.</summary>
    public static string Value(string field) => field.Length > 1 && field[0] == '\'' && LooksLikeFormula(field[1..]) ? field[1..] : field;

    /// <summary>Splits one line on the first of ',', ';' or tab found outside quotes; quoted fields may hold separators.</summary>
    public static List<string> SplitLine(string line)
    {
        char? separator = null;
        var fields = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    current.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if ((separator is null && c is ',' or ';' or '\t') || c == separator)
            {
                separator ??= c;
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }
        fields.Add(current.ToString());
        return fields;
    }
}
