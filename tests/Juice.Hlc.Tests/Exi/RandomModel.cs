using System.Collections;
using System.Numerics;
using System.Reflection;
using Juice.Hlc.Exi;

namespace Juice.Hlc.Tests.Exi;

/// <summary>
/// Builds random instances of the generated model types by reflection, within the [SchemaFacets] the generator
/// puts on each member (lengths, ranges, occurrences), picking boundary values often. Optional members are
/// present half of the time; abstract types (choices, substitution groups) get a random concrete subclass.
/// </summary>
/// <param name="allowed">Restricts the concrete types chosen for an abstract one (ISO 15118-20: a substitution group
/// holds only the members that the message set's own schema declares; AC and DC extend the same heads).</param>
internal sealed class RandomModel(Random random, Func<Type, bool>? allowed = null)
{
    private static readonly string[] Characters = ["a", "Z", "0", " ", "é", "中", "\U0001F600", "*", "-"];

    public object Create(Type type, int depth = 0, SchemaFacetsAttribute? facets = null)
    {
        if (Nullable.GetUnderlyingType(type) is { } inner)
        {
            return Create(inner, depth, facets);
        }
        if (type == typeof(bool)) return random.Next(2) == 1;
        if (type == typeof(string)) return RandomString(facets);
        if (type == typeof(byte[])) return RandomBytes(facets);
        if (type.IsEnum)
        {
            var values = Enum.GetValues(type);
            return values.GetValue(random.Next(values.Length))!;
        }
        if (type == typeof(BigInteger) || (type.IsPrimitive && type != typeof(char)))
        {
            return RandomInteger(type, facets);
        }
        if (type.IsAbstract)
        {
            var concrete = Concrete(type);
            if (allowed is not null && concrete.Where(allowed).ToArray() is { Length: > 0 } fitting)
            {
                concrete = fitting;
            }
            return Create(concrete[random.Next(concrete.Length)], depth, facets);
        }
        var ctor = type.GetConstructors().FirstOrDefault(c => c.GetParameters().Length == 1);
        if (ctor is not null && type.GetConstructor(Type.EmptyTypes) is null)
        {
            // an element alternative of a choice: new Alt(value)
            var p = type.GetProperty("Value")!;
            return ctor.Invoke([Create(p.PropertyType, depth + 1, p.GetCustomAttribute<SchemaFacetsAttribute>())]);
        }
        object instance = Activator.CreateInstance(type)!;
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var f = p.GetCustomAttribute<SchemaFacetsAttribute>();
            bool required = p.GetCustomAttributes().Any(a => a.GetType().Name == "RequiredMemberAttribute");
            if (p.PropertyType.IsGenericType && p.PropertyType.GetGenericTypeDefinition() == typeof(List<>))
            {
                var list = (IList)p.GetValue(instance)!;
                int min = f?.MinOccurs ?? 0;
                int max = f is { MaxOccurs: > 0 } ? f.MaxOccurs : 4;
                int count = depth > 3 ? min : random.Next(4) == 0 ? Math.Min(max, 24) == max ? max : min : random.Next(min, Math.Min(max, min + 3) + 1);
                for (int i = 0; i < count; i++)
                {
                    list.Add(Create(p.PropertyType.GetGenericArguments()[0], depth + 1, f));
                }
                continue;
            }
            if (!required && (depth > 4 || random.Next(2) == 0))
            {
                continue;
            }
            p.SetValue(instance, Create(p.PropertyType, depth + 1, f));
        }
        return instance;
    }

    private static readonly Dictionary<Type, Type[]> ConcreteTypes = [];

    private static Type[] Concrete(Type abstractType)
    {
        lock (ConcreteTypes)
        {
            if (!ConcreteTypes.TryGetValue(abstractType, out var types))
            {
                types = abstractType.Assembly.GetTypes().Where(t => !t.IsAbstract && abstractType.IsAssignableFrom(t)).OrderBy(t => t.FullName, StringComparer.Ordinal).ToArray();
                ConcreteTypes[abstractType] = types;
            }
            return types;
        }
    }

    private int Length(SchemaFacetsAttribute? f, int typical)
    {
        int min = f?.MinLength ?? 0;
        int max = f is { MaxLength: < int.MaxValue } ? f.MaxLength : Math.Max(min, typical);
        return random.Next(3) switch
        {
            0 => min,
            1 => max,
            _ => random.Next(min, max + 1),
        };
    }

    private string RandomString(SchemaFacetsAttribute? f)
    {
        int n = Length(f, 12);
        return string.Concat(Enumerable.Range(0, n).Select(_ => Characters[random.Next(Characters.Length)]));
    }

    private byte[] RandomBytes(SchemaFacetsAttribute? f)
    {
        var b = new byte[Length(f, 40)];
        random.NextBytes(b);
        return b;
    }

    private object RandomInteger(Type type, SchemaFacetsAttribute? f)
    {
        BigInteger min = f?.MinValue is { } lo ? BigInteger.Parse(lo) : type == typeof(BigInteger) ? -BigInteger.Pow(2, 80) : Convert.ToInt64(type.GetField("MinValue")!.GetValue(null));
        BigInteger max = f?.MaxValue is { } hi ? BigInteger.Parse(hi) : type == typeof(BigInteger) ? BigInteger.Pow(2, 80) : type == typeof(ulong) ? ulong.MaxValue : Convert.ToInt64(type.GetField("MaxValue")!.GetValue(null));
        BigInteger value = random.Next(4) switch
        {
            0 => min,
            1 => max,
            2 => BigInteger.Max(min, BigInteger.Min(max, random.Next(-3, 4))),
            _ => min + new BigInteger(random.NextDouble() * (double)(max - min)),
        };
        if (type == typeof(BigInteger)) return value;
        if (type == typeof(ulong)) return (ulong)value;
        return Convert.ChangeType((long)value, type, System.Globalization.CultureInfo.InvariantCulture);
    }
}
