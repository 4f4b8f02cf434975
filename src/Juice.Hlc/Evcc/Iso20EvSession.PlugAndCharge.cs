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

    /// <summary>
    /// AuthorizationSetup, then Authorization: Plug &amp; Charge where the charger offers it and the EV has a -20
    /// contract (the charger's GenChallenge and the contract chain in PnC_AReqAuthorizationMode, signed in the header
    /// with the contract key, [V2G20-1063]), else external identification; repeated while the charger says Ongoing.
    /// </summary>
    private async Task AuthorizeAsync(V2gtpConnection c)
    {
        var setup = await SendAsync<AuthorizationSetupResType>(c, new AuthorizationSetupReqType { Header = null! }, V2gMessageKind.Authorization).ConfigureAwait(false);
        var timeout = options.TimersFor(protocol).EvccOngoingTimeout;
        if (options.PlugAndCharge is { Iso20ContractChain: { Count: > 0 } chain, Iso20ContractKey: { } key } && setup.AuthorizationServices.Contains(AuthorizationType.PnC)
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
        if (options.PlugAndCharge?.Iso20ContractKey is not { } key || _emaid is null)
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
