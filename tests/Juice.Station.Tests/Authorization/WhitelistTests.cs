using Juice.Station.Core;
using Juice.Station.Authorization;
using Juice.Station.Persistence;
using Microsoft.Extensions.Options;

namespace Juice.Station.Tests.Authorization;

public sealed class WhitelistTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-wl-").FullName;
    private readonly StationDatabase _db;
    private readonly WhitelistStore _store;

    public WhitelistTests()
    {
        _db = new StationDatabase(Options.Create(new DatabaseOptions { Path = Path.Combine(_dir, "juice.db") }));
        _db.Migrate();
        _store = new WhitelistStore(_db);
    }

    public void Dispose()
    {
        _db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("04a1b2c3", "04A1B2C3", WhitelistKind.Rfid, null)]                           // 4 bytes
    [InlineData("04A1B2C3D4E5F6", "04A1B2C3D4E5F6", WhitelistKind.Rfid, null)]               // 7 bytes
    [InlineData("04A1B2C3D4E5F60718A9", "04A1B2C3D4E5F60718A9", WhitelistKind.Rfid, null)]   // 10 bytes
    [InlineData(" 04A1B2C3_1 ", "04A1B2C3_1", WhitelistKind.Rfid, 1)]                       // connector 1 only
    [InlineData("04A1B2C3D4E5F6_2", "04A1B2C3D4E5F6_2", WhitelistKind.Rfid, 2)]
    [InlineData("INPUT_AUTH", "INPUT_AUTH", WhitelistKind.InputAuth, null)]
    [InlineData("input_auth", "INPUT_AUTH", WhitelistKind.InputAuth, null)]
    [InlineData("ac91a1565f46", "AC91A1565F46", WhitelistKind.EvMac, null)]                   // a MAC, 12 digits
    [InlineData("AC:91:A1:56:5F:46", "AC91A1565F46", WhitelistKind.EvMac, null)]
    [InlineData("ac-91-a1-56-5f-46", "AC91A1565F46", WhitelistKind.EvMac, null)]
    [InlineData("VID:AC91A1565F46", "AC91A1565F46", WhitelistKind.EvMac, null)]              // as the Autocharge idTag
    public void Valid_entries_are_read_into_their_canonical_form(string text, string id, WhitelistKind kind, int? connector)
    {
        Assert.True(WhitelistEntry.TryParse(text, "VID:", out var entry, out _));
        Assert.Equal(id, entry.Id);
        Assert.Equal(kind, entry.Kind);
        Assert.Equal(connector, entry.Connector);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("04A1B2")]                  // 3 bytes
    [InlineData("04A1B2C3D4")]              // 5 bytes
    [InlineData("04A1B2C3D4E5F60718A9BB")]  // 11 bytes
    [InlineData("04A1B2CZ")]                // not hex
    [InlineData("04A1B2C3_3")]              // no connector 3
    [InlineData("04A1B2C3_")]
    [InlineData("AC:91:A1:56:5F")]          // five bytes of a MAC
    [InlineData("AC:91-A1:56:5F:46")]       // mixed separators
    [InlineData("VID:04A1B2C3")]            // the prefix with a card UID
    [InlineData("INPUT_AUTH_1")]
    public void Invalid_entries_are_refused_with_the_rule(string text)
    {
        Assert.False(WhitelistEntry.TryParse(text, "VID:", out _, out string error));
        Assert.Contains("4, 7 or 10 bytes", error);
        Assert.Contains("INPUT_AUTH", error);
        Assert.Contains("MAC", error);
    }

    [Fact]
    public void Add_search_delete_one_and_delete_all()
    {
        foreach (var id in new[] { "04A1B2C3", "04A1B2C4_1", "AC91A1565F46" })
        {
            Assert.True(WhitelistEntry.TryParse(id, "VID:", out var e, out _, label: "label " + id));
            _store.Add(WhitelistName.Local, e);
        }
        _store.Add(WhitelistName.Ocpp, new WhitelistEntry("TAG1", WhitelistKind.Rfid, null, "", DateTimeOffset.UtcNow));
        Assert.Equal(3, _store.Count(WhitelistName.Local));
        Assert.Equal(["04A1B2C3", "04A1B2C4_1"], _store.Search(WhitelistName.Local, "04a1").Select(e => e.Id));
        Assert.Single(_store.Search(WhitelistName.Local, "label AC"));
        Assert.True(_store.Remove(WhitelistName.Local, "04A1B2C3"));
        Assert.False(_store.Remove(WhitelistName.Local, "04A1B2C3"));
        Assert.Equal(2, _store.Clear(WhitelistName.Local));
        Assert.Equal(0, _store.Count(WhitelistName.Local));
        Assert.Equal(1, _store.Count(WhitelistName.Ocpp));   // the lists are separate
    }

    [Fact]
    public void An_import_takes_what_spreadsheets_write_and_reports_every_rejected_line()
    {
        string csv = "\uFEFFid;label\r\n"               // BOM, semicolons (German Excel), a header
            + "04a1b2c3;Anna\r\n"
            + "\"04A1B2C3D4E5F6\",\"Bob, the boss\"\r\n"  // commas, quotes with a separator inside
            + "AC:91:A1:56:5F:46\tCar\n"                   // tab, LF only
            + "\r\n"                                        // an empty line
            + "12345\r\n"                                   // invalid
            + "INPUT_AUTH\r\n"
            + "04A1B2C3_5;bad connector\r\n";
        var report = _store.Import(csv, "VID:", DateTimeOffset.UtcNow);
        Assert.Equal(4, report.Imported);
        Assert.Equal(4, report.Added);
        Assert.Equal([6, 8], report.Rejected.Select(l => l.Line));
        Assert.Equal(["12345", "04A1B2C3_5"], report.Rejected.Select(l => l.Id));
        Assert.All(report.Rejected, l => Assert.Contains("4, 7 or 10 bytes", l.Reason));
        Assert.Equal("Bob, the boss", _store.Find(WhitelistName.Local, "04A1B2C3D4E5F6")!.Label);
        Assert.Equal(WhitelistKind.EvMac, _store.Find(WhitelistName.Local, "AC91A1565F46")!.Kind);
    }

    [Fact]
    public void The_export_imports_back_to_the_same_list()
    {
        _store.Import("04A1B2C3,Anna\n04A1B2C3D4E5F6_2,\"Bob \"\"B\"\"\"\nAC91A1565F46,Car\nINPUT_AUTH,input", "VID:", DateTimeOffset.UtcNow);
        string exported = _store.Export(WhitelistName.Local);
        Assert.StartsWith("id,type,connector,label,status\r\n", exported);
        var before = _store.Search(WhitelistName.Local).Select(e => (e.Id, e.Kind, e.Label)).ToList();
        _store.Clear(WhitelistName.Local);
        var report = _store.Import(exported, "VID:", DateTimeOffset.UtcNow);
        Assert.Empty(report.Rejected);
        Assert.Equal(before, _store.Search(WhitelistName.Local).Select(e => (e.Id, e.Kind, e.Label)).ToList());
    }

    [Fact]
    public void A_duplicate_id_is_imported_once_with_its_last_label_and_reported_and_existing_ids_are_updated()
    {
        _store.Import("04A1B2C3,Old label", "VID:", DateTimeOffset.UtcNow);
        var report = _store.Import("04A1B2C3,First\n04A1B2C4,Other\n04a1b2c3,Second\n", "VID:", DateTimeOffset.UtcNow);
        Assert.Equal(2, report.Imported);
        Assert.Equal(1, report.Added);
        Assert.Equal(1, report.Updated);
        var duplicate = Assert.Single(report.Duplicates);
        Assert.Equal((1, "04A1B2C3", 3), (duplicate.Line, duplicate.Id, duplicate.ReplacedBy));
        Assert.Equal("Second", _store.Find(WhitelistName.Local, "04A1B2C3")!.Label);
    }

    [Fact]
    public void A_file_over_the_limits_imports_nothing()
    {
        var lines = string.Concat(Enumerable.Range(0, WhitelistStore.MaxImportLines + 1).Select(i => $"{0x04000000 + i:X8},card {i}\n"));
        var report = _store.Import(lines, "VID:", DateTimeOffset.UtcNow);
        Assert.Equal($"the file has more than {WhitelistStore.MaxImportLines} lines: nothing was imported", report.Refused);
        Assert.Empty(_store.Search(WhitelistName.Local));
        var wide = string.Concat(Enumerable.Range(0, 1000).Select(i => $"{0x04000000 + i:X8},{new string('x', 2100)}\n"));
        Assert.Contains($"more than {WhitelistStore.MaxImportBytes} bytes", _store.Import(wide, "VID:", DateTimeOffset.UtcNow).Refused);
        Assert.Empty(_store.Search(WhitelistName.Local));
        // the largest file allowed imports
        var most = string.Concat(Enumerable.Range(0, WhitelistStore.MaxImportLines).Select(i => $"{0x04000000 + i:X8}\n"));
        Assert.Equal(WhitelistStore.MaxImportLines, _store.Import(most, "VID:", DateTimeOffset.UtcNow).Imported);
    }

    [Theory]
    [InlineData("=cmd|' /C calc'!A0")]
    [InlineData("+SUM(1+1)")]
    [InlineData("-2+3")]
    [InlineData("@HYPERLINK(\"http://example.invalid\")")]
    [InlineData("\tTAB")]
    public void A_label_a_spreadsheet_would_run_is_neutralised_in_the_export_and_reads_back_unchanged(string label)
    {
        _store.Import($"04A1B2C3,{Csv.Field(label)}", "VID:", DateTimeOffset.UtcNow);
        Assert.Equal(label, _store.Search(WhitelistName.Local).Single().Label);
        string exported = _store.Export(WhitelistName.Local);
        string cell = Csv.SplitLine(exported.Split("\r\n")[1])[3];
        Assert.Equal("'" + label, cell);   // the apostrophe: a spreadsheet shows text, runs nothing
        _store.Clear(WhitelistName.Local);
        _store.Import(exported, "VID:", DateTimeOffset.UtcNow);
        Assert.Equal(label, _store.Search(WhitelistName.Local).Single().Label);
    }

    [Fact]
    public void The_history_CSV_neutralises_an_id_tag_that_looks_like_a_formula()
    {
        var session = new ChargingSession(1, 1, "=HYPERLINK(\"x\")", IdSource.Rfid, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddMinutes(1), 0, 100, StopReason.Local);
        string line = HistoryStore.ToCsv([session], TimeZoneInfo.Utc).Split("\r\n")[1];
        Assert.Contains(",\"'=HYPERLINK(\"\"x\"\")\",", line);
    }
}
