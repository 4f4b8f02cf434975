using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso2;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Juice.Hlc.Security;

/// <summary>The outcome of a certificate service request: the response message, or the FAILED code and why.</summary>
public sealed record ProvisioningOutcome(V2G_Message Response, ResponseCodeType Code, string Detail, string? Emaid = null)
{
    public bool Ok => Code == ResponseCodeType.OK;
}

/// <summary>
/// The certificate provisioning service (CPS) and the mobility operator's CA behind it, for a test backend: answers
/// CertificateInstallationReq and CertificateUpdateReq (ISO 15118-2 §8.4.3.11 / §8.4.3.12) with a new contract
/// certificate issued by the MO Sub-CA 2, its private key encrypted for the requester ([V2G2-818]/[V2G2-819]),
/// and the four signed elements signed with the CPS leaf key (Annex J.4).
/// </summary>
public sealed class CertificateProvisioning
{
    private readonly CertifiedKey _cps;
    private readonly IReadOnlyList<X509Certificate> _cpsSubCas;
    private readonly CertifiedKey _moSubCa2;
    private readonly IReadOnlyList<X509Certificate> _moSubCas;
    private readonly IReadOnlyList<X509Certificate> _oemSubCas;
    private readonly IReadOnlyCollection<X509Certificate> _oemRoots;
    private readonly IReadOnlyCollection<X509Certificate> _contractRoots;
    private readonly TimeProvider _time;
    private readonly SecureRandom _random = new();

    public CertificateProvisioning(TestPki pki, TimeProvider? time = null, Func<string, string>? emaidOf = null)
    {
        _cps = pki[CertificateRole.CpsLeaf];
        _cpsSubCas = [.. pki.Chain(CertificateRole.CpsLeaf).Skip(1)];
        _moSubCa2 = pki[CertificateRole.MoSubCa2];
        _moSubCas = [.. pki.Chain(CertificateRole.MoSubCa2)];
        _oemSubCas = [.. pki.Chain(CertificateRole.OemSubCa2)];
        _oemRoots = [pki.OemRoot];
        _contractRoots = [pki.MoRoot];
        _time = time ?? TimeProvider.System;
        Organization = pki.Options.Organization;
        Country = pki.Options.Country;
        EmaidOf = emaidOf ?? (_ => pki.Options.Emaid);
    }

    public string Organization { get; }

    public string Country { get; }

    /// <summary>The eMAID a vehicle's contract is issued for, by PCID (the contract database of the MO).</summary>
    public Func<string, string> EmaidOf { get; set; }

    /// <summary>Answers a CertificateInstallationReq (the whole message, as the EV sent it).</summary>
    public ProvisioningOutcome Install(V2G_Message request)
    {
        if (request.Body.BodyElement is not CertificateInstallationReqType r)
        {
            return Failed(request, ResponseCodeType.FAILED, "not a CertificateInstallationReq");
        }
        X509Certificate oem;
        try
        {
            oem = V2gCertificates.Parse(r.OEMProvisioningCert);
        }
        catch (Exception e) when (e is ArgumentException or IOException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            return Failed(request, ResponseCodeType.FAILED_CertChainError, "the OEM provisioning certificate is not X.509: " + e.Message);
        }
        // the provisioning certificate pool: the OEM's sub-CAs are known here, the EV sends only its leaf
        var chain = CertificateChains.Validate([oem, .. _oemSubCas], _oemRoots, _time.GetUtcNow(), "OEM");
        if (!chain.Valid)
        {
            return Failed(request, chain.Status == ChainStatus.Expired ? ResponseCodeType.FAILED_CertificateExpired : ResponseCodeType.FAILED_CertChainError,
                "OEM provisioning certificate: " + chain.Detail);
        }
        var signed = Iso2Signatures.Verify(request.Header.Signature, [(r.Id, Iso2Signatures.Body("CertificateInstallationReq", r))], (ECPublicKeyParameters)oem.GetPublicKey());
        if (signed.Result != SignatureCheck.Valid)
        {
            return Failed(request, ResponseCodeType.FAILED_SignatureError, "CertificateInstallationReq signature: " + signed.Detail);
        }
        string pcid = V2gCertificates.CommonName(oem) ?? "";
        string emaid = Emaid.Normalize(EmaidOf(pcid));
        return Issue(request, emaid, (ECPublicKeyParameters)oem.GetPublicKey(), update: false);
    }

    /// <summary>Answers a CertificateUpdateReq: a new contract for the same eMAID, encrypted for the current contract key.</summary>
    public ProvisioningOutcome Update(V2G_Message request)
    {
        if (request.Body.BodyElement is not CertificateUpdateReqType r)
        {
            return Failed(request, ResponseCodeType.FAILED, "not a CertificateUpdateReq");
        }
        var chain = CertificateChains.Validate(r.ContractSignatureCertChain.Certificate, r.ContractSignatureCertChain.SubCertificates?.Certificate ?? [],
            _contractRoots, _time.GetUtcNow(), "MO");
        if (!chain.Valid && chain.Status != ChainStatus.Expired)
        {
            return Failed(request, ResponseCodeType.FAILED_CertChainError, "contract chain: " + chain.Detail);
        }
        var key = (ECPublicKeyParameters)chain.Leaf!.GetPublicKey();
        var signed = Iso2Signatures.Verify(request.Header.Signature, [(r.Id, Iso2Signatures.Body("CertificateUpdateReq", r))], key);
        if (signed.Result != SignatureCheck.Valid)
        {
            return Failed(request, ResponseCodeType.FAILED_SignatureError, "CertificateUpdateReq signature: " + signed.Detail);
        }
        if (!Emaid.SameAccount(r.EMAID, V2gCertificates.CommonName(chain.Leaf) ?? ""))
        {
            return Failed(request, ResponseCodeType.FAILED_CertChainError, $"eMAID {r.EMAID} is not the contract certificate's");
        }
        return Issue(request, Emaid.Normalize(r.EMAID), key, update: true);
    }

    private ProvisioningOutcome Issue(V2G_Message request, string emaid, ECPublicKeyParameters recipient, bool update)
    {
        var pair = V2gKeys.Generate(_random);
        var contract = V2gCertificates.Issue(CertificateRole.Contract, emaid, Organization, Country, (ECPublicKeyParameters)pair.Public, _moSubCa2, null,
            _time.GetUtcNow().AddMinutes(-5));
        var (dh, encrypted) = ContractKeyCipher.Encrypt((ECPrivateKeyParameters)pair.Private, recipient, _random);
        var contractChain = new CertificateChainType
        {
            Id = "id1",
            Certificate = contract.GetEncoded(),
            SubCertificates = new SubCertificatesType { Certificate = [.. _moSubCas.Select(c => c.GetEncoded())] },
        };
        var encryptedKey = new ContractSignatureEncryptedPrivateKeyType { Id = "id2", Value = encrypted };
        var dhKey = new DiffieHellmanPublickeyType { Id = "id3", Value = dh };
        var emaidElement = new EMAIDType { Id = "id4", Value = emaid };
        var provisioning = new CertificateChainType
        {
            Certificate = _cps.Certificate.GetEncoded(),
            SubCertificates = new SubCertificatesType { Certificate = [.. _cpsSubCas.Select(c => c.GetEncoded())] },
        };
        var signature = Iso2Signatures.Sign(
        [
            ("id1", Iso2Signatures.Body("ContractSignatureCertChain", contractChain)),
            ("id2", Iso2Signatures.Body("ContractSignatureEncryptedPrivateKey", encryptedKey)),
            ("id3", Iso2Signatures.Body("DHpublickey", dhKey)),
            ("id4", Iso2Signatures.Body("eMAID", emaidElement)),
        ], _cps.PrivateKey);
        BodyBaseType body = update
            ? new CertificateUpdateResType
            {
                ResponseCode = ResponseCodeType.OK,
                SAProvisioningCertificateChain = provisioning,
                ContractSignatureCertChain = contractChain,
                ContractSignatureEncryptedPrivateKey = encryptedKey,
                DHpublickey = dhKey,
                EMAID = emaidElement,
            }
            : new CertificateInstallationResType
            {
                ResponseCode = ResponseCodeType.OK,
                SAProvisioningCertificateChain = provisioning,
                ContractSignatureCertChain = contractChain,
                ContractSignatureEncryptedPrivateKey = encryptedKey,
                DHpublickey = dhKey,
                EMAID = emaidElement,
            };
        var response = new V2G_Message { Header = new MessageHeaderType { SessionID = request.Header.SessionID, Signature = signature }, Body = new BodyType { BodyElement = body } };
        return new ProvisioningOutcome(response, ResponseCodeType.OK, $"contract {emaid} issued", emaid);
    }

    private static ProvisioningOutcome Failed(V2G_Message request, ResponseCodeType code, string detail) =>
        new(new V2G_Message { Header = new MessageHeaderType { SessionID = request.Header.SessionID }, Body = new BodyType { BodyElement = FailedBody(request.Body.BodyElement, code) } }, code, detail);

    /// <summary>A FAILED CertificateInstallationRes / CertificateUpdateRes: every required element present, with placeholder values.</summary>
    public static BodyBaseType FailedBody(BodyBaseType? request, ResponseCodeType code)
    {
        var chain = new CertificateChainType { Certificate = [0x30, 0x00] };
        var contract = new CertificateChainType { Id = "id1", Certificate = [0x30, 0x00] };
        var key = new ContractSignatureEncryptedPrivateKeyType { Id = "id2", Value = new byte[48] };
        var dh = new DiffieHellmanPublickeyType { Id = "id3", Value = new byte[65] };
        var emaid = new EMAIDType { Id = "id4", Value = "ZZ000000000000" };
        return request is CertificateUpdateReqType
            ? new CertificateUpdateResType { ResponseCode = code, SAProvisioningCertificateChain = chain, ContractSignatureCertChain = contract, ContractSignatureEncryptedPrivateKey = key, DHpublickey = dh, EMAID = emaid }
            : new CertificateInstallationResType { ResponseCode = code, SAProvisioningCertificateChain = chain, ContractSignatureCertChain = contract, ContractSignatureEncryptedPrivateKey = key, DHpublickey = dh, EMAID = emaid };
    }

    /// <summary>Encodes a response as the EV receives it.</summary>
    public static byte[] Encode(V2G_Message response) => Iso2Exi.Encode(response);
}
