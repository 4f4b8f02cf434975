using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Security;

namespace Juice.Hlc.Secc.Iso20;

/// <summary>
/// Metering confirmation in ISO 15118-20 Plug &amp; Charge: in a charging-loop response the SECC raises
/// EVSENotification MeteringConfirmation with the MeterInfo (the first loop response, then every ReceiptInterval),
/// and the EV answers with MeteringConfirmationReq, its SignedMeteringData (SessionID, that MeterInfo, the control
/// mode) signed with the contract key. It may come on the main stream or multiplexed on its own V2GTP payload type
/// beside the charging loop (0x8102, Table 12); the SECC answers on the stream it came on. A signature that does not
/// verify, another SessionID or another MeterInfo is FAILED_MeteringSignatureNotValid; a verified one is kept by the
/// station as the transaction's receipt.
/// </summary>
public sealed partial class Iso20SeccSession
{
    private MeterInfoType? _meteringAsked;
    private long _lastMetering;
    private Org.BouncyCastle.Crypto.AsymmetricKeyParameter? _contractKey;

    /// <summary>The notification and MeterInfo of a charging-loop response: the station's requests first, then a metering confirmation when due.</summary>
    private (EVSEStatusType? Status, MeterInfoType? Meter) LoopStatus(MeterReading meter, bool meterInfoRequested)
    {
        var status = Status();
        var info = meterInfoRequested ? MeterInfo(meter) : null;
        if (status is null && MeteringDue())
        {
            info ??= MeterInfo(meter);
            _meteringAsked = info;
            status = new EVSEStatusType { NotificationMaxDelay = _core.Options.NotificationMaxDelay, EVSENotification = EvseNotificationType.MeteringConfirmation };
        }
        return (status, info);
    }

    private bool MeteringDue()
    {
        if (_contract is null || _core.Options.PlugAndCharge?.ReceiptInterval is not { } interval || _meteringAsked is not null)
        {
            return false;
        }
        return _lastMetering == 0 || _core.Time.GetElapsedTime(_lastMetering) >= interval;
    }

    private SeccReply<V2GMessageType> MeteringConfirmation(MeteringConfirmationReqType r)
    {
        if (_contract is null || _contractKey is null)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error, "MeteringConfirmationReq in a session without Plug & Charge");
        }
        var data = r.SignedMeteringData;
        string? wrong = !data.SessionID.AsSpan().SequenceEqual(_core.SessionId) ? "another SessionID"
            : _meteringAsked is { } asked && (data.MeterInfo.MeterID != asked.MeterID || data.MeterInfo.ChargedEnergyReadingWh != asked.ChargedEnergyReadingWh)
                ? "another MeterInfo than the SECC sent"
            : Iso20Signatures.Verify(r.Header.Signature, [(data.Id, Iso20Signatures.Element("SignedMeteringData", data))], _contractKey) is { Result: not SignatureCheck.Valid } v
                ? $"{v.Result}: {v.Detail}"
            : null;
        if (wrong is not null)
        {
            return Close(Failed(r, ResponseCodeType.FAILED_MeteringSignatureNotValid), SessionEndReason.Error, "MeteringConfirmationReq: " + wrong);
        }
        _cp.MeteringReceiptSigned(new MeteringReceipt(_contract.Emaid, data.MeterInfo.MeterID, data.MeterInfo.ChargedEnergyReadingWh,
            data.MeterInfo.MeterTimestamp is { } t ? (long)t : null, r.Header.Signature!.SignatureValue.Value));
        _meteringAsked = null;
        _lastMetering = _core.Time.GetTimestamp();
        return Next(new MeteringConfirmationResType { Header = Header(), ResponseCode = ResponseCodeType.OK });
    }
}
