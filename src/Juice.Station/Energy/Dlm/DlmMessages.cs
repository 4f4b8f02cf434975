using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Juice.Station.Energy.Dlm;

/// <summary>One connector in a slave's report: what it wants and what it does.</summary>
/// <param name="Id">The connector number at the slave.</param>
/// <param name="Ev">An authorized EV is there and wants current.</param>
/// <param name="Phases">The phases it uses (1 or 3) at the station's terminals.</param>
/// <param name="MaxA">The most it may take apart from DLM (the EV's maximum and the station's other limits).</param>
/// <param name="AppliedA">The current the station signals now (what DLM must count as drawn).</param>
/// <param name="Measured">The measured current per station phase L1, L2, L3.</param>
public sealed record DlmConnectorReport(int Id, bool Ev, int Phases, double MaxA, double AppliedA, double[] Measured);

/// <summary>The current a master assigns to one connector of a slave (0: wait).</summary>
public sealed record DlmConnectorAssignment(int Id, double Amps);

/// <summary>
/// A DLM datagram: one JSON object per UDP datagram, UTF-8, at most <see cref="MaxBytes"/>. <c>t</c> is the kind:
/// <c>announce</c> (master → broadcast: its network and report port), <c>report</c> (slave → master: its connectors)
/// and <c>assign</c> (master → slave: the currents). Every datagram carries the protocol version <c>v</c> (1) and
/// the DLM Network Id <c>net</c>; a receiver drops other networks and versions.
/// </summary>
public sealed record DlmDatagram
{
    public const int Version = 1;
    public const int MaxBytes = 8192;

    public string T { get; init; } = "";
    public int V { get; init; } = Version;
    public int Net { get; init; }

    /// <summary>The sender's station id.</summary>
    public string From { get; init; } = "";

    /// <summary>announce: the UDP port of the master's reports.</summary>
    public int? Port { get; init; }

    /// <summary>report/assign: the slave's running number of its reports; an assignment answers the report it names.</summary>
    public long? Seq { get; init; }

    /// <summary>assign: the master's running number of the assignment; a slave drops one not above the last it applied.</summary>
    public long? Round { get; init; }

    /// <summary>report: the round of the last assignment the slave applied (0: none yet); its currents are confirmed with it.</summary>
    public long? Ack { get; init; }

    /// <summary>report: the slave's phase rotation (L1L2L3, …).</summary>
    public string? Rotation { get; init; }

    public DlmConnectorReport[]? Connectors { get; init; }

    public DlmConnectorAssignment[]? Assignments { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public byte[] Encode() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>The datagram, or null with the reason (not JSON, no kind, too large, another version).</summary>
    public static DlmDatagram? Decode(ReadOnlySpan<byte> bytes, out string? problem)
    {
        problem = null;
        if (bytes.Length > MaxBytes)
        {
            problem = $"{bytes.Length} bytes, more than {MaxBytes}";
            return null;
        }
        try
        {
            var d = JsonSerializer.Deserialize<DlmDatagram>(bytes, Json);
            problem = d is null || d.T is not ("announce" or "report" or "assign") ? "no known kind (t)"
                : d.V != Version ? $"protocol version {d.V}, this station speaks {Version}"
                : d.From.Length is 0 or > 64 ? "no sender (from)"
                : d.T == "report" && (d.Connectors is null || d.Connectors.Length > 16 || d.Connectors.Any(c => c is null || c.Phases is not (1 or 3) || c.Measured is not { Length: 3 } || !double.IsFinite(c.MaxA) || !double.IsFinite(c.AppliedA)))
                    ? "a report needs its connectors (at most 16; phases 1 or 3, three measured currents)"
                : d.T == "assign" && (d.Assignments is null || d.Round is null || d.Assignments.Any(a => a is null || !double.IsFinite(a.Amps) || a.Amps < 0)) ? "an assignment needs its round and its currents (not negative)"
                : d.T == "announce" && d.Port is not (> 0 and <= 65535) ? "an announcement needs the master's port"
                : null;
            return problem is null ? d : null;
        }
        catch (JsonException e)
        {
            problem = "not JSON: " + e.Message;
            return null;
        }
    }

    public override string ToString() => Encoding.UTF8.GetString(Encode());
}
