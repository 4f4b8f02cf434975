using Juice.Hlc.Exi.Din;

namespace Juice.Hlc.Secc.Din;

/// <summary>Conversions between SI values and DIN SPEC 70121 PhysicalValueType (the unit is optional in DIN).</summary>
internal static class DinValues
{
    public static PhysicalValueType Pv(double value, UnitSymbolType unit)
    {
        var (multiplier, scaled) = PhysicalValues.Scale(value);
        return new PhysicalValueType { Multiplier = multiplier, Unit = unit, Value = scaled };
    }

    public static double Si(PhysicalValueType pv) => PhysicalValues.Si(pv.Multiplier, pv.Value);

    public static double? SiOrNull(PhysicalValueType? pv) => pv is null ? null : Si(pv);

    public static EVSENotificationType Notification(EvseRequest request) => request switch
    {
        EvseRequest.StopCharging => EVSENotificationType.StopCharging,
        EvseRequest.Renegotiate => EVSENotificationType.ReNegotiation,
        _ => EVSENotificationType.None,
    };
}
