using System.Net;

namespace Juice.Hlc.Secc;

/// <summary>
/// The SECC's open connections, so that no connection can block a charging point before it has done anything:
/// <list type="bullet">
/// <item>a connection is <em>bound</em> once it sent a valid supportedAppProtocolReq and got a charging point; before
/// that it holds nothing;</item>
/// <item>caps per peer address and in total: a connection beyond a cap closes the oldest connection that is not
/// bound yet (of that peer, or of all), or is refused when every one is bound;</item>
/// <item>a new handshake from the address of a bound connection takes that connection's place: an EV has one
/// session, so its older connection is dead to it (half-open after a link glitch, or abandoned).</item>
/// </list>
/// </summary>
internal sealed class SeccConnections(int maxTotal, int maxPerPeer)
{
    private readonly Lock _gate = new();
    private readonly List<Entry> _open = [];

    /// <summary>Why a connection was closed by another one.</summary>
    public enum CloseReason
    {
        None,

        /// <summary>Not bound while a newer connection needed its place under a cap.</summary>
        Evicted,

        /// <summary>A newer connection of the same EV (the same address) took over its charging point.</summary>
        TakenOver,
    }

    /// <summary>One open connection; disposed when it ends.</summary>
    public sealed class Entry : IDisposable
    {
        private readonly SeccConnections _owner;
        private readonly CancellationTokenSource _close = new();

        internal Entry(SeccConnections owner, IPEndPoint remote)
        {
            _owner = owner;
            Remote = remote;
        }

        public IPEndPoint Remote { get; }

        /// <summary>Cancelled when another connection closes this one (<see cref="Reason"/> says why).</summary>
        public CancellationToken Closing => _close.Token;

        public CloseReason Reason { get; private set; }

        internal bool Bound { get; set; }

        internal bool Open => Reason == CloseReason.None;

        internal void MarkClosing(CloseReason reason) => Reason = reason;

        internal void Cancel()
        {
            try
            {
                _close.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // it ended meanwhile
            }
        }

        public void Dispose()
        {
            _owner.Remove(this);
            _close.Dispose();
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _open.Count(e => e.Open);
            }
        }
    }

    /// <summary>
    /// Registers a new connection; null when a cap is reached and every connection under it is bound. Connections
    /// closed to make room are returned (they are being cancelled).
    /// </summary>
    public Entry? Open(IPEndPoint remote, out IReadOnlyList<Entry> evicted)
    {
        var victims = new List<Entry>();
        Entry? entry = null;
        lock (_gate)
        {
            var ofPeer = _open.Where(e => e.Open && e.Remote.Address.Equals(remote.Address)).ToList();
            bool room = true;
            if (ofPeer.Count >= maxPerPeer)
            {
                room = MakeRoom(ofPeer, victims);
            }
            if (room && _open.Count(e => e.Open) >= maxTotal)
            {
                room = MakeRoom(_open.Where(e => e.Open).ToList(), victims);
            }
            if (room)
            {
                entry = new Entry(this, remote);
                _open.Add(entry);
            }
        }
        foreach (var victim in victims)
        {
            victim.Cancel();
        }
        evicted = victims;
        return entry;
    }

    /// <summary>Closes the oldest connection that is not bound (the list is in order of arrival); false if none.</summary>
    private static bool MakeRoom(List<Entry> candidates, List<Entry> victims)
    {
        var oldest = candidates.FirstOrDefault(e => !e.Bound);
        if (oldest is null)
        {
            return false;
        }
        oldest.MarkClosing(CloseReason.Evicted);
        victims.Add(oldest);
        return true;
    }

    /// <summary>
    /// A new connection has a valid handshake but its charging point is busy: the bound connections of the same
    /// address are closed (the EV has come back on a new connection). Returns them.
    /// </summary>
    public IReadOnlyList<Entry> TakeOver(Entry by)
    {
        List<Entry> victims;
        lock (_gate)
        {
            victims = [.. _open.Where(e => e != by && e.Open && e.Bound && e.Remote.Address.Equals(by.Remote.Address))];
            foreach (var v in victims)
            {
                v.MarkClosing(CloseReason.TakenOver);
            }
        }
        foreach (var v in victims)
        {
            v.Cancel();
        }
        return victims;
    }

    public void Bind(Entry entry)
    {
        lock (_gate)
        {
            entry.Bound = true;
        }
    }

    private void Remove(Entry entry)
    {
        lock (_gate)
        {
            _open.Remove(entry);
        }
    }
}
