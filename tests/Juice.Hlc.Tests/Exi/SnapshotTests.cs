using Snapshooter;
using Snapshooter.Xunit;

namespace Juice.Hlc.Tests.Exi;

/// <summary>
/// Every shared vector decoded to its XML form, one line per array entry, checked in under __snapshots__. A change
/// in what the decoder makes of a stream shows up as a diff there.
/// </summary>
public sealed class SnapshotTests
{
    [Theory]
    [MemberData(nameof(ReferenceVectorTests.All), MemberType = typeof(ReferenceVectorTests))]
    public void Decoded_vector(string folder, string name)
    {
        var codec = ReferenceVectorTests.CodecFor(folder);
        var root = codec.Decode(Vectors.ReadHex(Path.Combine(Vectors.ExiFolder(folder), name + ".exi")));
        string snapshotName = $"{folder}.{name}";
        string file = Path.Combine(Vectors.RepositoryRoot, "tests", "Juice.Hlc.Tests", "Exi", "__snapshots__", $"{nameof(SnapshotTests)}.{nameof(Decoded_vector)}_{snapshotName}.snap");
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            // In CI a missing snapshot is a failure, not a new snapshot.
            Assert.True(File.Exists(file), $"snapshot {Path.GetFileName(file)} is not checked in");
        }
        Snapshot.Match(new { Vector = $"{folder}/{name}", Xml = codec.WriteXml(root).Split('\n') }, SnapshotNameExtension.Create(snapshotName));
    }
}
