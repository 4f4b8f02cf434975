using Juice.Hlc.Exi;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Replay;

/// <summary>Limits of an EV replay: how long a repeated request may wait for the charger, and the pause between repeats.</summary>
public sealed record EvReplayOptions
{
    /// <summary>Time allowed for one answer (V2G_EVCC_Msg_Timeout, the long form: [V2G2-036], DIN [V2G-DC-498]).</summary>
    public TimeSpan MessageTimeout { get; init; } = V2gTimers.Iso15118_2.EvccMsgTimeoutLong;

    /// <summary>Pause before a request the car repeats (as a car's cyclic task; the capture's own pace is not known for every format).</summary>
    public TimeSpan RepeatInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The most a pre-charge may differ from the car's target voltage for the car to go on.</summary>
    public double PreChargeToleranceV { get; init; } = 20;

    /// <summary>How long the car keeps repeating a request the charger answers with Ongoing: V2G_EVCC_Ongoing_Timeout [V2G2-684].</summary>
    public TimeSpan OngoingTimeout { get; init; } = V2gTimers.Iso15118_2.EvccOngoingTimeout;

    /// <summary>V2G_EVCC_CableCheck_Timeout [V2G2-918].</summary>
    public TimeSpan CableCheckTimeout { get; init; } = V2gTimers.Iso15118_2.EvccCableCheckTimeout;

    /// <summary>V2G_EVCC_PreCharge_Timeout [V2G2-919].</summary>
    public TimeSpan PreChargeTimeout { get; init; } = V2gTimers.Iso15118_2.EvccPreChargeTimeout;
}

/// <summary>
/// Plays the EV side of a captured session against a charger: each captured request with the car's own parameters,
/// adapted only where a real session must (the charger's SessionID and GenChallenge, -20 timestamps), repeating a
/// request while this charger needs (Ongoing, pre-charge voltage) and skipping captured repeats it does not need;
/// every answer compared with the captured one and each difference reported.
/// </summary>
public sealed class EvReplay(ReplayScript script, TextWriter report, EvReplayOptions? options = null, TimeProvider? time = null)
{
    private readonly EvReplayOptions _options = options ?? new EvReplayOptions();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly StepReport _steps = new(report);
    private string? _sessionId;
    private string? _genChallenge;

    public async Task<ReplayResult> RunAsync(V2gtpConnection connection, CancellationToken ct)
    {
        // supportedAppProtocol: the car's offer as captured
        var handshake = await ExchangeAsync(connection, ExiCodec.AppHandshake, V2gtpPayloadType.Exi, script.HandshakeRequest.Encode(), ct).ConfigureAwait(false);
        if (handshake is null)
        {
            return Fail("the charger closed the connection after supportedAppProtocolReq");
        }
        var response = V2gMessageView.Decode(ExiCodec.AppHandshake, handshake.Value.Payload);
        Step(2, script.HandshakeRequest.Name, response, script.HandshakeResponse);
        string? chosen = V2gSchemas.Negotiated(script.HandshakeRequest, response);
        if (chosen != script.Protocol)
        {
            return Fail(chosen is null
                ? $"the charger selected none of the offered protocols ({response.ResponseCode}); the capture ran {script.Protocol}"
                : $"the charger selected {chosen}; the capture ran {script.Protocol}");
        }
        var groups = script.Groups();
        for (int g = 0; g < groups.Count; g++)
        {
            var (start, end) = groups[g];
            string name = script.Exchanges[start].Request.Name;
            if (ReplayScript.Waiting.Contains(name))
            {
                if (await WaitingAsync(connection, start, end, ct).ConfigureAwait(false) is { } failure)
                {
                    return failure;
                }
                continue;
            }
            for (int i = start; i < end; i++)
            {
                var captured = script.Exchanges[i];
                if (await SendAsync(connection, captured, ct).ConfigureAwait(false) is not { } answer)
                {
                    return Fail($"no answer to {captured.Request.Name} (captured message {captured.Position})");
                }
                if (answer.Failed)
                {
                    return Fail($"{answer.Name}: {answer.ResponseCode}");
                }
                if (name is "SessionStopReq")
                {
                    report.WriteLine($"session stopped: {answer.ResponseCode}; {_steps.Exchanges} exchanges, {_steps.Differing} with differences");
                    return new ReplayResult(true, _steps.Exchanges, _steps.Differing, null);
                }
                if (ReplayScript.Loops.Contains(name) && answer.Notification is "StopCharging" or "Terminate" or "ReNegotiation" && i + 1 < end)
                {
                    report.WriteLine($"  the charger asks for {answer.Notification}: the loop ends here, {end - i - 1} captured loop requests skipped");
                    break;
                }
            }
        }
        return Fail("the capture ended before SessionStopReq");
    }

    /// <summary>A request the car repeats while the charger is not done: the captured repeats first, then the last one again.</summary>
    private async Task<ReplayResult?> WaitingAsync(V2gtpConnection connection, int start, int end, CancellationToken ct)
    {
        var captured = script.Exchanges[start];
        string name = captured.Request.Name;
        var limit = name switch
        {
            "CableCheckReq" or "DC_CableCheckReq" => _options.CableCheckTimeout,
            "PreChargeReq" => _options.PreChargeTimeout,
            _ => _options.OngoingTimeout,
        };
        long began = _time.GetTimestamp();
        for (int k = 0; ; k++)
        {
            captured = script.Exchanges[Math.Min(start + k, end - 1)];
            if (k > 0)
            {
                await Task.Delay(_options.RepeatInterval, _time, ct).ConfigureAwait(false);
            }
            if (await SendAsync(connection, captured, ct, repeat: k >= end - start).ConfigureAwait(false) is not { } answer)
            {
                return Fail($"no answer to {name} (captured message {captured.Position})");
            }
            if (answer.Failed)
            {
                return Fail($"{answer.Name}: {answer.ResponseCode}");
            }
            if (Done(captured.Request, answer))
            {
                if (start + k + 1 < end)
                {
                    report.WriteLine($"  this charger is done after {k + 1} × {name}: {end - start - k - 1} captured repeats skipped");
                }
                return null;
            }
            if (_time.GetElapsedTime(began) > limit)
            {
                return Fail($"{name}: the charger was not done within {limit.TotalSeconds:0} s ({k + 1} requests)");
            }
        }
    }

    private bool Done(V2gMessageView request, V2gMessageView answer)
    {
        if (request.Name is "PreChargeReq")
        {
            return answer.Physical("EVSEPresentVoltage") is { } present && request.Physical("EVTargetVoltage") is { } target
                && Math.Abs(present - target) <= _options.PreChargeToleranceV;
        }
        return answer.Processing is null or "Finished";
    }

    /// <summary>Sends one captured request, adapted; the charger's answer (compared and reported), or null when it closed.</summary>
    private async Task<V2gMessageView?> SendAsync(V2gtpConnection connection, CapturedExchange captured, CancellationToken ct, bool repeat = false)
    {
        var request = V2gMessageView.Decode(captured.Request.Codec, captured.Request.Encode());
        if (request.Name != "SessionSetupReq" && _sessionId is not null)
        {
            request.SessionId = _sessionId;   // the charger's SessionID [V2G2-756]
        }
        request.GenChallenge = _genChallenge;  // the charger's challenge [V2G2-475]; a signature over it would need the contract key
        request.StampTime(_time.GetUtcNow());
        var message = await ExchangeAsync(connection, request.Codec, V2gSchemas.PayloadTypeOf(request.Codec), request.Encode(), ct).ConfigureAwait(false);
        if (message is null)
        {
            return null;
        }
        V2gMessageView answer;
        try
        {
            answer = V2gSchemas.Decode(script.Protocol, message.Value.Payload, message.Value.PayloadType);
        }
        catch (ExiContentException e)
        {
            report.WriteLine($"captured message {captured.Position + 1}: the answer to {request.Name} does not decode: {e.Message}");
            throw new InvalidDataException($"the answer to {request.Name} does not decode: {e.Message}", e);
        }
        if (answer.Name == "SessionSetupRes" && answer.SessionId is { } id)
        {
            _sessionId = id;
        }
        if (answer.GenChallenge is { } challenge)
        {
            _genChallenge = challenge;
        }
        Step(captured.Position + 1, request.Name + (repeat ? " (repeated)" : ""), answer, captured.Response);
        return answer;
    }

    private async Task<V2gtpMessage?> ExchangeAsync(V2gtpConnection connection, ExiCodec codec, V2gtpPayloadType type, byte[] exi, CancellationToken ct)
    {
        await connection.WriteAsync(type, exi, ct).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.MessageTimeout);
        try
        {
            return await connection.ReadAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer within {_options.MessageTimeout.TotalSeconds:0} s");
        }
    }

    private void Step(int line, string request, V2gMessageView answer, V2gMessageView captured)
    {
        string status = string.Join(", ", new[] { answer.ResponseCode, answer.Processing }.Where(s => s is not null));
        _steps.Step($"{request} -> {answer.Name} {status}", answer.Name, answer.Differences(captured), $"differs from captured message {line}");
    }

    private ReplayResult Fail(string why)
    {
        report.WriteLine("replay failed: " + why);
        return ReplayResult.Failed(_steps.Exchanges, _steps.Differing, why);
    }
}
