using Juice.Hlc.Exi;

namespace Juice.Hlc.Replay;

/// <summary>How a replay ended: whether the session reached SessionStopRes with OK, and what differed on the way.</summary>
public sealed record ReplayResult(bool Completed, int Exchanges, int ExchangesWithDifferences, string? Failure)
{
    public static ReplayResult Failed(int exchanges, int differing, string why) => new(false, exchanges, differing, why);
}

/// <summary>One request/response pair of a capture, decoded; Position: the request's place in the capture (1-based, the line of exi.txt).</summary>
public sealed record CapturedExchange(int Position, V2gMessageView Request, V2gMessageView Response);

/// <summary>The parts of a capture a replay walks: the handshake, the negotiated protocol, the exchanges after it.</summary>
public sealed record ReplayScript(V2gMessageView HandshakeRequest, V2gMessageView HandshakeResponse, string Protocol, IReadOnlyList<CapturedExchange> Exchanges)
{
    /// <summary>
    /// Requests a car repeats while the charger answers Ongoing, or until the charger's voltage reaches its target
    /// (DIN / ISO-2 pre-charge). An ISO 15118-20 DC_PreChargeReq says itself when the car is done (EVProcessing) and
    /// is played as captured.
    /// </summary>
    public static readonly IReadOnlySet<string> Waiting = new HashSet<string>
    {
        "ContractAuthenticationReq", "AuthorizationReq", "ChargeParameterDiscoveryReq", "CableCheckReq", "PreChargeReq",
        "ScheduleExchangeReq", "DC_CableCheckReq", "DC_ChargeParameterDiscoveryReq", "AC_ChargeParameterDiscoveryReq", "CertificateInstallationReq",
    };

    /// <summary>The charging loops: played as captured, left early when the charger asks to stop.</summary>
    public static readonly IReadOnlySet<string> Loops = new HashSet<string>
    {
        "ChargingStatusReq", "CurrentDemandReq", "AC_ChargeLoopReq", "DC_ChargeLoopReq",
    };

    public static ReplayScript From(CapturedSession capture)
    {
        var messages = capture.Messages;
        var handshakeRequest = V2gMessageView.Decode(ExiCodec.AppHandshake, messages[0].Exi);
        var handshakeResponse = V2gMessageView.Decode(ExiCodec.AppHandshake, messages[1].Exi);
        string protocol = V2gSchemas.Negotiated(handshakeRequest, handshakeResponse)
            ?? throw new FormatException("the captured SECC selected no protocol: nothing to replay");
        var exchanges = new List<CapturedExchange>();
        for (int i = 2; i < messages.Count; i++)
        {
            if (!messages[i].FromEv)
            {
                throw new FormatException($"message {i + 1}: a response without a request before it");
            }
            if (i + 1 >= messages.Count || messages[i + 1].FromEv)
            {
                throw new FormatException($"message {i + 1}: a request without the SECC's response after it");
            }
            var request = Decode(protocol, messages[i], i);
            var response = Decode(protocol, messages[i + 1], i + 1);
            exchanges.Add(new CapturedExchange(i + 1, request, response));
            i++;
        }
        return new ReplayScript(handshakeRequest, handshakeResponse, protocol, exchanges);
    }

    private static V2gMessageView Decode(string protocol, CapturedMessage message, int index)
    {
        try
        {
            return V2gSchemas.Decode(protocol, message.Exi, message.PayloadType);
        }
        catch (ExiContentException e)
        {
            throw new FormatException($"message {index + 1} ({message.Direction}) does not decode: {e.Message}", e);
        }
    }

    /// <summary>Runs of consecutive requests of one type: [start, end) indexes into <see cref="Exchanges"/>.</summary>
    public IReadOnlyList<(int Start, int End)> Groups()
    {
        var groups = new List<(int, int)>();
        for (int i = 0; i < Exchanges.Count;)
        {
            int j = i + 1;
            while (j < Exchanges.Count && Exchanges[j].Request.Name == Exchanges[i].Request.Name)
            {
                j++;
            }
            groups.Add((i, j));
            i = j;
        }
        return groups;
    }
}

/// <summary>Writes a replay's steps: one line per exchange, the differences below it; a difference list the same as the previous one of that message is not repeated.</summary>
internal sealed class StepReport(TextWriter writer)
{
    private readonly Dictionary<string, string> _previous = [];

    public TextWriter Writer => writer;
    public int Exchanges { get; private set; }
    public int Differing { get; private set; }

    public void Step(string line, string message, IReadOnlyList<string> differences, string what)
    {
        Exchanges++;
        if (differences.Count == 0)
        {
            writer.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Exchanges,3} {line}"));
            _previous.Remove(message);
            return;
        }
        Differing++;
        string joined = string.Join("\n", differences);
        if (_previous.TryGetValue(message, out string? before) && before == joined)
        {
            writer.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Exchanges,3} {line} — {what} as the previous {message}"));
            return;
        }
        _previous[message] = joined;
        writer.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Exchanges,3} {line} — {what}:"));
        foreach (string d in differences)
        {
            writer.WriteLine("      " + d);
        }
    }
}
