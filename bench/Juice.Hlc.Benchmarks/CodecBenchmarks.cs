using BenchmarkDotNet.Attributes;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Exi.Din;
using Juice.Hlc.Exi.Iso2;

namespace Juice.Hlc.Benchmarks;

/// <summary>
/// Encode (model object -> bytes, into a reused 16 KiB buffer) and decode (bytes -> new model object) of the
/// messages in shared/vectors/bench, the ones the C reference (libcbv2g) was timed on (shared/docs/perf-anchors.md).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class CodecBenchmarks
{
    public static IEnumerable<string> Messages =>
    [
        "iso2-session-setup-req",
        "iso2-charge-parameter-discovery-res-3x24",
        "iso2-charge-parameter-discovery-res-3x12",
        "din-current-demand-req",
        "iso2-current-demand-req",
        "iso2-certificate-installation-res",
        "apphand-supported-app-protocol-req",
    ];

    [ParamsSource(nameof(Messages))]
    public string Message { get; set; } = "";

    private readonly byte[] _buffer = new byte[16 * 1024];
    private byte[] _exi = [];
    private int _kind;
    private Juice.Hlc.Exi.Iso2.V2G_Message? _iso2;
    private Juice.Hlc.Exi.Din.V2G_Message? _din;
    private SupportedAppProtocolReq? _app;

    [GlobalSetup]
    public void Setup()
    {
        string dir = Environment.GetEnvironmentVariable("JUICE_BENCH_VECTORS")
            ?? throw new InvalidOperationException("JUICE_BENCH_VECTORS not set: run from the repository");
        _exi = Convert.FromHexString(File.ReadAllText(Path.Combine(dir, Message + ".exi")).Trim());
        _kind = Message.StartsWith("iso2", StringComparison.Ordinal) ? 0 : Message.StartsWith("din", StringComparison.Ordinal) ? 1 : 2;
        switch (_kind)
        {
            case 0: _iso2 = Iso2Exi.Decode(_exi); break;
            case 1: _din = DinExi.Decode(_exi); break;
            default: _app = AppHandshakeExi.DecodeSupportedAppProtocolReq(_exi); break;
        }
        if (!Encode().Equals(_exi.Length) || !_buffer.AsSpan(0, _exi.Length).SequenceEqual(_exi))
        {
            throw new InvalidOperationException($"{Message}: re-encoding does not give the reference bytes");
        }
    }

    [Benchmark]
    public int Encode() => _kind switch
    {
        0 => Iso2Exi.Encode(_iso2!, _buffer),
        1 => DinExi.Encode(_din!, _buffer),
        _ => AppHandshakeExi.EncodeSupportedAppProtocolReq(_app!, _buffer),
    };

    [Benchmark]
    public object Decode() => _kind switch
    {
        0 => Iso2Exi.Decode(_exi),
        1 => DinExi.Decode(_exi),
        _ => AppHandshakeExi.DecodeSupportedAppProtocolReq(_exi),
    };
}
