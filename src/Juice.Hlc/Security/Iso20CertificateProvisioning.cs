using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Exi.XmlDsig;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Juice.Hlc.Security;

/// <summary>The outcome of an ISO 15118-20 CertificateInstallationReq at the provisioning service: the response, or the code and why.</summary>
public sealed record Iso20ProvisioningOutcome(CertificateInstallationResType Response, ResponseCodeType Code, string Detail, string? Emaid = null)
{
    public bool Ok => Code == ResponseCodeType.OK;

    /// <summary>The response as the EV receives it (a CommonMessages document).</summary>
    public byte[] Exi => Iso20CommonExi.EncodeCertificateInstallationRes(Response);
}

/// <summary>
/// The certificate provisioning service and the mobility operator's CA for ISO 15118-20 (§8.3.4.3.2
/// CertificateInstallation, §7.9.2.5), over the -20 test PKIs (secp521r1 and Ed448): the EV's OEM provisioning chain
/// must lead to one of their OEM roots and its header signature over OEMProvisioningCertificateChain must verify with
/// the leaf; the V2G root of that PKI must be one the EV listed in ListOfRootCertificateIDs. The answer: a contract
/// certificate issued by the MO Sub-CA 2 of the same PKI (a new key of its algorithm) for the eMAID of the PCID, its
/// private key sealed for the OEM provisioning key (<see cref="Iso20ContractKeyCipher"/>), in SignedInstallationData
/// signed in the header by the CPS leaf, with the CPS chain; one contract per request (RemainingContractCertificateChains 0).
/// </summary>
public sealed class Iso20CertificateProvisioning
{
    private readonly IReadOnlyList<TestPki> _pkis;
    private readonly TimeProvider _time;
    private readonly SecureRandom _random = new();

    public Iso20CertificateProvisioning(IReadOnlyList<TestPki> pkis, TimeProvider? time = null, Func<string, string>? emaidOf = null)
    {
        if (pkis.Count == 0 || pkis.Any(p => p.Options.Algorithm == PkiAlgorithm.Secp256r1))
        {
            throw new ArgumentException("the -20 provisioning service needs -20 PKIs (secp521r1, Ed448)", nameof(pkis));
        }
        _pkis = pkis;
        _time = time ?? TimeProvider.System;
        EmaidOf = emaidOf ?? (_ => pkis[0].Options.Emaid);
    }

    /// <summary>The eMAID a vehicle's contract is issued for, by PCID (the contract database of the MO).</summary>
    public Func<string, string> EmaidOf { get; set; }

    /// <summary>Answers a CertificateInstallationReq with its header (as the EV sent it).</summary>
    public Iso20ProvisioningOutcome Install(CertificateInstallationReqType request)
    {
        var oem = request.OEMProvisioningCertificateChain;
        X509Certificate leaf;
        try
        {
            leaf = V2gCertificates.Parse(oem.Certificate);
        }
        catch (Exception e) when (e is ArgumentException or IOException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            return Failed(request, ResponseCodeType.WARNING_CertificateValidationError, "the OEM provisioning certificate is not X.509: " + e.Message);
        }
        var now = _time.GetUtcNow();
        byte[][] subs = [.. oem.SubCertificates?.Certificate ?? []];
        ChainResult? last = null;
        foreach (var pki in _pkis)
        {
            var chain = CertificateChains.Validate(oem.Certificate, subs, [pki.OemRoot], now, "OEM");
            if (!chain.Valid)
            {
                last = chain.Status == ChainStatus.UntrustedRoot && last is not null ? last : chain;
                continue;
            }
            var (signed, detail) = Iso20Signatures.Verify(request.Header.Signature, [(oem.Id, Iso20Signatures.Element("OEMProvisioningCertificateChain", oem))], leaf.GetPublicKey());
            if (signed != SignatureCheck.Valid)
            {
                return Failed(request, ResponseCodeType.FAILED_SignatureError, $"CertificateInstallationReq signature: {signed}: {detail}");
            }
            if (request.ListOfRootCertificateIDs.RootCertificateID.Count > 0 && !request.ListOfRootCertificateIDs.RootCertificateID.Any(id => Names(id, pki.V2gRoot)))
            {
                return Failed(request, ResponseCodeType.WARNING_NoCertificateAvailable, "none of the EV's V2G roots is the provisioning service's");
            }
            string pcid = V2gCertificates.CommonName(leaf) ?? "";
            return Issue(request, pki, leaf, pcid, Emaid.Normalize(EmaidOf(pcid)));
        }
        var code = last!.Status switch
        {
            ChainStatus.Expired => ResponseCodeType.WARNING_CertificateExpired,
            ChainStatus.NotYetValid => ResponseCodeType.WARNING_CertificateNotYetValid,
            _ => ResponseCodeType.WARNING_CertificateValidationError,
        };
        return Failed(request, code, $"OEM provisioning chain: {last.Status}: {last.Detail}");
    }

    private Iso20ProvisioningOutcome Issue(CertificateInstallationReqType request, TestPki pki, X509Certificate oem, string pcid, string emaid)
    {
        var algorithm = pki.Options.Algorithm;
        Org.BouncyCastle.Crypto.AsymmetricKeyParameter key = algorithm == PkiAlgorithm.Ed448
            ? Iso20ContractKeyCipher.NewEd448ContractKey(_random)
            : PkiKeys.Generate(algorithm, _random).Private;
        var contract = V2gCertificates.Issue(CertificateRole.Contract, emaid, pki.Options.Organization, pki.Options.Country, PkiKeys.PublicOf(key), pki[CertificateRole.MoSubCa2], null,
            _time.GetUtcNow().AddMinutes(-5));
        var sealedKey = Iso20ContractKeyCipher.Encrypt(key, contract, oem.GetPublicKey(), pcid, _random);
        var data = new SignedInstallationDataType
        {
            Id = "id1",
            ContractCertificateChain = new ContractCertificateChainType
            {
                Certificate = contract.GetEncoded(),
                SubCertificates = new SubCertificatesType { Certificate = [.. pki.Chain(CertificateRole.MoSubCa2).Select(c => c.GetEncoded())] },
            },
            ECDHCurve = sealedKey.Curve,
            DHPublicKey = sealedKey.DhPublicKey,
            Choice = sealedKey.EncryptedKey,
        };
        var cps = pki[CertificateRole.CpsLeaf];
        var response = new CertificateInstallationResType
        {
            Header = new MessageHeaderType
            {
                SessionID = request.Header.SessionID,
                TimeStamp = (ulong)_time.GetUtcNow().ToUnixTimeSeconds(),
                Signature = Iso20Signatures.Sign([(data.Id, Iso20Signatures.Element("SignedInstallationData", data))], cps.Key),
            },
            ResponseCode = ResponseCodeType.OK,
            EVSEProcessing = ProcessingType.Finished,
            CPSCertificateChain = new CertificateChainType
            {
                Certificate = cps.Certificate.GetEncoded(),
                SubCertificates = new SubCertificatesType { Certificate = [.. pki.Chain(CertificateRole.CpsLeaf).Skip(1).Select(c => c.GetEncoded())] },
            },
            SignedInstallationData = data,
            RemainingContractCertificateChains = 0,
        };
        return new Iso20ProvisioningOutcome(response, ResponseCodeType.OK, $"contract {emaid} ({algorithm.Name()}) issued for {pcid}", emaid);
    }

    private static bool Names(X509IssuerSerialType id, X509Certificate root)
    {
        var (issuer, serial) = V2gCertificates.IssuerSerial(root);
        return id.X509SerialNumber == serial && string.Equals(id.X509IssuerName.Replace(" ", "", StringComparison.Ordinal), issuer.Replace(" ", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
    }

    private Iso20ProvisioningOutcome Failed(CertificateInstallationReqType request, ResponseCodeType code, string detail) =>
        new(FailedResponse(request.Header.SessionID, (ulong)_time.GetUtcNow().ToUnixTimeSeconds(), code), code, detail);

    /// <summary>A CertificateInstallationRes that carries a refusal: every required element present, with placeholder values.</summary>
    public static CertificateInstallationResType FailedResponse(byte[] sessionId, ulong timeStamp, ResponseCodeType code) => new()
    {
        Header = new MessageHeaderType { SessionID = sessionId, TimeStamp = timeStamp },
        ResponseCode = code,
        EVSEProcessing = ProcessingType.Finished,
        CPSCertificateChain = new CertificateChainType { Certificate = [0x30, 0x00] },
        SignedInstallationData = new SignedInstallationDataType
        {
            Id = "id1",
            ContractCertificateChain = new ContractCertificateChainType { Certificate = [0x30, 0x00], SubCertificates = new SubCertificatesType { Certificate = [[0x30, 0x00]] } },
            ECDHCurve = EcdhCurveType.SECP521,
            DHPublicKey = new byte[133],
            Choice = new SignedInstallationDataTypeChoice.SECP521_EncryptedPrivateKey(new byte[Iso20ContractKeyCipher.Secp521Length]),
        },
        RemainingContractCertificateChains = 0,
    };
}
