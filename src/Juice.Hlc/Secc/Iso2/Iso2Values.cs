using Juice.Hlc.Exi.Iso2;

namespace Juice.Hlc.Secc.Iso2;

/// <summary>Conversions between SI values and ISO 15118-2 PhysicalValueType (value × 10^multiplier, value a short).</summary>
internal static class Iso2Values
{
    public static PhysicalValueType Pv(double value, UnitSymbolType unit)
    {
        var (multiplier, scaled) = PhysicalValues.Scale(value);
        return new PhysicalValueType { Multiplier = multiplier, Unit = unit, Value = scaled };
    }

    public static double Si(PhysicalValueType pv) => PhysicalValues.Si(pv.Multiplier, pv.Value);

    public static double? SiOrNull(PhysicalValueType? pv) => pv is null ? null : Si(pv);

    public static EnergyTransfer Mode(EnergyTransferModeType mode) => mode switch
    {
        EnergyTransferModeType.AC_single_phase_core => EnergyTransfer.AcSinglePhase,
        EnergyTransferModeType.AC_three_phase_core => EnergyTransfer.AcThreePhase,
        _ => EnergyTransfer.Dc,
    };

    public static IEnumerable<EnergyTransferModeType> Modes(EnergyTransfer supported)
    {
        if (supported.HasFlag(EnergyTransfer.AcSinglePhase)) yield return EnergyTransferModeType.AC_single_phase_core;
        if (supported.HasFlag(EnergyTransfer.AcThreePhase)) yield return EnergyTransferModeType.AC_three_phase_core;
        if (supported.HasFlag(EnergyTransfer.Dc))
        {
            yield return EnergyTransferModeType.DC_core;
            yield return EnergyTransferModeType.DC_extended;
        }
    }

    public static EVSENotificationType Notification(EvseRequest request) => request switch
    {
        EvseRequest.StopCharging => EVSENotificationType.StopCharging,
        EvseRequest.Renegotiate => EVSENotificationType.ReNegotiation,
        _ => EVSENotificationType.None,
    };
}
