using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Ocpp;

/// <summary>The OCPP client's framing: the receive loop, sending frames, its own calls one at a time (OCPP-J §4.1.1).</summary>
internal sealed partial class OcppClient
{
    // ---- framing ----

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        var ws = _ws!;
        var buffer = new byte[16 * 1024];
        var message = new MemoryStream();
        while (!ct.IsCancellationRequested && ws.State == WebSocketState.Open)
        {
            message.SetLength(0);
            bool oversize = false;
            WebSocketReceiveResult result;
            do
            {
                try
                {
                    result = await ws.ReceiveAsync(buffer, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
                {
                    _lastError = e.Message;
                    return;
                }
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Log.Closed(_logger, result.CloseStatus?.ToString() ?? "none", result.CloseStatusDescription ?? "");
                    try
                    {
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is WebSocketException or IOException)
                    {
                    }
                    return;
                }
                if (message.Length + result.Count > _options.MaxMessageBytes)
                {
                    oversize = true;   // read the rest and drop it: the connection survives
                }
                else
                {
                    message.Write(buffer, 0, result.Count);
                }
            }
            while (!result.EndOfMessage);
            if (oversize)
            {
                Log.Oversize(_logger, _options.MaxMessageBytes);
                continue;
            }
            if (result.MessageType != WebSocketMessageType.Text)
            {
                Log.Dropped(_logger, "a binary message (OCPP-J uses text frames)");
                continue;
            }
            string text;
            try
            {
                text = new UTF8Encoding(false, true).GetString(message.GetBuffer(), 0, (int)message.Length);
            }
            catch (DecoderFallbackException)
            {
                Log.Dropped(_logger, "text that is not UTF-8");
                continue;
            }
            Dispatch(text, ct);
        }
    }

    private void Dispatch(string text, CancellationToken ct)
    {
        var frame = OcppFrame.Parse(text, out string? error);
        if (frame is null)
        {
            Log.Dropped(_logger, error!);   // no message id to answer: dropped with a log line
            return;
        }
        switch (frame.Type)
        {
            case OcppFrame.Call when error is not null:
                _ = SendAsync(new OcppFrame(OcppFrame.CallError, frame.Id, null, new JsonObject(), OcppErrorCode.FormationViolation, error), ct);
                break;
            case OcppFrame.Call:
                _ = Task.Run(() => AnswerAsync(frame, ct), CancellationToken.None);
                break;
            case OcppFrame.CallResult when _pending.TryRemove(frame.Id, out var tcs):
                tcs.TrySetResult(frame.Payload);
                break;
            case OcppFrame.CallError when _pending.TryRemove(frame.Id, out var tcs):
                tcs.TrySetException(new OcppCallException(frame.ErrorCode ?? OcppErrorCode.GenericError, frame.ErrorDescription ?? "", frame.Payload));
                break;
            default:
                Log.Dropped(_logger, $"an answer to an unknown call {frame.Id}");
                break;
        }
    }

    private async Task SendAsync(OcppFrame frame, CancellationToken ct)
    {
        var ws = _ws ?? throw new OcppOfflineException("not connected to the central system");
        byte[] bytes = Encoding.UTF8.GetBytes(frame.Serialize());
        await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await ws.SendAsync(bytes, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            throw new OcppOfflineException("sending to the central system failed: " + e.Message);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>One call to the central system; its answer (checked against the response's shape) or an exception.</summary>
    private async Task<JsonNode?> CallAsync(string action, JsonObject payload, CancellationToken ct, bool requireAccepted = true)
    {
        if (!_connected || (requireAccepted && !_accepted))
        {
            throw new OcppOfflineException(_connected ? $"the central system has not accepted the station ({_registration})" : "not connected to the central system");
        }
        await _callGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            string id = Guid.NewGuid().ToString("N");
            var tcs = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[id] = tcs;
            await SendAsync(new OcppFrame(OcppFrame.Call, id, action, payload), ct).ConfigureAwait(false);
            JsonNode? result;
            try
            {
                result = await tcs.Task.WaitAsync(TimeSpan.FromSeconds(_options.CallTimeoutSeconds), _time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _pending.TryRemove(id, out _);
                throw new OcppOfflineException($"no answer to {action} within {_options.CallTimeoutSeconds} s");
            }
            if (OcppShapes.Responses.TryGetValue(action, out var shape) && shape.Check(result, action + ".conf") is { } problem)
            {
                Log.BadAnswer(_logger, action, problem.Message);
                throw new OcppCallException(problem.Code, "the central system's answer does not fit its schema: " + problem.Message);
            }
            return result;
        }
        finally
        {
            _callGate.Release();
        }
    }
}
