using System.Buffers.Binary;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace Juice.Hlc.Slac;

/// <summary>Raw Ethernet frames on one link: what SLAC (and the PLC emulator) send and receive.</summary>
public interface IEthernetChannel : IAsyncDisposable
{
    /// <summary>This host's MAC on the link.</summary>
    PhysicalAddress Mac { get; }

    /// <summary>Sends one frame as it is (addresses included).</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken);

    /// <summary>The next frame received (no frame is lost when a wait is cancelled).</summary>
    ValueTask<byte[]> ReceiveAsync(CancellationToken cancellationToken);

    /// <summary>A frame already received and queued, without waiting.</summary>
    bool TryReceive(out byte[] frame);
}

/// <summary>The process may not open a raw socket (it needs CAP_NET_RAW), or the interface does not exist.</summary>
public sealed class RawEthernetException(string message) : IOException(message);

/// <summary>
/// An AF_PACKET socket on a named Linux interface, for one EtherType (0x88E1 for HomePlug AV) or every frame
/// (the emulator), frames this host sends itself not looped back. Frames are read by one task into a queue. Like a
/// NIC's address filter, only frames to this host's MAC, broadcast or multicast are passed on, unless the channel is
/// promiscuous (the emulator, which plays the modems and the line, sees every frame).
/// </summary>
public sealed class RawEthernetChannel : IEthernetChannel
{
    public const ushort AllProtocols = 0x0003;   // ETH_P_ALL

    private const int AfPacket = 17, SockRaw = 3, SolPacket = 263, PacketAddMembership = 1, PacketMrPromisc = 1, PacketIgnoreOutgoing = 23;
    private readonly Socket _socket;
    private readonly Channel<byte[]> _received = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;

    private readonly byte[] _mac;
    private readonly bool _promiscuous;

    private RawEthernetChannel(Socket socket, string interfaceName, PhysicalAddress mac, bool promiscuous)
    {
        _socket = socket;
        InterfaceName = interfaceName;
        Mac = mac;
        _mac = mac.GetAddressBytes();
        _promiscuous = promiscuous;
        _reader = Task.Run(ReadLoopAsync);
    }

    public string InterfaceName { get; }

    public PhysicalAddress Mac { get; }

    /// <summary>Opens <paramref name="interfaceName"/> for <paramref name="etherType"/>; <see cref="RawEthernetException"/> with the reason.</summary>
    public static RawEthernetChannel Open(string interfaceName, ushort etherType = SlacFrame.EtherType, bool promiscuous = false)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new RawEthernetException("raw Ethernet (AF_PACKET) needs Linux");
        }
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == interfaceName)
            ?? throw new RawEthernetException($"no network interface '{interfaceName}'");
        ushort protocol = BinaryPrimitives.ReverseEndianness(etherType);
        int fd = Native.Socket(AfPacket, SockRaw, protocol);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new RawEthernetException(errno == 1
                ? $"raw Ethernet on {interfaceName} is not permitted (errno {errno}): run as root or give the process CAP_NET_RAW (setcap cap_net_raw+ep)"
                : $"AF_PACKET socket on {interfaceName} failed (errno {errno})");
        }
        var handle = new SafeSocketHandle(fd, ownsHandle: true);
        int one = 1;
        _ = Native.SetSockOpt(fd, SolPacket, PacketIgnoreOutgoing, ref one, sizeof(int));   // our own frames are not read back
        var address = new Native.SockaddrLl { Family = AfPacket, Protocol = protocol, IfIndex = (int)Native.IfNameToIndex(interfaceName) };
        if (Native.Bind(fd, ref address, Marshal.SizeOf<Native.SockaddrLl>()) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new RawEthernetException($"binding the raw socket to {interfaceName} failed (errno {errno})");
        }
        if (promiscuous)
        {
            var request = new Native.PacketMreq { IfIndex = address.IfIndex, Type = PacketMrPromisc };
            if (Native.SetSockOpt(fd, SolPacket, PacketAddMembership, ref request, Marshal.SizeOf<Native.PacketMreq>()) < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                handle.Dispose();
                throw new RawEthernetException($"promiscuous mode on {interfaceName} failed (errno {errno})");
            }
        }
        return new RawEthernetChannel(new Socket(handle), interfaceName, nic.GetPhysicalAddress(), promiscuous);
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[9216];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n >= 14 && (_promiscuous || (buffer[0] & 1) == 1 || buffer.AsSpan(0, 6).SequenceEqual(_mac)))
                {
                    _received.Writer.TryWrite(buffer[..n]);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            _received.Writer.TryComplete();
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) =>
        await _socket.SendAsync(frame, SocketFlags.None, cancellationToken).ConfigureAwait(false);

    public async ValueTask<byte[]> ReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _received.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new IOException($"the raw socket on {InterfaceName} is closed");
        }
    }

    public bool TryReceive(out byte[] frame) => _received.Reader.TryRead(out frame!);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        try
        {
            await _reader.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    private static class Native
    {
        [StructLayout(LayoutKind.Sequential)]
        public struct SockaddrLl
        {
            public ushort Family;
            public ushort Protocol;
            public int IfIndex;
            public ushort HaType;
            public byte PktType;
            public byte HaLen;
            public ulong Addr;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct PacketMreq
        {
            public int IfIndex;
            public ushort Type;
            public ushort AddressLength;
            public ulong Address;
        }

        // DllImport: the source-generated LibraryImport needs unsafe code, which this assembly does not allow
        [DllImport("libc", EntryPoint = "socket", SetLastError = true)]
        public static extern int Socket(int domain, int type, int protocol);

        [DllImport("libc", EntryPoint = "bind", SetLastError = true)]
        public static extern int Bind(int fd, ref SockaddrLl address, int length);

        [DllImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
        public static extern int SetSockOpt(int fd, int level, int name, ref int value, int length);

        [DllImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
        public static extern int SetSockOpt(int fd, int level, int name, ref PacketMreq value, int length);

        [DllImport("libc", EntryPoint = "if_nametoindex", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern uint IfNameToIndex([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
    }
}

/// <summary>
/// An in-memory Ethernet segment for tests: a frame a member sends reaches every other member whose address filter
/// takes it (its own MAC, broadcast and multicast; a promiscuous member takes all), as on a hub.
/// </summary>
public sealed class MemoryEthernet
{
    private readonly List<Member> _members = [];

    public IEthernetChannel Join(PhysicalAddress mac, bool promiscuous = false)
    {
        var member = new Member(this, mac, promiscuous);
        lock (_members)
        {
            _members.Add(member);
        }
        return member;
    }

    private readonly List<byte[]> _traffic = [];

    /// <summary>Every frame that crossed the segment so far, in order (for assertions).</summary>
    public IReadOnlyList<byte[]> Traffic
    {
        get
        {
            lock (_members)
            {
                return [.. _traffic];
            }
        }
    }

    private void Deliver(Member from, byte[] frame)
    {
        Member[] others;
        lock (_members)
        {
            others = [.. _members.Where(m => m != from && frame.Length >= 14 && (m.Promiscuous || (frame[0] & 1) == 1 || frame.AsSpan(0, 6).SequenceEqual(m.Address)))];
            _traffic.Add(frame);
        }
        foreach (var m in others)
        {
            m.Inbox.Writer.TryWrite(frame);
        }
    }

    private sealed class Member(MemoryEthernet segment, PhysicalAddress mac, bool promiscuous) : IEthernetChannel
    {
        public Channel<byte[]> Inbox { get; } = Channel.CreateUnbounded<byte[]>();

        public bool Promiscuous => promiscuous;

        public byte[] Address { get; } = mac.GetAddressBytes();

        public PhysicalAddress Mac => mac;

        public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
        {
            segment.Deliver(this, frame.ToArray());
            return ValueTask.CompletedTask;
        }

        public ValueTask<byte[]> ReceiveAsync(CancellationToken cancellationToken) => Inbox.Reader.ReadAsync(cancellationToken);

        public bool TryReceive(out byte[] frame) => Inbox.Reader.TryRead(out frame!);

        public ValueTask DisposeAsync()
        {
            lock (segment._members)
            {
                segment._members.Remove(this);
            }
            return ValueTask.CompletedTask;
        }
    }
}
