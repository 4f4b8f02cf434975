using Juice.Station.Core;
using Juice.Station.Ocpp;
using Microsoft.Extensions.DependencyInjection;
using static Juice.Station.Tests.Ocpp.OcppConnectionTests;

namespace Juice.Station.Tests.Ocpp;

/// <summary>Reset, DataTransfer both ways and clock-aligned meter values.</summary>
public sealed class OcppOperationTests
{
    /// <summary>A vendor extension that answers DataTransfer calls of its vendorId (the dispatch point of the Plug &amp; Charge dialects).</summary>
    private sealed class EchoVendor : IDataTransferHandler
    {
        public string VendorId => "com.example.echo";

        public Task<DataTransferResult> HandleAsync(string? messageId, string? data, CancellationToken cancellationToken) =>
            Task.FromResult(messageId == "Echo"
                ? new DataTransferResult("Accepted", data?.ToUpperInvariant())
                : new DataTransferResult("UnknownMessageId"));
    }

    [Fact]
    public async Task DataTransfer_from_the_central_system_reaches_the_handler_of_its_vendorId_and_the_station_can_send_its_own()
    {
        await using var csms = await Csms.StartAsync();
        await csms.Set("dataTransfer", new Dictionary<string, object> { ["com.example.echo/Ping"] = new { status = "Accepted", data = "pong" } });
        await using var station = await TestStation.StartAsync(null,
            s => s.AddSingleton<IDataTransferHandler, EchoVendor>(),
            Backend(csms));
        await csms.WaitForCall("StatusNotification");

        var echo = await csms.Call("DataTransfer", new { vendorId = "com.example.echo", messageId = "Echo", data = "hello" });
        Assert.Equal("Accepted", echo.GetProperty("status").GetString());
        Assert.Equal("HELLO", echo.GetProperty("data").GetString());
        Assert.Equal("UnknownMessageId", (await csms.Call("DataTransfer", new { vendorId = "com.example.echo", messageId = "Other" })).GetProperty("status").GetString());
        Assert.Equal("UnknownVendorId", (await csms.Call("DataTransfer", new { vendorId = "org.nobody" })).GetProperty("status").GetString());

        var backend = station.App.Services.GetRequiredService<IOcppBackend>();
        var answer = await backend.DataTransferAsync("com.example.echo", "Ping", "{}", CancellationToken.None);
        Assert.Equal(new DataTransferResult("Accepted", "pong"), answer);
        Assert.Equal("UnknownVendorId", (await backend.DataTransferAsync("org.nobody", null, null, CancellationToken.None)).Status);
        Assert.Empty(csms.Violations);
    }

    [Fact]
    public async Task A_soft_Reset_stops_the_transaction_with_reason_SoftReset_and_the_station_boots_again()
    {
        await using var csms = await Csms.StartAsync();
        await csms.Set("defaultAuthorize", "Accepted");
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        await csms.WaitForCall("StatusNotification", p => p.GetProperty("connectorId").GetInt32() == 1);
        await station.Station.PresentIdAsync(1, new IdToken("04A1B2C3", IdSource.Rfid));
        station.Station.SetVehicleState(1, CpState.C);
        int tx = (await csms.WaitForCall("StartTransaction")).GetProperty("result").GetProperty("transactionId").GetInt32();

        Assert.Equal("Accepted", (await csms.Call("Reset", new { type = "Soft" })).GetProperty("status").GetString());
        var stop = (await csms.WaitForCall("StopTransaction")).GetProperty("params");
        Assert.Equal(tx, stop.GetProperty("transactionId").GetInt32());
        Assert.Equal("SoftReset", stop.GetProperty("reason").GetString());
        await csms.WaitForConnection(2);
        await csms.WaitForCall("BootNotification", n: 2);
        Assert.Empty(csms.Violations);
    }

    [Fact]
    public async Task Clock_aligned_meter_values_are_sent_at_every_ClockAlignedDataInterval_with_the_aligned_measurands()
    {
        await using var csms = await Csms.StartAsync();
        await using var station = await TestStation.StartAsync(null, Backend(csms));
        await csms.WaitForCall("StatusNotification");
        Assert.Equal("Accepted", (await csms.Call("ChangeConfiguration", new { key = "MeterValuesAlignedData", value = "Energy.Active.Import.Register,Voltage" })).GetProperty("status").GetString());
        Assert.Equal("Accepted", (await csms.Call("ChangeConfiguration", new { key = "ClockAlignedDataInterval", value = "1" })).GetProperty("status").GetString());
        var meter = (await csms.WaitForCall("MeterValues", n: 2, seconds: 10)).GetProperty("params");
        Assert.False(meter.TryGetProperty("transactionId", out _));
        var values = meter.GetProperty("meterValue")[0].GetProperty("sampledValue").EnumerateArray().ToList();
        Assert.All(values, v => Assert.Equal("Sample.Clock", v.GetProperty("context").GetString()));
        Assert.Equal(["Energy.Active.Import.Register", "Voltage", "Voltage", "Voltage"], values.Select(v => v.GetProperty("measurand").GetString()!).ToArray());
        Assert.Equal("L1-N", values[1].GetProperty("phase").GetString());
        Assert.Empty(csms.Violations);
        _ = station;
    }
}
