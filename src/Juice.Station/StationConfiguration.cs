using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Juice.Station.Api;
using Juice.Station.Core;
using Juice.Station.Hlc;
using Juice.Station.Modbus;
using Juice.Station.Ocpp;
using Juice.Station.Persistence;
using Juice.Station.Pnc;
using Microsoft.Extensions.Configuration;

namespace Juice.Station;

/// <summary>The station cannot start: one line per reason, each naming the key or the port (no stack trace).</summary>
public sealed class StationStartupException(IReadOnlyList<string> problems) : Exception(string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// A start that failed inside a service (a port that is taken): the service reports it and stops the host, and
/// Program.cs ends with these lines instead of a stack trace.
/// </summary>
public static class StationFailure
{
    private static IReadOnlyList<string>? _problems;

    public static void Report(IReadOnlyList<string> problems) => Interlocked.CompareExchange(ref _problems, problems, null);

    /// <summary>A failure was reported: the host's own "failed to start" entry (with its stack trace) is left out.</summary>
    public static bool Pending => Volatile.Read(ref _problems) is not null;

    /// <summary>The reported problems (once), or null.</summary>
    public static IReadOnlyList<string>? Take() => Interlocked.Exchange(ref _problems, null);
}

/// <summary>
/// The configuration checks that come before anything starts (appsettings.json, environment, command line): every
/// value of our sections must convert to its setting's type (the line names the key, the value and what is allowed),
/// keys our sections do not know are reported with the nearest known key (a warning: the station starts without them),
/// and the TCP ports the station listens on must differ. The settings' own rules (ranges, combinations) are checked
/// by the start-up service, as before.
/// </summary>
public static class StationConfiguration
{
    private static readonly (string Section, Type Options)[] Sections =
    [
        (StationOptions.Section, typeof(StationOptions)),
        (DatabaseOptions.Section, typeof(DatabaseOptions)),
        (SeccHostOptions.Section, typeof(SeccHostOptions)),
        (ModbusOptions.Section, typeof(ModbusOptions)),
        (ApiOptions.Section, typeof(ApiOptions)),
        (OcppOptions.Section, typeof(OcppOptions)),
        (PncOptions.Section, typeof(PncOptions)),
        (SlacOptions.Section, typeof(SlacOptions)),
        (Energy.ExternalInputOptions.Section, typeof(Energy.ExternalInputOptions)),
        (Energy.Dlm.DlmOptions.Section, typeof(Energy.Dlm.DlmOptions)),
        (Energy.GridMeterOptions.Section, typeof(Energy.GridMeterOptions)),
        (Energy.Semp.SempOptions.Section, typeof(Energy.Semp.SempOptions)),
    ];

    /// <summary>The problems that stop the start, and the warnings (unknown keys).</summary>
    public static (IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings) Check(IConfiguration configuration)
    {
        List<string> errors = [], warnings = [];
        foreach (var (name, type) in Sections)
        {
            CheckSection(configuration.GetSection(name), type, errors, warnings);
        }
        if (errors.Count == 0)
        {
            errors.AddRange(PortClashes(configuration));
        }
        return (errors, warnings);
    }

    private static void CheckSection(IConfigurationSection section, Type type, List<string> errors, List<string> warnings)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite || IsCollection(p.PropertyType)).ToList();
        foreach (var child in section.GetChildren())
        {
            var property = properties.FirstOrDefault(p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                string? nearest = Nearest(child.Key, properties.Select(p => p.Name));
                warnings.Add($"unknown configuration key {child.Path} (ignored){(nearest is null ? "" : $"; did you mean {section.Path}:{nearest}?")}");
                continue;
            }
            CheckValue(child, Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType, errors, warnings);
        }
    }

    private static void CheckValue(IConfigurationSection key, Type type, List<string> errors, List<string> warnings)
    {
        if (IsSimple(type))
        {
            if (key.Value is { } value && !Converts(value, type))
            {
                errors.Add($"{key.Path} = '{value}': {Allowed(type)}");
            }
            return;
        }
        if (type.IsArray || IsCollection(type))
        {
            var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments().LastOrDefault() ?? typeof(string);
            if (type.IsGenericType && type.GetGenericTypeDefinition() is var d && (d == typeof(Dictionary<,>) || d == typeof(IDictionary<,>) || d == typeof(IReadOnlyDictionary<,>)))
            {
                foreach (var entry in key.GetChildren())
                {
                    CheckValue(entry, element, errors, warnings);
                }
                return;
            }
            foreach (var item in key.GetChildren())
            {
                CheckValue(item, element, errors, warnings);
            }
            return;
        }
        if (type.IsClass && type != typeof(string))
        {
            CheckSection(key, type, errors, warnings);
        }
    }

    private static bool IsSimple(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan) || type == typeof(DateTimeOffset) || type == typeof(Uri);

    private static bool IsCollection(Type type) =>
        type != typeof(string) && type.IsGenericType && typeof(System.Collections.IEnumerable).IsAssignableFrom(type);

    private static bool Converts(string value, Type type)
    {
        if (type == typeof(string) || value.Length == 0)
        {
            return true;
        }
        if (type.IsEnum)
        {
            return Enum.TryParse(type, value, ignoreCase: true, out _);
        }
        try
        {
            TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception e) when (e is FormatException or NotSupportedException or ArgumentException or OverflowException || e.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static string Allowed(Type type) => type switch
    {
        _ when type.IsEnum => "one of " + string.Join(", ", Enum.GetNames(type)),
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(int) => $"a whole number ({int.MinValue} to {int.MaxValue})",
        _ when type == typeof(double) || type == typeof(decimal) || type == typeof(float) => "a number (a point, not a comma, before decimals)",
        _ when type == typeof(TimeSpan) => "a time span such as 00:00:30",
        _ => "not a " + type.Name,
    };

    /// <summary>The known name closest to <paramref name="key"/> (edit distance at most 3), or null.</summary>
    internal static string? Nearest(string key, IEnumerable<string> known) =>
        known.Select(k => (Name: k, Distance: Distance(key.ToLowerInvariant(), k.ToLowerInvariant()))).Where(x => x.Distance <= 3)
            .OrderBy(x => x.Distance).Select(x => x.Name).FirstOrDefault();

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int previous = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int current = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), previous + (a[i - 1] == b[j - 1] ? 0 : 1));
                previous = current;
            }
        }
        return row[b.Length];
    }

    /// <summary>Two of the station's TCP listeners on the same port (0 picks a free one and never clashes).</summary>
    private static IEnumerable<string> PortClashes(IConfiguration configuration)
    {
        var secc = configuration.GetSection(SeccHostOptions.Section).Get<SeccHostOptions>() ?? new SeccHostOptions();
        var modbus = configuration.GetSection(ModbusOptions.Section).Get<ModbusOptions>() ?? new ModbusOptions();
        var api = configuration.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new ApiOptions();
        var connectors = Math.Max(1, (configuration.GetSection(StationOptions.Section).Get<StationOptions>() ?? new StationOptions()).Connectors);
        List<(string Key, int Port)> ports = [("Secc:Port", secc.Port), ("Secc:TlsPort", secc.TlsPort)];
        if (modbus.Enabled && modbus.Port != 0)
        {
            ports.AddRange(Enumerable.Range(0, connectors).Select(i => (i == 0 ? "Modbus:Port" : $"Modbus:Port (+{i}, connector {i + 1})", modbus.Port + i)));
        }
        var semp = configuration.GetSection(Energy.Semp.SempOptions.Section).Get<Energy.Semp.SempOptions>() ?? new Energy.Semp.SempOptions();
        ports.Add(("Semp:Port", semp.Port));
        foreach (var url in api.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Uri.TryCreate(url.Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                ports.Add(("Api:Urls " + url, uri.Port));
            }
        }
        return ports.Where(p => p.Port != 0).GroupBy(p => p.Port).Where(g => g.Count() > 1)
            .Select(g => $"port {g.Key.ToString(CultureInfo.InvariantCulture)} is set for {string.Join(" and ", g.Select(p => p.Key))}: each listener needs its own port");
    }
}
