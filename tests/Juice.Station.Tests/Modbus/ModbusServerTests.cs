using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Juice.Hlc.Secc;
using Juice.Station.Core;
using Juice.Station.Persistence;

namespace Juice.Station.Tests.Modbus;

/// <summary>The Modbus TCP server of a running station, spoken to byte by byte: framing, function codes, exceptions, registers.</summary>
public sealed class ModbusServerTests : IAsyncLifetime
{
    private TestStation _station = null!;

    public async Task InitializeAsync() => _station = await TestStation.StartAsync(null, "--Station:Model=JUICE-TEST");

    public async Task DisposeAsync()
    {
        await _station.DisposeAsync();
        _station.DeleteFiles();
    }

    /// <summary>A minimal Modbus TCP master for the protocol tests (the third-party ones are in ThirdPartyModbusTests).</summary>
    private sealed class Master : IDisposable
    {
        private readonly TcpClient _tcp = new();
        private ushort _transaction = 0x1200;

        public static async Task<Master> ConnectAsync(IPEndPoint endpoint)
        {
            var m = new Master();
            await m._tcp.ConnectAsync(endpoint);
            return m;
        }

        public async Task<byte[]> Request(byte unit, params byte[] pdu)
        {
            var frame = new byte[7 + pdu.Length];
            BinaryPrimitives.WriteUInt16BigEndian(frame, ++_transaction);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(4), (ushort)(pdu.Length + 1));
            frame[6] = unit;
            pdu.CopyTo(frame, 7);
            await Raw(frame);
            var header = await ReadExactly(7);
            Assert.Equal(_transaction, BinaryPrimitives.ReadUInt16BigEndian(header));
            Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2)));
            Assert.Equal(unit, header[6]);
            return await ReadExactly(BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4)) - 1);
        }

        public Task Raw(byte[] bytes) => _tcp.GetStream().WriteAsync(bytes).AsTask();

        public async Task<byte[]> ReadExactly(int n)
        {
            var b = new byte[n];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _tcp.GetStream().ReadExactlyAsync(b, timeout.Token);
            return b;
        }

        /// <summary>Bytes the server sends, or 0 when it closed the connection (an orderly close or a reset).</summary>
        public async Task<int> ReadSome(byte[] buffer)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                return await _tcp.GetStream().ReadAsync(buffer, timeout.Token);
            }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                return 0;
            }
        }

        public async Task<ushort[]> Read(ushort start, ushort count, byte function = 3, byte unit = 255)
        {
            var r = await Request(unit, function, (byte)(start >> 8), (byte)start, (byte)(count >> 8), (byte)count);
            Assert.True(r[0] == function, $"exception {r[1]:x2} reading {start}");
            Assert.Equal(count * 2, r[1]);
            return [.. Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(2 + 2 * i)))];
        }

        public async Task<byte> ReadError(ushort start, ushort count)
        {
            var r = await Request(1, 3, (byte)(start >> 8), (byte)start, (byte)(count >> 8), (byte)count);
            Assert.Equal(0x83, r[0]);
            return r[1];
        }

        public Task<byte[]> Write16(ushort start, params ushort[] values)
        {
            var pdu = new byte[6 + 2 * values.Length];
            pdu[0] = 16;
            BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(1), start);
            BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(3), (ushort)values.Length);
            pdu[5] = (byte)(values.Length * 2);
            for (int i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(6 + 2 * i), values[i]);
            }
            return Request(255, pdu);
        }

        public Task<byte[]> Write6(ushort address, ushort value) => Request(1, 6, (byte)(address >> 8), (byte)address, (byte)(value >> 8), (byte)value);

        public void Dispose() => _tcp.Dispose();
    }

    [Fact]
    public async Task The_DLM_registers_show_the_role_and_limits_and_613_to_615_take_the_operators_sub_distribution_limit()
    {
        using var m = await Master.ConnectAsync(_station.ModbusEndPoint);
        Assert.Equal(0, (await m.Read(600, 1))[0]);   // disabled
        _station.Configure(s => s with { DlmMode = DlmMode.MasterStandalone, DlmSubDistributionL1 = 40, DlmSubDistributionL2 = 41, DlmSubDistributionL3 = 42 });
        Assert.Equal(2, (await m.Read(600, 1))[0]);
        Assert.Equal([40, 41, 42, 63, 63, 63], await m.Read(610, 6));

        var written = await m.Write16(613, 20, 21, 22);
        Assert.Equal(16, written[0]);
        Assert.Equal([20, 21, 22], await m.Read(613, 3));
        Assert.Equal((20.0, 21.0, 22.0), (_station.Settings.Current.DlmOperatorSubDistributionL1, _station.Settings.Current.DlmOperatorSubDistributionL2, _station.Settings.Current.DlmOperatorSubDistributionL3));
        var refused = await m.Write6(614, 2001);
        Assert.Equal([0x86, 0x03], refused);   // ILLEGAL DATA VALUE, nothing changed
        Assert.Equal(21, (await m.Read(614, 1))[0]);
        Assert.Equal(0x86, (await m.Write6(610, 10))[0]);   // the installation's limit is read-only
        // the master distributes the lower of the two limits per phase (633-635); no slaves yet (621)
        await TestStation.WaitFor(() => m.Read(633, 3).Result.SequenceEqual(new ushort[] { 20, 21, 22 }), "the master's available current in 633-635");
        Assert.Equal(0, (await m.Read(621, 1))[0]);
    }

    private static string Ascii(ushort[] registers) => Encoding.ASCII.GetString([.. registers.SelectMany(r => new[] { (byte)(r >> 8), (byte)r })]);

    [Fact]
    public async Task Identity_registers_read_as_the_set_describes_them()
    {
        using var m = await Master.ConnectAsync(_station.ModbusEndPoint);
        Assert.Equal("5.33", Ascii(await m.Read(100, 2)));
        Assert.Equal("0.14", Ascii(await m.Read(120, 2)));
        Assert.Equal(0xEBEE, (await m.Read(141, 1))[0]);
        string model = Ascii(await m.Read(142, 10));
        Assert.Equal("JUICE-TEST          ", model);   // space padded, never trailing NULs
        Assert.Equal(1, (await m.Read(122, 1))[0]);     // A
        Assert.Equal(0x0A, (await m.Read(123, 1))[0]);
        Assert.Equal(32, (await m.Read(133, 1))[0]);
        Assert.Equal(0, (await m.Read(104, 1))[0]);     // Available
        Assert.Equal([0, 0], await m.Read(102, 2));     // a gap inside a block reads 0
    }

    [Theory]
    [InlineData(1001, 1)]   // Mennekes-only registers: a widely used energy manager probes them
    [InlineData(1002, 1)]
    [InlineData(153, 1)]    // just past the end of a block
    [InlineData(150, 4)]    // a read that runs out of its block
    [InlineData(99, 1)]
    [InlineData(5000, 2)]
    public async Task Addresses_outside_the_blocks_are_ILLEGAL_DATA_ADDRESS(int start, int count)
    {
        using var m = await Master.ConnectAsync(_station.ModbusEndPoint);
        Assert.Equal(0x02, await m.ReadError((ushort)start, (ushort)count));
    }

    [Fact]
    public async Task An_unknown_function_is_ILLEGAL_FUNCTION_and_a_bad_quantity_ILLEGAL_DATA_VALUE()
    {
        using var m = await Master.ConnectAsync(_station.ModbusEndPoint);
        Assert.Equal(new byte[] { 0x81, 0x01 }, await m.Request(1, 1, 0, 0, 0, 1));             // FC1 read coils
        Assert.Equal(new byte[] { 0xAB, 0x01 }, await m.Request(1, 0x2B, 0x0E, 1, 0));          // FC43 device identification
        Assert.Equal(new byte[] { 0x83, 0x03 }, await m.Request(1, 3, 0, 100, 0, 126));         // more than 125 registers
        Assert.Equal(new byte[] { 0x83, 0x03 }, await m.Request(1, 3, 0, 100, 0, 0));
        Assert.Equal(new byte[] { 0x90, 0x03 }, await m.Request(1, 16, 0x03, 0xE8, 0, 1, 3, 0, 10));   // byte count mismatch
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(255)]
    public async Task Every_unit_id_is_answered_and_FC4_reads_the_same_registers(byte unit)
    {
        using var m = await Master.ConnectAsync(_station.ModbusEndPoint);
        Assert.Equal(await m.Read(141, 1, 3, unit), await m.Read(141, 1, 4, unit));
    }

    [Fact]
    public async Task The_HEMS_limit_is_written_with_FC16_or_FC6_read_back_and_applied()
    {
        using var m = await Master.ConnectAsync(_station.ModbusEndPoint);
        Assert.Equal(32, (await m.Read(1000, 1))[0]);   // before any write: the hardware limit
        Assert.Equal(new byte[] { 16, 0x03, 0xE8, 0, 1 }, await m.Write16(1000, 10));
        Assert.Equal(10, (await m.Read(1000, 1))[0]);
        Assert.Equal(10, (await m.Read(706, 1))[0]);    // the signalled current follows
        Assert.Equal(new byte[] { 6, 0x03, 0xE8, 0, 0 }, await m.Write6(1000, 0));
        Assert.Equal(0, _station.Station.Snapshot(1).SignalledCurrentA);
        Assert.Equal(new byte[] { 0x90, 0x03 }, (await m.Write16(1000, 33))[..2]);   // above the hardware limit
        Assert.Equal(0, (await m.Read(1000, 1))[0]);
    }

    [Fact]
    public async Task Read_only_registers_refuse_writes_and_availability_safe_current_and_timeout_take_them()
    {
        using var m = await Master.ConnectAsync(_station.ModbusEndPoint);
        Assert.Equal(new byte[] { 0x86, 0x02 }, await m.Write6(122, 3));
        Assert.Equal(new byte[] { 0x90, 0x02 }, (await m.Write16(1001, 1))[..2]);
        Assert.Equal(new byte[] { 0x86, 0x03 }, await m.Write6(124, 2));
        await m.Write6(124, 1);
        Assert.Equal(Availability.Inoperative, _station.Station.Snapshot(1).Availability);
        Assert.Equal(3, (await m.Read(104, 1))[0]);   // Unavailable
        await m.Write6(124, 0);
        await m.Write16(131, 10, 60);                 // safe current and communication timeout in one write
        Assert.Equal([10, 60], await m.Read(131, 2));
        Assert.Equal(10, _station.Settings.Current.ModbusSafeCurrent);
        Assert.Equal(60, _station.Settings.Current.ModbusCommunicationTimeout);
        Assert.Equal(new byte[] { 0x90, 0x03 }, (await m.Write16(131, 8, 5000))[..2]);   // one bad value: nothing is written
        Assert.Equal([10, 60], await m.Read(131, 2));
    }

    private static ushort[] UserId(string id)
    {
        var bytes = Encoding.ASCII.GetBytes(id.PadLeft(20));
        return [.. Enumerable.Range(0, 10).Select(i => (ushort)((bytes[2 * i] << 8) | bytes[2 * i + 1]))];
    }

    [Fact]
    public async Task A_user_id_written_to_1110_starts_and_stops_a_transaction_only_when_allowed()
    {
        _station.Whitelist("04A1B2C3");
        _station.Station.SetVehicleState(1, CpState.C);
        using var m = await Master.ConnectAsync(_station.ModbusEndPoint);
        Assert.Equal(new byte[] { 0x90, 0x01 }, (await m.Write16(1110, UserId("04A1B2C3")))[..2]);   // not allowed
        Assert.Null(_station.Station.Snapshot(1).Transaction);
        _station.Configure(s => s with { ModbusAllowStartStop = true });
        Assert.Equal(16, (await m.Write16(1110, UserId("04A1B2C3")))[0]);
        await TestStation.WaitFor(() => _station.Station.Snapshot(1).Transaction is not null, "the transaction");
        Assert.Equal(IdSource.Modbus, _station.Station.Snapshot(1).Transaction!.IdTag.Source);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], await m.Read(720, 10));   // no UID disclosure by default
        _station.Configure(s => s with { ModbusAllowUidDisclose = true });
        Assert.Equal("            04A1B2C3", Ascii(await m.Read(720, 10)));
        await m.Write16(1110, UserId("04A1B2C3"));
        await TestStation.WaitFor(() => _station.Station.Snapshot(1).Transaction is null, "the stop");
        // the session is over: 720-729 no longer name its user (evcc would name the next, not yet authorized car so)
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], await m.Read(720, 10));
        Assert.Equal(new byte[] { 0x90, 0x03 }, (await m.Write16(1110, 1, 2, 3))[..2]);   // three registers: no pair
        Assert.Equal(new byte[] { 0x90, 0x03 }, (await m.Write16(1111, 1, 2))[..2]);      // a pair that starts at an odd address

        // the manual's way: five 2-register writes at 1110, 1112, ..., 1118; the last one presents the id
        var id = UserId("04A1B2C3");
        for (int pair = 0; pair < 5; pair++)
        {
            Assert.Equal(16, (await m.Write16((ushort)(1110 + 2 * pair), id[2 * pair], id[2 * pair + 1]))[0]);
            if (pair < 4)
            {
                Assert.Null(_station.Station.Snapshot(1).Transaction);   // not before the id is whole
            }
        }
        await TestStation.WaitFor(() => _station.Station.Snapshot(1).Transaction is not null, "the transaction from the pairwise user id");
        Assert.Equal("04A1B2C3", _station.Station.Snapshot(1).Transaction!.IdTag.Value);
    }

    [Fact]
    public async Task A_malformed_MBAP_header_closes_the_connection_and_the_next_master_is_served()
    {
        using (var m = await Master.ConnectAsync(_station.ModbusEndPoint))
        {
            await m.Raw([0, 1, 0, 7, 0, 6, 1, 3, 0, 100, 0, 1]);   // protocol id 7
            Assert.Equal(0, await m.ReadSome(new byte[16]));
        }
        using (var m = await Master.ConnectAsync(_station.ModbusEndPoint))
        {
            await m.Raw([0, 1, 0, 0, 0xFF, 0xFF, 1, 3]);           // a length of 65535
            Assert.Equal(0, await m.ReadSome(new byte[16]));
        }
        using var next = await Master.ConnectAsync(_station.ModbusEndPoint);
        Assert.Equal(0xEBEE, (await next.Read(141, 1))[0]);
    }

    [Fact]
    public async Task While_a_bidirectional_EV_feeds_in_the_unsigned_meter_registers_read_0_and_1020_1022_tell_the_rest()
    {
        _station.Configure(s => s with { FreeCharging = true, Bidirectional = true });
        using var m = await Master.ConnectAsync(_station.ModbusEndPoint);
        Assert.Equal([0x06, 0x03, 0xFC, 0x1F, 0x40], await m.Request(255, 0x06, 0x03, 0xFC, 0x1F, 0x40));   // 1020 = 8000 W
        var ev = new EvIdentity(Convert.FromHexString("AC91A1565F46"), "ISO 15118-20");
        var point = _station.Station.AttachHlc(1)!;
        point.SessionStarted(ev);
        await point.AuthorizeAsync(new AuthorizationRequest(ev, IdentificationMode.External), default);
        point.EvNeedsChanged(new EvNeeds(EnergyTransfer.Dc, 10_000, null, 100, 1, 450, 50_000, 50, MaxDischargePowerW: 20_000));
        Assert.Equal(8_000, point.Limits.DischargeRequestW);
        Assert.True(await point.SetEnergyTransferAsync(true, default));
        point.DcTarget(400, -20);
        Assert.True(_station.Station.Snapshot(1).Meter.TotalPowerW < 0);
        var r = await m.Read(200, 28);
        uint U32(int address) => ((uint)r[address - 200] << 16) | r[address - 199];
        Assert.Equal(0u, U32(212));
        Assert.Equal(0u, U32(220));
        Assert.Equal(8_000, (await m.Read(1020, 1))[0]);
        var extension = await m.Read(1020, 4);              // 1020-1023 readable; 1022-1023 the energy fed back so far (Wh)
        Assert.Equal(0, extension[1]);
        Assert.True((((uint)extension[2] << 16) | extension[3]) < 100);
        point.SessionEnded(SessionEndReason.EvStopped);
        ((IDisposable)point).Dispose();
    }

    [Fact]
    public async Task Meter_registers_are_32_bit_high_word_first_and_not_available_values_are_all_ones()
    {
        _station.Whitelist("04A1B2C3");
        _station.Station.SetVehicleState(1, CpState.C);
        await _station.Station.PresentIdAsync(1, new IdToken("04A1B2C3", IdSource.Rfid));
        using var m = await Master.ConnectAsync(_station.ModbusEndPoint);
        var r = await m.Read(200, 28);
        uint U32(int address) => ((uint)r[address - 200] << 16) | r[address - 199];
        Assert.Equal(32_000u, U32(212));                 // current L1 in mA
        Assert.Equal(230u, U32(222));                    // voltage L1
        Assert.Equal(3 * 230 * 32u, U32(220));           // total power W
        Assert.Equal(0xFFFF, (await m.Read(730, 1))[0]); // no SoC from a basic car
        Assert.Equal([0xFFFF, 0xFFFF], await m.Read(713, 2));   // EV required energy unknown
        Assert.Equal(0, (await m.Read(740, 1))[0]);      // not a smart vehicle
        Assert.Equal(new ushort[6], await m.Read(741, 6));
        Assert.Equal(6, (await m.Read(104, 1))[0]);      // Charging
        Assert.Equal(3, (await m.Read(122, 1))[0]);      // C
        Assert.Equal(1, (await m.Read(140, 1))[0]);      // three phases
    }
}
