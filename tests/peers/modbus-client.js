// A Modbus TCP master built on the third-party library modbus-serial, doing what a HEMS (evcc) does: FC3 reads,
// FC16 writes. Usage: node modbus-client.js HOST PORT UNIT OP... where OP is read:ADDRESS:COUNT (FC3),
// input:ADDRESS:COUNT (FC4), write:ADDRESS:VALUE[,VALUE...] (FC16) or write6:ADDRESS:VALUE (FC6).
// Prints one JSON object per operation: {op, ok, data|error, exception}.
const ModbusRTU = require('modbus-serial');

(async () => {
  const [host, port, unit, ...ops] = process.argv.slice(2);
  const client = new ModbusRTU();
  await client.connectTCP(host, { port: Number(port) });
  client.setID(Number(unit));
  client.setTimeout(3000);
  for (const op of ops) {
    const [kind, address, arg] = op.split(':');
    try {
      let result;
      if (kind === 'read') result = (await client.readHoldingRegisters(Number(address), Number(arg))).data;
      else if (kind === 'input') result = (await client.readInputRegisters(Number(address), Number(arg))).data;
      else if (kind === 'write') result = await client.writeRegisters(Number(address), arg.split(',').map(Number));
      else if (kind === 'write6') result = await client.writeRegister(Number(address), Number(arg));
      else throw new Error('unknown operation ' + kind);
      console.log(JSON.stringify({ op, ok: true, data: result }));
    } catch (e) {
      console.log(JSON.stringify({ op, ok: false, error: e.message, exception: e.modbusCode ?? null }));
    }
  }
  client.close(() => {});
})().catch((e) => { console.error('FAIL', e.message); process.exit(1); });
