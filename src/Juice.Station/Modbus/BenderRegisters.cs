using System.Text;
using Juice.Station.Core;
using Juice.Station.Persistence;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Modbus;

/// <summary>
/// The Bender/ebee ("OMCCI") Modbus register set of one connector (station-specs §3; the README's register table
/// lists every register and the decisions where the public description is silent). Big-endian registers, 32-bit
/// values high word first (except ERROR_CODES, little-endian as the Mennekes description's example shows), ASCII
/// two characters per register without trailing NULs, 0xFFFF / 0xFFFFFFFF for "not available". Registers inside a
/// block that mean nothing read as 0; any address outside the blocks is ILLEGAL DATA ADDRESS (02), so 1001 and 1002
/// are refused as evcc expects of this set. 1020–1023 extend the table for bidirectional power (README): 1020 the HEMS
/// discharge request in W (R/W), 1022–1023 the energy the running session fed back in Wh (u32).
/// </summary>
public sealed partial class BenderRegisters(ChargingStation station, SettingsStore settings, int connector, ILogger logger, Juice.Station.Energy.Dlm.DlmService? dlm = null) : IModbusRegisters
{
    /// <summary>The blocks of the register set (first and last register, inclusive).</summary>
    public static readonly (ushort First, ushort Last)[] Blocks = [(100, 152), (200, 227), (600, 635), (700, 746), (1000, 1000), (1020, 1023), (1110, 1119)];

    public const ushort NotAvailable16 = 0xFFFF;
    public const uint NotAvailable32 = 0xFFFFFFFF;

    public void Activity() => station.ModbusActivity();

    private static bool Inside(int start, int count) => Blocks.Any(b => start >= b.First && start + count - 1 <= b.Last);

    public ModbusException Read(ushort start, Span<ushort> values)
    {
        if (!Inside(start, values.Length))
        {
            return ModbusException.IllegalDataAddress;
        }
        var image = Image();
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = image.TryGetValue(start + i, out ushort v) ? v : (ushort)0;
        }
        return ModbusException.None;
    }

    /// <summary>Every defined register of this connector now, by address.</summary>
    internal Dictionary<int, ushort> Image()
    {
        var o = station.Options;
        var s = settings.Current;
        var c = station.Snapshot(connector);
        var m = c.Meter;
        var r = new Dictionary<int, ushort>(256);
        Ascii(r, 100, 2, o.FirmwareVersion);
        r[104] = OcppStatus(c.Status);
        // 105–110: ERROR_CODES_1..3 are reserved (0); 111–112: ERROR_CODES_4, 32 bits little-endian (station-specs §3.1)
        uint errors = c.ErrorCodes;
        r[111] = (ushort)(((errors & 0xFF) << 8) | ((errors >> 8) & 0xFF));
        r[112] = (ushort)((((errors >> 16) & 0xFF) << 8) | ((errors >> 24) & 0xFF));
        Ascii(r, 120, 2, "0.14");
        r[122] = (ushort)c.CpState;
        r[123] = (ushort)(0x09 + (int)c.CpState);
        r[124] = (ushort)(c.Availability == Availability.Operative ? 0 : 1);
        r[131] = s.ModbusSafeCurrent;
        r[132] = s.ModbusCommunicationTimeout;
        r[133] = (ushort)Math.Round(o.MaxCurrent);
        r[134] = (ushort)Math.Round(s.OperatorCurrentLimit ?? o.MaxCurrent);
        r[140] = (ushort)c.Relay;
        r[141] = 0xEBEE;
        Ascii(r, 142, 10, o.Model);
        r[152] = (ushort)(c.CpState is CpState.B or CpState.C or CpState.D ? 1 : 0);

        U32(r, 200, Wh(m.EnergyWh.L1));
        U32(r, 202, Wh(m.EnergyWh.L2));
        U32(r, 204, Wh(m.EnergyWh.L3));
        U32(r, 206, Wh(m.PowerW.L1));
        U32(r, 208, Wh(m.PowerW.L2));
        U32(r, 210, Wh(m.PowerW.L3));
        // the set is unsigned: while a bidirectional EV feeds in, power and currents read 0 (1022 counts what it feeds)
        U32(r, 212, Wh(m.CurrentA.L1 * 1000));
        U32(r, 214, Wh(m.CurrentA.L2 * 1000));
        U32(r, 216, Wh(m.CurrentA.L3 * 1000));
        U32(r, 218, Wh(m.TotalEnergyWh));
        U32(r, 220, Wh(m.TotalPowerW));
        U32(r, 222, (uint)Math.Round(m.VoltageV.L1));
        U32(r, 224, (uint)Math.Round(m.VoltageV.L2));
        U32(r, 226, (uint)Math.Round(m.VoltageV.L3));

        // 600–635: dynamic load management (600: the role, 0 disabled); without DLM the station's own limits
        r[600] = (ushort)s.DlmMode;
        ushort offered = (ushort)Math.Round(Math.Min(o.MaxCurrent, s.OperatorCurrentLimit ?? o.MaxCurrent));
        bool dlmOn = s.DlmMode != DlmMode.Disabled;
        double[] sub = [s.DlmSubDistributionL1, s.DlmSubDistributionL2, s.DlmSubDistributionL3];
        double[] operatorSub = [s.DlmOperatorSubDistributionL1, s.DlmOperatorSubDistributionL2, s.DlmOperatorSubDistributionL3];
        for (int i = 0; i < 3; i++)
        {
            r[610 + i] = (ushort)Math.Round(dlmOn ? sub[i] : o.MaxCurrent);
            r[613 + i] = (ushort)Math.Round(dlmOn ? operatorSub[i] : s.OperatorCurrentLimit ?? o.MaxCurrent);
            r[633 + i] = offered;
        }
        r[620] = (ushort)(s.DlmExternalMeter ? 1 : 0);
        r[630] = (ushort)Math.Round(m.CurrentA.L1);
        r[631] = (ushort)Math.Round(m.CurrentA.L2);
        r[632] = (ushort)Math.Round(m.CurrentA.L3);
        if (dlm?.MasterStatus() is { } master)
        {
            // the master: what it distributes among the slaves and what it has
            r[621] = (ushort)master.SlavesConnected;
            for (int i = 0; i < 3; i++)
            {
                r[630 + i] = (ushort)Math.Round(master.Applied[i]);
                r[633 + i] = (ushort)Math.Round(master.Available[i]);
            }
        }

        SessionRegisters(r, c, s, o);

        r[1000] = station.HemsLimit ?? (ushort)Math.Round(o.MaxCurrent);
        r[1020] = station.HemsDischargeRequest ?? 0;
        U32(r, 1022, (uint)Math.Round(c.SessionExportedWh));
        return r;
    }

    /// <summary>700–746: the session (the running one, else the last), fed by the live ISO 15118 session where there is one.</summary>
    private void SessionRegisters(Dictionary<int, ushort> r, ConnectorSnapshot c, OperatorSettings s, StationOptions o)
    {
        if (c.EvNeeds?.Departure is { } departure)
        {
            var local = TimeZoneInfo.ConvertTime(departure, o.Zone);
            r[701] = Bcd(local.Hour);
            r[702] = (ushort)((Bcd(local.Minute) << 8) | Bcd(local.Second));
            r[703] = (ushort)((Bcd(local.Day) << 8) | Bcd(local.Month));
            r[704] = (ushort)((Bcd(local.Year / 100) << 8) | Bcd(local.Year % 100));
        }
        double energy;
        TimeSpan duration;
        DateTimeOffset? start, end;
        string? user;
        if (c.Transaction is { } tx)
        {
            energy = c.SessionEnergyWh;
            duration = c.SessionDuration;
            start = tx.Start;
            end = null;
            user = tx.IdTag.Value;
        }
        else if (c.LastSession is { } last)
        {
            energy = last.EnergyWh;
            duration = last.Duration;
            start = last.Start;
            end = last.Stop;
            // 720-729 name the user of this session only (evcc names a basic car by them): none after the session
            // ends, the new one once a new car is authorized, never the previous user's
            user = c.Authorized?.Value;
        }
        else
        {
            energy = 0;
            duration = TimeSpan.Zero;
            start = end = null;
            user = c.Authorized?.Value;
        }
        r[705] = (ushort)((uint)Math.Round(energy) & 0xFFFF);
        r[706] = (ushort)Math.Round(c.SignalledCurrentA);
        U32(r, 707, start is { } st ? (uint)st.ToUnixTimeSeconds() : 0);
        r[709] = (ushort)((uint)duration.TotalSeconds & 0xFFFF);
        U32(r, 710, end is { } en ? (uint)en.ToUnixTimeSeconds() : 0);
        r[712] = (ushort)Math.Round(c.EvNeeds?.MinCurrentA ?? ChargingStation.MinimumCurrent);
        U32(r, 713, c.EvNeeds?.EnergyRequestWh is { } req ? (uint)Math.Round(req) : NotAvailable32);
        r[715] = c.EvNeeds?.MaxCurrentA is { } max ? (ushort)Math.Round(max) : NotAvailable16;
        U32(r, 716, (uint)Math.Round(energy));
        U32(r, 718, (uint)duration.TotalSeconds);
        if (s.ModbusAllowUidDisclose && user is { Length: > 0 })
        {
            Ascii(r, 720, 10, user.Length > 20 ? user[..20] : user.PadLeft(20));
        }
        r[730] = c.EvNeeds?.StateOfCharge is int soc and >= 0 and <= 100 ? (ushort)soc : NotAvailable16;
        r[740] = (ushort)(c.SmartVehicle ? 1 : 0);
        if (c.SmartVehicle && c.Evccid is { Length: > 0 } evccid)
        {
            // 12 ASCII characters: an 8-byte DIN EVCCID shows its last six bytes (where the MAC sits)
            Ascii(r, 741, 6, evccid.Length > 12 ? evccid[^12..] : evccid.PadLeft(12, '0'));
        }
    }

    public ModbusException Write(ushort start, ReadOnlySpan<ushort> values)
    {
        if (!Inside(start, values.Length))
        {
            return ModbusException.IllegalDataAddress;
        }
        if (start is >= 1110 and <= 1119)
        {
            return UserIdWrite(start, values);
        }
        for (int i = 0; i < values.Length; i++)
        {
            int address = start + i;
            if (address is not (124 or 131 or 132 or 613 or 614 or 615 or 1000 or 1020))
            {
                return ModbusException.IllegalDataAddress;   // a read-only register
            }
        }
        // check every value before changing anything: a write is applied whole or not at all
        for (int i = 0; i < values.Length; i++)
        {
            ushort v = values[i];
            bool valid = (start + i) switch
            {
                124 => v is 0 or 1,
                131 => v <= station.Options.MaxCurrent,
                132 => v <= 3600,
                613 or 614 or 615 => v <= 2000,   // A; the operator's limit of the DLM sub-distribution
                1000 => v <= station.Options.MaxCurrent,
                1020 => true,   // W; the station applies it within the operator's discharge limit
                _ => false,
            };
            if (!valid)
            {
                Log.BadValue(logger, start + i, v);
                return ModbusException.IllegalDataValue;
            }
        }
        for (int i = 0; i < values.Length; i++)
        {
            ushort v = values[i];
            switch (start + i)
            {
                case 124:
                    station.SetAvailability(connector, v == 0 ? Availability.Operative : Availability.Inoperative);
                    break;
                case 131:
                    settings.Update(x => x with { ModbusSafeCurrent = v });
                    break;
                case 132:
                    settings.Update(x => x with { ModbusCommunicationTimeout = v });
                    break;
                case 613:
                    settings.Update(x => x with { DlmOperatorSubDistributionL1 = v });
                    break;
                case 614:
                    settings.Update(x => x with { DlmOperatorSubDistributionL2 = v });
                    break;
                case 615:
                    settings.Update(x => x with { DlmOperatorSubDistributionL3 = v });
                    break;
                case 1000:
                    station.SetHemsLimit(v);
                    break;
                case 1020:
                    station.SetHemsDischargeRequest(v);
                    break;
            }
            Log.Written(logger, start + i, v);
        }
        return ModbusException.None;
    }

    private readonly Lock _userIdGate = new();
    private readonly ushort[] _userIdParts = new ushort[10];
    private int _userIdFilled;   // one bit per register pair 1110, 1112, …, 1118
    private long _userIdSince;

    /// <summary>How long the parts of a user id written pair by pair wait for the rest.</summary>
    public static readonly TimeSpan UserIdPartsWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// 1110–1119 as one write of all 10 registers, or as the manual's table lists them: 2-register writes at 1110,
    /// 1112, …, 1118 (several pairs in one write too). Pairs are collected; the write that completes the five pairs
    /// presents the id, and parts older than <see cref="UserIdPartsWait"/> are dropped. Anything else (an odd start,
    /// an odd count) is ILLEGAL DATA VALUE.
    /// </summary>
    private ModbusException UserIdWrite(ushort start, ReadOnlySpan<ushort> values)
    {
        int offset = start - 1110;
        if (offset % 2 != 0 || values.Length % 2 != 0 || values.Length == 0 || offset + values.Length > 10)
        {
            return ModbusException.IllegalDataValue;
        }
        if (values.Length == 10)
        {
            return UserId(values);
        }
        ushort[] complete;
        lock (_userIdGate)
        {
            var time = station.Time;
            if (_userIdFilled != 0 && time.GetElapsedTime(_userIdSince) > UserIdPartsWait)
            {
                _userIdFilled = 0;   // what is left of an earlier id is not part of this one
            }
            if (_userIdFilled == 0)
            {
                _userIdSince = time.GetTimestamp();
            }
            values.CopyTo(_userIdParts.AsSpan(offset));
            for (int pair = offset / 2; pair < (offset + values.Length) / 2; pair++)
            {
                _userIdFilled |= 1 << pair;
            }
            if (_userIdFilled != 0b11111)
            {
                return ModbusException.None;
            }
            complete = [.. _userIdParts];
            _userIdFilled = 0;
        }
        return UserId(complete);
    }

    /// <summary>
    /// 1110–1119: a user id (20 ASCII characters, right-aligned, padded with spaces or NULs on the left) presented as
    /// if it were a card: it stops the transaction it started, or goes through the normal authorization. Only with
    /// "Allow Start/Stop Transaction"; otherwise the write is refused with ILLEGAL FUNCTION.
    /// </summary>
    private ModbusException UserId(ReadOnlySpan<ushort> values)
    {
        if (!settings.Current.ModbusAllowStartStop)
        {
            Log.StartStopNotAllowed(logger);
            return ModbusException.IllegalFunction;
        }
        var bytes = new byte[20];
        for (int i = 0; i < 10; i++)
        {
            bytes[2 * i] = (byte)(values[i] >> 8);
            bytes[2 * i + 1] = (byte)values[i];
        }
        if (bytes.Any(b => b is not 0 and (< 0x20 or > 0x7E)))
        {
            return ModbusException.IllegalDataValue;
        }
        string id = Encoding.ASCII.GetString(bytes).Trim('\0', ' ');
        if (id.Length == 0)
        {
            return ModbusException.IllegalDataValue;
        }
        Log.UserId(logger, id);
        _ = Task.Run(async () =>
        {
            try
            {
                await station.PresentIdAsync(connector, new IdToken(id, IdSource.Modbus)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Log.UserIdFailed(logger, id, e.Message);
            }
        });
        return ModbusException.None;
    }

    /// <summary>104 OCPP CP status: the table of nymea and the Mennekes ECU description (station-specs §3.3).</summary>
    public static ushort OcppStatus(ConnectorStatus status) => status switch
    {
        ConnectorStatus.Available => 0,
        ConnectorStatus.Reserved => 2,
        ConnectorStatus.Unavailable => 3,
        ConnectorStatus.Faulted => 4,
        ConnectorStatus.Preparing => 5,
        ConnectorStatus.Charging => 6,
        ConnectorStatus.SuspendedEVSE => 7,
        ConnectorStatus.SuspendedEV => 8,
        ConnectorStatus.Finishing => 9,
        _ => 1,
    };

    private static uint Wh(double value) => (uint)Math.Max(0, Math.Min(uint.MaxValue - 1, Math.Round(value)));

    private static ushort Bcd(int value) => (ushort)(((value / 10) << 4) | (value % 10));

    private static void U32(Dictionary<int, ushort> r, int address, uint value)
    {
        r[address] = (ushort)(value >> 16);
        r[address + 1] = (ushort)value;
    }

    /// <summary>ASCII, two characters a register, high byte first, padded with spaces (never trailing NULs).</summary>
    private static void Ascii(Dictionary<int, ushort> r, int address, int registers, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text.Length > registers * 2 ? text[..(registers * 2)] : text.PadRight(registers * 2));
        for (int i = 0; i < registers; i++)
        {
            r[address + i] = (ushort)((bytes[2 * i] << 8) | bytes[2 * i + 1]);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Modbus write {Address} = {Value}")]
        public static partial void Written(ILogger logger, int address, ushort value);

        [LoggerMessage(2, LogLevel.Warning, "Modbus write {Address} = {Value} refused: value out of range")]
        public static partial void BadValue(ILogger logger, int address, ushort value);

        [LoggerMessage(3, LogLevel.Warning, "Modbus user id write refused: \"Allow Start/Stop Transaction\" is off")]
        public static partial void StartStopNotAllowed(ILogger logger);

        [LoggerMessage(4, LogLevel.Information, "Modbus user id {Id} presented")]
        public static partial void UserId(ILogger logger, string id);

        [LoggerMessage(5, LogLevel.Warning, "Modbus user id {Id} could not be presented: {Reason}")]
        public static partial void UserIdFailed(ILogger logger, string id, string reason);
    }
}
