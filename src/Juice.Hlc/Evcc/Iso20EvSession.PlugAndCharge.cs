using Juice.Hlc.Exi;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Security;
using Juice.Hlc.Secc.Iso20;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;
using static Juice.Hlc.Secc.Iso20.Iso20Values;

namespace Juice.Hlc.Evcc;

/// <summary>
/// The ISO 15118-20 EV's Plug &amp; Charge: authorization with its -20 contract (or external identification) and the
/// metering confirmations the charger asks for.
/// </summary>
internal sealed partial class Iso20EvSession
{
    /// <summary>The eMAID of the contract the EV authorized with (Plug &amp; Charge), else null.</summary>
    private string? _emaid;

    /// <summary>The key of that contract (given, stored, or installed in this session): it signs the metering confirmations.</summary>
    private Org.BouncyCastle.Crypto.AsymmetricKeyParameter? _contractKey;

    /// <summary>
    /// AuthorizationSetup, then Authorization: Plug &amp; Charge where the charger offers it and the EV has a -20
    /// contract (the charger's GenChallenge and the contract chain in PnC_AReqAuthorizationMode, signed in the header
    /// with the contract key, [V2G20-1063]), else external identification; repeated while the charger says Ongoing.
    /// </summary>
    private async Task AuthorizeAsync(V2gtpConnection c)
    {
        var setup = await SendAsync<AuthorizationSetupResType>(c, new AuthorizationSetupReqType { Header = null! }, V2gMessageKind.Authorization).ConfigureAwait(false);
        var timeout = options.TimersFor(protocol).EvccOngoingTimeout;
        var contract = Contract();
        if (options.PlugAndCharge is { } pnc && setup.AuthorizationServices.Contains(AuthorizationType.PnC)
            && (contract is null || pnc.ForceInstallation || (pnc.InstallWhenExpired && contract.Value.Chain[0].NotAfter < time.GetUtcNow().UtcDateTime))
            && pnc.Iso20OemProvisioningChain is { Count: > 0 } && pnc.Iso20OemProvisioningKey is not null)
        {
            if (!setup.CertificateInstallationService)
            {
                throw new EvSessionException(contract is null ? "the EV has no -20 contract and the charger offers no certificate installation" : "the charger offers no certificate installation");
            }
            contract = await InstallContractAsync(c, pnc).ConfigureAwait(false);
        }
        if (contract is { Chain: var chain, Key: var key } && setup.AuthorizationServices.Contains(AuthorizationType.PnC)
            && setup.Choice is AuthorizationSetupResTypeChoice.PnC_ASResAuthorizationMode offer)
        {
            var mode = new PnC_AReqAuthorizationModeType
            {
                Id = "id1",
                GenChallenge = offer.Value.GenChallenge,
                ContractCertificateChain = new ContractCertificateChainType
                {
                    Certificate = chain[0].GetEncoded(),
                    SubCertificates = new SubCertificatesType { Certificate = [.. chain.Skip(1).Select(x => x.GetEncoded())] },
                },
            };
            var signature = Iso20Signatures.Sign([(mode.Id, Iso20Signatures.Element("PnC_AReqAuthorizationMode", mode))], key);
            await UntilAsync<AuthorizationResType>(c, () => new AuthorizationReqType
            {
                Header = null!,
                SelectedAuthorizationService = AuthorizationType.PnC,
                Choice = new AuthorizationReqTypeChoice.PnC_AReqAuthorizationMode(mode),
            }, V2gMessageKind.Authorization, r => r.EVSEProcessing == ProcessingType.Finished, timeout, signature).ConfigureAwait(false);
            _emaid = V2gCertificates.CommonName(chain[0]);
            _contractKey = key;
            return;
        }
        if (!setup.AuthorizationServices.Contains(AuthorizationType.EIM))
        {
            throw new EvSessionException(options.PlugAndCharge is null ? "the charger offers no external identification" : "the charger offers no external identification, and the EV has no -20 contract for Plug & Charge");
        }
        await UntilAsync<AuthorizationResType>(c, () => new AuthorizationReqType
        {
            Header = null!,
            SelectedAuthorizationService = AuthorizationType.EIM,
            Choice = new AuthorizationReqTypeChoice.EIM_AReqAuthorizationMode(new EIM_AReqAuthorizationModeType()),
        }, V2gMessageKind.Authorization, r => r.EVSEProcessing == ProcessingType.Finished, timeout).ConfigureAwait(false);
    }

    private bool _installed;

    /// <summary>The -20 contract at hand: the one installed before (the contract store), else the one given.</summary>
    private (IReadOnlyList<Org.BouncyCastle.X509.X509Certificate> Chain, Org.BouncyCastle.Crypto.AsymmetricKeyParameter Key)? Contract()
    {
        if (options.PlugAndCharge is not { } pnc)
        {
            return null;
        }
        if (ContractStore.Read(pnc.ContractStore, ContractStore.Iso20) is { } stored)
        {
            return (stored.Chain, PkiKeys.ReadPrivateKeyPem(stored.KeyPem));
        }
        return pnc is { Iso20ContractChain: { Count: > 0 } chain, Iso20ContractKey: { } key } ? (chain, key) : null;
    }

    /// <summary>
    /// CertificateInstallationReq (§8.3.4.3.2): the OEM provisioning chain, signed in the header with the OEM
    /// provisioning key, and the V2G roots the EV trusts; the response's CPS chain must lead to one of them and its
    /// signature over SignedInstallationData must verify; the contract key is decrypted with the OEM provisioning key
    /// and must be the new contract certificate's ([V2G20-2504]..[V2G20-2510]). The contract is kept in the store.
    /// </summary>
    private async Task<(IReadOnlyList<Org.BouncyCastle.X509.X509Certificate>, Org.BouncyCastle.Crypto.AsymmetricKeyParameter)> InstallContractAsync(V2gtpConnection c, EvPlugAndCharge pnc)
    {
        var oem = pnc.Iso20OemProvisioningChain!;
        var oemChain = new SignedCertificateChainType
        {
            Id = "id1",
            Certificate = oem[0].GetEncoded(),
            SubCertificates = oem.Count > 1 ? new SubCertificatesType { Certificate = [.. oem.Skip(1).Select(x => x.GetEncoded())] } : null,
        };
        var roots = pnc.Iso20V2gRoots.Count > 0 ? pnc.Iso20V2gRoots : pnc.V2gRoots;
        var request = new CertificateInstallationReqType
        {
            Header = null!,
            OEMProvisioningCertificateChain = oemChain,
            ListOfRootCertificateIDs = new ListOfRootCertificateIDsType
            {
                RootCertificateID = [.. roots.Select(r => V2gCertificates.IssuerSerial(r)).Select(x => new Juice.Hlc.Exi.XmlDsig.X509IssuerSerialType { X509IssuerName = x.IssuerName, X509SerialNumber = x.Serial })],
            },
            MaximumContractCertificateChains = 1,
        };
        var signature = Iso20Signatures.Sign([(oemChain.Id, Iso20Signatures.Element("OEMProvisioningCertificateChain", oemChain))], pnc.Iso20OemProvisioningKey!);
        var res = await SendAsync<CertificateInstallationResType>(c, request, V2gMessageKind.CertificateInstallation, signature).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var cps = CertificateChains.Validate(res.CPSCertificateChain.Certificate, res.CPSCertificateChain.SubCertificates?.Certificate ?? [], roots, now, "CPS");
        if (!cps.Valid)
        {
            throw new EvSessionException($"CertificateInstallationRes: the provisioning service's chain is refused: {cps.Status}: {cps.Detail}");
        }
        var data = res.SignedInstallationData;
        var (signed, detail) = Iso20Signatures.Verify(res.Header.Signature, [(data.Id, Iso20Signatures.Element("SignedInstallationData", data))], cps.Leaf!.GetPublicKey());
        if (signed != SignatureCheck.Valid)
        {
            throw new EvSessionException($"CertificateInstallationRes: the provisioning service's signature does not hold: {signed}: {detail}");
        }
        List<Org.BouncyCastle.X509.X509Certificate> chain = [V2gCertificates.Parse(data.ContractCertificateChain.Certificate), .. data.ContractCertificateChain.SubCertificates.Certificate.Select(b => V2gCertificates.Parse(b))];
        var mo = CertificateChains.Validate(chain, pnc.Iso20MoRoots.Count > 0 ? pnc.Iso20MoRoots : [chain[^1]], now, "MO");
        if (!mo.Valid && !(pnc.Iso20MoRoots.Count == 0 && mo.Status == ChainStatus.UntrustedRoot))
        {
            throw new EvSessionException($"CertificateInstallationRes: the new contract chain is refused: {mo.Status}: {mo.Detail}");
        }
        Org.BouncyCastle.Crypto.AsymmetricKeyParameter key;
        try
        {
            key = Iso20ContractKeyCipher.Decrypt(new SealedContractKey(data.ECDHCurve, data.DHPublicKey, data.Choice), pnc.Iso20OemProvisioningKey!, chain[0], V2gCertificates.CommonName(oem[0]) ?? "");
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new EvSessionException($"CertificateInstallationRes: the contract key cannot be used: {e.Message}");
        }
        ContractStore.Write(pnc.ContractStore, ContractStore.Iso20, chain, PkiKeys.Pkcs8Pem(key));
        _installed = true;
        return (chain, key);
    }

    /// <summary>The last charging-loop response's notification and MeterInfo.</summary>
    private EVSEStatusType? _loopStatus;
    private MeterInfoType? _loopMeter;
    private int _receipts;

    /// <summary>
    /// MeteringConfirmation (Plug &amp; Charge): the MeterInfo the charger sent, signed with the contract key as
    /// SignedMeteringData, multiplexed beside the charging loop on the metering-confirmation stream (0x8102).
    /// Without a -20 contract the EV cannot sign and leaves the notification unanswered.
    /// </summary>
    private async Task ConfirmMeteringAsync(V2gtpConnection c, MeterInfoType meter)
    {
        if (_contractKey is not { } key || _emaid is null)
        {
            return;
        }
        var data = new SignedMeteringDataType
        {
            Id = "id2",
            SessionID = _sessionId,
            MeterInfo = meter,
            Choice = _tuple is { } tuple
                ? new SignedMeteringDataTypeChoice.Scheduled_SMDTControlMode(new Scheduled_SMDTControlModeType { SelectedScheduleTupleID = tuple.ScheduleTupleID })
                : new SignedMeteringDataTypeChoice.Dynamic_SMDTControlMode(new Dynamic_SMDTControlModeType()),
        };
        var signature = Iso20Signatures.Sign([(data.Id, Iso20Signatures.Element("SignedMeteringData", data))], key);
        await SendAsync<MeteringConfirmationResType>(c, new MeteringConfirmationReqType { Header = null!, SignedMeteringData = data }, V2gMessageKind.MeteringReceipt,
            signature, V2gtpPayloadType.MeteringConfirmation).ConfigureAwait(false);
        _receipts++;
    }
}
