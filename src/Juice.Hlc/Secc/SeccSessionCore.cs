using System.Security.Cryptography;
using Juice.Hlc.Session;

namespace Juice.Hlc.Secc;

/// <summary>
/// Sessions paused by the EV (SessionStopReq with ChargingSession = Pause), kept so that the EV can resume them by
/// sending their SessionID in its next SessionSetupReq (ISO 15118-2:2014 §8.4.3.2, [V2G2-463]). Shared by every
/// connection of one SECC; a paused session is forgotten after <see cref="Lifetime"/>.
/// </summary>
public sealed class PausedSessions(TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<ulong, (V2gProtocol Protocol, byte[] Evccid, long Since)> _paused = [];

    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(24);

    public void Add(ReadOnlySpan<byte> sessionId, V2gProtocol protocol, byte[] evccid)
    {
        lock (_paused)
        {
            _paused[Key(sessionId)] = (protocol, evccid, _time.GetTimestamp());
        }
    }

    /// <summary>True (and forgotten) if <paramref name="sessionId"/> is a paused session of this protocol and EV.</summary>
    public bool TryResume(ReadOnlySpan<byte> sessionId, V2gProtocol protocol, ReadOnlySpan<byte> evccid)
    {
        if (sessionId.Length != 8 || Key(sessionId) == 0)
        {
            return false;
        }
        lock (_paused)
        {
            foreach (var stale in _paused.Where(p => _time.GetElapsedTime(p.Value.Since) > Lifetime).Select(p => p.Key).ToList())
            {
                _paused.Remove(stale);
            }
            ulong key = Key(sessionId);
            if (_paused.TryGetValue(key, out var p) && p.Protocol == protocol && p.Evccid.AsSpan().SequenceEqual(evccid))
            {
                _paused.Remove(key);
                return true;
            }
            return false;
        }
    }

    private static ulong Key(ReadOnlySpan<byte> id) => id.Length == 8 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(id) : 0;
}

/// <summary>Configuration of the SECC's sessions.</summary>
public sealed record SeccSessionOptions
{
    public V2gTimers Timers { get; init; } = V2gTimers.Iso15118_2;

    /// <summary>
    /// ISO 15118-2 [V2G2-478], [V2G2-224], [V2G2-225]: a ChargingProfile above the offered PMaxSchedule is refused
    /// with FAILED_ChargingProfileInvalid. False: logged and accepted (some EVs send profiles above the schedule).
    /// </summary>
    public bool RejectChargingProfileAboveSchedule { get; init; } = true;

    /// <summary>NotificationMaxDelay (s) sent with an EVSE notification: the time the EV has to act on it.</summary>
    public ushort NotificationMaxDelay { get; init; } = 10;

    /// <summary>
    /// Payment options offered in ISO 15118-2 ServiceDiscoveryRes. Contract is offered only on a TLS connection
    /// and with <see cref="PlugAndCharge"/> set.
    /// </summary>
    public IdentificationMode[] IdentificationModes { get; init; } = [IdentificationMode.External];

    /// <summary>Plug &amp; Charge (ISO 15118-2 contract identification); null: not offered.</summary>
    public PlugAndChargeOptions? PlugAndCharge { get; init; }
}

/// <summary>How the SECC checks contracts and receipts.</summary>
public sealed record PlugAndChargeOptions
{
    /// <summary>The roots a contract certificate chain must end at (the MO roots the station trusts; the V2G root where it issues contracts).</summary>
    public required IReadOnlyCollection<Org.BouncyCastle.X509.X509Certificate> ContractRoots { get; init; }

    /// <summary>
    /// How often the SECC asks the EV for a metering receipt (ReceiptRequired in ChargingStatusRes /
    /// CurrentDemandRes): the first response of the charging loop, then after this interval; null: never.
    /// </summary>
    public TimeSpan? ReceiptInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A contract chain whose root the SECC does not have is passed on to the station (and from there to the backend:
    /// central contract validation) instead of FAILED_CertChainError; every other chain problem is still refused.
    /// </summary>
    public bool AllowCentralValidation { get; init; }

    /// <summary>
    /// ISO 15118-20: whether AuthorizationSetupRes offers CertificateInstallation now (the station has a backend to
    /// forward it to); asked per session.
    /// </summary>
    public Func<bool> OfferCertificateInstallation { get; init; } = () => true;

    /// <summary>Verify the EV's signature on CertificateInstallationReq / CertificateUpdateReq before forwarding it (the backend checks it too).</summary>
    public bool VerifyCertificateRequests { get; init; } = true;
}

/// <summary>
/// What DIN SPEC 70121 and ISO 15118-2 sessions do the same way, from the same spec text: the SessionID, the
/// authorization that may take longer than one message cycle, the limits on answering "Ongoing", and the EVSE
/// notification the station raises. Each protocol's session keeps one of these.
/// </summary>
internal sealed class SeccSessionCore(IChargingPoint chargingPoint, SeccSessionOptions options, TimeProvider time, PausedSessions paused, V2gProtocol protocol)
{
    private static readonly byte[] NoSession = new byte[8];
    private Task<AuthorizationStatus>? _authorization;
    private long _authorizationSince;
    private long _cableCheckSince;
    private long _stopSignalledSince;

    public IChargingPoint ChargingPoint => chargingPoint;

    public SeccSessionOptions Options => options;

    public TimeProvider Time => time;

    public EvIdentity? Ev { get; private set; }

    /// <summary>The SessionID this SECC gave the EV, or the eight zero bytes before SessionSetup.</summary>
    public byte[] SessionId { get; private set; } = NoSession;

    public bool HasSession => !ReferenceEquals(SessionId, NoSession);

    /// <summary>Seconds since 1970 on the injected clock (EVSETimeStamp, DateTimeNow).</summary>
    public long UnixTime => time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>
    /// SessionSetupReq: a resumed session keeps its ID (OK_OldSessionJoined, [V2G2-463]); otherwise a new random ID
    /// that is neither zero nor the ID the EV sent ([V2G2-756]), OK_NewSessionEstablished.
    /// </summary>
    public bool SetUp(byte[] requestedSessionId, byte[] evccid, string protocolName)
    {
        bool resumed = paused.TryResume(requestedSessionId, protocol, evccid);
        if (resumed)
        {
            SessionId = requestedSessionId;
        }
        else
        {
            byte[] id;
            do
            {
                id = RandomNumberGenerator.GetBytes(8);
            }
            while (id.AsSpan().SequenceEqual(NoSession) || id.AsSpan().SequenceEqual(requestedSessionId));
            SessionId = id;
        }
        Ev = new EvIdentity(evccid, protocolName);
        chargingPoint.SessionStarted(Ev);
        return resumed;
    }

    /// <summary>[V2G2-460], DIN [V2G-DC-391]: every request after SessionSetup carries the SessionID the SECC gave.</summary>
    public bool IsOwnSession(byte[] sessionId) => HasSession && sessionId.AsSpan().SequenceEqual(SessionId);

    /// <summary>Remembers the session for a later resume (SessionStopReq with Pause).</summary>
    public void Pause()
    {
        if (Ev is not null)
        {
            paused.Add(SessionId, protocol, Ev.Evccid);
        }
    }

    /// <summary>
    /// A certificate installation or update for the backend (-2 and -20 alike): its answer, or why there is none when
    /// the backend does not answer within V2G_SECC_Msg_Performance_Time (less half a second to send the response).
    /// </summary>
    public async ValueTask<CertificateServiceResult> CertificateServiceAsync(CertificateServiceRequest request, CancellationToken ct)
    {
        var budget = Options.Timers.SeccPerformance(request.Action == CertificateAction.Install ? V2gMessageKind.CertificateInstallation : V2gMessageKind.CertificateUpdate)
            - TimeSpan.FromMilliseconds(500);
        try
        {
            return await chargingPoint.CertificateServiceAsync(request, ct).AsTask().WaitAsync(budget, time, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return new CertificateServiceResult(null, $"the backend did not answer within {budget.TotalSeconds:0.#} s");
        }
    }

    /// <summary>
    /// One Authorization/ContractAuthentication request: the station's decision if it comes within the budget of one
    /// response, else Pending (the EV repeats). A decision still pending after V2G_SECC_Ongoing_Performance_Time is
    /// "overdue": the SECC answers FAILED and ends the session ([V2G2-712], [V2G2-713]).
    /// </summary>
    public async ValueTask<(AuthorizationStatus Status, bool Overdue)> AuthorizeAsync(IdentificationMode mode, CancellationToken ct, ContractIdentity? contract = null)
    {
        if (_authorizationSince == 0)
        {
            _authorizationSince = time.GetTimestamp();
        }
        _authorization ??= chargingPoint.AuthorizeAsync(new AuthorizationRequest(Ev!, mode, contract), ct).AsTask();
        if (!_authorization.IsCompleted)
        {
            try
            {
                await _authorization.WaitAsync(AuthorizationBudget, time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
        AuthorizationStatus status = AuthorizationStatus.Pending;
        if (_authorization.IsCompleted)
        {
            status = await _authorization.ConfigureAwait(false);
            _authorization = null;   // a Pending answer is asked again with the next request
        }
        bool overdue = status == AuthorizationStatus.Pending && time.GetElapsedTime(_authorizationSince) >= options.Timers.SeccOngoingPerformance;
        if (status != AuthorizationStatus.Pending)
        {
            _authorizationSince = 0;
        }
        return (status, overdue);
    }

    /// <summary>The part of V2G_SECC_Msg_Performance_Time the SECC waits for the station before answering Ongoing.</summary>
    private TimeSpan AuthorizationBudget => options.Timers.SeccMsgPerformance - TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// One CableCheckReq: the isolation test's state; Ongoing past V2G_SECC_CableCheck_Performance_Time is overdue.
    /// </summary>
    public (IsolationStatus Status, bool Overdue) CableCheck()
    {
        if (_cableCheckSince == 0)
        {
            _cableCheckSince = time.GetTimestamp();
        }
        var status = chargingPoint.CheckIsolation();
        bool overdue = status == IsolationStatus.Ongoing && time.GetElapsedTime(_cableCheckSince) >= options.Timers.SeccCableCheckPerformance;
        if (status != IsolationStatus.Ongoing)
        {
            _cableCheckSince = 0;
        }
        return (status, overdue);
    }

    /// <summary>The station's request now, and the NotificationMaxDelay to send with it.</summary>
    public (EvseRequest Request, ushort MaxDelay) Notification()
    {
        var request = chargingPoint.Request;
        return (request, request == EvseRequest.None ? (ushort)0 : options.NotificationMaxDelay);
    }

    /// <summary>
    /// In the charging loop: true when the station asked to stop and the EV has not stopped within NotificationMaxDelay;
    /// the SECC then stops the energy transfer itself and goes on answering until the EV stops the session.
    /// </summary>
    public bool StopOverdue()
    {
        if (chargingPoint.Request != EvseRequest.StopCharging)
        {
            _stopSignalledSince = 0;
            return false;
        }
        if (_stopSignalledSince == 0)
        {
            _stopSignalledSince = time.GetTimestamp();
        }
        return time.GetElapsedTime(_stopSignalledSince) > TimeSpan.FromSeconds(options.NotificationMaxDelay);
    }
}
