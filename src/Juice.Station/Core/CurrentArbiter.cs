namespace Juice.Station.Core;

/// <summary>The named sources of a connector's current limit; the binding one is shown on the dashboard and logged.</summary>
public static class LimitSources
{
    public const string Hardware = "hardware limit";
    public const string Operator = "operator current limit";
    public const string Hems = "HEMS limit (Modbus 1000)";
    public const string ModbusSafe = "safe current (Modbus master silent)";
    public const string Backend = "backend charging profile";
    public const string Ev = "the EV's maximum current";
    public const string Dlm = "DLM assignment";
    public const string DlmDisconnected = "DLM disconnected limit (no master)";
    public const string ExternalInput = "external input (load shedding)";
    public const string Schedule = "Maximum Current Scheduler";
    public const string BackendOffline = "disconnected upper limit (backend offline)";
    public const string Surplus = "PV surplus (grid meter)";
    public const string Semp = "SMA Sunny Home Manager (SEMP)";
    public const string SempLost = "SMA current on connection loss";
    public const string PhaseSwitch = "phase switch (paused)";
}

/// <summary>
/// The current limit of each connector as the minimum of named limits: station-wide ones and per-connector ones,
/// each set (or cleared with null) by the service that owns it — DLM, load shedding, the schedule, … The hardware
/// limit and the settings' limits come with each question. Not thread-safe: <see cref="ChargingStation"/> holds it
/// under its lock.
/// </summary>
public sealed class CurrentArbiter
{
    private readonly Dictionary<string, double> _station = new(StringComparer.Ordinal);
    private readonly Dictionary<(int Connector, string Source), double> _connector = [];

    /// <summary>Sets a limit (A per phase) of <paramref name="source"/> for one connector or (null) the whole station; null amps clears it.</summary>
    /// <returns>Whether anything changed.</returns>
    public bool Set(string source, double? amps, int? connector = null)
    {
        if (connector is { } id)
        {
            return amps is { } a ? Put(_connector, (id, source), a) : _connector.Remove((id, source));
        }
        return amps is { } b ? Put(_station, source, b) : _station.Remove(source);
    }

    private static bool Put<TKey>(Dictionary<TKey, double> table, TKey key, double amps) where TKey : notnull
    {
        if (table.TryGetValue(key, out var old) && old == amps)
        {
            return false;
        }
        table[key] = amps;
        return true;
    }

    /// <summary>The limits that apply to a connector now: <paramref name="given"/> first, then the station's and the connector's, by name.</summary>
    public IEnumerable<(string Source, double Amps)> Limits(int connector, IEnumerable<(string Source, double? Amps)> given, Func<string, bool>? include = null)
    {
        foreach (var (source, amps) in given)
        {
            if (amps is { } a && (include?.Invoke(source) ?? true))
            {
                yield return (source, a);
            }
        }
        foreach (var (source, amps) in _station)
        {
            if (include?.Invoke(source) ?? true)
            {
                yield return (source, amps);
            }
        }
        foreach (var ((id, source), amps) in _connector)
        {
            if (id == connector && (include?.Invoke(source) ?? true))
            {
                yield return (source, amps);
            }
        }
    }

    /// <summary>The lowest of the limits and its source (the first one given wins a tie).</summary>
    public static (double Amps, string Binding) Lowest(IEnumerable<(string Source, double Amps)> limits)
    {
        (double Amps, string Binding) lowest = (double.PositiveInfinity, "");
        foreach (var (source, amps) in limits)
        {
            if (amps < lowest.Amps)
            {
                lowest = (Math.Max(0, amps), source);
            }
        }
        return lowest;
    }
}
