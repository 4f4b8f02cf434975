using Juice.Station.Core;
using Juice.Station.Energy;
using Juice.Station.Energy.Dlm;
using Juice.Station.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Juice.Station.Api;

/// <summary>
/// The LOAD MANAGEMENT and INSTALLATION pages' live state: GET /api/load-management (the DLM role and what it does,
/// the external input, the schedule in force, each connector's current and the limit that binds it), PUT
/// /api/load-management/external-input (the level of an input without hardware) and GET /api/installation (the
/// installation's facts that load management works with). The settings themselves go through PUT /api/settings.
/// </summary>
public static class LoadManagementApi
{
    public sealed record InputLevel(string? Level);

    public static void MapLoadManagement(this RouteGroupBuilder api)
    {
        api.MapGet("/load-management", (ChargingStation station, SettingsStore settings, DlmService dlm, LocalLimits local, ExternalInput input, SurplusCharging surplus, Energy.Semp.SempService sma) =>
        {
            var s = settings.Current;
            var slave = dlm.SlaveStatus();
            return Results.Ok(new
            {
                mode = s.DlmMode,
                modbusMode = (int)s.DlmMode,
                master = dlm.MasterStatus() is { } m ? new
                {
                    slavesConnected = m.SlavesConnected,
                    slavesLost = m.SlavesLost,
                    applied = m.Applied,
                    available = m.Available,
                    reportPort = dlm.MasterEndPoint?.Port,
                    otherLoads = dlm.OtherLoads,
                    connectors = m.Connectors,
                } : null,
                slave = slave is { } sl ? new { connected = sl.Connected, master = sl.Master, address = sl.Address?.ToString() } : null,
                externalInput = new
                {
                    source = input.Source,
                    hardware = input.Hardware,
                    level = input.High is { } high ? (high ? "high" : "low") : null,
                    activeLow = s.ExternalInputActiveLow,
                    active = input.Active(s.ExternalInputActiveLow),
                    usedBy = s.ExternalInputEnabled ? "Local" : s.DlmExternalInput ? "DLM" : null,
                },
                schedule = local.ScheduleNow(),
                surplus = s.SurplusMode == SurplusMode.Off ? null : new { mode = s.SurplusMode, decision = surplus.Decision },
                sma = s.SmaInterface ? sma.State() : null,
                connectors = station.Connectors.Select(c => station.Snapshot(c.Id)).Select(c => new { c.Id, c.Status, c.SignalledCurrentA, binding = c.LimitReason }),
            });
        });

        api.MapPut("/load-management/external-input", (InputLevel body, ExternalInput input, SettingsStore settings) =>
        {
            if (body.Level is not ("high" or "low"))
            {
                return ApiProblem.Invalid("level", "high or low (the electrical level of the input; the polarity setting decides whether it is active)");
            }
            if (!input.Set(body.Level == "high"))
            {
                return ApiProblem.Of(StatusCodes.Status409Conflict, $"the external input is the hardware line {input.Source}; it cannot be set by hand");
            }
            return Results.Ok(new { level = body.Level, active = input.Active(settings.Current.ExternalInputActiveLow) });
        });

        api.MapGet("/installation", (ChargingStation station, IOptions<StationOptions> options, IOptions<ExternalInputOptions> inputOptions, IOptions<DlmOptions> dlmOptions,
            IOptions<GridMeterOptions> meterOptions, GridMeter meter) =>
        {
            var o = options.Value;
            return Results.Ok(new
            {
                hardwareCurrentLimit = o.MaxCurrent,
                phases = o.Phases,
                phaseSwitching = o.PhaseSwitching && o.Phases == 3,
                phaseRotation = o.Rotation.ToString(),
                nominalVoltage = o.NominalVoltage,
                energyTransfer = o.EnergyTransfer,
                connectors = station.Connectors.Select(c => new { c.Id, c.EvseId, meter = c.Meter.Read().MeterId }),
                gridMeter = meter.Configured
                    ? $"{meterOptions.Value.Address} ({meterOptions.Value.Map}, unit {meterOptions.Value.UnitId}): " + (meter.Latest is { } r ? $"{r.Currents}, {r.PowerW:0} W at {r.At:HH:mm:ss}" : "no reading yet") + (meter.Problem is { } p ? $"; {p}" : "")
                    : "none",
                externalInput = inputOptions.Value.GpioChip is { } chip ? $"GPIO chip {chip} line {inputOptions.Value.GpioLine}" : "none (set by the operator)",
                dlm = new { stationId = dlmOptions.Value.StationId ?? o.SerialNumber, port = dlmOptions.Value.Port, masterPort = dlmOptions.Value.MasterPort, discoveryAddress = dlmOptions.Value.DiscoveryAddress },
                keys = new Dictionary<string, string>
                {
                    ["hardwareCurrentLimit"] = "Station:MaxCurrent",
                    ["phases"] = "Station:Phases",
                    ["phaseSwitching"] = "Station:PhaseSwitching",
                    ["phaseRotation"] = "Station:PhaseRotation",
                    ["nominalVoltage"] = "Station:NominalVoltage",
                    ["externalInput"] = "ExternalInput:GpioChip, ExternalInput:GpioLine",
                    ["dlm"] = "Dlm:StationId, Dlm:Port, Dlm:MasterPort, Dlm:DiscoveryAddress",
                },
            });
        });
    }
}
