using System.Text.Json;
using System.Text.Json.Nodes;
using Juice.Hlc.Secc;
using Juice.Hlc.Security;
using Juice.Station.Authorization;
using Juice.Station.Core;
using Juice.Station.Ocpp;
using Juice.Station.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace Juice.Station.Pnc;

/// <summary>
/// The OCPP 1.6 extension for ISO 15118 certificates in the configured dialect (<see cref="PncDialect"/>): towards
/// the central system Authorize of contracts, Get15118EVCertificate and SignCertificate; from it CertificateSigned,
/// InstallCertificate, DeleteCertificate, GetInstalledCertificateIds and TriggerMessage(SignV2GCertificate), each
/// answered in the DataTransfer's data with the payload of the dialect.
/// </summary>
internal sealed partial class PncExtension : IDataTransferHandler, IContractBackend
{
    private readonly IServiceProvider _services;
    private readonly SettingsStore _settings;
    private readonly PncOptions _options;
    private readonly StationOptions _station;
    private readonly CertificateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public PncExtension(IServiceProvider services, SettingsStore settings, IOptions<PncOptions> options, IOptions<StationOptions> station, CertificateStore store,
        ContractBackendLink link, TimeProvider time, ILogger<PncExtension> logger)
    {
        _services = services;
        _settings = settings;
        _options = options.Value;
        _station = station.Value;
        _store = store;
        _time = time;
        _logger = logger;
        link.Backend = this;
    }

    public PncDialect Dialect => PncDialect.For(_settings.Current.CertificateInstallationDialect, _options);

    public string VendorId => Dialect.VendorId;

    public bool Online => Backend.Online;

    /// <summary>The OCPP connection (resolved late: the OCPP client itself takes the DataTransfer handlers).</summary>
    private IOcppBackend Backend => _services.GetRequiredService<IOcppBackend>();

    // ---- charge point → central system ----

    public async Task<ContractAnswer> AuthorizeContractAsync(string emaid, IReadOnlyList<byte[]> chain, bool locallyValidated, CancellationToken cancellationToken)
    {
        var dialect = Dialect;
        var certificates = chain.Select(c => V2gCertificates.Parse(c)).ToList();
        try
        {
            var answer = await Backend.DataTransferAsync(dialect.VendorId, dialect.MessageId("Authorize"),
                dialect.Authorize(emaid, certificates, sendCertificate: !locallyValidated || !dialect.HasToBe).ToJsonString(), cancellationToken).ConfigureAwait(false);
            if (answer.Status != "Accepted")
            {
                return new ContractAnswer(ContractVerdict.Unsupported, $"DataTransfer {dialect.MessageId("Authorize")}: {answer.Status}");
            }
            return PncDialect.ReadAuthorize(Parse(answer.Data));
        }
        catch (OcppOfflineException e)
        {
            return new ContractAnswer(ContractVerdict.Unreachable, e.Message);
        }
        catch (OcppCallException e)
        {
            return new ContractAnswer(ContractVerdict.Unsupported, "CALLERROR " + e.Code);
        }
        catch (JsonException e)
        {
            return new ContractAnswer(ContractVerdict.Unreachable, "the backend's Authorize data is not JSON: " + e.Message);
        }
    }

    public async Task<CertificateServiceResult> CertificateServiceAsync(CertificateServiceRequest request, CancellationToken cancellationToken)
    {
        var dialect = Dialect;
        try
        {
            var answer = await Backend.DataTransferAsync(dialect.VendorId, dialect.MessageId("Get15118EVCertificate"),
                dialect.Get15118EVCertificate(request).ToJsonString(), cancellationToken).ConfigureAwait(false);
            var result = answer.Status == "Accepted"
                ? PncDialect.ReadGet15118EVCertificate(Parse(answer.Data))
                : new CertificateServiceResult(null, $"DataTransfer Get15118EVCertificate: {answer.Status}");
            Log.Installation(_logger, request.Action.ToString(), result.Exi is not null ? "answered" : "failed", result.Problem ?? "");
            return result;
        }
        catch (Exception e) when (e is OcppOfflineException or OcppCallException or JsonException)
        {
            Log.Installation(_logger, request.Action.ToString(), "failed", e.Message);
            return new CertificateServiceResult(null, e.Message);
        }
    }

    /// <summary>
    /// SignCertificate: a new key for the SECC and a CSR (CN = the EVSE ID, DC = CPO) for the central system to sign;
    /// the key waits in the store for CertificateSigned.
    /// </summary>
    public async Task<string> RenewSeccCertificateAsync(CancellationToken cancellationToken)
    {
        var pair = V2gKeys.Generate(new SecureRandom());
        var subject = V2gCertificates.Name(_station.EvseId(1), _station.Vendor, "DE", "CPO");
        var csr = new Pkcs10CertificationRequest("SHA256WITHECDSA", subject, pair.Public, null, pair.Private);
        _store.PendingKey = (ECPrivateKeyParameters)pair.Private;
        var dialect = Dialect;
        var answer = await Backend.DataTransferAsync(dialect.VendorId, dialect.MessageId("SignCertificate"),
            dialect.SignCertificate(Pem.Encode("CERTIFICATE REQUEST", csr.GetEncoded())).ToJsonString(), cancellationToken).ConfigureAwait(false);
        string status = answer.Status == "Accepted" ? (string?)Parse(answer.Data)?["status"] ?? "Rejected" : answer.Status;
        Log.SignCertificate(_logger, status);
        return status;
    }

    /// <summary>
    /// GetCertificateStatus of the SECC's certificate: the backend relays the OCSP answer of its issuer; the answer's
    /// signature is checked with the issuer's key and the result kept (good, revoked, unknown).
    /// </summary>
    public async Task<string> CheckSeccCertificateAsync(CancellationToken cancellationToken)
    {
        if (_store.SeccCredentials is not { Chain.Count: >= 2 } credentials)
        {
            return "no SECC chain";
        }
        var (leaf, issuer) = (credentials.Chain[0], credentials.Chain[1]);
        var dialect = Dialect;
        var answer = await Backend.DataTransferAsync(dialect.VendorId, dialect.MessageId("GetCertificateStatus"),
            PncDialect.GetCertificateStatus(leaf, issuer).ToJsonString(), cancellationToken).ConfigureAwait(false);
        var inner = answer.Status == "Accepted" ? Parse(answer.Data) : null;
        if ((string?)inner?["status"] != "Accepted" || (string?)inner?["ocspResult"] is not { Length: > 0 } result)
        {
            return $"not answered ({answer.Status} {(string?)inner?["status"]})";
        }
        string status;
        try
        {
            var basic = (Org.BouncyCastle.Ocsp.BasicOcspResp)new Org.BouncyCastle.Ocsp.OcspResp(Convert.FromBase64String(result)).GetResponseObject();
            if (!basic.Verify(issuer.GetPublicKey()))
            {
                return "refused: the OCSP answer is not signed by the SECC certificate's issuer";
            }
            var single = basic.Responses.FirstOrDefault(r => r.GetCertID().SerialNumber.Equals(leaf.SerialNumber))
                ?? throw new FormatException("the OCSP answer is about another certificate");
            status = single.GetCertStatus() switch
            {
                null => "good",
                Org.BouncyCastle.Ocsp.RevokedStatus => "revoked",
                _ => "unknown",
            };
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException or InvalidCastException or Org.BouncyCastle.Ocsp.OcspException)
        {
            return "refused: " + e.Message;
        }
        _store.SeccOcsp = (status, _time.GetUtcNow(), result);
        Log.Ocsp(_logger, status);
        return status;
    }

    // ---- central system → charge point ----

    public async Task<DataTransferResult> HandleAsync(string? messageId, string? data, CancellationToken cancellationToken)
    {
        var dialect = Dialect;
        JsonNode request;
        try
        {
            request = Parse(data) ?? new JsonObject();
        }
        catch (JsonException e)
        {
            return new DataTransferResult("Rejected", Json(new JsonObject { ["status"] = "Rejected", ["statusInfo"] = new JsonObject { ["reasonCode"] = "FormatViolation", ["additionalInfo"] = e.Message } }));
        }
        string? action = dialect.ActionOf(messageId);
        try
        {
            var answer = action switch
            {
                "CertificateSigned" => CertificateSigned(dialect, request),
                "InstallCertificate" => InstallCertificate(dialect, request),
                "DeleteCertificate" => Status(_store.Delete(PncDialect.ReadHashData(request))),
                "GetInstalledCertificateIds" => dialect.InstalledCertificateIds(_store.Installed(dialect.ReadInstalledCertificateTypes(request))),
                "TriggerMessage" => Trigger(request, cancellationToken),
                _ => null,
            };
            if (answer is null)
            {
                return new DataTransferResult("UnknownMessageId");
            }
            Log.Handled(_logger, messageId ?? "", (string?)answer["status"] ?? "");
            await Task.CompletedTask.ConfigureAwait(false);
            return new DataTransferResult("Accepted", Json(answer));
        }
        catch (Exception e) when (e is FormatException or ArgumentException or JsonException or InvalidOperationException or IOException
            or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            Log.Refused(_logger, messageId ?? "", e.Message);
            return new DataTransferResult("Rejected", Json(new JsonObject { ["status"] = "Rejected", ["statusInfo"] = new JsonObject { ["reasonCode"] = "FormatViolation", ["additionalInfo"] = Clip(e.Message) } }));
        }
    }

    private static string Clip(string s) => s.Length <= 512 ? s : s[..512];

    /// <summary>CertificateSigned: the new SECC chain must hold the pending key and lead to an installed V2G root.</summary>
    private JsonObject CertificateSigned(PncDialect dialect, JsonNode request)
    {
        var chain = dialect.ReadCertificateSigned(request, out bool v2g);
        if (!v2g)
        {
            return Status("Rejected", "only V2GCertificate is used by this station");
        }
        if (_store.PendingKey is not { } key || chain.Count == 0 || !ContractKeyCipher.Matches(key, (ECPublicKeyParameters)chain[0].GetPublicKey()))
        {
            return Status("Rejected", "the certificate is not for the key of a pending SignCertificate");
        }
        var result = CertificateChains.Validate(chain, _store.Roots(CertificateKind.V2GRootCertificate), _time.GetUtcNow(), "CPO");
        if (!result.Valid)
        {
            return Status("Rejected", $"{result.Status}: {result.Detail}");
        }
        _store.SetSeccChain(chain, key);
        _store.PendingKey = null;
        _store.SeccOcsp = null;
        Log.Renewed(_logger, chain[0].SubjectDN.ToString(), chain[0].NotAfter);
        return Status("Accepted");
    }

    private JsonObject InstallCertificate(PncDialect dialect, JsonNode request)
    {
        var (kind, certificate) = dialect.ReadInstallCertificate(request);
        if (kind == CertificateKind.V2GCertificateChain || certificate.GetBasicConstraints() < 0)
        {
            return Status("Rejected", "a root (CA) certificate is expected");
        }
        _store.Install(kind, certificate);
        Log.RootInstalled(_logger, kind.ToString(), certificate.SubjectDN.ToString());
        return Status("Accepted");
    }

    private JsonObject Trigger(JsonNode request, CancellationToken ct)
    {
        if ((string?)request["requestedMessage"] != "SignV2GCertificate")
        {
            return Status("NotImplemented");
        }
        _ = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), _time, ct).ConfigureAwait(false);   // the answer goes first
            try
            {
                await RenewSeccCertificateAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OcppOfflineException or OcppCallException or JsonException or OperationCanceledException)
            {
                Log.SignCertificate(_logger, "failed: " + e.Message);
            }
        }, CancellationToken.None);
        return Status("Accepted");
    }

    private static JsonObject Status(string status, string? info = null)
    {
        var o = new JsonObject { ["status"] = status };
        if (info is not null)
        {
            o["statusInfo"] = new JsonObject { ["reasonCode"] = status, ["additionalInfo"] = Clip(info) };
        }
        return o;
    }

    private static JsonNode? Parse(string? data) => string.IsNullOrEmpty(data) ? null : JsonNode.Parse(data);

    private static string Json(JsonNode node) => node.ToJsonString();

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Plug & Charge: certificate {Action} {Outcome} {Reason}")]
        public static partial void Installation(ILogger logger, string action, string outcome, string reason);

        [LoggerMessage(2, LogLevel.Information, "Plug & Charge: SignCertificate for a new SECC key: {Status}")]
        public static partial void SignCertificate(ILogger logger, string status);

        [LoggerMessage(3, LogLevel.Information, "Plug & Charge: {MessageId} answered {Status}")]
        public static partial void Handled(ILogger logger, string messageId, string status);

        [LoggerMessage(4, LogLevel.Warning, "Plug & Charge: {MessageId} refused: {Reason}")]
        public static partial void Refused(ILogger logger, string messageId, string reason);

        [LoggerMessage(5, LogLevel.Information, "Plug & Charge: new SECC certificate {Subject}, valid until {NotAfter:u}: used from the next TLS connection")]
        public static partial void Renewed(ILogger logger, string subject, DateTime notAfter);

        [LoggerMessage(7, LogLevel.Information, "Plug & Charge: OCSP status of the SECC certificate: {Status}")]
        public static partial void Ocsp(ILogger logger, string status);

        [LoggerMessage(6, LogLevel.Information, "Plug & Charge: {Kind} {Subject} installed by the backend")]
        public static partial void RootInstalled(ILogger logger, string kind, string subject);
    }
}
