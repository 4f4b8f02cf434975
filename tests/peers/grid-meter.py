#!/usr/bin/python3
"""A grid meter for the tests: a pymodbus TCP server. Usage: grid-meter.py PORT [sdm630|sunspec].
sdm630: the Eastron SDM630 map (input registers, float32 high word first: phase currents at 6/8/10, total power at 52).
sunspec: holding registers "SunS" at 40000, a common model (1), a wye meter model (203: AphA-AphC at offsets 1-3 with
A_SF -2 at 4, W at 16 with W_SF 1 at 20), the end model. Reads lines "L1 L2 L3 W" on stdin and serves them; prints
"ready" once it listens and "set ..." after each change."""
import asyncio, struct, sys, threading
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
from pymodbus.server import StartAsyncTcpServer

SUNSPEC = len(sys.argv) > 2 and sys.argv[2] == "sunspec"
COMMON, METER = 40002, 40002 + 2 + 66   # model 1 (66 registers), then model 203
if SUNSPEC:
    block = ModbusSequentialDataBlock(40000, [0] * 300)
    block.setValues(40000, [0x5375, 0x6E53])
    block.setValues(COMMON, [1, 66])
    block.setValues(METER, [203, 105])
    block.setValues(METER + 2 + 105, [0xFFFF, 0])
else:
    block = ModbusSequentialDataBlock(0, [0] * 100)
context = ModbusServerContext(slaves={1: ModbusSlaveContext(ir=block, hr=block, zero_mode=True)}, single=False)

def words(value):
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return [high, low]

def int16(value):
    return int(round(value)) & 0xFFFF

def serve(values):
    l1, l2, l3, w = values
    if SUNSPEC:
        base = METER + 2
        block.setValues(base + 1, [int16(l1 * 100), int16(l2 * 100), int16(l3 * 100), int16(-2)])
        block.setValues(base + 16, [int16(w / 10)])
        block.setValues(base + 20, [int16(1)])
        return
    block.setValues(6, words(l1) + words(l2) + words(l3))
    block.setValues(52, words(w))

def stdin():
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 4:
            serve([float(p) for p in parts])
            print("set", *parts, flush=True)

async def main():
    serve([0, 0, 0, 0])
    threading.Thread(target=stdin, daemon=True).start()
    server = asyncio.create_task(StartAsyncTcpServer(context=context, address=("127.0.0.1", int(sys.argv[1]))))
    await asyncio.sleep(0.5)
    print("ready", flush=True)
    await server

asyncio.run(main())
