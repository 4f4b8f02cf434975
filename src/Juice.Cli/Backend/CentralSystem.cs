using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso2;
using Juice.Hlc.Security;
using Juice.Station.Ocpp;
using Juice.Station.Pnc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Http;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.X509;

namespace Juice.Cli.Backend;

/// <summary>How <c>juice backend</c> behaves.</summary>
internal sealed record CentralSystemOptions
{
    public required TestPki Pki { get; init; }

    /// <summary>The ISO 15118-20 PKIs of the same folder (iso20-secp521r1, iso20-ed448): their MO roots validate -20 contracts.</summary>
    public IReadOnlyList<TestPki> Iso20Pkis { get; init; } = [];

    /// <summary>OCA, hastobe or Ebee (with <see cref="VendorId"/>).</summary>
    public string Dialect { get; init; } = "OCA";

    public string? VendorId { get; init; }

    /// <summary>eMAIDs whose contracts are revoked (Authorize: certificateStatus CertificateRevoked), and serial numbers (hex) of revoked SECC certificates (OCSP).</summary>
    public HashSet<string> Revoked { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>id tags refused by Authorize and StartTransaction (everything else is accepted).</summary>
    public HashSet<string> Refused { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    public string? Password { get; init; }

    public int HeartbeatSeconds { get; init; } = 300;

    /// <summary>Seconds after the station's boot at which TriggerMessage(SignV2GCertificate) is sent (null: never).</summary>
    public double? RenewSeccAfterSeconds { get; init; }
}

/// <summary>
/// A real OCPP 1.6J central system for tests and demos, on the project's own OCPP framing: accepts charge points at
/// ws://HOST:PORT/{chargeBoxId} (subprotocol ocpp1.6, optional HTTP Basic password), answers the core profile, and
/// speaks the Plug &amp; Charge extension of its dialect as the certificate provisioning service and the mobility
/// operator: CertificateInstallation/Update through the CPS of a test PKI, Authorize of contracts (with a revocation
/// list), SignCertificate answered with CertificateSigned from the CPO Sub-CA 2. Every event is one JSON line on stdout;
/// JSON lines on stdin make calls to the charge point ({"cmd":"call","action","params"}, {"cmd":"renew-secc"}).
/// </summary>
internal sealed class CentralSystem(CentralSystemOptions options, TextWriter output)
{
    private readonly CertificateProvisioning _cps = new(options.Pki);
    private readonly Iso20CertificateProvisioning? _cps20 = options.Iso20Pkis.Count > 0 ? new(options.Iso20Pkis) : null;
    private readonly PncDialect _dialect = PncDialect.For(options.Dialect, new PncOptions { EbeeVendorId = options.VendorId ?? PncDialect.OcaVendorId });
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly SemaphoreSlim _send = new(1, 1);
    private WebSocket? _current;
    private int _transactionId = 1000;

    public WebApplication Build(string url)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/{identity}", async (HttpContext http, string identity) =>
        {
            if (!http.WebSockets.IsWebSocketRequest)
            {
                return Results.BadRequest("an OCPP-J charge point connects with a WebSocket");
            }
            if (!http.WebSockets.WebSocketRequestedProtocols.Contains("ocpp1.6"))
            {
                Emit(new JsonObject { ["event"] = "refused", ["identity"] = identity, ["reason"] = "no ocpp1.6 subprotocol" });
                return Results.BadRequest("subprotocol ocpp1.6 required");
            }
            if (options.Password is { } password && Password(http, identity) != password)
            {
                Emit(new JsonObject { ["event"] = "refused", ["identity"] = identity, ["reason"] = "wrong password" });
                return Results.Unauthorized();
            }
            using var ws = await http.WebSockets.AcceptWebSocketAsync("ocpp1.6");
            _current = ws;
            Emit(new JsonObject { ["event"] = "connected", ["identity"] = identity });
            await ServeAsync(ws, http.RequestAborted);
            Emit(new JsonObject { ["event"] = "disconnected", ["identity"] = identity });
            return Results.Empty;
        });
        return app;
    }

    private static string? Password(HttpContext http, string identity)
    {
        string? header = http.Request.Headers.Authorization;
        if (header is null || !header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return null;
        }
        string text = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..]));
        return text.StartsWith(identity + ":", StringComparison.Ordinal) ? text[(identity.Length + 1)..] : null;
    }

    private void Emit(JsonObject e)
    {
        lock (output)
        {
            output.WriteLine(e.ToJsonString());
            output.Flush();
        }
    }

    private async Task ServeAsync(WebSocket ws, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        while (ws.State == WebSocketState.Open)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult r;
            try
            {
                do
                {
                    r = await ws.ReceiveAsync(buffer, ct);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    message.Write(buffer, 0, r.Count);
                }
                while (!r.EndOfMessage);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                return;
            }
            var frame = OcppFrame.Parse(Encoding.UTF8.GetString(message.ToArray()), out string? error);
            if (frame is null)
            {
                Emit(new JsonObject { ["event"] = "badMessage", ["message"] = error });
                continue;
            }
            switch (frame.Type)
            {
                case OcppFrame.Call:
                    _ = Task.Run(() => AnswerAsync(ws, frame, ct), CancellationToken.None);
                    break;
                case OcppFrame.CallResult when _pending.TryRemove(frame.Id, out var done):
                    done.TrySetResult(frame.Payload);
                    break;
                case OcppFrame.CallError when _pending.TryRemove(frame.Id, out var failed):
                    failed.TrySetException(new OcppCallException(frame.ErrorCode ?? "GenericError", frame.ErrorDescription ?? ""));
                    break;
            }
        }
    }

    private async Task SendAsync(WebSocket ws, OcppFrame frame)
    {
        await _send.WaitAsync();
        try
        {
            await ws.SendAsync(Encoding.UTF8.GetBytes(frame.Serialize()), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _send.Release();
        }
    }

    private async Task AnswerAsync(WebSocket ws, OcppFrame call, CancellationToken ct)
    {
        var p = call.Payload as JsonObject ?? [];
        JsonObject result;
        try
        {
            result = call.Action switch
            {
                "BootNotification" => Boot(ws, ct),
                "Heartbeat" => new JsonObject { ["currentTime"] = Now() },
                "StatusNotification" or "MeterValues" or "DiagnosticsStatusNotification" or "FirmwareStatusNotification" => [],
                "Authorize" => new JsonObject { ["idTagInfo"] = IdTagInfo((string?)p["idTag"]) },
                "StartTransaction" => new JsonObject { ["transactionId"] = Interlocked.Increment(ref _transactionId), ["idTagInfo"] = IdTagInfo((string?)p["idTag"]) },
                "StopTransaction" => [],
                "DataTransfer" => DataTransfer(ws, p),
                _ => throw new OcppCallException(OcppErrorCode.NotImplemented, $"no handler for {call.Action}"),
            };
        }
        catch (OcppCallException e)
        {
            Emit(new JsonObject { ["event"] = "call", ["action"] = call.Action, ["params"] = p.DeepClone(), ["error"] = e.Code });
            await SendAsync(ws, new OcppFrame(OcppFrame.CallError, call.Id, null, new JsonObject(), e.Code, e.Description));
            return;
        }
        Emit(new JsonObject { ["event"] = "call", ["action"] = call.Action, ["params"] = p.DeepClone(), ["result"] = result.DeepClone() });
        await SendAsync(ws, new OcppFrame(OcppFrame.CallResult, call.Id, null, result));
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);

    private JsonObject Boot(WebSocket ws, CancellationToken ct)
    {
        if (options.RenewSeccAfterSeconds is { } after)
        {
            _ = Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(after), ct);
                await TriggerSeccRenewalAsync(ws);
            }, CancellationToken.None);
        }
        return new JsonObject { ["status"] = "Accepted", ["interval"] = options.HeartbeatSeconds, ["currentTime"] = Now() };
    }

    private JsonObject IdTagInfo(string? idTag) => new() { ["status"] = idTag is not null && options.Refused.Contains(idTag) ? "Invalid" : "Accepted" };

    // ---- the Plug & Charge extension ----

    private JsonObject DataTransfer(WebSocket ws, JsonObject p)
    {
        if ((string?)p["vendorId"] != _dialect.VendorId)
        {
            return new JsonObject { ["status"] = "UnknownVendorId" };
        }
        string? messageId = (string?)p["messageId"];
        JsonNode? request;
        try
        {
            request = (string?)p["data"] is { Length: > 0 } data ? JsonNode.Parse(data) : new JsonObject();
        }
        catch (JsonException)
        {
            return new JsonObject { ["status"] = "Rejected" };
        }
        JsonObject? answer = _dialect.ActionOf(messageId) switch
        {
            "Get15118EVCertificate" => Get15118EVCertificate(request!),
            "Authorize" => AuthorizeContract(request!),
            "SignCertificate" => SignCertificate(ws, request!),
            "GetCertificateStatus" => CertificateStatus(request!),
            _ => null,
        };
        if (answer is null)
        {
            return new JsonObject { ["status"] = "UnknownMessageId" };
        }
        Emit(new JsonObject { ["event"] = "pnc", ["messageId"] = messageId, ["request"] = request?.DeepClone(), ["response"] = answer.DeepClone() });
        return new JsonObject { ["status"] = "Accepted", ["data"] = answer.ToJsonString() };
    }

    /// <summary>
    /// The CPS: decodes the EV's request (ISO 15118-2, or -20 when the schema version names the -20 CommonMessages),
    /// issues the contract and returns the signed response as EXI.
    /// </summary>
    private JsonObject Get15118EVCertificate(JsonNode request)
    {
        string schema = (string?)request["iso15118SchemaVersion"] ?? (string?)request["15118SchemaVersion"] ?? "";
        if (schema.Contains(":-20:", StringComparison.Ordinal))
        {
            return Get15118EVCertificate20(request, schema);
        }
        V2G_Message message;
        try
        {
            message = Iso2Exi.Decode(Convert.FromBase64String((string?)request["exiRequest"] ?? ""));
        }
        catch (Exception e) when (e is FormatException or ExiContentException)
        {
            return new JsonObject { ["status"] = "Failed", ["statusInfo"] = new JsonObject { ["reasonCode"] = "InvalidEXI", ["additionalInfo"] = e.Message } };
        }
        var outcome = message.Body.BodyElement is CertificateUpdateReqType ? _cps.Update(message) : _cps.Install(message);
        Emit(new JsonObject { ["event"] = "provisioning", ["ok"] = outcome.Ok, ["code"] = outcome.Code.ToString(), ["detail"] = outcome.Detail, ["emaid"] = outcome.Emaid });
        return new JsonObject { ["status"] = "Accepted", ["exiResponse"] = Convert.ToBase64String(CertificateProvisioning.Encode(outcome.Response)) };
    }

    private JsonObject Get15118EVCertificate20(JsonNode request, string schema)
    {
        if (_cps20 is null)
        {
            return new JsonObject { ["status"] = "Failed", ["statusInfo"] = new JsonObject { ["reasonCode"] = "UnsupportedRequest", ["additionalInfo"] = $"{schema}: this backend has no ISO 15118-20 PKI" } };
        }
        Juice.Hlc.Exi.Iso20.CertificateInstallationReqType installation;
        try
        {
            installation = Juice.Hlc.Exi.Iso20.Iso20CommonExi.DecodeDocument(Convert.FromBase64String((string?)request["exiRequest"] ?? "")).Value as Juice.Hlc.Exi.Iso20.CertificateInstallationReqType
                ?? throw new ExiContentException(0, "not a CertificateInstallationReq");
        }
        catch (Exception e) when (e is FormatException or ExiContentException)
        {
            return new JsonObject { ["status"] = "Failed", ["statusInfo"] = new JsonObject { ["reasonCode"] = "InvalidEXI", ["additionalInfo"] = e.Message } };
        }
        var outcome = _cps20.Install(installation);
        Emit(new JsonObject { ["event"] = "provisioning", ["schema"] = schema, ["ok"] = outcome.Ok, ["code"] = outcome.Code.ToString(), ["detail"] = outcome.Detail, ["emaid"] = outcome.Emaid });
        return new JsonObject { ["status"] = "Accepted", ["exiResponse"] = Convert.ToBase64String(outcome.Exi) };
    }

    /// <summary>The MO: a contract is accepted unless revoked; a chain sent along is validated against the MO roots (ISO 15118-2 and -20).</summary>
    private JsonObject AuthorizeContract(JsonNode request)
    {
        string emaid = (string?)request["idToken"]?["idToken"] ?? "";
        string certificateStatus = "Accepted";
        string status = "Accepted";
        if ((string?)request["certificate"] is { } pem)
        {
            var chain = V2gCertificates.ParsePem(pem);
            var result = CertificateChains.Validate(chain, [options.Pki.MoRoot, .. options.Iso20Pkis.Select(p => p.MoRoot)], DateTimeOffset.UtcNow, "MO");
            (status, certificateStatus) = result.Status switch
            {
                ChainStatus.Valid => ("Accepted", "Accepted"),
                ChainStatus.Expired => ("Invalid", "CertificateExpired"),
                _ => ("Invalid", "CertChainError"),
            };
        }
        if (options.Revoked.Contains(emaid))
        {
            (status, certificateStatus) = ("Blocked", "CertificateRevoked");
        }
        else if (options.Refused.Contains(emaid))
        {
            status = "Invalid";
        }
        var answer = new JsonObject { ["idTokenInfo"] = new JsonObject { ["status"] = status }, ["certificateStatus"] = certificateStatus };
        if (_dialect.HasToBe && certificateStatus is not ("Accepted" or "CertificateRevoked"))
        {
            answer["certificateStatus"] = "CertificateRevoked";   // has·to·be knows only these two
        }
        return answer;
    }

    /// <summary>
    /// GetCertificateStatus: an OCSP answer for a certificate of the CPO Sub-CA 2 (the SECC's), signed by that CA:
    /// good, or revoked when its serial number is listed with --revoke.
    /// </summary>
    private JsonObject CertificateStatus(JsonNode request)
    {
        var data = request["ocspRequestData"];
        var issuer = options.Pki[CertificateRole.CpoSubCa2];
        var expected = CertificateHashData.Of(options.Pki[CertificateRole.Secc].Certificate, issuer.Certificate);
        if ((string?)data?["issuerKeyHash"] is not { } keyHash || !string.Equals(keyHash, expected.IssuerKeyHash, StringComparison.OrdinalIgnoreCase))
        {
            return new JsonObject { ["status"] = "Failed" };
        }
        var serial = new Org.BouncyCastle.Math.BigInteger((string?)data["serialNumber"] ?? "0", 16);
        var id = new Org.BouncyCastle.Ocsp.CertificateID(new Org.BouncyCastle.Asn1.X509.AlgorithmIdentifier(Org.BouncyCastle.Asn1.Nist.NistObjectIdentifiers.IdSha256), issuer.Certificate, serial);
        var generator = new Org.BouncyCastle.Ocsp.BasicOcspRespGenerator(issuer.PublicKey);
        generator.AddResponse(id, options.Revoked.Contains(serial.ToString(16)) ? new Org.BouncyCastle.Ocsp.RevokedStatus(DateTime.UtcNow, 0) : Org.BouncyCastle.Ocsp.CertificateStatus.Good);
        var basic = generator.Generate("SHA256WITHECDSA", issuer.PrivateKey, [issuer.Certificate], DateTime.UtcNow);
        var response = new Org.BouncyCastle.Ocsp.OCSPRespGenerator().Generate(Org.BouncyCastle.Ocsp.OCSPRespGenerator.Successful, basic);
        return new JsonObject { ["status"] = "Accepted", ["ocspResult"] = Convert.ToBase64String(response.GetEncoded()) };
    }

    /// <summary>SignCertificate: a CSR from the station is signed by the CPO Sub-CA 2 and sent back with CertificateSigned.</summary>
    private JsonObject SignCertificate(WebSocket ws, JsonNode request)
    {
        Pkcs10CertificationRequest csr;
        try
        {
            csr = new Pkcs10CertificationRequest(Pem.Decode((string?)request["csr"] ?? "", "CERTIFICATE REQUEST").FirstOrDefault() ?? throw new FormatException("no PEM CSR"));
            if (!csr.Verify())
            {
                return new JsonObject { ["status"] = "Rejected" };
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IOException)
        {
            return new JsonObject { ["status"] = "Rejected" };
        }
        var info = csr.GetCertificationRequestInfo();
        var subject = info.Subject;
        var key = (ECPublicKeyParameters)csr.GetPublicKey();
        var cert = V2gCertificates.Issue(CertificateRole.Secc, subject.GetValueList(Org.BouncyCastle.Asn1.X509.X509Name.CN).FirstOrDefault() ?? "SECC",
            options.Pki.Options.Organization, options.Pki.Options.Country, key, options.Pki[CertificateRole.CpoSubCa2], null, DateTimeOffset.UtcNow.AddMinutes(-5));
        IReadOnlyList<X509Certificate> chain = [cert, .. options.Pki.Chain(CertificateRole.CpoSubCa2)];
        _ = Task.Run(async () =>
        {
            await Task.Delay(200);
            var signed = _dialect.HasToBe
                ? new JsonObject { ["cert"] = Convert.ToHexString([.. chain.SelectMany(c => c.GetEncoded())]), ["typeOfCertificate"] = "V2GCertificate" }
                : new JsonObject { ["certificateChain"] = V2gCertificates.ToPem(chain), ["certificateType"] = "V2GCertificate" };
            await CallPncAsync(ws, "CertificateSigned", signed);
        });
        return new JsonObject { ["status"] = "Accepted" };
    }

    public async Task TriggerSeccRenewalAsync(WebSocket? ws = null) =>
        await CallPncAsync(ws ?? _current!, "TriggerMessage", new JsonObject { ["requestedMessage"] = "SignV2GCertificate" });

    private async Task CallPncAsync(WebSocket ws, string action, JsonObject payload)
    {
        var result = await CallAsync(ws, "DataTransfer", new JsonObject { ["vendorId"] = _dialect.VendorId, ["messageId"] = _dialect.MessageId(action), ["data"] = payload.ToJsonString() });
        Emit(new JsonObject { ["event"] = "pncCall", ["messageId"] = _dialect.MessageId(action), ["request"] = payload, ["response"] = result?.DeepClone() });
    }

    /// <summary>A call to the charge point; its CALLRESULT payload.</summary>
    public async Task<JsonNode?> CallAsync(WebSocket ws, string action, JsonObject payload)
    {
        string id = Guid.NewGuid().ToString("N");
        var done = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = done;
        await SendAsync(ws, new OcppFrame(OcppFrame.Call, id, action, payload));
        try
        {
            return await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is OcppCallException or TimeoutException)
        {
            return new JsonObject { ["error"] = e.Message };
        }
    }

    /// <summary>Commands on stdin: calls to the connected charge point.</summary>
    public async Task CommandsAsync(TextReader input, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested && await input.ReadLineAsync(ct) is { } line)
        {
            try
            {
                var c = JsonNode.Parse(line)!;
                if (_current is not { } ws)
                {
                    Emit(new JsonObject { ["event"] = "commandFailed", ["reason"] = "no charge point connected" });
                    continue;
                }
                switch ((string?)c["cmd"])
                {
                    case "call":
                        var result = await CallAsync(ws, (string)c["action"]!, c["params"]?.AsObject().DeepClone().AsObject() ?? []);
                        Emit(new JsonObject { ["event"] = "result", ["action"] = (string?)c["action"], ["result"] = result?.DeepClone() });
                        break;
                    case "renew-secc":
                        await TriggerSeccRenewalAsync(ws);
                        break;
                    case "revoke":
                        options.Revoked.Add((string)c["emaid"]!);
                        break;
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
            {
                Emit(new JsonObject { ["event"] = "commandFailed", ["reason"] = e.Message });
            }
        }
    }
}
