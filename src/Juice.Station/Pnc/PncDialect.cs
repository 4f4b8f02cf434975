using System.Text.Json.Nodes;
using Juice.Hlc.Secc;
using Juice.Hlc.Security;
using Juice.Station.Authorization;
using Org.BouncyCastle.X509;

namespace Juice.Station.Pnc;

/// <summary>
/// How the ISO 15118 certificate messages travel in OCPP 1.6 DataTransfer: the setting "OCPP 1.6 extension for 15118
/// certificate installation".
/// <list type="bullet">
/// <item><b>OCA</b>: the application note "Using ISO 15118 Plug &amp; Charge with OCPP 1.6" (v1.0, 2020): vendorId
/// <c>org.openchargealliance.iso15118pnc</c>, messageId = the OCPP 2.0.1 action, data = the 2.0.1 payload as a JSON
/// string.</item>
/// <item><b>hastobe</b>: has·to·be's "OCPP 1.6 v1.3 ISO 15118 extension" (2019): vendorId <c>iso15118</c>, OCPP 2.0
/// draft payloads (<c>15118SchemaVersion</c>, <c>15118CertificateHashData</c>, certificates as hex DER,
/// <c>typeOfCertificate</c>).</item>
/// <item><b>Ebee</b>: the controller's own variant, whose wire format is not public: OCA payloads under a vendorId
/// and messageIds from configuration (Pnc:EbeeVendorId, Pnc:EbeeMessageIds), the OCA names by default.</item>
/// </list>
/// </summary>
public sealed class PncDialect
{
    public const string OcaVendorId = "org.openchargealliance.iso15118pnc";
    public const string HasToBeVendorId = "iso15118";

    private readonly IReadOnlyDictionary<string, string> _messageIds;

    private PncDialect(string name, string vendorId, bool hasToBe, IReadOnlyDictionary<string, string> messageIds)
    {
        Name = name;
        VendorId = vendorId;
        HasToBe = hasToBe;
        _messageIds = messageIds;
    }

    public string Name { get; }

    public string VendorId { get; }

    /// <summary>The has·to·be payloads (else OCA / OCPP 2.0.1).</summary>
    public bool HasToBe { get; }

    public static PncDialect For(string setting, PncOptions options) => setting switch
    {
        "hastobe" => new PncDialect("hastobe", HasToBeVendorId, true, new Dictionary<string, string>()),
        "Ebee" => new PncDialect("Ebee", options.EbeeVendorId, false, options.EbeeMessageIds),
        _ => new PncDialect("OCA", OcaVendorId, false, new Dictionary<string, string>()),
    };

    /// <summary>The messageId of an action (Authorize, Get15118EVCertificate, SignCertificate, CertificateSigned, …).</summary>
    public string MessageId(string action) => _messageIds.TryGetValue(action, out var id) ? id : action;

    /// <summary>The action a messageId stands for, or null.</summary>
    public string? ActionOf(string? messageId) =>
        messageId is null ? null : _messageIds.FirstOrDefault(p => p.Value == messageId).Key ?? messageId;

    // ---- charge point → central system ----

    /// <summary>Authorize of a contract: the eMAID, and the chain as PEM (to validate centrally) or its OCSP hash data.</summary>
    public JsonObject Authorize(string emaid, IReadOnlyList<X509Certificate> chain, bool sendCertificate)
    {
        var idToken = new JsonObject { ["idToken"] = emaid, ["type"] = "eMAID" };
        if (HasToBe)
        {
            return new JsonObject { ["idToken"] = idToken, ["15118CertificateHashData"] = HashData(chain, withResponder: false) };
        }
        var request = new JsonObject { ["idToken"] = idToken };
        if (sendCertificate)
        {
            request["certificate"] = V2gCertificates.ToPem(chain);
        }
        else
        {
            request["iso15118CertificateHashData"] = HashData(chain, withResponder: true);
        }
        return request;
    }

    private static JsonArray HashData(IReadOnlyList<X509Certificate> chain, bool withResponder) => [.. chain.Take(4).Select((c, i) =>
    {
        var issuer = i + 1 < chain.Count ? chain[i + 1] : c;
        var h = CertificateHashData.Of(c, issuer);
        var o = new JsonObject { ["hashAlgorithm"] = h.HashAlgorithm, ["issuerNameHash"] = h.IssuerNameHash, ["issuerKeyHash"] = h.IssuerKeyHash, ["serialNumber"] = h.SerialNumber };
        if (withResponder)
        {
            o["responderURL"] = "";   // the test PKI has no OCSP responder (no AuthorityInfoAccess)
        }
        return (JsonNode)o;
    })];

    /// <summary>The answer to Authorize: the token status and the certificate status.</summary>
    public static ContractAnswer ReadAuthorize(JsonNode? answer)
    {
        string status = (string?)answer?["idTokenInfo"]?["status"] ?? "Invalid";
        string certificate = (string?)answer?["certificateStatus"] ?? "Accepted";
        return (status, certificate) switch
        {
            (_, "CertificateRevoked") => new ContractAnswer(ContractVerdict.Revoked, $"{status}, certificate revoked"),
            (_, "CertificateExpired") => new ContractAnswer(ContractVerdict.Expired, $"{status}, certificate expired"),
            ("Accepted", "Accepted") => new ContractAnswer(ContractVerdict.Accepted, "Accepted"),
            ("Accepted", _) => new ContractAnswer(ContractVerdict.Rejected, "certificate " + certificate),
            _ => new ContractAnswer(ContractVerdict.Rejected, status),
        };
    }

    /// <summary>Get15118EVCertificate: the EV's request as Base64 of its EXI.</summary>
    public JsonObject Get15118EVCertificate(CertificateServiceRequest request) => HasToBe
        ? new JsonObject { ["15118SchemaVersion"] = request.SchemaNamespace, ["exiRequest"] = Convert.ToBase64String(request.Exi) }
        : new JsonObject
        {
            ["iso15118SchemaVersion"] = request.SchemaNamespace,
            ["action"] = request.Action == CertificateAction.Install ? "Install" : "Update",
            ["exiRequest"] = Convert.ToBase64String(request.Exi),
        };

    public static CertificateServiceResult ReadGet15118EVCertificate(JsonNode? answer)
    {
        string status = (string?)answer?["status"] ?? "Failed";
        if (status != "Accepted" || (string?)answer?["exiResponse"] is not { Length: > 0 } exi)
        {
            return new CertificateServiceResult(null, $"the backend answered Get15118EVCertificate with {status}");
        }
        try
        {
            return new CertificateServiceResult(Convert.FromBase64String(exi));
        }
        catch (FormatException)
        {
            return new CertificateServiceResult(null, "exiResponse is not Base64");
        }
    }

    /// <summary>GetCertificateStatus: the OCSP request data of a certificate (the SECC's own).</summary>
    public static JsonObject GetCertificateStatus(X509Certificate certificate, X509Certificate issuer)
    {
        var h = CertificateHashData.Of(certificate, issuer);
        return new JsonObject
        {
            ["ocspRequestData"] = new JsonObject
            {
                ["hashAlgorithm"] = h.HashAlgorithm, ["issuerNameHash"] = h.IssuerNameHash, ["issuerKeyHash"] = h.IssuerKeyHash, ["serialNumber"] = h.SerialNumber,
                ["responderURL"] = "",
            },
        };
    }

    /// <summary>SignCertificate: a CSR for the SECC's new key.</summary>
    public JsonObject SignCertificate(string csrPem) => HasToBe
        ? new JsonObject { ["csr"] = csrPem, ["typeOfCertificate"] = "V2GCertificate" }
        : new JsonObject { ["csr"] = csrPem, ["certificateType"] = "V2GCertificate" };

    // ---- central system → charge point ----

    /// <summary>The certificates of CertificateSigned (OCA: a PEM chain; has·to·be: hex DER, leaf first), and whether it is a V2G certificate.</summary>
    public IReadOnlyList<X509Certificate> ReadCertificateSigned(JsonNode request, out bool v2g)
    {
        if (HasToBe)
        {
            v2g = (string?)request["typeOfCertificate"] == "V2GCertificate";
            return ReadDerSequence(Convert.FromHexString((string?)request["cert"] ?? throw new FormatException("no cert")));
        }
        v2g = ((string?)request["certificateType"] ?? "V2GCertificate") == "V2GCertificate";
        return V2gCertificates.ParsePem((string?)request["certificateChain"] ?? throw new FormatException("no certificateChain"));
    }

    /// <summary>InstallCertificate: the kind and the certificate (OCA: PEM; has·to·be: hex DER).</summary>
    public (CertificateKind Kind, X509Certificate Certificate) ReadInstallCertificate(JsonNode request)
    {
        var kind = Enum.Parse<CertificateKind>((string?)request["certificateType"] ?? throw new FormatException("no certificateType"));
        string text = (string?)request["certificate"] ?? throw new FormatException("no certificate");
        var certificate = HasToBe ? V2gCertificates.Parse(Convert.FromHexString(text)) : V2gCertificates.ParsePem(text).FirstOrDefault() ?? throw new FormatException("no PEM certificate");
        return (kind, certificate);
    }

    /// <summary>The certificate types a GetInstalledCertificateIds asks for (null: all).</summary>
    public IReadOnlyList<CertificateKind>? ReadInstalledCertificateTypes(JsonNode request) =>
        (request[HasToBe ? "typeOfCertificate" : "certificateType"] as JsonArray)?.Select(t => Enum.Parse<CertificateKind>((string)t!)).ToList();

    public JsonObject InstalledCertificateIds(IReadOnlyList<InstalledCertificate> installed)
    {
        if (installed.Count == 0)
        {
            return new JsonObject { ["status"] = "NotFound" };
        }
        JsonObject Hash(CertificateHashData h) => new()
        {
            ["hashAlgorithm"] = h.HashAlgorithm, ["issuerNameHash"] = h.IssuerNameHash, ["issuerKeyHash"] = h.IssuerKeyHash, ["serialNumber"] = h.SerialNumber,
        };
        var chain = new JsonArray();
        foreach (var c in installed)
        {
            if (HasToBe)
            {
                chain.Add(Hash(c.HashData));
                continue;
            }
            var entry = new JsonObject { ["certificateType"] = c.Kind.ToString(), ["certificateHashData"] = Hash(c.HashData) };
            if (c.ChildHashData.Count > 0)
            {
                entry["childCertificateHashData"] = new JsonArray([.. c.ChildHashData.Select(h => (JsonNode)Hash(h))]);
            }
            chain.Add(entry);
        }
        return new JsonObject { ["status"] = "Accepted", ["certificateHashDataChain"] = chain };
    }

    public static CertificateHashData ReadHashData(JsonNode request)
    {
        var h = request["certificateHashData"] ?? throw new FormatException("no certificateHashData");
        return new CertificateHashData((string?)h["hashAlgorithm"] ?? "SHA256", (string?)h["issuerNameHash"] ?? "", (string?)h["issuerKeyHash"] ?? "", (string?)h["serialNumber"] ?? "");
    }

    /// <summary>Concatenated DER certificates (has·to·be sends a chain as one hex string).</summary>
    private static IReadOnlyList<X509Certificate> ReadDerSequence(byte[] der)
    {
        var list = new List<X509Certificate>();
        var parser = new X509CertificateParser();
        using var stream = new MemoryStream(der);
        while (stream.Position < stream.Length && parser.ReadCertificate(stream) is { } c)
        {
            list.Add(c);
        }
        return list;
    }
}
