using System.Text;
using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Security;
using Juice.Hlc.Session;
using static Juice.Hlc.Secc.Iso20.Iso20Values;

namespace Juice.Hlc.Secc.Iso20;

/// <summary>The ISO 15118-20 SECC states, each named after the request(s) it waits for.</summary>
public enum Iso20SeccState
{
    WaitForSessionSetupReq,
    WaitForAuthorizationSetupReq,
    WaitForAuthorizationReq,
    WaitForServiceDiscoveryReq,
    WaitForServiceDetailOrSelectionReq,
    WaitForChargeParameterDiscoveryReq,
    WaitForScheduleExchangeReq,
    WaitForCableCheckReq,
    WaitForPreChargeReq,
    WaitForPowerDeliveryReq,
    WaitForChargeLoopReq,
    WaitForWeldingDetectionReq,
    WaitForSessionStopReq,
    Ended,
}

/// <summary>
/// One ISO 15118-20 session on the SECC side for AC and DC, charging only or bidirectional (AC_BPT, DC_BPT), with
/// external identification, in scheduled and dynamic control mode (ISO 15118-20:2022 §8.3, the message sequence of
/// Figures 102-105). Same shape and shared core as the DIN and ISO-2 sessions: pure request handling, no I/O, the
/// clock injected. This file: the sequence, identification, services and the session's end; the energy transfer
/// (charge parameters, schedules, DC checks, the charging loops) is in Iso20SeccSession.Energy.cs, identification
/// (EIM, and Plug &amp; Charge over TLS 1.3) in Iso20SeccSession.Authorization.cs. Schedule renegotiation, standby and
/// pause/resume and service renegotiation are served; certificate installation (offered with Plug &amp; Charge) is
/// forwarded to the backend as in ISO 15118-2.
/// </summary>
public sealed partial class Iso20SeccSession : ISeccSession<V2GMessageType>
{
    private const uint ScheduleTupleId = 1;
    private const uint ScheduleDuration = 86_400;
    private const ushort ParameterSetScheduled = 1;
    private const ushort ParameterSetDynamic = 2;

    private readonly SeccSessionCore _core;
    private readonly IChargingPoint _cp;
    private readonly V2gProtocol _protocol;
    private readonly Org.BouncyCastle.Crypto.AsymmetricKeyParameter? _signingKey;
    private ushort _service;
    private bool _bpt;
    private int _controlMode;
    private bool _energyOn;
    private double _schedulePowerW;
    private EvNeeds? _needs;

    /// <summary>Schedule renegotiation is under way: after ScheduleExchange the EV goes straight to PowerDelivery(Start).</summary>
    private bool _renegotiating;

    /// <summary>The EV asked for standby: no energy until its PowerDelivery(Start).</summary>
    private bool _standby;

    /// <param name="protocol">The negotiated namespace: -20:AC offers the AC service, -20:DC the DC service (their message sets).</param>
    /// <param name="tls">The connection is TLS 1.3: Plug &amp; Charge may be offered.</param>
    /// <param name="signingKey">The key of the SECC certificate shown in TLS 1.3: it signs the price schedules of ScheduleExchangeRes (null: unsigned).</param>
    public Iso20SeccSession(IChargingPoint chargingPoint, V2gProtocol protocol, SeccSessionOptions? options = null, TimeProvider? time = null, PausedSessions? paused = null,
        bool tls = false, Org.BouncyCastle.Crypto.AsymmetricKeyParameter? signingKey = null)
    {
        time ??= TimeProvider.System;
        _cp = chargingPoint;
        _protocol = protocol;
        _tls = tls;
        _signingKey = signingKey;
        // paused -20 sessions are kept under one protocol key (AC or DC is chosen again after the resume)
        _core = new SeccSessionCore(chargingPoint, options ?? new SeccSessionOptions(), time, paused ?? new PausedSessions(time), V2gProtocol.Iso15118_20Dc);
    }

    public Iso20SeccState State { get; private set; } = Iso20SeccState.WaitForSessionSetupReq;

    public byte[]? SessionId => _core.HasSession ? _core.SessionId : null;

    public bool Started => State != Iso20SeccState.WaitForSessionSetupReq;

    public string StateName => State.ToString();

    private bool Dc => _service is DcService or DcBptService;

    public V2gMessageKind? KindOf(V2GMessageType request) => request switch
    {
        SessionSetupReqType => V2gMessageKind.SessionSetup,
        AuthorizationSetupReqType or AuthorizationReqType => V2gMessageKind.Authorization,
        CertificateInstallationReqType => V2gMessageKind.CertificateInstallation,
        ServiceDiscoveryReqType or ServiceSelectionReqType => V2gMessageKind.ServiceDiscovery,
        ServiceDetailReqType => V2gMessageKind.ServiceDetail,
        ChargeParameterDiscoveryReqType or ScheduleExchangeReqType => V2gMessageKind.ChargeParameterDiscovery,
        DC_CableCheckReqType => V2gMessageKind.CableCheck,
        DC_PreChargeReqType => V2gMessageKind.PreCharge,
        PowerDeliveryReqType => V2gMessageKind.PowerDelivery,
        AC_ChargeLoopReqType => V2gMessageKind.ChargingStatus,
        DC_ChargeLoopReqType => V2gMessageKind.CurrentDemand,
        DC_WeldingDetectionReqType => V2gMessageKind.WeldingDetection,
        MeteringConfirmationReqType => V2gMessageKind.MeteringReceipt,
        SessionStopReqType => V2gMessageKind.SessionStop,
        _ => null,
    };

    /// <summary>Requests accepted in a state: the sequence of ISO 15118-20 §8.8 (repeats while Ongoing included).</summary>
    private bool Expected(V2GMessageType request) => (State, request) switch
    {
        (Iso20SeccState.WaitForSessionSetupReq, SessionSetupReqType) => true,
        (Iso20SeccState.WaitForAuthorizationSetupReq, AuthorizationSetupReqType) => true,
        (Iso20SeccState.WaitForAuthorizationReq, AuthorizationReqType) => true,
        (Iso20SeccState.WaitForAuthorizationReq, CertificateInstallationReqType) => CertificateInstallationOffered,
        (Iso20SeccState.WaitForServiceDiscoveryReq, ServiceDiscoveryReqType) => true,
        (Iso20SeccState.WaitForServiceDetailOrSelectionReq, ServiceDetailReqType or ServiceSelectionReqType) => true,
        (Iso20SeccState.WaitForChargeParameterDiscoveryReq, AC_ChargeParameterDiscoveryReqType or DC_ChargeParameterDiscoveryReqType) => true,
        (Iso20SeccState.WaitForScheduleExchangeReq, ScheduleExchangeReqType) => true,
        (Iso20SeccState.WaitForCableCheckReq, DC_CableCheckReqType) => true,
        (Iso20SeccState.WaitForPreChargeReq, DC_PreChargeReqType or PowerDeliveryReqType) => true,
        (Iso20SeccState.WaitForPowerDeliveryReq, PowerDeliveryReqType) => true,
        (Iso20SeccState.WaitForChargeLoopReq, AC_ChargeLoopReqType or DC_ChargeLoopReqType or PowerDeliveryReqType or MeteringConfirmationReqType) => true,
        (Iso20SeccState.WaitForWeldingDetectionReq, DC_WeldingDetectionReqType or SessionStopReqType) => true,
        (Iso20SeccState.WaitForSessionStopReq, SessionStopReqType) => true,
        _ => false,
    };

    public ValueTask<SeccReply<V2GMessageType>> HandleAsync(V2GMessageType request, CancellationToken cancellationToken) => HandleAsync(request, [], cancellationToken);

    public async ValueTask<SeccReply<V2GMessageType>> HandleAsync(V2GMessageType request, byte[] exi, CancellationToken cancellationToken)
    {
        if (!Expected(request))
        {
            // as in DIN and ISO-2: a request out of the sequence is answered with FAILED_SequenceError and the session ends
            return Close(Failed(request, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error, $"{Name(request)} while in {State}");
        }
        if (request is not SessionSetupReqType && !_core.IsOwnSession(request.Header.SessionID))
        {
            return Close(Failed(request, ResponseCodeType.FAILED_UnknownSession), SessionEndReason.Error,
                $"{Name(request)} with SessionID {Convert.ToHexString(request.Header.SessionID)} (not {Convert.ToHexString(_core.SessionId)})");
        }
        return request switch
        {
            SessionSetupReqType r => SessionSetup(r),
            AuthorizationSetupReqType => AuthorizationSetup(),
            AuthorizationReqType r => await AuthorizationAsync(r, cancellationToken).ConfigureAwait(false),
            CertificateInstallationReqType r => await CertificateInstallationAsync(r, exi, cancellationToken).ConfigureAwait(false),
            ServiceDiscoveryReqType => ServiceDiscovery(),
            ServiceDetailReqType r => ServiceDetail(r),
            ServiceSelectionReqType r => ServiceSelection(r),
            DC_ChargeParameterDiscoveryReqType r => DcChargeParameterDiscovery(r),
            AC_ChargeParameterDiscoveryReqType r => AcChargeParameterDiscovery(r),
            ScheduleExchangeReqType r => ScheduleExchange(r),
            DC_CableCheckReqType r => CableCheck(r),
            DC_PreChargeReqType r => PreCharge(r),
            PowerDeliveryReqType r => await PowerDeliveryAsync(r, cancellationToken).ConfigureAwait(false),
            DC_ChargeLoopReqType r => DcChargeLoop(r),
            AC_ChargeLoopReqType r => AcChargeLoop(r),
            DC_WeldingDetectionReqType => Next(new DC_WeldingDetectionResType { Header = Header(), ResponseCode = ResponseCodeType.OK, EVSEPresentVoltage = Rn(_cp.ReadMeter().VoltageV) }),
            SessionStopReqType r => await SessionStopAsync(r, cancellationToken).ConfigureAwait(false),
            MeteringConfirmationReqType r => MeteringConfirmation(r),
            _ => Close(Failed(request, ResponseCodeType.FAILED_SequenceError), SessionEndReason.Error, $"{Name(request)} is not supported"),
        };
    }

    /// <summary>
    /// The -20 EVCCID is a string: a MAC in hex (with or without colons, as EVs send it for Autocharge) becomes its
    /// six bytes, anything else (a VIN) its ASCII bytes.
    /// </summary>
    internal static byte[] Evccid(string evccid)
    {
        string hex = evccid.Replace(":", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        return hex.Length == 12 && hex.All(char.IsAsciiHexDigit) ? Convert.FromHexString(hex) : Encoding.ASCII.GetBytes(evccid);
    }

    private SeccReply<V2GMessageType> SessionSetup(SessionSetupReqType r)
    {
        bool resumed = _core.SetUp(r.Header.SessionID, Evccid(r.EVCCID), "ISO 15118-20");
        State = Iso20SeccState.WaitForAuthorizationSetupReq;
        return Next(new SessionSetupResType
        {
            Header = Header(),
            ResponseCode = resumed ? ResponseCodeType.OK_OldSessionJoined : ResponseCodeType.OK_NewSessionEstablished,
            EVSEID = _cp.EvseId,
        });
    }

    private IEnumerable<ushort> Services()
    {
        bool bidirectional = _cp.Supported.HasFlag(EnergyTransfer.Bidirectional);
        if (_protocol == V2gProtocol.Iso15118_20Ac && (_cp.Supported & (EnergyTransfer.AcSinglePhase | EnergyTransfer.AcThreePhase)) != 0)
        {
            yield return AcService;
            if (bidirectional)
            {
                yield return AcBptService;
            }
        }
        if (_protocol == V2gProtocol.Iso15118_20Dc && _cp.Supported.HasFlag(EnergyTransfer.Dc))
        {
            yield return DcService;
            if (bidirectional)
            {
                yield return DcBptService;
            }
        }
    }

    private SeccReply<V2GMessageType> ServiceDiscovery()
    {
        State = Iso20SeccState.WaitForServiceDetailOrSelectionReq;
        return Next(new ServiceDiscoveryResType
        {
            Header = Header(),
            ResponseCode = ResponseCodeType.OK,
            ServiceRenegotiationSupported = true,
            EnergyTransferServiceList = new ServiceListType { Service = [.. Services().Select(id => new ServiceType { ServiceID = id, FreeService = false })] },
        });
    }

    /// <summary>
    /// Two parameter sets per service: scheduled (1) and dynamic (2) control mode (Tables 205-208); the BPT services
    /// add one channel for both directions, grid-following, and for AC_BPT passive islanding detection (Tables 206, 208).
    /// </summary>
    private ServiceParameterListType Parameters(ushort service)
    {
        ParameterType Int(string name, int value) => new() { Name = name, Choice = new ParameterTypeChoice.IntValue(value) };
        var limits = _cp.Limits;
        bool dc = service is DcService or DcBptService;
        int connector = dc ? 2 : _cp.Supported.HasFlag(EnergyTransfer.AcThreePhase) ? 2 : 1;   // DC extended; AC three- or single-phase
        ParameterSetType Set(ushort id, int mode)
        {
            List<ParameterType> parameters =
            [
                Int("Connector", connector),
                Int("ControlMode", mode),
                Int("EVSENominalVoltage", (int)Math.Round(limits.NominalVoltageV)),
                Int("MobilityNeedsMode", mode == Dynamic ? 2 : 1),
                Int("Pricing", 2),   // price levels: the schedule carries one level (0) for the whole day
            ];
            if (service is AcBptService or DcBptService)
            {
                parameters.Add(Int("BPTChannel", BptChannelUnified));
                parameters.Add(Int("GeneratorMode", GeneratorModeGridFollowing));
                if (!dc)
                {
                    parameters.Add(Int("GridCodeIslandingDetectionMethod", IslandingDetectionPassive));
                }
            }
            return new ParameterSetType { ParameterSetID = id, Parameter = parameters };
        }
        return new ServiceParameterListType { ParameterSet = [Set(ParameterSetScheduled, Scheduled), Set(ParameterSetDynamic, Dynamic)] };
    }

    private SeccReply<V2GMessageType> ServiceDetail(ServiceDetailReqType r)
    {
        if (!Services().Contains(r.ServiceID))
        {
            return Close(Failed(r, ResponseCodeType.FAILED_ServiceIDInvalid), SessionEndReason.Error, $"ServiceDetail for service {r.ServiceID}, which was not offered");
        }
        return Next(new ServiceDetailResType { Header = Header(), ResponseCode = ResponseCodeType.OK, ServiceID = r.ServiceID, ServiceParameterList = Parameters(r.ServiceID) });
    }

    private SeccReply<V2GMessageType> ServiceSelection(ServiceSelectionReqType r)
    {
        var selected = r.SelectedEnergyTransferService;
        if (!Services().Contains(selected.ServiceID) || selected.ParameterSetID is not (ParameterSetScheduled or ParameterSetDynamic) || r.SelectedVASList is { SelectedService.Count: > 0 })
        {
            return Close(Failed(r, ResponseCodeType.FAILED_ServiceSelectionInvalid), SessionEndReason.Error,
                $"service {selected.ServiceID} with parameter set {selected.ParameterSetID} was not offered");
        }
        _service = selected.ServiceID;
        _bpt = selected.ServiceID is AcBptService or DcBptService;
        _controlMode = selected.ParameterSetID == ParameterSetDynamic ? Dynamic : Scheduled;
        State = Iso20SeccState.WaitForChargeParameterDiscoveryReq;
        return Next(new ServiceSelectionResType { Header = Header(), ResponseCode = ResponseCodeType.OK });
    }

    private async ValueTask<SeccReply<V2GMessageType>> PowerDeliveryAsync(PowerDeliveryReqType r, CancellationToken ct)
    {
        bool inLoop = State == Iso20SeccState.WaitForChargeLoopReq;
        switch (r.ChargeProgress)
        {
            case ChargeProgressType.Start when inLoop && _standby:
                // wake-up from standby: the energy transfer goes on in the same loop
                if (_cp.Request == EvseRequest.StopCharging || !await _cp.SetEnergyTransferAsync(true, ct).ConfigureAwait(false))
                {
                    return Close(Failed(r, ResponseCodeType.FAILED_PowerDeliveryNotApplied), SessionEndReason.Error, "the station does not deliver energy now (wake-up from standby)");
                }
                _standby = false;
                _energyOn = true;
                return Next(new PowerDeliveryResType { Header = Header(), ResponseCode = ResponseCodeType.OK });
            case ChargeProgressType.Start when inLoop:
                return Close(Failed(r, ResponseCodeType.FAILED), SessionEndReason.Error, "PowerDelivery(Start) in the charging loop");
            case ChargeProgressType.Start when r.BPT_ChannelSelection is not null && !_bpt:
                return Close(Failed(r, ResponseCodeType.FAILED_PowerDeliveryNotApplied), SessionEndReason.Error, "a BPT channel selection for a service without bidirectional power");
            case ChargeProgressType.Start:
                if (r.EVProcessing != ProcessingType.Finished)
                {
                    State = Iso20SeccState.WaitForPowerDeliveryReq;   // the EV is still getting ready and repeats the request
                    return Next(new PowerDeliveryResType { Header = Header(), ResponseCode = ResponseCodeType.OK });
                }
                if (r.EVPowerProfile?.Choice is EVPowerProfileTypeChoice.Scheduled_EVPPTControlMode chosen && (_controlMode != Scheduled || chosen.Value.SelectedScheduleTupleID != ScheduleTupleId))
                {
                    return Close(Failed(r, ResponseCodeType.FAILED_ScheduleSelectionInvalid), SessionEndReason.Error,
                        $"schedule tuple {chosen.Value.SelectedScheduleTupleID} was not offered");
                }
                if (OutsideSchedule(r.EVPowerProfile) is { } outside)
                {
                    return Close(Failed(r, ResponseCodeType.FAILED_EVPowerProfileInvalid), SessionEndReason.Error, outside);
                }
                if (_cp.Request == EvseRequest.StopCharging)
                {
                    return Close(Failed(r, ResponseCodeType.FAILED_PowerDeliveryNotApplied), SessionEndReason.Error, "the station does not deliver energy now");
                }
                if (!await _cp.SetEnergyTransferAsync(true, ct).ConfigureAwait(false))
                {
                    return Close(Failed(r, ResponseCodeType.FAILED_ContactorError), SessionEndReason.Error, "the contactors did not close");
                }
                _energyOn = true;
                _renegotiating = false;
                State = Iso20SeccState.WaitForChargeLoopReq;
                return Next(new PowerDeliveryResType { Header = Header(), ResponseCode = ResponseCodeType.OK });
            case ChargeProgressType.Stop:
                bool opened = await _cp.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
                _energyOn = false;
                _standby = false;
                if (_cp.Request == EvseRequest.StopCharging)
                {
                    _cp.RequestHandled(EvseRequest.StopCharging);
                }
                if (!opened)
                {
                    return Close(Failed(r, ResponseCodeType.FAILED_ContactorError), SessionEndReason.Error, "the contactors did not open");
                }
                State = Dc ? Iso20SeccState.WaitForWeldingDetectionReq : Iso20SeccState.WaitForSessionStopReq;
                return Next(new PowerDeliveryResType { Header = Header(), ResponseCode = ResponseCodeType.OK });
            case ChargeProgressType.Standby when inLoop && !_standby:
                // standby: no energy for now, the session and its charging loop go on until the EV wakes up with
                // PowerDelivery(Start) or stops
                await _cp.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
                _standby = true;
                _energyOn = false;
                return Next(new PowerDeliveryResType { Header = Header(), ResponseCode = ResponseCodeType.OK });
            case ChargeProgressType.Standby:
                // only from the charging loop, once
                return Next(new PowerDeliveryResType { Header = Header(), ResponseCode = ResponseCodeType.WARNING_StandbyNotAllowed });
            case ChargeProgressType.ScheduleRenegotiation when inLoop && !_standby:
                // the EV (on its own or after the EVSE's ScheduleRenegotiation notification) asks for new schedules:
                // ScheduleExchange again, then PowerDelivery(Start); the energy transfer goes on meanwhile
                _renegotiating = true;
                State = Iso20SeccState.WaitForScheduleExchangeReq;
                return Next(new PowerDeliveryResType { Header = Header(), ResponseCode = ResponseCodeType.OK });
            default:
                return Close(Failed(r, ResponseCodeType.FAILED_ScheduleRenegotiation), SessionEndReason.Error, "schedule renegotiation outside the charging loop");
        }
    }


    private async ValueTask<SeccReply<V2GMessageType>> SessionStopAsync(SessionStopReqType r, CancellationToken ct)
    {
        await _cp.SetEnergyTransferAsync(false, ct).ConfigureAwait(false);
        switch (r.ChargingSession)
        {
            case ChargingSessionType.Pause:
                _core.Pause();
                return Close(new SessionStopResType { Header = Header(), ResponseCode = ResponseCodeType.OK }, SessionEndReason.EvPaused);
            case ChargingSessionType.ServiceRenegotiation:
                // service renegotiation (ServiceRenegotiationSupported in ServiceDiscoveryRes): the session and its
                // authorization go on, the EV chooses its service again from ServiceDiscovery
                _service = 0;
                _bpt = false;
                _controlMode = 0;
                _energyOn = false;
                _standby = false;
                _renegotiating = false;
                State = Iso20SeccState.WaitForServiceDiscoveryReq;
                return Next(new SessionStopResType { Header = Header(), ResponseCode = ResponseCodeType.OK });
            default:
                return Close(new SessionStopResType { Header = Header(), ResponseCode = ResponseCodeType.OK }, SessionEndReason.EvStopped);
        }
    }

    private MessageHeaderType Header() => new() { SessionID = _core.SessionId, TimeStamp = (ulong)_core.UnixTime };

    private static string Name(V2GMessageType message) => message.GetType().Name.Replace("Type", "", StringComparison.Ordinal);

    /// <summary>The response that answers <paramref name="request"/>, with a FAILED code and its other required parts filled with valid values.</summary>
    private V2GMessageType Failed(V2GMessageType request, ResponseCodeType code)
    {
        var header = Header();
        var zero = Rn(0);
        return request switch
        {
            SessionSetupReqType => new SessionSetupResType { Header = header, ResponseCode = code, EVSEID = _cp.EvseId },
            AuthorizationSetupReqType => new AuthorizationSetupResType { Header = header, ResponseCode = code, CertificateInstallationService = false, AuthorizationServices = [AuthorizationType.EIM],
                Choice = new AuthorizationSetupResTypeChoice.EIM_ASResAuthorizationMode(new EIM_ASResAuthorizationModeType()) },
            AuthorizationReqType => new AuthorizationResType { Header = header, ResponseCode = code, EVSEProcessing = ProcessingType.Finished },
            CertificateInstallationReqType => Iso20CertificateProvisioning.FailedResponse(header.SessionID, header.TimeStamp, code),
            ServiceDiscoveryReqType => new ServiceDiscoveryResType { Header = header, ResponseCode = code, ServiceRenegotiationSupported = false,
                EnergyTransferServiceList = new ServiceListType { Service = [new ServiceType { ServiceID = Services().FirstOrDefault(DcService), FreeService = false }] } },
            ServiceDetailReqType r => new ServiceDetailResType { Header = header, ResponseCode = code, ServiceID = r.ServiceID,
                ServiceParameterList = new ServiceParameterListType { ParameterSet = [new ParameterSetType { ParameterSetID = 1, Parameter = [new ParameterType { Name = "ControlMode", Choice = new ParameterTypeChoice.IntValue(Scheduled) }] }] } },
            ServiceSelectionReqType => new ServiceSelectionResType { Header = header, ResponseCode = code },
            DC_ChargeParameterDiscoveryReqType => new DC_ChargeParameterDiscoveryResType { Header = header, ResponseCode = code, DC_CPDResEnergyTransferMode = new DC_CPDResEnergyTransferModeType
            {
                EVSEMaximumChargePower = zero, EVSEMinimumChargePower = zero, EVSEMaximumChargeCurrent = zero, EVSEMinimumChargeCurrent = zero, EVSEMaximumVoltage = zero, EVSEMinimumVoltage = zero,
            } },
            AC_ChargeParameterDiscoveryReqType => new AC_ChargeParameterDiscoveryResType { Header = header, ResponseCode = code,
                AC_CPDResEnergyTransferMode = new AC_CPDResEnergyTransferModeType { EVSEMaximumChargePower = zero, EVSEMinimumChargePower = zero, EVSENominalFrequency = Rn(50) } },
            ScheduleExchangeReqType => new ScheduleExchangeResType { Header = header, ResponseCode = code, EVSEProcessing = ProcessingType.Finished,
                Choice = new ScheduleExchangeResTypeChoice.Dynamic_SEResControlMode(new Dynamic_SEResControlModeType()) },
            DC_CableCheckReqType => new DC_CableCheckResType { Header = header, ResponseCode = code, EVSEProcessing = ProcessingType.Finished },
            DC_PreChargeReqType => new DC_PreChargeResType { Header = header, ResponseCode = code, EVSEPresentVoltage = Rn(_cp.ReadMeter().VoltageV) },
            PowerDeliveryReqType => new PowerDeliveryResType { Header = header, ResponseCode = code },
            DC_ChargeLoopReqType => new DC_ChargeLoopResType { Header = header, ResponseCode = code, EVSEPresentCurrent = zero, EVSEPresentVoltage = Rn(_cp.ReadMeter().VoltageV),
                EVSEPowerLimitAchieved = false, EVSECurrentLimitAchieved = false, EVSEVoltageLimitAchieved = false, CLResControlMode = new Scheduled_DC_CLResControlModeType() },
            AC_ChargeLoopReqType => new AC_ChargeLoopResType { Header = header, ResponseCode = code, CLResControlMode = new Scheduled_AC_CLResControlModeType() },
            DC_WeldingDetectionReqType => new DC_WeldingDetectionResType { Header = header, ResponseCode = code, EVSEPresentVoltage = Rn(_cp.ReadMeter().VoltageV) },
            MeteringConfirmationReqType => new MeteringConfirmationResType { Header = header, ResponseCode = code },
            _ => new SessionStopResType { Header = header, ResponseCode = code },
        };
    }

    private static SeccReply<V2GMessageType> Next(V2GMessageType response) => new(response, SeccNext.Continue);

    private SeccReply<V2GMessageType> Close(V2GMessageType response, SessionEndReason reason, string? problem = null)
    {
        State = Iso20SeccState.Ended;
        return new(response, SeccNext.Close, reason, problem);
    }
}
