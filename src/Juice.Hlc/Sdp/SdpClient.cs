using System.Net;
using System.Net.Sockets;
using Juice.Hlc.V2gtp;

namespace Juice.Hlc.Sdp;

/// <summary>
/// The EV side of SDP (ISO 15118-2:2014 §7.10.1): sends the request to ff02::1 on the EV's interface (or to a
/// given endpoint), waits <see cref="Timeout"/> for a response and repeats up to <see cref="MaxAttempts"/> times.
/// </summary>
public sealed class SdpClient(TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Wait for a response to one request (250 ms in ISO 15118-2 and DIN SPEC 70121).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Requests before giving up (50 in ISO 15118-2 and DIN SPEC 70121).</summary>
    public int MaxAttempts { get; init; } = 50;

    /// <summary>Called with every datagram sent and received: source, destination, the whole V2GTP frame (for captures).</summary>
    public Action<IPEndPoint, IPEndPoint, byte[]>? Trace { get; init; }

    /// <summary>The address requests are sent from, for <see cref="Trace"/> (the interface's link-local address).</summary>
    public IPAddress? LocalAddress { get; init; }

    /// <summary>Discovers the SECC on a named interface by multicast.</summary>
    public Task<SdpResponse> DiscoverAsync(string interfaceName, SdpSecurity security, CancellationToken ct = default)
    {
        var (index, linkLocal) = SdpServer.LinkLocal(interfaceName);
        var client = LocalAddress is null ? new SdpClient(_time) { Timeout = Timeout, MaxAttempts = MaxAttempts, Trace = Trace, LocalAddress = linkLocal } : this;
        return client.DiscoverAsync(new IPEndPoint(new IPAddress(SdpServer.AllNodes.GetAddressBytes(), index), 15118), security, ct);
    }

    /// <summary>Sends requests to <paramref name="target"/> until a valid response arrives or the attempts run out.</summary>
    public async Task<SdpResponse> DiscoverAsync(IPEndPoint target, SdpSecurity security, CancellationToken ct = default)
    {
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        if (target.Address.IsIPv6Multicast)
        {
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, (int)target.Address.ScopeId);
        }
        byte[] request = V2gtpFrame.Build(V2gtpPayloadType.SdpRequest, new SdpRequest(security, SdpTransport.Tcp).ToBytes());
        var buffer = new byte[512];
        for (int attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            await socket.SendToAsync(request, SocketFlags.None, target, ct).ConfigureAwait(false);
            Trace?.Invoke(Local(socket), target, request);
            using var wait = new CancellationTokenSource(Timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, wait.Token);
            try
            {
                while (true)
                {
                    var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.IPv6Any, 0), linked.Token).ConfigureAwait(false);
                    var datagram = buffer.AsSpan(0, received.ReceivedBytes);
                    var from = (IPEndPoint)received.RemoteEndPoint;
                    if (Parse(datagram, from.Address.ScopeId) is { } response)
                    {
                        Trace?.Invoke(from, Local(socket), datagram.ToArray());
                        return response;
                    }
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // no valid response within the timeout: send the next request
            }
            catch (SocketException)
            {
                // an ICMP error for an earlier datagram (no SDP server there yet): send the next request
                await Task.Delay(Timeout, _time, ct).ConfigureAwait(false);
            }
        }
        throw new TimeoutException($"no SDP response after {MaxAttempts} request(s)");
    }

    private IPEndPoint Local(Socket socket) => new(LocalAddress ?? IPAddress.IPv6Loopback, ((IPEndPoint)socket.LocalEndPoint!).Port);

    private static SdpResponse? Parse(ReadOnlySpan<byte> datagram, long scopeId)
    {
        if (datagram.Length < V2gtpFrame.HeaderLength)
        {
            return null;
        }
        try
        {
            var (type, length) = V2gtpFrame.ParseHeader(datagram, SdpResponse.Length);
            return type == V2gtpPayloadType.SdpResponse && datagram.Length == V2gtpFrame.HeaderLength + length
                ? SdpResponse.TryParse(datagram.Slice(V2gtpFrame.HeaderLength), scopeId)
                : null;
        }
        catch (V2gtpException)
        {
            return null;
        }
    }
}
