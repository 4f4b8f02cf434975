// A scriptable OCPP 1.6J central system for the station's tests, built on the third-party library ocpp-rpc in
// strict mode: every message in both directions is validated against the OCPP 1.6 JSON schemas.
//
//   node csms.js [--port N] [--first-transaction N] [--tls CERT.pem KEY.pem] [--password PW]
//
// stdout: one JSON object per line, an event: {"event":"listening","port":N}, {"event":"connected","identity",
// "protocol","password"}, {"event":"call","action","params"} for each call the charge point makes (after it was
// answered), {"event":"result"|"error","ref",...} for calls made with "call", {"event":"disconnected","code"},
// {"event":"strictValidationFailure","message"}, {"event":"badMessage","message"}, {"event":"received","message"} (the raw
// text of every message from the charge point).
// stdin: one JSON command per line: {"cmd":"call","ref","action","params"} makes a call to the charge point;
// {"cmd":"set","key","value"} changes the central system's behaviour (keys: boot = Accepted|Pending|Rejected,
// interval, authorize = {idTag: status}, defaultAuthorize, startStatus = {idTag: status}, dataTransfer =
// {"vendor/messageId": {status, data}}, delay = ms before every answer); {"cmd":"raw","data"} sends raw text;
// {"cmd":"close"} closes the connection; {"cmd":"stop"} stops the server; {"cmd":"pnc","ref","messageId","payload"} makes an
// OCA Plug & Charge DataTransfer call and checks request and answer against the OCPP 2.0.1 schemas. Every OCA DataTransfer
// from the charge point gets a {"event":"pncValidation","messageId","ok","message"} line.
const { RPCServer, createRPCError } = require('ocpp-rpc');
// the OCPP 2.0.1 JSON schemas that ocpp-rpc bundles: the payloads of the OCA Plug & Charge extension are 2.0.1 messages
const ocpp201 = require('ocpp-rpc/lib/standard-validators.js').find((v) => v.subprotocol === 'ocpp2.0.1');
const OCA = 'org.openchargealliance.iso15118pnc';
const validate201 = (schema, payload) => {
  try { ocpp201.validate(schema, payload); return { ok: true }; } catch (e) { return { ok: false, message: e.message }; }
};
const readline = require('readline');
const fs = require('fs');
const https = require('https');

const args = process.argv.slice(2);
const tls = args.indexOf('--tls');
const pw = args.indexOf('--password');
const portArg = args.indexOf('--port');
const port = portArg >= 0 ? Number(args[portArg + 1]) : 0;
const firstArg = args.indexOf('--first-transaction');
const expectedPassword = pw >= 0 ? args[pw + 1] : null;

const behaviour = { boot: 'Accepted', interval: 300, authorize: {}, defaultAuthorize: 'Invalid', startStatus: {}, dataTransfer: {}, delay: 0 };
let nextTransactionId = firstArg >= 0 ? Number(args[firstArg + 1]) : 1000;
let current = null;
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true, pingIntervalMs: 10000 });
server.auth((accept, reject, handshake) => {
  const password = handshake.password ? handshake.password.toString('utf8') : null;
  if (expectedPassword !== null && password !== expectedPassword) {
    out({ event: 'refused', identity: handshake.identity, password });
    reject(401, 'wrong password');
    return;
  }
  accept({ identity: handshake.identity, password });
});

server.on('client', (client) => {
  current = client;
  out({ event: 'connected', identity: client.identity, protocol: client.protocol, password: client.session.password });
  client.on('strictValidationFailure', (e) => out({ event: 'strictValidationFailure', message: e.error && e.error.message, outbound: e.outbound, isCall: e.isCall }));
  client.on('badMessage', (e) => out({ event: 'badMessage', message: e.error && e.error.message }));
  client.on('message', ({ message, outbound }) => { if (!outbound) out({ event: 'received', message: String(message) }); });
  client.on('close', (e) => { out({ event: 'disconnected', code: e.code }); if (current === client) current = null; });
  const answer = (action, make) => client.handle(action, async ({ params }) => {
    if (behaviour.delay) await sleep(behaviour.delay);
    const result = make(params);
    out({ event: 'call', action, params, result });
    return result;
  });
  const idTagInfo = (idTag) => ({ status: behaviour.authorize[idTag] ?? behaviour.defaultAuthorize });
  answer('BootNotification', () => ({ status: behaviour.boot, interval: behaviour.interval, currentTime: new Date().toISOString() }));
  answer('Heartbeat', () => ({ currentTime: new Date().toISOString() }));
  answer('StatusNotification', () => ({}));
  answer('Authorize', (p) => ({ idTagInfo: idTagInfo(p.idTag) }));
  answer('StartTransaction', (p) => ({ transactionId: nextTransactionId++, idTagInfo: { status: behaviour.startStatus[p.idTag] ?? idTagInfo(p.idTag).status } }));
  answer('StopTransaction', () => ({}));
  answer('MeterValues', () => ({}));
  answer('DiagnosticsStatusNotification', () => ({}));
  answer('FirmwareStatusNotification', () => ({}));
  answer('DataTransfer', (p) => {
    if (p.vendorId === OCA) {
      // the inner payload of the OCA extension must be a valid OCPP 2.0.1 request
      let inner = null;
      try { inner = JSON.parse(p.data ?? '{}'); } catch (e) { out({ event: 'pncValidation', direction: 'cp->csms', messageId: p.messageId, ok: false, message: 'data is not JSON' }); }
      if (inner !== null) out({ event: 'pncValidation', direction: 'cp->csms', messageId: p.messageId, ...validate201(`urn:${p.messageId}.req`, inner) });
    }
    return behaviour.dataTransfer[`${p.vendorId}/${p.messageId}`] ?? { status: 'UnknownVendorId' };
  });
  client.handle(({ method }) => { throw createRPCError('NotImplemented', `no handler for ${method}`); });
});

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  let c;
  try { c = JSON.parse(line); } catch { out({ event: 'badCommand', line }); return; }
  try {
    if (c.cmd === 'set') behaviour[c.key] = c.value;
    else if (c.cmd === 'call') {
      if (!current) { out({ event: 'error', ref: c.ref, code: 'NotConnected', message: 'no charge point connected' }); return; }
      try {
        const result = await current.call(c.action, c.params ?? {}, { callTimeoutMs: c.timeoutMs ?? 30000 });
        out({ event: 'result', ref: c.ref, action: c.action, result });
      } catch (e) {
        out({ event: 'error', ref: c.ref, action: c.action, code: e.rpcErrorCode ?? e.name, message: e.message });
      }
    } else if (c.cmd === 'pnc') {
      // an OCA extension call to the charge point: the request and the answer checked against the OCPP 2.0.1 schemas
      if (!current) { out({ event: 'error', ref: c.ref, code: 'NotConnected' }); return; }
      const request = validate201(`urn:${c.messageId}.req`, c.payload);
      const result = await current.call('DataTransfer', { vendorId: OCA, messageId: c.messageId, data: JSON.stringify(c.payload) });
      let inner = null;
      try { inner = JSON.parse(result.data ?? 'null'); } catch (e) { inner = null; }
      const response = inner === null ? { ok: false, message: 'no JSON data' } : validate201(`urn:${c.messageId}.conf`, inner);
      out({ event: 'result', ref: c.ref, action: 'DataTransfer', result, inner, requestValid: request, responseValid: response });
    } else if (c.cmd === 'raw') {
      if (current) current.sendRaw(c.data);
      out({ event: 'sent', ref: c.ref });
    } else if (c.cmd === 'close') {
      if (current) await current.close({ code: c.code ?? 1000, force: true });
    } else if (c.cmd === 'stop') {
      await server.close({ force: true });
      process.exit(0);
    }
  } catch (e) {
    out({ event: 'commandFailed', ref: c.ref, message: e.message });
  }
});

(async () => {
  if (tls >= 0) {
    const httpsServer = https.createServer({ cert: fs.readFileSync(args[tls + 1]), key: fs.readFileSync(args[tls + 2]) });
    httpsServer.on('upgrade', server.handleUpgrade);
    await new Promise((r) => httpsServer.listen(port, '127.0.0.1', r));
    out({ event: 'listening', port: httpsServer.address().port, tls: true });
  } else {
    const s = await server.listen(port, '127.0.0.1');
    out({ event: 'listening', port: s.address().port, tls: false });
  }
})().catch((e) => { out({ event: 'failed', message: e.message }); process.exit(1); });
