using System.Net;
using Juice.Hlc.Transport;

namespace Juice.Hlc.Tests.Transport;

/// <summary>The SECC's TCP port is a dynamic port (49152-65535); port 0 picks one of them, not the kernel's choice.</summary>
public sealed class V2gPortsTests
{
    [Fact]
    public async Task Port_0_picks_a_free_port_in_the_dynamic_range()
    {
        var servers = new List<V2gTcpServer>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                var server = new V2gTcpServer(new V2gTcpServerOptions { Address = IPAddress.IPv6Loopback, Port = 0 }, (_, _, _) => Task.CompletedTask);
                servers.Add(server);
                Assert.InRange(server.LocalEndPoint.Port, V2gPorts.DynamicMin, V2gPorts.DynamicMax);
            }
            Assert.Equal(20, servers.Select(s => s.LocalEndPoint.Port).Distinct().Count());
        }
        finally
        {
            foreach (var s in servers)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Theory]
    [InlineData(15118, false)]
    [InlineData(49151, false)]
    [InlineData(49152, true)]
    [InlineData(65535, true)]
    public void The_dynamic_range(int port, bool allowed) => Assert.Equal(allowed, V2gPorts.IsDynamic(port));
}
