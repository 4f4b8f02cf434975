using Juice.Hlc.Exi.Iso2;

namespace Juice.Hlc.Tests.Secc;

/// <summary>ISO 15118-2 requests as an EV sends them, for SECC tests.</summary>
internal static class Iso2Requests
{
    public static PhysicalValueType Pv(short value, UnitSymbolType unit, sbyte multiplier = 0) => new() { Value = value, Unit = unit, Multiplier = multiplier };

    public static V2G_Message Message(byte[]? sessionId, BodyBaseType body) => new()
    {
        Header = new MessageHeaderType { SessionID = sessionId ?? new byte[8] },
        Body = new BodyType { BodyElement = body },
    };

    public static DC_EVStatusType EvStatus(sbyte soc = 50) => new() { EVReady = true, EVErrorCode = DC_EVErrorCodeType.NO_ERROR, EVRESSSOC = soc };

    public static SessionSetupReqType SessionSetup() => new() { EVCCID = [0x02, 0x00, 0x00, 0x00, 0xE7, 0xCC] };

    public static PaymentServiceSelectionReqType PaymentServiceSelection() => new()
    {
        SelectedPaymentOption = PaymentOptionType.ExternalPayment,
        SelectedServiceList = new SelectedServiceListType { SelectedService = [new SelectedServiceType { ServiceID = 1 }] },
    };

    public static ChargeParameterDiscoveryReqType DcChargeParameterDiscovery() => new()
    {
        RequestedEnergyTransferMode = EnergyTransferModeType.DC_extended,
        EVChargeParameter = new DC_EVChargeParameterType
        {
            DC_EVStatus = EvStatus(),
            EVMaximumCurrentLimit = Pv(200, UnitSymbolType.A),
            EVMaximumVoltageLimit = Pv(420, UnitSymbolType.V),
            EVMaximumPowerLimit = Pv(80, UnitSymbolType.W, 3),
            EVEnergyRequest = Pv(40, UnitSymbolType.Wh, 3),
        },
    };

    public static ChargeParameterDiscoveryReqType AcChargeParameterDiscovery() => new()
    {
        RequestedEnergyTransferMode = EnergyTransferModeType.AC_three_phase_core,
        EVChargeParameter = new AC_EVChargeParameterType
        {
            EAmount = Pv(10, UnitSymbolType.Wh, 3),
            EVMaxVoltage = Pv(400, UnitSymbolType.V),
            EVMaxCurrent = Pv(32, UnitSymbolType.A),
            EVMinCurrent = Pv(6, UnitSymbolType.A),
        },
    };

    public static PreChargeReqType PreCharge() => new() { DC_EVStatus = EvStatus(), EVTargetVoltage = Pv(400, UnitSymbolType.V), EVTargetCurrent = Pv(2, UnitSymbolType.A) };

    public static CurrentDemandReqType CurrentDemand(sbyte soc) => new()
    {
        DC_EVStatus = EvStatus(soc),
        EVTargetCurrent = Pv(100, UnitSymbolType.A),
        EVTargetVoltage = Pv(400, UnitSymbolType.V),
        ChargingComplete = false,
    };

    public static PowerDeliveryReqType PowerDelivery(ChargeProgressType progress) => new() { ChargeProgress = progress, SAScheduleTupleID = 1 };
}
