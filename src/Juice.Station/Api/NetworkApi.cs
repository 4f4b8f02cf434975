using System.Net.NetworkInformation;
using Juice.Station.Hlc;
using Juice.Station.Modbus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Juice.Station.Api;

/// <summary>
/// GET /api/network for the NETWORK page: the host's interfaces (state, MAC, addresses), which of the station's
/// services listens where now (SECC, its TLS server, SDP, SLAC, Modbus, the web interface) and the configuration keys
/// that set the addresses and ports (the station owns them in its configuration: read-only on the page).
/// </summary>
public static class NetworkApi
{
    public sealed record Interface(string Name, string State, string? Mac, IReadOnlyList<string> Addresses);

    public sealed record Listener(string Service, string Where, string Key);

    public static void MapNetwork(this RouteGroupBuilder api) => api.MapGet("/network", (SeccHostedService secc, ModbusHostedService modbus, IServer server,
        IOptions<SeccHostOptions> seccOptions, IOptions<ModbusOptions> modbusOptions, IOptions<SlacOptions> slac, IOptions<ApiOptions> apiOptions, Core.ChargingStation station) =>
    {
        var interfaces = NetworkInterface.GetAllNetworkInterfaces().OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => new Interface(
            n.Name,
            n.OperationalStatus.ToString(),
            n.GetPhysicalAddress() is { } mac && mac.GetAddressBytes().Length == 6 ? string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))) : null,
            [.. n.GetIPProperties().UnicastAddresses.Select(a => a.Address.ToString())])).ToList();
        List<Listener> listeners = [];
        if (secc.EndPoint is { } tcp)
        {
            listeners.Add(new("SECC (ISO 15118 / DIN 70121, TCP)", tcp.ToString(), "Secc:Address, Secc:Port"));
        }
        if (secc.TlsEndPoint is { } tls)
        {
            listeners.Add(new("SECC TLS (Plug & Charge)", tls.ToString(), "Secc:Address, Secc:TlsPort"));
        }
        foreach (var name in secc.SdpInterfaces)
        {
            listeners.Add(new("SDP (UDP 15118, ff02::1)", name, "Secc:Interface, Slac:Links"));
        }
        foreach (var link in slac.Value.EffectiveLinks(seccOptions.Value.Connector))
        {
            listeners.Add(new($"SLAC (HomePlug Green PHY, connector {link.Connector})", link.Interface, "Slac:Interface, Slac:Links"));
        }
        foreach (var (endPoint, i) in modbus.EndPoints.Select((e, i) => (e, i)))
        {
            listeners.Add(new($"Modbus TCP (connector {i + 1})", endPoint.ToString(), "Modbus:Address, Modbus:Port (LOAD MANAGEMENT: Port)"));
        }
        foreach (var address in server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
        {
            listeners.Add(new("Web interface and operator API", address, "Api:Urls"));
        }
        if (listeners.Count == 0)
        {
            listeners.Add(new("(none)", "", ""));
        }
        return Results.Ok(new
        {
            interfaces,
            listeners,
            settings = new Dictionary<string, string?>
            {
                ["Secc:Address"] = seccOptions.Value.Address,
                ["Secc:Port"] = seccOptions.Value.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Secc:TlsPort"] = seccOptions.Value.TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Secc:Interface"] = seccOptions.Value.Interface,
                ["Slac:Interface"] = slac.Value.Interface,
                ["Modbus:Address"] = modbusOptions.Value.Address,
                ["Modbus:Port"] = (station.Settings.ModbusPort ?? modbusOptions.Value.Port).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Api:Urls"] = apiOptions.Value.Urls,
            },
        });
    });
}
