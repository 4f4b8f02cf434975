using BenchmarkDotNet.Attributes;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Exi.Din;
using Juice.Hlc.Exi.Iso2;

namespace Juice.Hlc.Benchmarks;

/// <summary>
/// Encode (model object -> bytes, into a reused 16 KiB buffer) and decode (bytes -> new model object) of the
/// messages in shared/vectors/bench, the ones the C reference (libcbv2g) was timed on (shared/docs/perf-anchors.md),
/// and three ISO 15118-20 messages (bench/vectors).
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
        "iso20-dc-charge-loop-req",
        "iso20-schedule-exchange-res",
        "iso20-certificate-installation-res",
    ];

    [ParamsSource(nameof(Messages))]
    public string Message { get; set; } = "";

    private readonly byte[] _buffer = new byte[16 * 1024];
    private byte[] _exi = [];
    private int _kind;
    private Juice.Hlc.Exi.Iso2.V2G_Message? _iso2;
    private Juice.Hlc.Exi.Din.V2G_Message? _din;
    private SupportedAppProtocolReq? _app;
    private Juice.Hlc.Exi.Iso20.DC_ChargeLoopReqType? _dcLoop;
    private Juice.Hlc.Exi.Iso20.ScheduleExchangeResType? _schedule;
    private Juice.Hlc.Exi.Iso20.CertificateInstallationResType? _installation;

    [GlobalSetup]
    public void Setup()
    {
        string dir = Environment.GetEnvironmentVariable(Message.StartsWith("iso20", StringComparison.Ordinal) ? "JUICE_BENCH_VECTORS20" : "JUICE_BENCH_VECTORS")
            ?? throw new InvalidOperationException("JUICE_BENCH_VECTORS(20) not set: run from the repository");
        _exi = Convert.FromHexString(File.ReadAllText(Path.Combine(dir, Message + ".exi")).Trim());
        _kind = Message switch
        {
            "iso20-dc-charge-loop-req" => 3,
            "iso20-schedule-exchange-res" => 4,
            "iso20-certificate-installation-res" => 5,
            _ when Message.StartsWith("iso2", StringComparison.Ordinal) => 0,
            _ when Message.StartsWith("din", StringComparison.Ordinal) => 1,
            _ => 2,
        };
        switch (_kind)
        {
            case 0: _iso2 = Iso2Exi.Decode(_exi); break;
            case 1: _din = DinExi.Decode(_exi); break;
            case 3: _dcLoop = Juice.Hlc.Exi.Iso20.Iso20DcExi.DecodeDC_ChargeLoopReq(_exi); break;
            case 4: _schedule = Juice.Hlc.Exi.Iso20.Iso20CommonExi.DecodeScheduleExchangeRes(_exi); break;
            case 5: _installation = Juice.Hlc.Exi.Iso20.Iso20CommonExi.DecodeCertificateInstallationRes(_exi); break;
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
        3 => Juice.Hlc.Exi.Iso20.Iso20DcExi.EncodeDC_ChargeLoopReq(_dcLoop!, _buffer),
        4 => Juice.Hlc.Exi.Iso20.Iso20CommonExi.EncodeScheduleExchangeRes(_schedule!, _buffer),
        5 => Juice.Hlc.Exi.Iso20.Iso20CommonExi.EncodeCertificateInstallationRes(_installation!, _buffer),
        _ => AppHandshakeExi.EncodeSupportedAppProtocolReq(_app!, _buffer),
    };

    [Benchmark]
    public object Decode() => _kind switch
    {
        0 => Iso2Exi.Decode(_exi),
        1 => DinExi.Decode(_exi),
        3 => Juice.Hlc.Exi.Iso20.Iso20DcExi.DecodeDC_ChargeLoopReq(_exi),
        4 => Juice.Hlc.Exi.Iso20.Iso20CommonExi.DecodeScheduleExchangeRes(_exi),
        5 => Juice.Hlc.Exi.Iso20.Iso20CommonExi.DecodeCertificateInstallationRes(_exi),
        _ => AppHandshakeExi.DecodeSupportedAppProtocolReq(_exi),
    };
}
