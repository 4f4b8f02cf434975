using Juice.Hlc.Exi;
using Juice.Hlc.Exi.AppHandshake;
using Juice.Hlc.Session;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Replay;

/// <summary>
/// Plays the charger side of a captured session for an EV: each request the EV sends is matched with the captured
/// exchange of that type and answered with the captured response, adapted only where a real session must (the
/// SchemaID of the EV's own offer, -20 timestamps, a pre-charge voltage that reaches the EV's own target). An EV that
/// repeats a request more often than the captured one gets the last captured answer again; one that goes on sooner
/// skips the captured repeats. Every request is compared with the captured one and each difference reported.
/// </summary>
public sealed class SeccReplay(ReplayScript script, TextWriter report, TimeSpan? messageTimeout = null, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly TimeSpan _timeout = messageTimeout ?? V2gTimers.Iso15118_2.SeccSequenceTimeout;
    private readonly StepReport _steps = new(report);

    public async Task<ReplayResult> RunAsync(V2gtpConnection connection, CancellationToken ct)
    {
        if (await ReadAsync(connection, ct).ConfigureAwait(false) is not { } first)
        {
            return Fail("the EV closed the connection before supportedAppProtocolReq");
        }
        var offer = V2gMessageView.Decode(ExiCodec.AppHandshake, first.Payload);
        var answer = V2gMessageView.Decode(ExiCodec.AppHandshake, script.HandshakeResponse.Encode());
        // The EV numbers its own offer: the captured choice is answered with the SchemaID this EV gave that protocol.
        var entry = offer.Root.Elements().Where(e => e.Name.LocalName == "AppProtocol")
            .FirstOrDefault(p => p.Elements().Any(c => c.Name.LocalName == "ProtocolNamespace" && c.Value == script.Protocol));
        if (entry is null)
        {
            var refuse = V2gMessageView.Decode(ExiCodec.AppHandshake, AppHandshakeExi.EncodeSupportedAppProtocolRes(
                new SupportedAppProtocolRes { ResponseCode = ResponseCodeType.Failed_NoNegotiation }));
            await connection.WriteAsync(V2gtpPayloadType.Exi, refuse.Encode(), ct).ConfigureAwait(false);
            Step(1, offer, script.HandshakeRequest, refuse.Name + " " + refuse.ResponseCode);
            return Fail($"the EV does not offer {script.Protocol}, the protocol of the capture");
        }
        answer.Find("SchemaID")!.Value = entry.Elements().First(c => c.Name.LocalName == "SchemaID").Value;
        await connection.WriteAsync(V2gtpPayloadType.Exi, answer.Encode(), ct).ConfigureAwait(false);
        Step(1, offer, script.HandshakeRequest, answer.Name + " " + answer.ResponseCode);

        int next = 0;           // the next captured exchange
        CapturedExchange? last = null;
        while (true)
        {
            if (await ReadAsync(connection, ct).ConfigureAwait(false) is not { } message)
            {
                return Fail("the EV closed the connection before SessionStopReq");
            }
            V2gMessageView request;
            try
            {
                request = V2gSchemas.Decode(script.Protocol, message.Payload, message.PayloadType);
            }
            catch (ExiContentException e)
            {
                return Fail($"the EV's request does not decode: {e.Message}");
            }
            CapturedExchange captured;
            if (next < script.Exchanges.Count && script.Exchanges[next].Request.Name == request.Name)
            {
                captured = script.Exchanges[next++];
            }
            else if (last is not null && last.Request.Name == request.Name)
            {
                captured = last;   // the EV repeats more often than the captured one did
            }
            else
            {
                int found = -1;
                for (int i = next; i < script.Exchanges.Count; i++)
                {
                    if (script.Exchanges[i].Request.Name == request.Name)
                    {
                        found = i;
                        break;
                    }
                }
                if (found < 0)
                {
                    return Fail($"the EV sent {request.Name}, which the capture does not have from message {(next < script.Exchanges.Count ? script.Exchanges[next].Position : script.Exchanges[^1].Position + 2)} on");
                }
                report.WriteLine($"  the EV goes on sooner: {found - next} captured exchanges skipped (messages {script.Exchanges[next].Position}-{script.Exchanges[found].Position - 1})");
                captured = script.Exchanges[found];
                next = found + 1;
            }
            last = captured;
            var response = V2gMessageView.Decode(captured.Response.Codec, captured.Response.Encode());
            response.StampTime(_time.GetUtcNow());
            if (request.Name is "PreChargeReq" or "DC_PreChargeReq")
            {
                response.CopyPhysical("EVSEPresentVoltage", request, "EVTargetVoltage");   // a charger reaches the EV's own target
            }
            await connection.WriteAsync(V2gSchemas.PayloadTypeOf(response.Codec), response.Encode(), ct).ConfigureAwait(false);
            Step(captured.Position, request, captured.Request, $"{response.Name} {response.ResponseCode}");
            if (request.Name == "SessionStopReq")
            {
                report.WriteLine($"session stopped: {response.ResponseCode}; {_steps.Exchanges} exchanges, {_steps.Differing} with differences");
                return response.Failed ? Fail("the captured SessionStopRes is " + response.ResponseCode) : new ReplayResult(true, _steps.Exchanges, _steps.Differing, null);
            }
        }
    }

    private async Task<V2gtpMessage?> ReadAsync(V2gtpConnection connection, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_timeout);
        try
        {
            return await connection.ReadAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"the EV sent nothing for {_timeout.TotalSeconds:0} s");
        }
    }

    private void Step(int line, V2gMessageView request, V2gMessageView captured, string answered) =>
        _steps.Step($"{request.Name} -> {answered}", request.Name, request.Differences(captured), $"the request differs from captured message {line}");

    private ReplayResult Fail(string why)
    {
        report.WriteLine("replay failed: " + why);
        return ReplayResult.Failed(_steps.Exchanges, _steps.Differing, why);
    }
}
