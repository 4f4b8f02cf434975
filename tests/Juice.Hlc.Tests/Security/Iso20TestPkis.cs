using Juice.Hlc.Security;

namespace Juice.Hlc.Tests.Security;

/// <summary>The two ISO 15118-20 test PKIs of one seed (secp521r1 and Ed448), each made when first used.</summary>
internal sealed class Iso20TestPkis(string seed, DateTimeOffset validFrom)
{
    private readonly Lazy<TestPki> _p521 = new(() => TestPki.Generate(new TestPkiOptions { Seed = seed, ValidFrom = validFrom, Algorithm = PkiAlgorithm.Secp521r1 }));
    private readonly Lazy<TestPki> _ed448 = new(() => TestPki.Generate(new TestPkiOptions { Seed = seed, ValidFrom = validFrom, Algorithm = PkiAlgorithm.Ed448 }));

    public TestPki P521 => _p521.Value;

    public TestPki Ed448 => _ed448.Value;

    public TestPki this[PkiAlgorithm algorithm] => algorithm == PkiAlgorithm.Ed448 ? Ed448 : P521;
}
