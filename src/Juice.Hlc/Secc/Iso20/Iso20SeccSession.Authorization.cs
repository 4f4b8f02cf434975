using System.Security.Cryptography;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Security;

namespace Juice.Hlc.Secc.Iso20;

/// <summary>
/// Identification in ISO 15118-20 (§8.3.4.3, AuthorizationSetup and Authorization): external identification, and
/// Plug &amp; Charge where the connection is TLS 1.3 and the station has contract roots. With PnC the SECC hands out a
/// GenChallenge of 16 random bytes in AuthorizationSetupRes; the EV returns it in PnC_AReqAuthorizationMode with its
/// contract chain and signs that element in the header ([V2G20-1063]). The chain is checked as for ISO 15118-2 (the
/// contract roots, validity, profile, the eMAID in the CN; an unknown root goes to the backend where the station allows
/// central validation), then the station decides on the same path as for -2 (its whitelist, the backend's Authorize).
/// </summary>
public sealed partial class Iso20SeccSession
{
    private readonly bool _tls;
    private byte[]? _challenge;
    private ContractIdentity? _contract;

    /// <summary>PnC is offered: TLS 1.3, and the station checks contracts.</summary>
    private bool PncOffered => _tls && _core.Options.PlugAndCharge is not null && _core.Options.IdentificationModes.Contains(IdentificationMode.Contract);

    /// <summary>Certificate installation is offered with Plug &amp; Charge, where the station has the backend service for it.</summary>
    private bool CertificateInstallationOffered => _offerInstallation ??= PncOffered && _core.Options.PlugAndCharge!.OfferCertificateInstallation();

    private bool? _offerInstallation;

    private bool EimOffered => _core.Options.IdentificationModes.Contains(IdentificationMode.External) || !PncOffered;

    private SeccReply<V2GMessageType> AuthorizationSetup()
    {
        State = Iso20SeccState.WaitForAuthorizationReq;
        List<AuthorizationType> services = [];
        if (EimOffered)
        {
            services.Add(AuthorizationType.EIM);
        }
        AuthorizationSetupResTypeChoice choice = new AuthorizationSetupResTypeChoice.EIM_ASResAuthorizationMode(new EIM_ASResAuthorizationModeType());
        if (PncOffered)
        {
            services.Add(AuthorizationType.PnC);
            // [V2G20-1063]: a fresh challenge for this session, signed back by the EV
            _challenge = RandomNumberGenerator.GetBytes(16);
            choice = new AuthorizationSetupResTypeChoice.PnC_ASResAuthorizationMode(new PnC_ASResAuthorizationModeType { GenChallenge = _challenge });
        }
        return Next(new AuthorizationSetupResType
        {
            Header = Header(),
            ResponseCode = ResponseCodeType.OK,
            AuthorizationServices = [.. services],
            CertificateInstallationService = CertificateInstallationOffered,
            Choice = choice,
        });
    }

    private AuthorizationResType AuthorizationRes(ResponseCodeType code, ProcessingType processing = ProcessingType.Finished) =>
        new() { Header = Header(), ResponseCode = code, EVSEProcessing = processing };

    private async ValueTask<SeccReply<V2GMessageType>> AuthorizationAsync(AuthorizationReqType r, CancellationToken ct)
    {
        switch (r.SelectedAuthorizationService, r.Choice)
        {
            case (AuthorizationType.EIM, AuthorizationReqTypeChoice.EIM_AReqAuthorizationMode) when EimOffered:
                return await DecideAsync(IdentificationMode.External, ct).ConfigureAwait(false);
            case (AuthorizationType.PnC, AuthorizationReqTypeChoice.PnC_AReqAuthorizationMode pnc) when PncOffered:
                if (Contract(r, pnc.Value) is { } refusal)
                {
                    return refusal;
                }
                return await DecideAsync(IdentificationMode.Contract, ct).ConfigureAwait(false);
            default:
                return Close(AuthorizationRes(ResponseCodeType.WARNING_AuthorizationSelectionInvalid), SessionEndReason.Error,
                    $"{r.SelectedAuthorizationService} ({r.Choice.GetType().Name}) was not offered in AuthorizationSetupRes");
        }
    }

    /// <summary>The checks of PnC_AReqAuthorizationMode; null when the contract is proven (the first request) or still the same (a repeat).</summary>
    private SeccReply<V2GMessageType>? Contract(AuthorizationReqType r, PnC_AReqAuthorizationModeType pnc)
    {
        if (!CryptographicOperations.FixedTimeEquals(pnc.GenChallenge, _challenge))
        {
            return Close(AuthorizationRes(ResponseCodeType.WARNING_ChallengeInvalid), SessionEndReason.Error, "PnC_AReqAuthorizationMode without the GenChallenge of AuthorizationSetupRes");
        }
        var options = _core.Options.PlugAndCharge!;
        var now = _core.Time.GetUtcNow();
        byte[][] subs = [.. pnc.ContractCertificateChain.SubCertificates.Certificate];
        var chain = CertificateChains.Validate(pnc.ContractCertificateChain.Certificate, subs, options.ContractRoots, now, "MO");
        bool central = !chain.Valid && chain.Status == ChainStatus.UntrustedRoot && options.AllowCentralValidation && chain.Leaf is not null
            && chain.Leaf.NotAfter >= now.UtcDateTime && chain.Leaf.NotBefore <= now.UtcDateTime;
        if (!chain.Valid && !central)
        {
            var code = chain.Status switch
            {
                ChainStatus.Expired => ResponseCodeType.WARNING_CertificateExpired,
                ChainStatus.NotYetValid => ResponseCodeType.WARNING_CertificateNotYetValid,
                _ => ResponseCodeType.WARNING_CertificateValidationError,
            };
            return Close(AuthorizationRes(code), SessionEndReason.Error, $"contract certificate chain: {chain.Status}: {chain.Detail}");
        }
        string? emaid = V2gCertificates.CommonName(chain.Leaf!);
        if (emaid is null || !Emaid.IsValid(emaid))
        {
            return Close(AuthorizationRes(ResponseCodeType.WARNING_CertificateValidationError), SessionEndReason.Error, $"the contract certificate's CN '{emaid}' is no eMAID");
        }
        // the first request proves the key; a request repeated while Ongoing is checked again when it is signed
        if (_contract is null || r.Header.Signature is not null)
        {
            var (result, detail) = Iso20Signatures.Verify(r.Header.Signature, [(pnc.Id, Iso20Signatures.Element("PnC_AReqAuthorizationMode", pnc))], chain.Leaf!.GetPublicKey());
            if (result != SignatureCheck.Valid)
            {
                return Close(AuthorizationRes(ResponseCodeType.FAILED_SignatureError), SessionEndReason.Error, $"PnC_AReqAuthorizationMode signature: {result}: {detail}");
            }
        }
        var contract = new ContractIdentity(Emaid.Normalize(emaid), [pnc.ContractCertificateChain.Certificate, .. subs], !central);
        if (_contract is { } known && known.Emaid != contract.Emaid)
        {
            return Close(AuthorizationRes(ResponseCodeType.WARNING_GeneralPnCAuthorizationError), SessionEndReason.Error, $"the contract changed from {known.Emaid} to {contract.Emaid}");
        }
        _contract = contract;
        _contractKey = chain.Leaf!.GetPublicKey();
        return null;
    }

    /// <summary>The station's decision (the same path for EIM and PnC as in ISO 15118-2), Ongoing until it is made.</summary>
    private async ValueTask<SeccReply<V2GMessageType>> DecideAsync(IdentificationMode mode, CancellationToken ct)
    {
        var (status, overdue) = await _core.AuthorizeAsync(mode, ct, mode == IdentificationMode.Contract ? _contract : null).ConfigureAwait(false);
        bool pnc = mode == IdentificationMode.Contract;
        switch (status)
        {
            case AuthorizationStatus.Pending when overdue:
                return Close(AuthorizationRes(ResponseCodeType.FAILED), SessionEndReason.Timeout, "the authorization was not decided within V2G_SECC_Ongoing_Performance_Time");
            case AuthorizationStatus.Pending:
                return Next(AuthorizationRes(ResponseCodeType.OK, pnc ? ProcessingType.Ongoing : ProcessingType.Ongoing_WaitingForCustomerInteraction));
            case AuthorizationStatus.Accepted:
                State = Iso20SeccState.WaitForServiceDiscoveryReq;
                return Next(AuthorizationRes(ResponseCodeType.OK));
            case AuthorizationStatus.CertificateRevoked when pnc:
                return Close(AuthorizationRes(ResponseCodeType.WARNING_CertificateRevoked), SessionEndReason.Error, $"the contract {_contract!.Emaid} is revoked");
            case AuthorizationStatus.CertificateExpired when pnc:
                return Close(AuthorizationRes(ResponseCodeType.WARNING_CertificateExpired), SessionEndReason.Error, $"the contract {_contract!.Emaid} is expired");
            default:
                return Close(AuthorizationRes(pnc ? ResponseCodeType.WARNING_GeneralPnCAuthorizationError : ResponseCodeType.WARNING_EIMAuthorizationFailure), SessionEndReason.Error,
                    pnc ? $"contract {_contract!.Emaid} not authorized ({status})" : $"the station refused the EV ({status})");
        }
    }

    /// <summary>
    /// CertificateInstallationReq (§8.3.4.3.2), between AuthorizationSetup and Authorization: the EV's signature over
    /// its OEM provisioning chain is checked, the request goes to the backend exactly as it came (Get15118EVCertificate
    /// with the -20 CommonMessages schema), and the backend's response goes back to the EV unchanged within
    /// V2G_SECC_Msg_Performance_Time; no answer in time, or none at all, is FAILED. After the response the EV may ask
    /// again (RemainingContractCertificateChains) or go on with AuthorizationReq.
    /// </summary>
    private async ValueTask<SeccReply<V2GMessageType>> CertificateInstallationAsync(CertificateInstallationReqType r, byte[] exi, CancellationToken ct)
    {
        if (_core.Options.PlugAndCharge!.VerifyCertificateRequests && CertificateRequestProblem(r) is { } problem)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_SignatureError), SessionEndReason.Error, problem);
        }
        if (exi.Length == 0)
        {
            exi = Iso20CommonExi.EncodeCertificateInstallationReq(r);
        }
        var result = await _core.CertificateServiceAsync(new CertificateServiceRequest(CertificateAction.Install, exi, CommonMessagesNamespace), ct).ConfigureAwait(false);
        if (result.Exi is not { } answer)
        {
            return Close(Failed(r, ResponseCodeType.FAILED), SessionEndReason.Error, $"CertificateInstallationReq: {result.Problem}");
        }
        CertificateInstallationResType response;
        try
        {
            response = Iso20CommonExi.DecodeDocument(answer).Value as CertificateInstallationResType
                ?? throw new Juice.Hlc.Exi.ExiContentException(0, "not a CertificateInstallationRes");
        }
        catch (Juice.Hlc.Exi.ExiContentException e)
        {
            return Close(Failed(r, ResponseCodeType.FAILED), SessionEndReason.Error, $"CertificateInstallationReq: the backend's response is no -20 CertificateInstallationRes: {e.Message}");
        }
        if (!response.Header.SessionID.AsSpan().SequenceEqual(_core.SessionId))
        {
            // the backend may not know the SessionID; the signature covers SignedInstallationData only
            response.Header.SessionID = _core.SessionId;
            answer = Iso20CommonExi.EncodeCertificateInstallationRes(response);
        }
        if (response.ResponseCode >= ResponseCodeType.FAILED)
        {
            State = Iso20SeccState.Ended;
            return new(response, SeccNext.Close, SessionEndReason.Error, $"CertificateInstallationReq: the backend answered {response.ResponseCode}", answer);
        }
        return new(response, SeccNext.Continue, null, null, answer);
    }

    /// <summary>The CommonMessages namespace: iso15118SchemaVersion of the request forwarded to the backend.</summary>
    public const string CommonMessagesNamespace = "urn:iso:std:iso:15118:-20:CommonMessages";

    /// <summary>Why the EV's signature over its OEM provisioning chain does not hold, or null.</summary>
    private static string? CertificateRequestProblem(CertificateInstallationReqType r)
    {
        try
        {
            var chain = r.OEMProvisioningCertificateChain;
            var (result, detail) = Iso20Signatures.Verify(r.Header.Signature, [(chain.Id, Iso20Signatures.Element("OEMProvisioningCertificateChain", chain))],
                V2gCertificates.Parse(chain.Certificate).GetPublicKey());
            return result == SignatureCheck.Valid ? null : $"the signature of CertificateInstallationReq: {result}: {detail}";
        }
        catch (Exception e) when (e is ArgumentException or IOException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            return "the OEM provisioning certificate of CertificateInstallationReq is unreadable: " + e.Message;
        }
    }
}
