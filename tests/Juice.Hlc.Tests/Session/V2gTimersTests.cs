using Juice.Hlc.Evcc;
using Juice.Hlc.Session;

namespace Juice.Hlc.Tests.Session;

/// <summary>The one timing table: each protocol's values, and the EV reading the negotiated protocol's unless told otherwise.</summary>
public sealed class V2gTimersTests
{
    [Theory]
    [InlineData(V2gProtocol.Din70121, V2gMessageKind.CurrentDemand, 250)]
    [InlineData(V2gProtocol.Iso15118_2, V2gMessageKind.CurrentDemand, 250)]
    [InlineData(V2gProtocol.Iso15118_2, V2gMessageKind.ChargingStatus, 2000)]
    [InlineData(V2gProtocol.Iso15118_2, V2gMessageKind.PowerDelivery, 5000)]
    [InlineData(V2gProtocol.Iso15118_2, V2gMessageKind.ServiceDetail, 5000)]
    [InlineData(V2gProtocol.Iso15118_20Dc, V2gMessageKind.CurrentDemand, 500)]
    [InlineData(V2gProtocol.Iso15118_20Ac, V2gMessageKind.ChargingStatus, 500)]
    [InlineData(V2gProtocol.Iso15118_20Ac, V2gMessageKind.PowerDelivery, 2000)]
    [InlineData(V2gProtocol.Iso15118_20Dc, V2gMessageKind.ServiceDetail, 5000)]
    [InlineData(V2gProtocol.Iso15118_20Dc, V2gMessageKind.SessionSetup, 2000)]
    public void Each_protocol_has_the_message_timeouts_of_its_standard(V2gProtocol protocol, V2gMessageKind kind, int milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), V2gTimers.For(protocol).EvccTimeout(kind));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), new EvOptions().TimeoutOf(kind, protocol));
    }

    [Fact]
    public void Pre_charge_takes_longer_in_ISO_15118_20_and_a_table_or_timeout_the_caller_gives_wins()
    {
        Assert.Equal(TimeSpan.FromSeconds(7), new EvOptions().TimersFor(V2gProtocol.Iso15118_2).EvccPreChargeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), new EvOptions().TimersFor(V2gProtocol.Iso15118_20Dc).EvccPreChargeTimeout);
        var own = V2gTimers.Iso15118_2 with { EvccCurrentDemandTimeout = TimeSpan.FromSeconds(3) };
        Assert.Equal(TimeSpan.FromSeconds(3), new EvOptions { Timers = own }.TimeoutOf(V2gMessageKind.CurrentDemand, V2gProtocol.Iso15118_20Dc));
        Assert.Equal(TimeSpan.FromSeconds(9), new EvOptions { MessageTimeout = TimeSpan.FromSeconds(9) }.TimeoutOf(V2gMessageKind.CurrentDemand, V2gProtocol.Iso15118_20Dc));
    }
}
