namespace Juice.Hlc.Exi;

/// <summary>
/// The schema constraints of a generated member, for documentation and tools: occurrences of the element and the
/// facets of its simple type. The codec enforces them itself; this attribute only describes them.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class SchemaFacetsAttribute : Attribute
{
    public int MinOccurs { get; init; } = 1;

    /// <summary>-1 when unbounded.</summary>
    public int MaxOccurs { get; init; } = 1;

    public int MinLength { get; init; }

    public int MaxLength { get; init; } = int.MaxValue;

    /// <summary>Inclusive lower bound of an integer type, in decimal, or null.</summary>
    public string? MinValue { get; init; }

    /// <summary>Inclusive upper bound of an integer type, in decimal, or null.</summary>
    public string? MaxValue { get; init; }
}
