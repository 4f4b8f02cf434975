using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Authorization;

/// <summary>What the backend said about an id tag.</summary>
public enum BackendVerdict
{
    Accepted,
    Rejected,

    /// <summary>The backend could not be asked (offline, no answer in time).</summary>
    Unreachable,
}

/// <summary>The backend's answer; Detail is its idTagInfo status (Invalid, Blocked, …) or why it was not reached.</summary>
public sealed record BackendAnswer(BackendVerdict Verdict, string Detail);

/// <summary>The OCPP 1.6 rules for the local authorization list and the cache (configuration keys of the same names).</summary>
public sealed record BackendPolicy(bool LocalAuthListEnabled = true, bool AuthorizationCacheEnabled = true, bool LocalPreAuthorize = false,
    bool LocalAuthorizeOffline = true, bool AllowOfflineTxForUnknownId = false, bool ContractValidationOffline = true, bool CentralContractValidationAllowed = true);

/// <summary>What the backend said about a Plug &amp; Charge contract.</summary>
public enum ContractVerdict
{
    Accepted,
    Rejected,
    Revoked,
    Expired,

    /// <summary>The backend does not speak the Plug &amp; Charge extension (DataTransfer refused): plain Authorize is the fallback.</summary>
    Unsupported,
    Unreachable,
}

public sealed record ContractAnswer(ContractVerdict Verdict, string Detail);

/// <summary>The backend's Plug &amp; Charge services (the OCPP 1.6 ISO 15118 extension of the configured dialect).</summary>
public interface IContractBackend
{
    /// <summary>The backend can be reached now (ISO 15118-20 offers certificate installation only then).</summary>
    bool Online { get; }

    /// <summary>Authorize of an eMAID with its contract chain (PEM) or, when the station validated it, its hash data.</summary>
    Task<ContractAnswer> AuthorizeContractAsync(string emaid, IReadOnlyList<byte[]> chain, bool locallyValidated, CancellationToken cancellationToken);

    /// <summary>Get15118EVCertificate: the EV's certificate installation or update, answered by the backend's provisioning service.</summary>
    Task<Juice.Hlc.Secc.CertificateServiceResult> CertificateServiceAsync(Juice.Hlc.Secc.CertificateServiceRequest request, CancellationToken cancellationToken);
}

/// <summary>Where the station finds the backend's Plug &amp; Charge services (registered by the OCPP client's extension).</summary>
public sealed class ContractBackendLink
{
    public IContractBackend? Backend { get; set; }
}

/// <summary>Asks the backend about id tags (the OCPP client implements it; none without a backend).</summary>
public interface IBackendAuthorizer
{
    /// <summary>True when a backend is configured at all.</summary>
    bool Configured { get; }

    /// <summary>True while connected and accepted by the backend (BootNotification Accepted).</summary>
    bool Online { get; }

    BackendPolicy Policy { get; }

    /// <summary>Sends Authorize; an answer updates the authorization cache.</summary>
    Task<BackendAnswer> AuthorizeAsync(string idTag, CancellationToken cancellationToken);
}

/// <summary>Where the authorizer finds the backend: the OCPP client registers itself here when it starts.</summary>
public sealed class BackendLink
{
    public IBackendAuthorizer? Backend { get; set; }
}

/// <summary>
/// Decides who may charge, and says why. One order of precedence for every identity:
/// <list type="number">
/// <item>free charging on: everyone, as the free-charging tag;</item>
/// <item>the local whitelist (RFID UIDs, connector-specific UIDs, INPUT_AUTH, EV MACs for Autocharge);</item>
/// <item>with a backend, the OCPP 1.6 rules: the local authorization list (the OCPP whitelist, if
/// LocalAuthListEnabled) and the cache (if AuthorizationCacheEnabled) decide at once when online with
/// LocalPreAuthorize, or when offline with LocalAuthorizeOffline; online, the backend is asked (Authorize);
/// offline and unknown, AllowOfflineTxForUnknownId, then "if in doubt allow charging" decide; a backend that does
/// not answer is "in doubt" too;</item>
/// <item>without a backend: an Accepted entry of the OCPP whitelist (from an earlier backend);</item>
/// <item>otherwise refused.</item>
/// </list>
/// An ISO 15118 EV that chose external identification is identified by its EVCCID only when Autocharge is on
/// (idTag = prefix + upper-case hex, at most 20 characters); otherwise it waits for a card, as when Autocharge finds
/// nothing. Every decision is logged with the rule that made it.
/// </summary>
public sealed partial class Authorizer(SettingsStore settings, WhitelistStore whitelists, TimeProvider time, ILogger<Authorizer> logger, BackendLink? link = null,
    ContractBackendLink? contracts = null)
{
    private readonly object _learnGate = new();
    private LearnRequest? _learning;

    public Authorizer(SettingsStore settings, WhitelistStore whitelists, TimeProvider time, ILogger<Authorizer> logger, IBackendAuthorizer? backend)
        : this(settings, whitelists, time, logger, new BackendLink { Backend = backend }, null)
    {
    }

    public IBackendAuthorizer? Backend => link?.Backend;

    /// <summary>The backend's Plug &amp; Charge services, when its extension is registered.</summary>
    public IContractBackend? ContractBackend => contracts?.Backend;

    /// <summary>The OCPP idTag of an EV's EVCCID: prefix + upper-case hex, at most 20 characters.</summary>
    public static string AutochargeTag(string prefix, byte[] evccid)
    {
        string tag = prefix + Convert.ToHexString(evccid);
        return tag.Length <= 20 ? tag : tag[..20];
    }

    /// <summary>A card (or INPUT_AUTH, or a Modbus user id) presented at a connector.</summary>
    public async Task<AuthorizationDecision> AuthorizeTagAsync(int connector, IdToken token, CancellationToken ct = default)
    {
        Observe(token.Value, token.Source);
        var decision = await DecideAsync(connector, token, ct).ConfigureAwait(false);
        Log.Decision(logger, connector, token.Value, token.Source.ToString(), decision.Accepted ? "accepted" : "refused", decision.Reason);
        return decision;
    }

    /// <summary>An ISO 15118 EV that asks to be authorized with external identification.</summary>
    public async Task<AuthorizationDecision> AuthorizeEvAsync(int connector, byte[] evccid, CancellationToken ct = default)
    {
        var s = settings.Current;
        Observe(Convert.ToHexString(evccid), IdSource.Autocharge);
        AuthorizationDecision decision;
        if (s.FreeCharging)
        {
            decision = AuthorizationDecision.Accept(new IdToken(s.FreeChargingIdTag, IdSource.FreeCharging), "free charging is on");
        }
        else if (!s.Autocharge)
        {
            decision = AuthorizationDecision.Wait(null, "Autocharge is off: waiting for an RFID card");
        }
        else if (evccid.Length == 0)
        {
            decision = AuthorizationDecision.Wait(null, "the EV sent no EVCCID: waiting for an RFID card");
        }
        else
        {
            var tag = new IdToken(AutochargeTag(s.AutochargePrefix, evccid), IdSource.Autocharge);
            decision = await DecideAsync(connector, tag, ct).ConfigureAwait(false);
            if (!decision.Accepted)
            {
                decision = AuthorizationDecision.Wait(tag, $"Autocharge {decision.Reason}: waiting for an RFID card");
            }
        }
        Log.Decision(logger, connector, decision.IdTag?.Value ?? Convert.ToHexString(evccid), "ISO 15118 EV",
            decision.Accepted ? "accepted" : decision.Pending ? "pending" : "refused", decision.Reason);
        return decision;
    }

    /// <summary>
    /// Plug &amp; Charge: an EV that proved it holds its contract (the SECC checked the chain and the signature; with
    /// <paramref name="locallyValidated"/> false only the signature, the root being unknown here). Free charging first;
    /// with a backend online, its contract authorization (the chain, if the station could not validate it, only with
    /// CentralContractValidationAllowed; a backend without the extension: plain Authorize of the eMAID); offline, a
    /// locally validated contract with ContractValidationOffline, else the rules of an id tag; without a backend, the
    /// local validation decides.
    /// </summary>
    public async Task<AuthorizationDecision> AuthorizeContractAsync(int connector, string emaid, IReadOnlyList<byte[]> chain, bool locallyValidated, CancellationToken ct = default)
    {
        var decision = await DecideContractAsync(connector, new IdToken(emaid, IdSource.Contract), chain, locallyValidated, ct).ConfigureAwait(false);
        Log.Decision(logger, connector, emaid, "contract", decision.Accepted ? "accepted" : "refused", decision.Reason);
        return decision;
    }

    private async Task<AuthorizationDecision> DecideContractAsync(int connector, IdToken token, IReadOnlyList<byte[]> chain, bool locallyValidated, CancellationToken ct)
    {
        var s = settings.Current;
        if (s.FreeCharging)
        {
            return AuthorizationDecision.Accept(new IdToken(s.FreeChargingIdTag, IdSource.FreeCharging), "free charging is on");
        }
        var backend = Backend;
        if (backend is not { Configured: true })
        {
            return locallyValidated
                ? AuthorizationDecision.Accept(token, "contract validated locally (chain to an installed root), no backend")
                : AuthorizationDecision.Reject(token, "the contract's root is not installed and there is no backend to validate it");
        }
        var policy = backend.Policy;
        if (!locallyValidated && !policy.CentralContractValidationAllowed)
        {
            return AuthorizationDecision.Reject(token, "the contract's root is not installed and CentralContractValidationAllowed is off");
        }
        if (!backend.Online)
        {
            if (locallyValidated && policy.ContractValidationOffline)
            {
                return AuthorizationDecision.Accept(token, "contract validated locally, backend offline (ContractValidationOffline)");
            }
            return await DecideAsync(connector, token, ct).ConfigureAwait(false);
        }
        var answer = contracts?.Backend is { } pnc
            ? await pnc.AuthorizeContractAsync(token.Value, chain, locallyValidated, ct).ConfigureAwait(false)
            : new ContractAnswer(ContractVerdict.Unsupported, "no Plug & Charge extension");
        switch (answer.Verdict)
        {
            case ContractVerdict.Accepted:
                return AuthorizationDecision.Accept(token, "contract accepted by the backend");
            case ContractVerdict.Revoked:
                return AuthorizationDecision.Reject(token, $"the backend reports the contract revoked ({answer.Detail})") with { CertificateStatus = "CertificateRevoked" };
            case ContractVerdict.Expired:
                return AuthorizationDecision.Reject(token, $"the backend reports the contract expired ({answer.Detail})") with { CertificateStatus = "CertificateExpired" };
            case ContractVerdict.Rejected:
                return AuthorizationDecision.Reject(token, $"contract refused by the backend ({answer.Detail})");
            case ContractVerdict.Unsupported:
                var plain = await backend.AuthorizeAsync(token.Value, ct).ConfigureAwait(false);
                return plain.Verdict switch
                {
                    BackendVerdict.Accepted => AuthorizationDecision.Accept(token, $"accepted by the backend (plain Authorize; {answer.Detail})"),
                    BackendVerdict.Rejected => AuthorizationDecision.Reject(token, $"refused by the backend ({plain.Detail}; plain Authorize)"),
                    _ => InDoubt(s, token, locallyValidated, plain.Detail),
                };
            default:
                return InDoubt(s, token, locallyValidated, answer.Detail);
        }
    }

    private static AuthorizationDecision InDoubt(OperatorSettings s, IdToken token, bool locallyValidated, string why) =>
        s.IfInDoubtAllowCharging && locallyValidated
            ? AuthorizationDecision.Accept(token, $"backend did not answer ({why}), \"if in doubt allow charging\" is on")
            : AuthorizationDecision.Reject(token, $"backend did not answer ({why})");

    private async Task<AuthorizationDecision> DecideAsync(int connector, IdToken token, CancellationToken ct)
    {
        var s = settings.Current;
        if (s.FreeCharging)
        {
            return AuthorizationDecision.Accept(new IdToken(s.FreeChargingIdTag, IdSource.FreeCharging), "free charging is on");
        }
        if (LocalMatch(connector, token) is { } entry)
        {
            return AuthorizationDecision.Accept(token, $"local whitelist entry {entry.Id}" + (entry.Kind == WhitelistKind.EvMac ? " (EV MAC)" : ""));
        }
        var backend = Backend;
        if (backend is { Configured: true })
        {
            var policy = backend.Policy;
            var listed = (policy.LocalAuthListEnabled ? whitelists.Find(WhitelistName.Ocpp, token.Value) : null)
                ?? (policy.AuthorizationCacheEnabled ? whitelists.Find(WhitelistName.OcppCache, token.Value) : null);
            bool valid = listed is { Status: "Accepted" } && !(listed.Expiry is { } e && e <= time.GetUtcNow());
            string where = listed is null ? "" : whitelists.Find(WhitelistName.Ocpp, token.Value) is not null ? "OCPP whitelist" : "authorization cache";
            if (backend.Online)
            {
                if (policy.LocalPreAuthorize && valid)
                {
                    return AuthorizationDecision.Accept(token, $"{where} entry (LocalPreAuthorize)");
                }
                var answer = await backend.AuthorizeAsync(token.Value, ct).ConfigureAwait(false);
                return answer.Verdict switch
                {
                    BackendVerdict.Accepted => AuthorizationDecision.Accept(token, "accepted by the backend"),
                    BackendVerdict.Rejected => AuthorizationDecision.Reject(token, $"refused by the backend ({answer.Detail})"),
                    _ when s.IfInDoubtAllowCharging => AuthorizationDecision.Accept(token, $"backend did not answer ({answer.Detail}), \"if in doubt allow charging\" is on"),
                    _ => AuthorizationDecision.Reject(token, $"backend did not answer ({answer.Detail}) and \"if in doubt allow charging\" is off"),
                };
            }
            if (listed is not null && policy.LocalAuthorizeOffline)
            {
                return valid
                    ? AuthorizationDecision.Accept(token, $"{where} entry, backend offline (LocalAuthorizeOffline)")
                    : AuthorizationDecision.Reject(token, $"{where} entry is {(listed.Status == "Accepted" ? "expired" : listed.Status)}, backend offline");
            }
            if (policy.AllowOfflineTxForUnknownId)
            {
                return AuthorizationDecision.Accept(token, "backend offline, AllowOfflineTxForUnknownId");
            }
            return s.IfInDoubtAllowCharging
                ? AuthorizationDecision.Accept(token, "backend offline, \"if in doubt allow charging\" is on")
                : AuthorizationDecision.Reject(token, "backend offline and \"if in doubt allow charging\" is off");
        }
        if (whitelists.Find(WhitelistName.Ocpp, token.Value) is { } ocpp)
        {
            bool expired = ocpp.Expiry is { } e && e <= time.GetUtcNow();
            return ocpp.Status == "Accepted" && !expired
                ? AuthorizationDecision.Accept(token, "OCPP whitelist entry")
                : AuthorizationDecision.Reject(token, $"OCPP whitelist entry is {(expired ? "expired" : ocpp.Status)}");
        }
        return AuthorizationDecision.Reject(token, "in no whitelist, and no backend to ask");
    }

    /// <summary>The local whitelist entry that authorizes <paramref name="token"/> at <paramref name="connector"/>, if any.</summary>
    private WhitelistEntry? LocalMatch(int connector, IdToken token)
    {
        string value = token.Value.ToUpperInvariant();
        if (token.Source == IdSource.InputAuth)
        {
            return whitelists.Find(WhitelistName.Local, WhitelistEntry.InputAuthTag);
        }
        if (token.Source == IdSource.Autocharge)
        {
            string prefix = settings.Current.AutochargePrefix.ToUpperInvariant();
            string mac = value.StartsWith(prefix, StringComparison.Ordinal) ? value[prefix.Length..] : value;
            // a complete match of the MAC, never a prefix of it
            return whitelists.Find(WhitelistName.Local, mac) is { Kind: WhitelistKind.EvMac } m ? m : null;
        }
        return whitelists.Find(WhitelistName.Local, value + "_" + connector) is { Kind: WhitelistKind.Rfid } specific ? specific
            : whitelists.Find(WhitelistName.Local, value) is { Kind: WhitelistKind.Rfid } any ? any
            : null;
    }

    /// <summary>
    /// The "learn" flow of the add-entry dialog: the next card presented or EV that connects fills the id. Returns
    /// the request; its task completes with the id (EVCCID as 12 hex digits, card UID) or is cancelled.
    /// </summary>
    public LearnRequest StartLearning(TimeSpan timeout)
    {
        lock (_learnGate)
        {
            _learning?.Cancel();
            _learning = new LearnRequest(timeout, time);
            return _learning;
        }
    }

    public LearnRequest? Learning
    {
        get
        {
            lock (_learnGate)
            {
                return _learning;
            }
        }
    }

    public void StopLearning()
    {
        lock (_learnGate)
        {
            _learning?.Cancel();
            _learning = null;
        }
    }

    private void Observe(string id, IdSource source)
    {
        LearnRequest? request;
        lock (_learnGate)
        {
            request = _learning;
        }
        if (request?.Offer(id, source) == true)
        {
            Log.Learned(logger, id, source.ToString());
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Authorization at connector {Connector}: {IdTag} ({Source}) {Outcome}: {Reason}")]
        public static partial void Decision(ILogger logger, int connector, string idTag, string source, string outcome, string reason);

        [LoggerMessage(2, LogLevel.Information, "Whitelist learn: {Id} ({Source}) offered to the add-entry dialog")]
        public static partial void Learned(ILogger logger, string id, string source);
    }
}

/// <summary>One waiting add-entry dialog: the first identity seen completes it.</summary>
public sealed class LearnRequest
{
    private readonly TaskCompletionSource<(string Id, IdSource Source)> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _timeout;

    public LearnRequest(TimeSpan timeout, TimeProvider time)
    {
        _timeout = new CancellationTokenSource(timeout, time);
        _timeout.Token.Register(() => _result.TrySetCanceled());
    }

    public Task<(string Id, IdSource Source)> Result => _result.Task;

    public bool Offer(string id, IdSource source) => _result.TrySetResult((id, source));

    public void Cancel() => _result.TrySetCanceled();
}
