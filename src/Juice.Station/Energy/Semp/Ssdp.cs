using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Energy.Semp;

/// <summary>
/// SSDP (UPnP Device Architecture 1.0, clause 1) for the SEMP gateway: announces the root device, its uuid and the
/// SEMP gateway type (ssdp:alive, max-age twice the re-announce interval) on the multicast group, answers M-SEARCH
/// for ssdp:all and each of the three by unicast (after a random delay within MX, at most a second), and says
/// ssdp:byebye when stopped. Time injected.
/// </summary>
public sealed partial class Ssdp(SempOptions options, string uuid, Func<string> location, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    public const string RootDevice = "upnp:rootdevice";
    private const string Server = "Linux UPnP/1.0 Juice/1.0";

    private Socket? _socket;
    private CancellationTokenSource? _stop;
    private Task _run = Task.CompletedTask;
    private IPEndPoint _group = null!;

    /// <summary>The notification types announced: the root device, the device's uuid, the SEMP gateway.</summary>
    public IReadOnlyList<string> Types => [RootDevice, "uuid:" + uuid, SempMessages.GatewayType];

    private string Usn(string nt) => nt == "uuid:" + uuid ? nt : $"uuid:{uuid}::{nt}";

    public void Start()
    {
        _group = new IPEndPoint(IPAddress.Parse(options.SsdpAddress), options.SsdpPort);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);   // beside other UPnP devices on the host
        socket.Bind(new IPEndPoint(IPAddress.Any, options.SsdpPort));
        var nic = options.SsdpInterface is { } i ? IPAddress.Parse(i) : IPAddress.Any;
        if (IsMulticast(_group.Address))
        {
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(_group.Address, nic));
            if (options.SsdpInterface is not null)
            {
                socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, nic.GetAddressBytes());
            }
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 4);   // UPnP 1.0: TTL 4 by default
            socket.MulticastLoopback = true;
        }
        else
        {
            socket.EnableBroadcast = true;
        }
        _socket = socket;
        _stop = new CancellationTokenSource();
        _run = Task.WhenAll(AnnounceAsync(_stop.Token), AnswerAsync(_stop.Token));
        Log.Started(logger, _group.ToString(), location());
    }

    private static bool IsMulticast(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork && (a.GetAddressBytes()[0] & 0xF0) == 0xE0;

    private string Notify(string nt, bool alive) => alive
        ? $"NOTIFY * HTTP/1.1\r\nHOST: {_group}\r\nCACHE-CONTROL: max-age={2 * options.AnnounceSeconds}\r\nLOCATION: {location()}\r\nNT: {nt}\r\nNTS: ssdp:alive\r\nSERVER: {Server}\r\nUSN: {Usn(nt)}\r\n\r\n"
        : $"NOTIFY * HTTP/1.1\r\nHOST: {_group}\r\nNT: {nt}\r\nNTS: ssdp:byebye\r\nUSN: {Usn(nt)}\r\n\r\n";

    private string Answer(string st) =>
        $"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age={2 * options.AnnounceSeconds}\r\nDATE: {time.GetUtcNow():R}\r\nEXT:\r\nLOCATION: {location()}\r\nSERVER: {Server}\r\nST: {st}\r\nUSN: {Usn(st)}\r\n\r\n";

    private async Task AnnounceAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                foreach (var nt in Types)
                {
                    await SendAsync(Notify(nt, alive: true), _group, ct);
                }
                await Task.Delay(TimeSpan.FromSeconds(options.AnnounceSeconds), time, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task AnswerAsync(CancellationToken ct)
    {
        var buffer = new byte[2048];
        while (!ct.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await _socket!.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException e)
            {
                Log.Failed(logger, e.Message);
                continue;
            }
            var search = Parse(Encoding.ASCII.GetString(buffer, 0, r.ReceivedBytes));
            if (search is not { } s)
            {
                continue;   // a NOTIFY of another device, an answer, or not SSDP: not for us
            }
            var targets = s.St == "ssdp:all" ? Types : Types.Where(t => string.Equals(t, s.St, StringComparison.OrdinalIgnoreCase)).ToList();
            if (targets.Count == 0)
            {
                continue;
            }
            var from = r.RemoteEndPoint;
            _ = Task.Run(async () =>
            {
                try
                {
                    // [UPnP 1.0 1.2.3] a random delay within MX, so that many devices do not answer at once (at most 1 s here)
                    await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, Math.Min(s.Mx, 1) * 1000 + 1)), time, ct);
                    foreach (var t in targets)
                    {
                        await SendAsync(Answer(t), from, ct);
                    }
                    Log.Answered(logger, from.ToString()!, s.St);
                }
                catch (OperationCanceledException)
                {
                }
            }, ct);
        }
    }

    /// <summary>An M-SEARCH request's search target and MX, or null for anything else (malformed ones are ignored, as UPnP asks).</summary>
    internal static (string St, int Mx)? Parse(string message)
    {
        var lines = message.Split("\r\n");
        if (lines.Length == 0 || !lines[0].StartsWith("M-SEARCH * HTTP/1.1", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }
        if (!headers.TryGetValue("MAN", out var man) || man.Trim('"') != "ssdp:discover" || !headers.TryGetValue("ST", out var st) || st.Length == 0)
        {
            return null;
        }
        int mx = headers.TryGetValue("MX", out var m) && int.TryParse(m, out var v) && v >= 0 ? v : 1;
        return (st, mx);
    }

    private async Task SendAsync(string message, EndPoint to, CancellationToken ct)
    {
        try
        {
            await _socket!.SendToAsync(Encoding.ASCII.GetBytes(message), SocketFlags.None, to, ct);
        }
        catch (SocketException e)
        {
            Log.Failed(logger, e.Message);
        }
        catch (ObjectDisposedException)
        {
            // stopped while a delayed M-SEARCH answer was on its way: it is dropped
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket is null)
        {
            return;
        }
        _stop!.Cancel();
        await _run.ConfigureAwait(false);
        foreach (var nt in Types)
        {
            await SendAsync(Notify(nt, alive: false), _group, CancellationToken.None);
        }
        _socket.Dispose();
        _socket = null;
        _stop.Dispose();
        Log.Stopped(logger);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "SEMP: SSDP announcements on {Group}, description at {Location}")]
        public static partial void Started(ILogger logger, string group, string location);

        [LoggerMessage(2, LogLevel.Debug, "SEMP: answered the M-SEARCH of {From} for {St}")]
        public static partial void Answered(ILogger logger, string from, string st);

        [LoggerMessage(3, LogLevel.Warning, "SEMP: SSDP failed: {Problem}")]
        public static partial void Failed(ILogger logger, string problem);

        [LoggerMessage(4, LogLevel.Information, "SEMP: SSDP byebye sent, announcements stopped")]
        public static partial void Stopped(ILogger logger);
    }
}
