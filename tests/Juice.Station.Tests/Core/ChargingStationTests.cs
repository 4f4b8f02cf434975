using Juice.Hlc.Secc;
using Juice.Station.Authorization;
using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Juice.Station.Tests.Core;

/// <summary>The charging core on a fake clock: connector state, authorization precedence, current arbitration, history.</summary>
public sealed class ChargingStationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-core-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly StationDatabase _db;
    private readonly SettingsStore _settings;
    private readonly WhitelistStore _whitelists;
    private readonly HistoryStore _history;

    public ChargingStationTests()
    {
        _db = new StationDatabase(Options.Create(new DatabaseOptions { Path = Path.Combine(_dir, "juice.db") }));
        _db.Migrate();
        _settings = new SettingsStore(_db);
        _whitelists = new WhitelistStore(_db);
        _history = new HistoryStore(_db);
    }

    public void Dispose()
    {
        _db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ChargingStation Station(StationOptions? options = null, IBackendAuthorizer? backend = null) =>
        new(Options.Create(options ?? new StationOptions()), _settings,
            new Authorizer(_settings, _whitelists, _time, NullLogger<Authorizer>.Instance, backend), _history, _time, NullLogger<ChargingStation>.Instance);

    private void Whitelist(string id)
    {
        Assert.True(WhitelistEntry.TryParse(id, _settings.Current.AutochargePrefix, out var e, out var error), error);
        _whitelists.Add(WhitelistName.Local, e);
    }

    private static IdToken Card(string uid) => new(uid, IdSource.Rfid);

    [Fact]
    public async Task A_basic_car_charges_with_a_whitelisted_card_and_the_session_goes_into_the_history()
    {
        Whitelist("04A1B2C3");
        var station = Station();
        Assert.Equal(ConnectorStatus.Available, station.Snapshot(1).Status);
        station.SetVehicleState(1, CpState.B);
        Assert.Equal(ConnectorStatus.Preparing, station.Snapshot(1).Status);
        var decision = await station.PresentIdAsync(1, Card("04A1B2C3"));
        Assert.True(decision.Accepted);
        Assert.Contains("local whitelist", decision.Reason);
        Assert.NotNull(station.Snapshot(1).Transaction);
        Assert.Equal(ConnectorStatus.SuspendedEV, station.Snapshot(1).Status);   // the car has not asked for energy yet
        station.SetVehicleState(1, CpState.C);
        var charging = station.Snapshot(1);
        Assert.Equal(ConnectorStatus.Charging, charging.Status);
        Assert.Equal(RelayState.ThreePhases, charging.Relay);
        Assert.Equal(32, charging.SignalledCurrentA);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(3 * 230 * 32, station.Snapshot(1).SessionEnergyWh, 3);   // 22 kWh in one hour

        await station.PresentIdAsync(1, Card("04A1B2C3"));                     // the same card stops it
        var after = station.Snapshot(1);
        Assert.Null(after.Transaction);
        Assert.Equal(RelayState.Off, after.Relay);
        Assert.Equal(ConnectorStatus.Finishing, after.Status);
        var session = Assert.Single(_history.Since(DateTimeOffset.MinValue));
        Assert.Equal("04A1B2C3", session.IdTag);
        Assert.Equal(StopReason.Local, session.Reason);
        Assert.Equal(22_080, session.EnergyWh, 3);
        Assert.Equal(TimeSpan.FromHours(1), session.Duration);
        station.SetVehicleState(1, CpState.A);
        Assert.Equal(ConnectorStatus.Available, station.Snapshot(1).Status);
    }

    [Fact]
    public async Task A_card_for_connector_1_only_is_refused_at_connector_2_and_unknown_cards_are_refused()
    {
        Whitelist("04A1B2C3_1");
        var station = Station(new StationOptions { Connectors = 2 });
        Assert.False((await station.PresentIdAsync(2, Card("04A1B2C3"))).Accepted);
        Assert.True((await station.PresentIdAsync(1, Card("04A1B2C3"))).Accepted);
        var unknown = await station.PresentIdAsync(1, Card("DEADBEEF"));
        Assert.False(unknown.Accepted);
        Assert.Contains("no whitelist", unknown.Reason);
    }

    [Fact]
    public async Task A_card_before_the_plug_expires_after_the_vehicle_connection_timeout()
    {
        Whitelist("04A1B2C3");
        _settings.Update(s => s with { VehicleConnectionTimeoutSeconds = 30 });
        var station = Station();
        await station.PresentIdAsync(1, Card("04A1B2C3"));
        Assert.Equal(ConnectorStatus.Preparing, station.Snapshot(1).Status);
        _time.Advance(TimeSpan.FromSeconds(31));
        station.Tick();
        Assert.Null(station.Snapshot(1).Authorized);
        station.SetVehicleState(1, CpState.C);
        Assert.Null(station.Snapshot(1).Transaction);   // too late: no transaction
    }

    [Fact]
    public void Free_charging_starts_every_vehicle_under_the_configured_tag()
    {
        _settings.Update(s => s with { FreeCharging = true, FreeChargingIdTag = "FREE1" });
        var station = Station();
        station.SetVehicleState(1, CpState.C);
        var tx = station.Snapshot(1).Transaction!;   // plugging in is enough
        Assert.Equal(new IdToken("FREE1", IdSource.FreeCharging), tx.IdTag);
        station.StopTransaction(1, StopReason.Local);
        Assert.Null(station.Snapshot(1).Transaction);   // not again until the next plug
        station.SetVehicleState(1, CpState.A);
        station.SetVehicleState(1, CpState.C);
        Assert.NotNull(station.Snapshot(1).Transaction);
    }

    [Fact]
    public async Task Free_charging_accepts_any_card_as_the_free_charging_tag()
    {
        _settings.Update(s => s with { FreeCharging = true, FreeChargingIdTag = "FREE1" });
        var station = Station();
        var decision = await station.PresentIdAsync(1, Card("CAFEBABE"));
        Assert.True(decision.Accepted);
        station.SetVehicleState(1, CpState.C);
        Assert.Equal("FREE1", station.Snapshot(1).Transaction!.IdTag.Value);
        Assert.Equal(IdSource.FreeCharging, station.Snapshot(1).Transaction!.IdTag.Source);
    }

    [Fact]
    public async Task INPUT_AUTH_authorizes_only_when_it_is_in_the_whitelist()
    {
        var station = Station();
        var input = new IdToken(WhitelistEntry.InputAuthTag, IdSource.InputAuth);
        Assert.False((await station.PresentIdAsync(1, input)).Accepted);
        Whitelist("INPUT_AUTH");
        Assert.True((await station.PresentIdAsync(1, input)).Accepted);
    }

    /// <summary>A backend stand-in for the precedence tests (the OCPP client is tested against a real central system).</summary>
    private sealed class Backend(BackendVerdict verdict) : IBackendAuthorizer
    {
        public List<string> Asked { get; } = [];
        public bool Configured => true;
        public bool Online { get; set; } = true;
        public BackendPolicy Policy { get; set; } = new();
        public BackendVerdict Verdict { get; set; } = verdict;

        public Task<BackendAnswer> AuthorizeAsync(string idTag, CancellationToken cancellationToken)
        {
            Asked.Add(idTag);
            return Task.FromResult(new BackendAnswer(Verdict, Verdict == BackendVerdict.Rejected ? "Invalid" : Verdict == BackendVerdict.Accepted ? "Accepted" : "no answer"));
        }
    }

    private Task<AuthorizationDecision> Decide(IBackendAuthorizer? backend, string id) =>
        new Authorizer(_settings, _whitelists, _time, NullLogger<Authorizer>.Instance, backend).AuthorizeTagAsync(1, Card(id));

    [Fact]
    public async Task Online_the_local_whitelist_decides_first_then_the_backend_is_asked_and_LocalPreAuthorize_lets_the_OCPP_lists_answer_at_once()
    {
        Whitelist("04A1B2C3");
        _whitelists.Add(WhitelistName.Ocpp, new WhitelistEntry("CAFE0001", WhitelistKind.Rfid, null, "", _time.GetUtcNow()));
        var backend = new Backend(BackendVerdict.Accepted);

        Assert.Contains("local whitelist", (await Decide(backend, "04A1B2C3")).Reason);
        Assert.Empty(backend.Asked);

        var asked = await Decide(backend, "CAFE0001");   // in the OCPP list, but without LocalPreAuthorize the backend decides
        Assert.Equal("accepted by the backend", asked.Reason);
        Assert.Equal(["CAFE0001"], backend.Asked);

        backend.Policy = new BackendPolicy(LocalPreAuthorize: true);
        Assert.Contains("LocalPreAuthorize", (await Decide(backend, "CAFE0001")).Reason);
        Assert.Single(backend.Asked);

        backend.Verdict = BackendVerdict.Rejected;
        var refused = await Decide(backend, "CAFE0004");
        Assert.False(refused.Accepted);
        Assert.Contains("refused by the backend (Invalid)", refused.Reason);

        backend.Verdict = BackendVerdict.Unreachable;   // connected, but no answer: "if in doubt" decides
        Assert.False((await Decide(backend, "CAFE0005")).Accepted);
        _settings.Update(s => s with { IfInDoubtAllowCharging = true });
        var doubt = await Decide(backend, "CAFE0006");
        Assert.True(doubt.Accepted);
        Assert.Contains("if in doubt", doubt.Reason);
    }

    [Fact]
    public async Task Offline_the_local_list_and_the_cache_decide_with_LocalAuthorizeOffline_and_unknown_ids_follow_AllowOfflineTxForUnknownId_then_if_in_doubt()
    {
        _whitelists.Add(WhitelistName.Ocpp, new WhitelistEntry("CAFE0001", WhitelistKind.Rfid, null, "", _time.GetUtcNow()));
        _whitelists.Add(WhitelistName.Ocpp, new WhitelistEntry("CAFE0002", WhitelistKind.Rfid, null, "", _time.GetUtcNow(), Expiry: _time.GetUtcNow().AddDays(-1)));
        _whitelists.Add(WhitelistName.Ocpp, new WhitelistEntry("CAFE0003", WhitelistKind.Rfid, null, "", _time.GetUtcNow(), Status: "Blocked"));
        _whitelists.Add(WhitelistName.OcppCache, new WhitelistEntry("CAFE0009", WhitelistKind.Rfid, null, "", _time.GetUtcNow()));
        var backend = new Backend(BackendVerdict.Accepted) { Online = false };

        Assert.Contains("OCPP whitelist entry, backend offline (LocalAuthorizeOffline)", (await Decide(backend, "CAFE0001")).Reason);
        Assert.Contains("authorization cache entry", (await Decide(backend, "CAFE0009")).Reason);
        var expired = await Decide(backend, "CAFE0002");
        Assert.False(expired.Accepted);
        Assert.Contains("expired", expired.Reason);
        Assert.Contains("Blocked", (await Decide(backend, "CAFE0003")).Reason);
        Assert.Empty(backend.Asked);   // offline: never asked

        var unknown = await Decide(backend, "CAFE0007");
        Assert.False(unknown.Accepted);
        Assert.Contains("\"if in doubt allow charging\" is off", unknown.Reason);
        backend.Policy = new BackendPolicy(AllowOfflineTxForUnknownId: true);
        Assert.Contains("AllowOfflineTxForUnknownId", (await Decide(backend, "CAFE0007")).Reason);

        backend.Policy = new BackendPolicy(LocalAuthorizeOffline: false, AuthorizationCacheEnabled: false);
        var ignored = await Decide(backend, "CAFE0003");   // the lists do not count offline now: unknown, and in doubt off
        Assert.False(ignored.Accepted);
        Assert.Contains("backend offline", ignored.Reason);
        _settings.Update(s => s with { IfInDoubtAllowCharging = true });
        Assert.True((await Decide(backend, "CAFE0009")).Accepted);   // cache disabled: unknown, in doubt on
    }

    private sealed class Contracts(ContractVerdict verdict) : IContractBackend
    {
        public List<(string Emaid, bool Local)> Asked { get; } = [];

        public bool Online => true;

        public Task<ContractAnswer> AuthorizeContractAsync(string emaid, IReadOnlyList<byte[]> chain, bool locallyValidated, CancellationToken cancellationToken)
        {
            Asked.Add((emaid, locallyValidated));
            return Task.FromResult(new ContractAnswer(verdict, verdict.ToString()));
        }

        public Task<Juice.Hlc.Secc.CertificateServiceResult> CertificateServiceAsync(Juice.Hlc.Secc.CertificateServiceRequest request, CancellationToken cancellationToken) =>
            Task.FromResult(new Juice.Hlc.Secc.CertificateServiceResult(null, "none"));
    }

    private Task<AuthorizationDecision> Contract(IBackendAuthorizer? backend, IContractBackend? contracts, bool local = true) =>
        new Authorizer(_settings, _whitelists, _time, NullLogger<Authorizer>.Instance, new BackendLink { Backend = backend }, new ContractBackendLink { Backend = contracts })
            .AuthorizeContractAsync(1, "DEJUIC000000001", [], local);

    [Fact]
    public async Task A_contract_is_decided_by_the_backends_extension_online_by_local_validation_offline_and_without_a_backend()
    {
        Assert.Contains("validated locally", (await Contract(null, null)).Reason);
        Assert.False((await Contract(null, null, local: false)).Accepted);   // an unknown root and nobody to ask

        var backend = new Backend(BackendVerdict.Accepted);
        var accepting = new Contracts(ContractVerdict.Accepted);
        Assert.Equal("contract accepted by the backend", (await Contract(backend, accepting)).Reason);
        Assert.Equal([("DEJUIC000000001", true)], accepting.Asked);
        var revoked = await Contract(backend, new Contracts(ContractVerdict.Revoked));
        Assert.False(revoked.Accepted);
        Assert.Equal("CertificateRevoked", revoked.CertificateStatus);
        Assert.Equal("CertificateExpired", (await Contract(backend, new Contracts(ContractVerdict.Expired))).CertificateStatus);

        // a backend without the extension: plain Authorize of the eMAID
        var plain = await Contract(backend, new Contracts(ContractVerdict.Unsupported));
        Assert.True(plain.Accepted);
        Assert.Contains("plain Authorize", plain.Reason);
        Assert.Contains("DEJUIC000000001", backend.Asked);

        // central validation of an unknown root only when allowed
        backend.Policy = new BackendPolicy(CentralContractValidationAllowed: false);
        Assert.Contains("CentralContractValidationAllowed is off", (await Contract(backend, accepting, local: false)).Reason);

        // offline: ContractValidationOffline accepts a locally validated contract; without it, the rules of an id tag
        backend.Online = false;
        backend.Policy = new BackendPolicy();
        Assert.Contains("ContractValidationOffline", (await Contract(backend, accepting)).Reason);
        backend.Policy = new BackendPolicy(ContractValidationOffline: false);
        Assert.Contains("backend offline", (await Contract(backend, accepting)).Reason);
        Assert.False((await Contract(backend, accepting)).Accepted);

        _settings.Update(s => s with { FreeCharging = true });
        Assert.Equal(IdSource.FreeCharging, (await Contract(backend, accepting)).IdTag!.Source);
    }

    [Fact]
    public async Task Without_a_backend_an_accepted_entry_of_the_OCPP_whitelist_still_authorizes()
    {
        _whitelists.Add(WhitelistName.Ocpp, new WhitelistEntry("CAFE0001", WhitelistKind.Rfid, null, "", _time.GetUtcNow()));
        _whitelists.Add(WhitelistName.Ocpp, new WhitelistEntry("CAFE0002", WhitelistKind.Rfid, null, "", _time.GetUtcNow(), Expiry: _time.GetUtcNow().AddDays(-1)));
        Assert.Equal("OCPP whitelist entry", (await Decide(null, "CAFE0001")).Reason);
        Assert.Contains("expired", (await Decide(null, "CAFE0002")).Reason);
        Assert.Equal("in no whitelist, and no backend to ask", (await Decide(null, "CAFE0003")).Reason);
    }

    [Fact]
    public void The_signalled_current_is_the_minimum_of_every_limit_and_below_6_A_charging_pauses()
    {
        var station = Station(new StationOptions { MaxCurrent = 32 });
        Assert.Equal((32, "hardware limit"), Limit(station));
        _settings.Update(s => s with { OperatorCurrentLimit = 20 });
        Assert.Equal((20, "operator current limit"), Limit(station));
        station.SetHemsLimit(16);
        Assert.Equal((16, "HEMS limit (Modbus 1000)"), Limit(station));
        station.SetExternalLimit(1, 10);
        Assert.Equal((10, "backend charging profile"), Limit(station));
        station.SetExternalLimit(1, null);
        station.SetHemsLimit(5);
        Assert.Equal((0, "HEMS limit (Modbus 1000)"), Limit(station));   // IEC 61851: below 6 A is a pause
        station.SetHemsLimit(0);
        Assert.Equal(0, station.Snapshot(1).SignalledCurrentA);
        station.SetHemsLimit(32);
        Assert.Equal((20, "operator current limit"), Limit(station));
    }

    private static (double, string) Limit(ChargingStation station)
    {
        var s = station.Snapshot(1);
        return (s.SignalledCurrentA, s.LimitReason);
    }

    [Fact]
    public void The_safe_current_applies_once_the_Modbus_master_falls_silent_past_its_timeout()
    {
        _settings.Update(s => s with { ModbusSafeCurrent = 8, ModbusCommunicationTimeout = 30 });
        var station = Station();
        _time.Advance(TimeSpan.FromMinutes(5));
        station.Tick();
        Assert.Equal(32, station.Snapshot(1).SignalledCurrentA);   // no master has ever spoken: no watchdog
        station.ModbusActivity();
        station.SetHemsLimit(16);
        _time.Advance(TimeSpan.FromSeconds(29));
        station.Tick();
        Assert.Equal(16, station.Snapshot(1).SignalledCurrentA);
        _time.Advance(TimeSpan.FromSeconds(2));
        station.Tick();
        Assert.Equal((8, "safe current (Modbus master silent)"), Limit(station));
        station.ModbusActivity();
        Assert.Equal(16, station.Snapshot(1).SignalledCurrentA);
    }

    [Fact]
    public async Task A_HEMS_limit_of_0_suspends_a_running_transaction_and_a_higher_one_resumes_it()
    {
        Whitelist("04A1B2C3");
        var station = Station();
        station.SetVehicleState(1, CpState.C);
        await station.PresentIdAsync(1, Card("04A1B2C3"));
        Assert.Equal(ConnectorStatus.Charging, station.Snapshot(1).Status);
        station.SetHemsLimit(0);
        Assert.Equal(ConnectorStatus.SuspendedEVSE, station.Snapshot(1).Status);
        Assert.Equal(0, station.Snapshot(1).Meter.TotalPowerW);
        station.SetHemsLimit(10);
        Assert.Equal(ConnectorStatus.Charging, station.Snapshot(1).Status);
        Assert.Equal(3 * 230 * 10, station.Snapshot(1).Meter.TotalPowerW, 3);
    }

    [Fact]
    public async Task Inoperative_stops_the_energy_and_refuses_new_transactions()
    {
        Whitelist("04A1B2C3");
        var station = Station();
        station.SetAvailability(1, Availability.Inoperative);
        Assert.Equal(ConnectorStatus.Unavailable, station.Snapshot(1).Status);
        station.SetVehicleState(1, CpState.C);
        await station.PresentIdAsync(1, Card("04A1B2C3"));
        Assert.Null(station.Snapshot(1).Transaction);
        station.SetAvailability(1, Availability.Operative);
        Assert.NotNull(station.Snapshot(1).Transaction);   // the waiting authorization starts it now
        station.SetAvailability(1, Availability.Inoperative);
        Assert.Equal(RelayState.Off, station.Snapshot(1).Relay);
    }

    [Fact]
    public async Task Unplugging_ends_the_transaction_as_EVDisconnected()
    {
        Whitelist("04A1B2C3");
        var station = Station();
        station.SetVehicleState(1, CpState.C);
        await station.PresentIdAsync(1, Card("04A1B2C3"));
        _time.Advance(TimeSpan.FromMinutes(10));
        station.SetVehicleState(1, CpState.A);
        Assert.Equal(StopReason.EVDisconnected, Assert.Single(_history.Since(DateTimeOffset.MinValue)).Reason);
    }

    [Fact]
    public async Task A_transaction_left_open_by_a_killed_station_is_recovered_as_PowerLoss_with_its_last_meter_reading()
    {
        Whitelist("04A1B2C3");
        var station = Station();
        station.SetVehicleState(1, CpState.C);
        await station.PresentIdAsync(1, Card("04A1B2C3"));
        _time.Advance(TimeSpan.FromMinutes(30));
        station.Tick();   // writes the meter reading of the open transaction
        // the process dies here; a new one starts on the same file
        var restarted = Station();
        var recovered = Assert.Single(restarted.Recover());
        Assert.Equal(StopReason.PowerLoss, recovered.Reason);
        Assert.Equal(3 * 230 * 32 * 0.5, recovered.EnergyWh, 1);
        Assert.Single(_history.Since(DateTimeOffset.MinValue));
        Assert.Empty(restarted.Recover());
    }

    [Fact]
    public async Task Autocharge_authorizes_an_ISO_15118_EV_by_its_MAC_and_only_when_it_is_on()
    {
        Whitelist("AC:91:A1:56:5F:46");
        var station = Station();
        var ev = new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-2");

        var point = station.AttachHlc(1)!;
        Assert.Null(station.AttachHlc(1));   // one session at a time
        point.SessionStarted(ev);
        Assert.True(station.Snapshot(1).SmartVehicle);
        Assert.Equal(AuthorizationStatus.Pending, await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default));   // Autocharge off: wait for a card
        point.SessionEnded(SessionEndReason.Error);
        ((IDisposable)point).Dispose();

        _settings.Update(s => s with { Autocharge = true });
        point = station.AttachHlc(1)!;
        point.SessionStarted(ev);
        Assert.Equal(AuthorizationStatus.Accepted, await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default));
        Assert.Equal("VID:AC91A1565F46", station.Snapshot(1).Transaction!.IdTag.Value);
        Assert.Equal(IdSource.Autocharge, station.Snapshot(1).Transaction!.IdTag.Source);
        point.EvNeedsChanged(new EvNeeds(EnergyTransfer.AcThreePhase, 10_000, null, 16, 6, 400, null, null));
        Assert.True(await point.SetEnergyTransferAsync(true, default));
        Assert.Equal(16, station.Snapshot(1).SignalledCurrentA);   // the EV's own maximum
        Assert.Equal(32, point.Limits.MaxCurrentA);                 // the EV is offered the station's limit
        _time.Advance(TimeSpan.FromMinutes(6));
        point.SessionEnded(SessionEndReason.EvStopped);
        ((IDisposable)point).Dispose();
        var session = Assert.Single(_history.Since(DateTimeOffset.MinValue));
        Assert.Equal("VID:AC91A1565F46", session.IdTag);
        Assert.Equal(3 * 230 * 16 * 0.1, session.EnergyWh, 1);
        Assert.Equal(ConnectorStatus.Available, station.Snapshot(1).Status);   // the session over TCP was its plug
    }

    [Theory]
    [InlineData(SessionEndReason.EvStopped, StopReason.EVStopped, "Local")]
    [InlineData(SessionEndReason.Error, StopReason.Error, "Other")]
    [InlineData(SessionEndReason.Timeout, StopReason.Timeout, "Other")]
    [InlineData(SessionEndReason.ConnectionLost, StopReason.ConnectionLost, "EVDisconnected")]
    public async Task An_ISO_15118_session_end_is_booked_as_what_the_SECC_saw(SessionEndReason end, StopReason booked, string ocpp)
    {
        _settings.Update(s => s with { FreeCharging = true });
        var station = Station();
        var ev = new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-2");
        var point = station.AttachHlc(1)!;
        point.SessionStarted(ev);
        Assert.Equal(AuthorizationStatus.Accepted, await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default));
        point.SessionEnded(end);
        ((IDisposable)point).Dispose();
        var session = Assert.Single(_history.Since(DateTimeOffset.MinValue));
        Assert.Equal(booked, session.Reason);
        Assert.Equal(ocpp, session.Reason.Ocpp16());
    }

    [Fact]
    public async Task A_bidirectional_DC_EV_feeds_in_within_the_operator_limit_and_the_session_keeps_both_energies()
    {
        _settings.Update(s => s with { FreeCharging = true });
        var station = Station();
        var ev = new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-20");
        var point = station.AttachHlc(1)!;
        Assert.False(point.Supported.HasFlag(EnergyTransfer.Bidirectional));   // off by default
        _settings.Update(s => s with { Bidirectional = true, MaxDischargeCurrent = 10 });
        Assert.True(point.Supported.HasFlag(EnergyTransfer.Bidirectional));
        point.SessionStarted(ev);
        await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default);
        point.EvNeedsChanged(new EvNeeds(EnergyTransfer.Dc, 10_000, null, 100, 1, 450, 50_000, 50, MaxDischargePowerW: 20_000));
        Assert.Equal(6_900, point.Limits.MaxDischargePowerW);   // 10 A on three phases at 230 V
        Assert.Equal(0, point.Limits.DischargeRequestW);
        station.SetHemsDischargeRequest(9_000);
        Assert.Equal(6_900, point.Limits.DischargeRequestW);    // the HEMS request within the operator's limit

        Assert.True(await point.SetEnergyTransferAsync(true, default));
        point.DcTarget(400, -25);                               // 10 kW asked, 6.9 kW allowed
        Assert.Equal(-6_900, point.ReadMeter().PowerW, 0);
        _time.Advance(TimeSpan.FromHours(1));
        point.DcTarget(400, 10);                                // then it charges 4 kW for half an hour
        _time.Advance(TimeSpan.FromMinutes(30));
        var reading = point.ReadMeter();
        Assert.Equal(6_900, reading.ExportedEnergyWh, 0);
        Assert.Equal(2_000, reading.EnergyWh, 0);
        Assert.Equal(6_900, station.Snapshot(1).SessionExportedWh, 0);

        point.SessionEnded(SessionEndReason.EvStopped);
        ((IDisposable)point).Dispose();
        var session = Assert.Single(_history.Since(DateTimeOffset.MinValue));
        Assert.Equal(6_900, session.ExportedWh, 0);
        Assert.Equal(2_000, session.EnergyWh, 0);
        Assert.EndsWith(",6900", HistoryStore.ToCsv([session], TimeZoneInfo.Utc).Split("\r\n")[1]);
    }

    [Fact]
    public void A_negative_backend_limit_asks_to_feed_in_and_pauses_charging()
    {
        _settings.Update(s => s with { FreeCharging = true, Bidirectional = true });
        var station = Station();
        var point = station.AttachHlc(1)!;
        point.SessionStarted(new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-20"));
        point.EvNeedsChanged(new EvNeeds(EnergyTransfer.AcThreePhase, 10_000, null, 16, 6, null, 11_000, 50, MaxDischargePowerW: 11_000));
        station.SetHemsDischargeRequest(2_000);
        station.SetExternalLimit(1, -10);                    // an OCPP TxProfile of -10 A
        Assert.Equal(6_900, point.Limits.DischargeRequestW);  // the larger request: 10 A on three phases
        Assert.Equal(0, point.Limits.MaxCurrentA);           // and no charging meanwhile
        station.SetExternalLimit(1, null);
        Assert.Equal(2_000, point.Limits.DischargeRequestW);
        Assert.True(point.Limits.MaxCurrentA > 0);
    }

    [Fact]
    public async Task Without_the_operator_setting_a_negative_target_takes_nothing_back()
    {
        _settings.Update(s => s with { FreeCharging = true });
        var station = Station();
        var ev = new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-20");
        var point = station.AttachHlc(1)!;
        point.SessionStarted(ev);
        await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default);
        point.EvNeedsChanged(new EvNeeds(EnergyTransfer.AcThreePhase, 10_000, null, 16, 6, null, 11_000, 50, MaxDischargePowerW: 11_000));
        station.SetHemsDischargeRequest(5_000);
        Assert.Equal(0, point.Limits.MaxDischargePowerW);
        Assert.Equal(0, point.Limits.DischargeRequestW);
        Assert.True(await point.SetEnergyTransferAsync(true, default));
        point.AcPower(-5_000);
        Assert.True(point.ReadMeter().PowerW > 0);   // it charges at the signalled current
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(0, point.ReadMeter().ExportedEnergyWh);
    }

    [Fact]
    public async Task A_paused_ISO_15118_session_stays_open_and_is_booked_as_EVPaused_when_the_EV_does_not_come_back()
    {
        _settings.Update(s => s with { FreeCharging = true });
        var station = Station();
        var ev = new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-2");
        var point = station.AttachHlc(1)!;
        point.SessionStarted(ev);
        await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default);
        point.SessionEnded(SessionEndReason.EvPaused);
        ((IDisposable)point).Dispose();
        Assert.NotNull(station.Snapshot(1).Transaction);   // paused: the transaction waits for the EV
        _time.Advance(TimeSpan.FromMinutes(29));
        station.Tick();
        Assert.NotNull(station.Snapshot(1).Transaction);   // within StationOptions.PausedSessionMinutes (30)
        _time.Advance(TimeSpan.FromMinutes(2));
        station.Tick();
        Assert.Null(station.Snapshot(1).Transaction);
        var session = Assert.Single(_history.Since(DateTimeOffset.MinValue));
        Assert.Equal(StopReason.EVPaused, session.Reason);
        Assert.Equal("Other", session.Reason.Ocpp16());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_verified_Plug_and_Charge_contract_is_kept_with_the_session_also_when_free_charging_decides(bool freeCharging)
    {
        _settings.Update(s => s with { FreeCharging = freeCharging });
        var station = Station();
        var ev = new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-2");
        var contract = new ContractIdentity("DEJUIC000000001", [new byte[] { 0x30, 0x00 }], LocallyValidated: true);
        var point = station.AttachHlc(1)!;
        point.SessionStarted(ev);   // over TCP the session is the plug: free charging starts a transaction at once
        Assert.Equal(AuthorizationStatus.Accepted, await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.Contract, contract), default));
        point.SessionEnded(SessionEndReason.EvStopped);
        ((IDisposable)point).Dispose();
        var session = Assert.Single(_history.Since(DateTimeOffset.MinValue));
        Assert.Equal(freeCharging ? "FREECHARGING" : "DEJUIC000000001", session.IdTag);   // who decided
        Assert.Equal("DEJUIC000000001", session.Contract);                                 // the contract, in both cases
        Assert.EndsWith(",DEJUIC000000001,0", HistoryStore.ToCsv([session], TimeZoneInfo.Utc).Split("\r\n")[1]);
    }

    [Fact]
    public async Task An_ISO_15118_session_stopped_because_the_connector_became_unavailable_is_booked_as_Unavailable()
    {
        _settings.Update(s => s with { FreeCharging = true });
        var station = Station();
        var ev = new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-2");
        var point = station.AttachHlc(1)!;
        point.SessionStarted(ev);
        await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default);
        station.SetAvailability(1, Availability.Inoperative);   // Modbus 124 = 1
        Assert.Equal(EvseRequest.StopCharging, point.Request);   // the EV is asked to stop
        point.SessionEnded(SessionEndReason.EvStopped);
        ((IDisposable)point).Dispose();
        var session = Assert.Single(_history.Since(DateTimeOffset.MinValue));
        Assert.Equal(StopReason.Unavailable, session.Reason);
        Assert.Equal("Local", session.Reason.Ocpp16());
    }

    [Theory]
    [InlineData(StopReason.Local, "Local")]
    [InlineData(StopReason.Remote, "Remote")]
    [InlineData(StopReason.EVDisconnected, "EVDisconnected")]
    [InlineData(StopReason.PowerLoss, "PowerLoss")]
    [InlineData(StopReason.DeAuthorized, "DeAuthorized")]
    public void The_OCPP_1_6_reasons_go_to_OCPP_as_they_are(StopReason reason, string ocpp) => Assert.Equal(ocpp, reason.Ocpp16());

    [Fact]
    public async Task An_EV_whose_MAC_is_not_whitelisted_waits_for_a_card_and_is_refused_after_the_vehicle_connection_timeout()
    {
        _settings.Update(s => s with { Autocharge = true, VehicleConnectionTimeoutSeconds = 20 });
        var station = Station();
        var ev = new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-2");
        var point = station.AttachHlc(1)!;
        point.SessionStarted(ev);
        var request = new AuthorizationRequest(ev, IdentificationMode.External);
        Assert.Equal(AuthorizationStatus.Pending, await point.AuthorizeAsync(request, default));
        _time.Advance(TimeSpan.FromSeconds(21));
        Assert.Equal(AuthorizationStatus.Rejected, await point.AuthorizeAsync(request, default));
        Assert.Null(station.Snapshot(1).Transaction);
    }

    [Fact]
    public async Task A_card_presented_while_an_ISO_15118_EV_waits_authorizes_it()
    {
        Whitelist("04A1B2C3");
        var station = Station();
        var ev = new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-2");
        var point = station.AttachHlc(1)!;
        point.SessionStarted(ev);
        var request = new AuthorizationRequest(ev, IdentificationMode.External);
        Assert.Equal(AuthorizationStatus.Pending, await point.AuthorizeAsync(request, default));
        Assert.True((await station.PresentIdAsync(1, Card("04A1B2C3"))).Accepted);
        Assert.Equal(AuthorizationStatus.Accepted, await point.AuthorizeAsync(request, default));
        Assert.Equal("04A1B2C3", station.Snapshot(1).Transaction!.IdTag.Value);
    }

    [Fact]
    public async Task A_new_limit_reaches_a_charging_AC_EV_as_a_renegotiation_request_and_in_its_next_status()
    {
        _settings.Update(s => s with { FreeCharging = true });
        var station = Station();
        var ev = new EvIdentity([2, 0, 0, 0, 0, 1], "ISO 15118-2");
        var point = station.AttachHlc(1)!;
        point.SessionStarted(ev);
        await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default);
        point.EvNeedsChanged(new EvNeeds(EnergyTransfer.AcThreePhase, 10_000, null, 32, 6, 400, null, null));
        await point.SetEnergyTransferAsync(true, default);
        Assert.Equal(EvseRequest.None, point.Request);
        station.SetHemsLimit(10);
        Assert.Equal(10, point.Limits.MaxCurrentA);             // in the next ChargingStatusRes
        Assert.Equal(EvseRequest.Renegotiate, point.Request);  // and a new schedule
        point.RequestHandled(EvseRequest.Renegotiate);
        Assert.Equal(EvseRequest.None, point.Request);
    }

    [Fact]
    public async Task A_paused_ISO_15118_session_keeps_its_transaction_and_the_same_EV_resumes_it()
    {
        _settings.Update(s => s with { FreeCharging = true });
        var station = Station();
        var ev = new EvIdentity([2, 0, 0, 0, 0, 1], "ISO 15118-2");
        var point = station.AttachHlc(1)!;
        point.SessionStarted(ev);
        await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default);
        long tx = station.Snapshot(1).Transaction!.Id;
        point.SessionEnded(SessionEndReason.EvPaused);
        ((IDisposable)point).Dispose();
        Assert.Equal(tx, station.Snapshot(1).Transaction!.Id);
        point = station.AttachHlc(1)!;
        point.SessionStarted(ev);
        Assert.Equal(AuthorizationStatus.Accepted, await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default));
        Assert.Equal(tx, station.Snapshot(1).Transaction!.Id);
    }
}
