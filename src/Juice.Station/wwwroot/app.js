// Juice station operator interface: one page per menu entry of the operator manual, on the operator API.
// Logged in by an HttpOnly session cookie; every change carries the session's anti-forgery token.
'use strict';

const $ = (sel, root = document) => root.querySelector(sel);
const state = { csrf: null, timers: [], settings: null };

// ---------- API ----------

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body, raw) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = state.csrf || '';
  let payload;
  if (body !== undefined) {
    if (raw) { payload = body; headers['Content-Type'] = 'text/csv'; }
    else { payload = JSON.stringify(body); headers['Content-Type'] = 'application/json'; }
  }
  const response = await fetch('/api' + path, { method, headers, body: payload, credentials: 'same-origin' });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (response.status === 401 && path !== '/session') { showLogin(); throw new ApiError(401, data); }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// ---------- helpers ----------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const fmt = {
  kw: w => (w / 1000).toFixed(1) + ' kW',
  kwh: wh => (wh / 1000).toFixed(2) + ' kWh',
  a: a => String(Math.round((a ?? 0) * 10) / 10) + ' A',
  duration(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    const hh = Math.floor(seconds / 3600), mm = Math.floor(seconds % 3600 / 60), ss = seconds % 60;
    return hh > 0 ? `${hh} h ${String(mm).padStart(2, '0')} min` : `${mm} min ${String(ss).padStart(2, '0')} s`;
  },
  timespan(text) { // "hh:mm:ss(.fff)" or "d.hh:mm:ss"
    if (!text) return 0;
    const m = /^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(text);
    return m ? (+(m[1] || 0)) * 86400 + (+m[2]) * 3600 + (+m[3]) * 60 + (+m[4]) : 0;
  },
  // one format everywhere, as in the CSV files: ISO 8601 date and time (the browser's time zone)
  date: iso => iso ? isoLocal(new Date(iso)).slice(0, 19).replace('T', ' ') : '–',
  day: iso => iso ? isoLocal(new Date(iso)).slice(0, 10) : '–',
};

function isoLocal(d) {
  const p = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// what the manual writes for the kinds of whitelist entries and certificates
const kindNames = {
  Rfid: 'RFID', EvMac: 'EV MAC (Autocharge)', InputAuth: 'INPUT_AUTH',
  V2GRootCertificate: 'V2G root', MORootCertificate: 'MO root (contracts)', ManufacturerRootCertificate: 'OEM root (vehicles)',
  CSMSRootCertificate: 'Backend (CSMS) root', V2GCertificateChain: 'SECC chain',
};

function toast(text) {
  document.querySelectorAll('.toast').forEach(t => t.remove());
  const t = h('div', { class: 'toast', role: 'status', text });
  document.body.append(t);
  setTimeout(() => t.remove(), 3500);
}

function every(ms, fn) {
  fn();
  state.timers.push(setInterval(fn, ms));
}

function confirmDialog(title, text, action = 'Delete') {
  const d = $('#confirm-dialog');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = action;
  d.returnValue = '';
  d.showModal();
  return new Promise(resolve => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }));
}

const statusColor = s => ({ Available: 'green', Charging: 'blue', Preparing: 'amber', SuspendedEV: 'amber', SuspendedEVSE: 'amber', Finishing: 'amber', Faulted: 'red', Unavailable: 'red' }[s] || '');

// ---------- login ----------

function showLogin() {
  state.timers.forEach(clearInterval);
  state.timers = [];
  $('#app').hidden = true;
  $('#login').hidden = false;
  $('#login-password').focus();
}

$('#login-form').addEventListener('submit', async e => {
  e.preventDefault();
  const error = $('#login-error');
  error.textContent = '';
  try {
    const r = await api('POST', '/session', { password: $('#login-password').value });
    state.csrf = r.csrf;
    $('#login-password').value = '';
    $('#login').hidden = true;
    $('#app').hidden = false;
    route();
  } catch (err) {
    const left = err.body && typeof err.body.triesLeft === 'number' ? err.body.triesLeft : null;
    error.textContent = err.status === 401
      ? 'Wrong password.' + (left === null ? '' : left > 0 ? ` ${left} ${left === 1 ? 'try' : 'tries'} left before each further try waits (1 s, doubling, up to a minute).` : ' Each further try from here waits first (doubling, up to a minute).')
      : err.message;
  }
});

$('#logout').addEventListener('click', async () => {
  try { await api('DELETE', '/session'); } catch { /* logged out anyway */ }
  state.csrf = null;
  showLogin();
});

// ---------- settings forms ----------

// One field of a settings page: key in /api/settings, what the operator reads, and whether it waits for a restart.
const F = (key, label, type, help, extra = {}) => ({ key, label, type, help, ...extra });

function settingsForm(fields, onSaved) {
  const inputs = {};
  const errors = {};
  const rows = {};
  const original = {};
  const container = h('div');
  const readValue = f => {
    const el = inputs[f.key];
    if (f.type === 'bool') return el.checked;
    if (f.type === 'number') return el.value.trim() === '' ? (f.nullable ? null : NaN) : Number(el.value);
    if (f.type === 'text' || f.type === 'password') return el.value === '' && f.nullable ? null : el.value;
    return el.value;
  };
  const setValue = (f, v) => {
    const el = inputs[f.key];
    if (f.type === 'bool') el.checked = !!v;
    else el.value = v ?? '';
  };
  const markChanged = f => rows[f.key].classList.toggle('changed', JSON.stringify(readValue(f)) !== JSON.stringify(original[f.key]));
  for (const f of fields) {
    let input;
    const id = 'f-' + f.key;
    if (f.type === 'bool') input = h('input', { type: 'checkbox', id });
    else if (f.type === 'select') input = h('select', { id }, f.options.map(([v, t]) => h('option', { value: v, text: t })));
    else input = h('input', { id, type: f.type === 'number' ? 'number' : f.type === 'password' ? 'password' : 'text', step: f.step || 'any', placeholder: f.placeholder || '', autocomplete: 'off' });
    input.addEventListener('input', () => markChanged(f));
    input.addEventListener('change', () => markChanged(f));
    inputs[f.key] = input;
    const help = h('div', { class: 'help', hidden: true, id: id + '-help', text: f.help + (f.restart ? ' Takes effect after a restart.' : '') });
    const info = h('button', { type: 'button', class: 'info', title: 'Help', 'aria-label': 'Help for ' + f.label, 'aria-controls': id + '-help', onclick: () => { help.hidden = !help.hidden; } }, 'i');
    errors[f.key] = h('p', { class: 'error', id: id + '-error' });
    const name = h('div', { class: 'name' }, h('label', { for: id, class: 'inline-label' }, f.label), info,
      f.restart ? h('span', { class: 'badge amber tag', text: 'after restart' }) : null);
    rows[f.key] = h('div', { class: 'field' }, name, f.type === 'bool' ? h('div', {}, h('label', { class: 'check' }, input, 'On')) : input, help, errors[f.key]);
    container.append(rows[f.key]);
  }
  const load = s => {
    for (const f of fields) {
      original[f.key] = s[f.key];
      setValue(f, s[f.key]);
      errors[f.key].textContent = '';
      inputs[f.key].classList.remove('invalid');
      rows[f.key].classList.remove('changed');
    }
  };
  load(state.settings);
  const save = async () => {
    const changes = {};
    for (const f of fields) {
      errors[f.key].textContent = '';
      inputs[f.key].classList.remove('invalid');
      const v = readValue(f);
      if (typeof v === 'number' && Number.isNaN(v)) {
        errors[f.key].textContent = 'a number is needed';
        inputs[f.key].classList.add('invalid');
        return;
      }
      if (JSON.stringify(v) !== JSON.stringify(original[f.key])) changes[f.key] = v;
    }
    if (Object.keys(changes).length === 0) { toast('Nothing changed.'); return; }
    try {
      state.settings = await api('PUT', '/settings', changes);
      load(state.settings);
      const restart = fields.some(f => f.restart && f.key in changes);
      toast(restart ? 'Saved. Some changes take effect after a restart.' : 'Saved.');
      onSaved?.();
    } catch (err) {
      const list = err.body?.errors || { settings: err.message };
      for (const [key, reason] of Object.entries(list)) {
        const f = fields.find(x => x.key.toLowerCase() === key.toLowerCase());
        if (f) { errors[f.key].textContent = reason; inputs[f.key].classList.add('invalid'); }
        else toast(reason);
      }
    }
  };
  const buttons = h('div', { class: 'buttons' },
    h('button', { type: 'button', class: 'ghost', onclick: () => load(state.settings) }, 'Reset all changes'),
    h('button', { type: 'button', onclick: restart }, 'Restart'),
    h('button', { type: 'button', class: 'primary', onclick: save }, 'Save'));
  return h('div', {}, container, buttons);
}

async function restart() {
  if (!await confirmDialog('Restart the station?', 'Running sessions are interrupted; the station is back in a few seconds.', 'Restart')) return;
  await api('POST', '/system/restart');
  toast('Restarting…');
  const main = $('#main');
  main.replaceChildren(h('div', { class: 'card' }, h('h2', { text: 'Restarting…' }), h('p', { class: 'muted', text: 'The page comes back by itself.' })));
  await new Promise(r => setTimeout(r, 1500));
  for (let i = 0; i < 120; i++) {
    try {
      const r = await fetch('/api/health', { cache: 'no-store' });
      if (r.ok) break;
    } catch { /* still down */ }
    await new Promise(r => setTimeout(r, 500));
  }
  try {
    const s = await api('GET', '/session');
    state.csrf = s.csrf;
    route();
  } catch { showLogin(); }
}

// ---------- pages ----------

const pages = {};

pages.dashboard = {
  title: 'Dashboard',
  async render(main) {
    const connectors = h('div', { class: 'grid' });
    const chartCard = h('div', { class: 'card' });
    const totals = h('div', { class: 'card' });
    const month = h('div', { class: 'card' });
    const dlmCard = h('div', { class: 'card', id: 'dlm-card', hidden: true });
    main.append(connectors, dlmCard, chartCard, totals, month);
    every(2000, async () => {
      const status = await api('GET', '/status');
      connectors.replaceChildren(...status.connectors.map(connectorCard));
      // load management: what DLM assigns here and which limit binds each connector
      const lm = await api('GET', '/load-management');
      dlmCard.hidden = lm.mode === 'Disabled' && !lm.externalInput.active && !lm.schedule && !lm.surplus && !lm.sma;
      if (!dlmCard.hidden) {
        const role = lm.master ? `DLM master · ${lm.master.slavesConnected} slave(s) · applied ${lm.master.applied.l1}/${lm.master.applied.l2}/${lm.master.applied.l3} A of ${lm.master.available.l1}/${lm.master.available.l2}/${lm.master.available.l3} A`
          : lm.slave ? (lm.slave.connected ? `DLM slave of ${lm.slave.master}` : 'DLM slave without master: the Disconnected Limit applies') : 'DLM off';
        const sma = lm.sma ? ` · SMA Home Manager: ${lm.sma.connected ? (lm.sma.decision?.reason ?? 'connected') : 'silent, the current on connection loss applies'}` : '';
        const pv = lm.surplus?.decision ? ` · PV surplus: ${lm.surplus.decision.state} (${Math.round(lm.surplus.decision.surplusW)} W surplus, grid ${Math.round(lm.surplus.decision.gridW)} W): ${lm.surplus.decision.reason}` : '';
        dlmCard.replaceChildren(h('h2', { text: 'Load management' }), h('p', { class: 'muted', id: 'dlm-role', text: role + (lm.externalInput.active ? ' · load shedding active' : '') + pv + sma }),
          table(['Connector', 'Current', 'Limited by'], lm.connectors.map(c => [c.id, fmt.a(c.signalledCurrentA), c.binding]), ''));
      }
      const chart = await api('GET', `/connectors/${status.connectors[0].id}/chart`);
      drawChart(chartCard, chart);
    });
    // the totals and the month follow the sessions that end while the page is open
    let shownSessions = -1;
    every(10000, async () => {
      const d = await api('GET', '/dashboard');
      if (d.totalSessions === shownSessions) return;
      shownSessions = d.totalSessions;
      totals.replaceChildren(h('h2', { text: 'Totals' }), h('div', { class: 'kpis' },
        kpi('Sessions', d.totalSessions), kpi('Average duration', fmt.duration(fmt.timespan(d.averageDuration))), kpi('Average energy', d.averageKwh.toFixed(2) + ' kWh'),
        kpi('Last 30 days', d.lastMonthSessions + (d.lastMonthSessions === 1 ? ' session' : ' sessions')), kpi('Last 30 days energy', d.lastMonthKwh.toFixed(2) + ' kWh')));
      const history = await api('GET', '/history?days=30');
      month.replaceChildren(h('div', { class: 'toolbar' }, h('h2', { class: 'm0', text: 'Last month' }), h('span', { class: 'spacer' }),
        h('a', { href: '/api/history/export?days=30', download: 'charging-sessions.csv', id: 'export-history' }, h('button', { type: 'button' }, 'Export CSV'))),
        table(['Start date', 'Start time', 'Duration', 'Energy', 'Fed back', 'ID tag', 'Connector'], history.map(s => [
          fmt.day(s.start), isoLocal(new Date(s.start)).slice(11, 19), fmt.duration(s.durationSeconds), (s.energyWh / 1000).toFixed(2) + ' kWh',
          s.exportedWh > 0 ? (s.exportedWh / 1000).toFixed(2) + ' kWh' : '–', s.idTag, s.connector,
        ]), 'No charging sessions in the last 30 days.'));
    });
  },
};

function kpi(label, value) {
  return h('div', { class: 'kpi' }, h('div', { class: 'label', text: label }), h('div', { class: 'value', text: value }));
}

function connectorCard(c) {
  const ev = c.authorized?.value || (c.evccid ? 'EVCCID ' + c.evccid : null) || (c.slacMac ? 'MAC ' + c.slacMac : null) || '–';
  const tx = c.transaction;
  return h('div', { class: 'card connector', 'data-connector': c.id },
    h('div', { class: 'connector-head' }, h('h2', { class: 'm0', text: `Connector ${c.id}` }),
      h('span', { class: 'badge ' + statusColor(c.status), 'data-field': 'status', text: c.status })),
    h('div', { class: 'kpis' },
      kpi('Vehicle', { A: 'not connected', B: 'connected', C: 'charging', D: 'charging (vent.)', E: 'error', F: 'fault' }[c.cpState] + (c.smartVehicle ? ' · ISO 15118' : '')),
      h('div', { class: 'kpi' }, h('div', { class: 'label', text: 'EV identity' }), h('div', { class: 'value value-small', 'data-field': 'identity', text: ev })),
      h('div', { class: 'kpi' }, h('div', { class: 'label', text: 'Current' }),
        h('div', { class: 'value', 'data-field': 'current', text: fmt.a(Math.max(c.meter.currentA.l1, c.meter.currentA.l2, c.meter.currentA.l3)) }),
        h('div', { class: 'muted sub', text: fmt.a(c.signalledCurrentA) + ' offered' })),
      h('div', { class: 'kpi' }, h('div', { class: 'label', text: 'Power' }), h('div', { class: 'value', 'data-field': 'power', text: fmt.kw(c.meter.totalPowerW) })),
      h('div', { class: 'kpi' }, h('div', { class: 'label', text: 'Energy' }), h('div', { class: 'value', 'data-field': 'energy', text: fmt.kwh(c.sessionEnergyWh) }),
        h('div', { class: 'muted sub', 'data-field': 'exported', text: c.sessionExportedWh > 0 ? fmt.kwh(c.sessionExportedWh) + ' fed back' : '' })),
      kpi('Duration', tx ? fmt.duration(fmt.timespan(c.sessionDuration)) : '–')),
    h('p', { class: 'muted note', text: `EVSE ID ${c.evseId} · ${c.limitReason}` }));
}

function drawChart(card, chart) {
  const running = chart.running.length > 0;
  const samples = running ? chart.running : chart.last;
  const title = running ? `Running session (transaction ${chart.transactionId})` : chart.lastTransactionId ? `Last session (transaction ${chart.lastTransactionId})` : 'Power and energy';
  const legend = h('div', { class: 'legend' }, h('span', {}, h('span', { class: 'swatch swatch-power' }), 'Power'),
    h('span', {}, h('span', { class: 'swatch swatch-energy' }), 'Energy'));
  const head = h('div', { class: 'toolbar' }, h('h2', { class: 'm0', text: title }), h('span', { class: 'spacer' }), legend);
  if (samples.length < 2) {
    card.replaceChildren(head, h('p', { class: 'empty', text: 'No session recorded since the station started.' }));
    return;
  }
  const W = 900, H = 240, L = 58, R = 62, T = 12, B = 28;
  const t0 = Date.parse(samples[0].at), t1 = Date.parse(samples[samples.length - 1].at) || t0 + 1;
  const pMax = Math.max(1, ...samples.map(s => s.powerW / 1000)) * 1.1;
  const wh = Math.max(...samples.map(s => s.energyWh)) < 1000;   // a short session: the energy axis in Wh
  const eUnit = wh ? 1 : 1000, eMax = Math.max(wh ? 1 : 0.01, ...samples.map(s => s.energyWh / eUnit)) * 1.1;
  const x = t => L + (W - L - R) * (Date.parse(t) - t0) / Math.max(1, t1 - t0);
  const y = (v, max) => T + (H - T - B) * (1 - v / max);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    svg.append(el);
  };
  for (let i = 0; i <= 4; i++) {
    const yy = T + (H - T - B) * i / 4;
    add('line', { x1: L, x2: W - R, y1: yy, y2: yy, class: 'grid-line' });
    add('text', { x: L - 6, y: yy + 4, 'text-anchor': 'end', class: 'axis' }, (pMax * (1 - i / 4)).toFixed(1) + (i === 0 ? ' kW' : ''));
    add('text', { x: W - R + 6, y: yy + 4, class: 'axis' }, (eMax * (1 - i / 4)).toFixed(wh ? 0 : 2) + (i === 0 ? (wh ? ' Wh' : ' kWh') : ''));
  }
  add('text', { x: L, y: H - 8, class: 'axis' }, isoLocal(new Date(t0)).slice(11, 16));
  add('text', { x: W - R, y: H - 8, 'text-anchor': 'end', class: 'axis' }, isoLocal(new Date(t1)).slice(11, 16));
  add('polyline', { class: 'power', points: samples.map(s => `${x(s.at).toFixed(1)},${y(s.powerW / 1000, pMax).toFixed(1)}`).join(' ') });
  add('polyline', { class: 'energy', points: samples.map(s => `${x(s.at).toFixed(1)},${y(s.energyWh / eUnit, eMax).toFixed(1)}`).join(' ') });
  card.replaceChildren(head, svg);
}

function table(headers, rows, empty) {
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map(t => h('th', { text: t })))),
    h('tbody', {}, rows.length === 0 ? h('tr', {}, h('td', { colspan: headers.length, class: 'empty', text: empty })) : rows.map(r => h('tr', {}, r.map((c, i) => c instanceof Node ? h('td', { class: i === r.length - 1 ? 'actions' : '' }, c) : h('td', { text: c }))))));
}

pages.whitelists = {
  title: 'Whitelists',
  async render(main) {
    const local = h('div', { class: 'card', id: 'local-list' });
    const ocpp = h('div', { class: 'card', id: 'ocpp-list' });
    main.append(local, ocpp);
    const localSearch = h('input', { class: 'search', type: 'search', placeholder: 'Search', 'aria-label': 'Search the local whitelist' });
    const localRows = h('div');
    const file = h('input', { type: 'file', accept: '.csv,text/csv,text/plain', hidden: true, id: 'import-file' });
    const refreshLocal = async () => {
      const entries = await api('GET', '/whitelists/local?search=' + encodeURIComponent(localSearch.value));
      localRows.replaceChildren(table(['ID', 'Type', 'Connector', 'Label', 'Added', ''], entries.map(e => [e.id, kindNames[e.kind] || e.kind, e.connector ?? 'both', e.label, fmt.date(e.added),
        h('button', { class: 'danger', type: 'button', onclick: async () => {
          if (await confirmDialog('Delete entry?', `${e.id} is removed from the local whitelist.`)) { await api('DELETE', '/whitelists/local/' + encodeURIComponent(e.id)); refreshLocal(); }
        } }, 'Delete')]), 'The local whitelist is empty.'));
    };
    localSearch.addEventListener('input', refreshLocal);
    const importResult = h('div', { id: 'import-result', hidden: true });
    const dismiss = () => h('button', { type: 'button', id: 'import-dismiss', onclick: () => { importResult.hidden = true; } }, 'Close');
    file.addEventListener('change', async () => {
      if (!file.files[0]) return;
      const name = file.files[0].name;
      let r;
      try {
        r = await api('POST', '/whitelists/local/import', await file.files[0].text(), true);
      } catch (err) {
        importResult.replaceChildren(h('p', { class: 'error', text: `${name}: ${err.message}` }), dismiss());
        importResult.hidden = false;
        return;
      } finally {
        file.value = '';
      }
      importResult.replaceChildren(...importReport(name, r), dismiss());
      importResult.hidden = false;
      refreshLocal();
    });
    local.append(h('h2', { text: 'Local whitelist' }), h('div', { class: 'toolbar' }, localSearch, h('span', { class: 'spacer' }),
      h('button', { class: 'primary', type: 'button', id: 'add-entry', onclick: () => addEntry(refreshLocal) }, 'Add entry'),
      h('button', { type: 'button', id: 'import-list', onclick: () => file.click() }, 'Import list'), file,
      h('a', { href: '/api/whitelists/local/export', download: 'whitelist.csv', id: 'export-list' }, h('button', { type: 'button' }, 'Export list')),
      h('button', { class: 'danger', type: 'button', onclick: async () => {
        if (await confirmDialog('Delete the whole local whitelist?', 'Every card and vehicle in it loses its authorization.', 'Delete all')) { await api('DELETE', '/whitelists/local'); refreshLocal(); }
      } }, 'Delete whole list')), importResult, localRows);
    await refreshLocal();

    const ocppSearch = h('input', { class: 'search', type: 'search', placeholder: 'Search', 'aria-label': 'Search the OCPP whitelist' });
    const ocppRows = h('div');
    const refreshOcpp = async () => {
      const entries = await api('GET', '/whitelists/ocpp?search=' + encodeURIComponent(ocppSearch.value));
      ocppRows.replaceChildren(table(['ID tag', 'Status', 'Expiry', 'Parent'], entries.map(e => [e.id, e.status, e.expiry ? fmt.date(e.expiry) : '–', e.parentId ?? '–']),
        'The central system has sent no list (SendLocalList).'));
    };
    ocppSearch.addEventListener('input', refreshOcpp);
    ocpp.append(h('h2', { text: 'OCPP whitelist' }), h('p', { class: 'muted', text: 'Kept by the central system (SendLocalList); used when the backend is offline.' }),
      h('div', { class: 'toolbar' }, ocppSearch, h('span', { class: 'spacer' }), h('button', { class: 'danger', type: 'button', onclick: async () => {
        if (await confirmDialog('Delete the whole OCPP whitelist?', 'The central system can send it again.', 'Delete all')) { await api('DELETE', '/whitelists/ocpp'); refreshOcpp(); }
      } }, 'Delete whole list')), ocppRows);
    await refreshOcpp();
  },
};

// The result of a whitelist import, until the next one or Close: counts, every refused line (a reason shown once
// and referred to by its number), and how duplicates were treated.
function importReport(name, r) {
  const parts = [h('p', { id: 'import-summary', text: `${name}: ${r.imported} ${r.imported === 1 ? 'entry' : 'entries'} imported (${r.added} new, ${r.updated} updated)` +
    (r.rejected ? `, ${r.rejected} ${r.rejected === 1 ? 'line' : 'lines'} refused.` : '.') }) ];
  if (r.duplicates.length) {
    parts.push(h('p', { class: 'muted', id: 'import-duplicates', text: `${r.duplicates.length} ${r.duplicates.length === 1 ? 'id occurs' : 'ids occur'} more than once in the file: each is imported once, with the label of its last line (` +
      r.duplicates.slice(0, 5).map(d => `${d.id}: line ${d.line} replaced by line ${d.replacedBy}`).join('; ') + (r.duplicates.length > 5 ? '; …' : '') + ').' }));
  }
  if (r.errors.length) {
    const reasons = [...new Set(r.errors.map(e => e.reason))];
    parts.push(h('ol', { class: 'reasons' }, reasons.map(t => h('li', { text: t }))));
    parts.push(table(['Line', 'ID', 'Reason'], r.errors.map(e => [String(e.line), e.id || '(empty)', `reason ${reasons.indexOf(e.reason) + 1}`]), ''));
  }
  return parts;
}

// "Add entry" as in the manual: learns a card or a car while open, shows the list's total, and takes several
// entries in a row (Save adds one and waits for the next) until Finish.
async function addEntry(refresh) {
  const dialog = $('#entry-dialog');
  const id = $('#entry-id'), label = $('#entry-label'), error = $('#entry-error'), detected = $('#entry-detected'), saved = $('#entry-saved'), total = $('#entry-total');
  let added = 0;
  const reset = () => {
    id.value = ''; label.value = ''; error.textContent = ''; detected.textContent = 'Waiting for a card or a car…';
    id.classList.remove('invalid');
  };
  const count = async () => { total.textContent = `(total: ${(await api('GET', '/whitelists/local')).length})`; };
  reset();
  saved.textContent = '';
  await count();
  let open = true;
  // each learning round has a number: a poll answered after Save (still the saved card's round) fills nothing
  let round = 0, learning = false;
  await api('POST', '/whitelists/local/learn');
  learning = true;
  const poll = setInterval(async () => {
    if (!open || !learning) return;
    const asked = round;
    try {
      const r = await api('GET', '/whitelists/local/learn');
      if (r.state === 'learned' && id.value === '' && learning && asked === round) {
        id.value = r.id;
        detected.textContent = `Detected: ${r.source === 'Autocharge' ? 'vehicle MAC address' : 'card'} ${r.id}`;
      }
    } catch { /* the next poll */ }
  }, 700);
  const close = () => {
    open = false;
    clearInterval(poll);
    api('DELETE', '/whitelists/local/learn').catch(() => {});
    dialog.close();
    refresh();
  };
  $('#entry-cancel').onclick = close;
  $('#entry-form').onsubmit = async e => {
    e.preventDefault();
    try {
      const entry = await api('POST', '/whitelists/local', { id: id.value, label: label.value });
      added++;
      learning = false;
      round++;
      saved.textContent = `Saved ${entry.id}${entry.label ? ' (' + entry.label + ')' : ''}; added here: ${added}.`;
      reset();
      await count();
      await api('POST', '/whitelists/local/learn');   // ready for the next card or car
      learning = true;
      refresh();
      id.focus();
    } catch (err) {
      error.textContent = err.body?.errors?.id || err.body?.error || err.message;
      id.classList.add('invalid');
    }
  };
  dialog.addEventListener('cancel', () => { open = false; clearInterval(poll); api('DELETE', '/whitelists/local/learn').catch(() => {}); refresh(); }, { once: true });
  dialog.showModal();
}

pages.authorization = {
  title: 'Authorization',
  async render(main) {
    const general = h('div', { class: 'card' }, h('h2', { text: 'Authorization' }), settingsForm([
      F('freeCharging', 'Free Charging', 'bool', 'Every vehicle charges without a card; sessions carry the RFID tag for free charging.'),
      F('freeChargingIdTag', 'RFID tag for free charging', 'text', 'The idTag free-charging sessions are recorded (and sent to the backend) with; 1 to 20 characters.'),
      F('ifInDoubtAllowCharging', 'If in doubt allow charging', 'bool', 'When the backend cannot be asked (offline, timeout), an unknown card or vehicle may charge.'),
      F('vehicleConnectionTimeoutSeconds', 'Vehicle connection timeout (s)', 'number', 'How long an authorization waits for the vehicle, and a plugged vehicle for an authorization (1 to 3600 s).', { step: 1 }),
      F('sendAuthorizeForRemoteStart', 'Send Authorize for RemoteStart', 'bool', 'Ask the backend with Authorize before starting a RemoteStartTransaction.'),
    ]));
    const hlc = h('div', { class: 'card' }, h('h2', { text: 'HLC 15118' }), settingsForm([
      F('iso15118', '15118 Configuration', 'select', 'Off: basic charging only. On: ISO 15118 and DIN 70121 with external identification. On (With PlugNCharge): also contract certificates over TLS (needs an SECC certificate). Applies at once: the TLS server starts or stops and SDP announces it; a session on a server that stops ends.',
        { options: [['Off', 'Off'], ['On', 'On'], ['OnWithPlugAndCharge', 'On (With PlugNCharge)']] }),
      F('certificateInstallationDialect', 'OCPP 1.6 extension for 15118 certificate installation', 'select', 'How certificate installation and contract authorization travel to the backend in DataTransfer.',
        { options: [['OCA', 'OCA (Open Charge Alliance)'], ['hastobe', 'has·to·be'], ['Ebee', 'Ebee']] }),
      F('extraLogging', 'Extra logging', 'bool', 'Log every ISO 15118 message, decoded, in the station log: about 2 MB of log in five minutes of charging. For diagnosis, not for every day.'),
      F('autocharge', 'Autocharge', 'bool', 'An ISO 15118 vehicle with external identification is identified by its EVCCID (its MAC address) against the whitelists and the backend.'),
      F('autochargePrefix', "EVCCID or EV's MAC address prefix for OCPP authorization", 'text', 'The idTag sent to the backend is this prefix followed by the MAC address in hex (at most 8 characters).'),
      F('autochargeUseSlacMac', 'Use the MAC address seen in SLAC', 'bool', 'Over the PLC link, identify the vehicle by the MAC address it used in SLAC instead of the EVCCID it sends (for cars that send none).'),
      F('hlcProtocols', 'Protocols and priority', 'text', 'The protocols offered to vehicles, most preferred first, comma separated: iso20 (ISO 15118-20), iso2 (ISO 15118-2), din (DIN 70121). Empty: the configured Secc:Protocols (iso20,iso2,din). Applies to the next connection.', { nullable: true }),
      F('bidirectional', 'Bidirectional power (V2G)', 'bool', 'Offer ISO 15118-20 bidirectional power (AC_BPT, DC_BPT): a vehicle may feed energy back, on its own schedule or when the energy manager asks (Modbus 1020). Off: vehicles charge only.'),
      F('maxDischargeCurrent', 'Maximum discharge current (A)', 'number', 'The most a vehicle may feed back, A per phase; empty: the hardware limit.', { step: 1, nullable: true }),
    ]));
    const certs = h('div', { class: 'card', id: 'certificates' });
    const missing = h('p', { class: 'error', id: 'pnc-missing', hidden: true });
    hlc.querySelector('h2').after(missing);
    main.append(general, hlc, certs);
    const render = async () => {
      const pnc = await api('GET', '/pnc');
      // what "On (With PlugNCharge)" still needs, next to the setting
      const needs = [];
      if (!pnc.secc && pnc.iso20Secc.length === 0) needs.push('an SECC certificate with its key (no TLS server without it)');
      if (!pnc.certificates.some(c => c.kind === 'V2GRootCertificate')) needs.push('a V2G root');
      if (!pnc.certificates.some(c => c.kind === 'MORootCertificate')) needs.push('an MO root (contracts)');
      const wanted = $('#f-iso15118')?.value === 'OnWithPlugAndCharge' || pnc.enabled;
      missing.hidden = !(wanted && needs.length);
      missing.textContent = 'Plug & Charge needs ' + needs.join(', ') + ': import them below.';
      const rows = [];
      if (pnc.secc) rows.push(['SECC certificate (ISO 15118-2)', pnc.secc.subject, fmt.day(pnc.secc.notAfter), expiryBadge(pnc.secc.notAfter)]);
      for (const x of pnc.iso20Secc) rows.push([`SECC certificate (ISO 15118-20, ${x.algorithm})`, x.subject, fmt.day(x.notAfter), expiryBadge(x.notAfter)]);
      for (const c of pnc.certificates) rows.push([kindNames[c.kind] || c.kind, c.subject, fmt.day(c.notAfter), h('span', {}, expiryBadge(c.notAfter),
        c.kind === 'V2GCertificateChain' ? null : h('button', { class: 'danger', type: 'button', onclick: async () => {
          if (await confirmDialog('Delete certificate?', c.subject)) { await api('DELETE', '/pnc/certificates/' + c.sha256); render(); }
        } }, 'Delete'))]);
      const kind = h('select', { id: 'cert-kind' }, [['V2GRootCertificate', 'V2G root'], ['MORootCertificate', 'MO root (contracts)'], ['ManufacturerRootCertificate', 'OEM root (vehicles)'],
        ['SeccChain', 'SECC chain with its key']].map(([v, t]) => h('option', { value: v, text: t })));
      const file = h('input', { type: 'file', id: 'cert-file', accept: '.pem,.crt,.cer,.p12,.pfx' });
      const keyFile = h('input', { type: 'file', id: 'cert-key', accept: '.pem,.key' });
      const password = h('input', { type: 'password', id: 'cert-password', placeholder: 'PKCS#12 password', autocomplete: 'off' });
      const result = h('p', { id: 'cert-result', role: 'status' });
      const upload = async () => {
        result.className = ''; result.textContent = '';
        const f = file.files[0];
        if (!f) { result.className = 'error'; result.textContent = 'Choose a PEM or PKCS#12 file.'; return; }
        const body = { kind: kind.value, password: password.value || null };
        if (/\.(p12|pfx)$/i.test(f.name)) body.pkcs12 = btoa(String.fromCharCode(...new Uint8Array(await f.arrayBuffer())));
        else body.pem = await f.text();
        if (keyFile.files[0]) body.key = await keyFile.files[0].text();
        try {
          const r = await api('POST', '/pnc/certificates', body);
          await render();
          $('#cert-result').className = 'ok';
          $('#cert-result').textContent = r.kind === 'SeccChain' ? `SECC certificate ${r.subject} (${r.algorithm}) installed.` : `${r.installed} ${kindNames[r.kind]} installed.`;
        } catch (err) {
          result.className = 'error';
          result.textContent = err.body?.errors ? Object.entries(err.body.errors).map(([k, v]) => `${k}: ${v}`).join('; ') : err.message;
        }
      };
      certs.replaceChildren(h('h2', { text: 'Installed certificates' }),
        table(['Kind', 'Subject', 'Valid until', ''], rows, 'No certificates installed (Plug & Charge needs the V2G root, the SECC chain and the MO roots).'),
        h('h3', { text: 'Import' }),
        h('p', { class: 'muted', text: 'PEM (a root, or the SECC chain leaf first, with its key as a second PEM file) or PKCS#12 (.p12 with its password). Checked before it is kept: a root must be self-signed and valid; the key must be the leaf\'s, the chain valid and, where V2G roots are installed, lead to one. A secp256r1 key is the ISO 15118-2 SECC certificate, secp521r1 or Ed448 an ISO 15118-20 one.' }),
        h('div', { class: 'toolbar' }, kind, file, keyFile, password, h('button', { type: 'button', class: 'primary', id: 'cert-import', onclick: upload }, 'Import')), result);
    };
    await render();
    $('#f-iso15118')?.addEventListener('change', render);
  },
};

function expiryBadge(iso) {
  const days = (Date.parse(iso) - Date.now()) / 86400000;
  return h('span', { class: 'badge ' + (days < 0 ? 'red' : days < 30 ? 'amber' : 'green'), text: days < 0 ? 'expired' : days < 30 ? `${Math.floor(days)} days left` : 'valid' });
}

pages.backend = {
  title: 'Backend',
  async render(main) {
    const first = await api('GET', '/ocpp');
    const conn = h('div', { class: 'card' }, h('h2', { text: 'Connection' }));
    const form = h('div', { class: 'card' }, h('h2', { text: 'OCPP 1.6' }), settingsForm([
      F('ocppUrl', 'Backend URL', 'text', 'The central system, ws:// or wss://; the ChargeBox identity is appended as the last path segment. Empty here: the configured Ocpp:Url (shown greyed when set).', { restart: true, nullable: true, placeholder: first.url ? `${first.url} (configured)` : 'none: OCPP off' }),
      F('ocppChargeBoxId', 'ChargeBox identity', 'text', 'How the station introduces itself to the central system (and its HTTP Basic user name). Empty here: the configured Ocpp:ChargeBoxId.', { restart: true, nullable: true, placeholder: `${first.chargeBoxId} (configured)` }),
      F('ocppProxy', 'Websockets proxy', 'text', 'An http:// proxy the connection to the backend goes through (HTTP CONNECT), e.g. http://proxy.example:3128. Empty here: the configured Ocpp:Proxy, or direct.', { restart: true, nullable: true, placeholder: first.proxy ? `${first.proxy} (configured)` : 'direct' }),
      F('ocppPassword', 'Password', 'password', 'HTTP Basic password for the central system (security profile 1 or 2); empty: none.', { restart: true, nullable: true }),
    ]));
    const keys = h('div', { class: 'card' }, h('h2', { text: 'Configuration keys' }),
      h('p', { class: 'muted', text: 'The OCPP 1.6 configuration the central system reads and changes (GetConfiguration, ChangeConfiguration); changed here they take effect at once.' }));
    const manual = h('div', { class: 'card', id: 'backend-options' }, h('h2', { text: 'Connection options of the manual' }),
      h('p', { class: 'muted', text: 'What this station does for each option of the manual\'s BACKEND page, and where it is set; options it does not offer say why.' }),
      table(['Option', 'In use', 'Set by'], first.options.map(o => [o.name, o.value, o.setBy ?? h('span', { class: 'muted', text: 'not offered: ' + o.notOffered })]), ''));
    main.append(conn, form, manual, keys);
    every(3000, async () => {
      const o = await api('GET', '/ocpp');
      const s = o.state;
      conn.replaceChildren(h('h2', { text: 'Connection' }), h('div', { class: 'kpis' },
        kpi('State', !s.enabled ? 'OCPP off' : s.connected ? 'connected' : 'disconnected'), kpi('Registration', s.registration),
        kpi('Since', s.since ? fmt.date(s.since) : '–'), kpi('Queued messages', s.queuedMessages)),
        h('p', { class: s.lastError ? 'error' : 'muted', text: s.lastError ? 'Last error: ' + s.lastError : s.enabled ? '' : 'Set the backend URL below and restart to connect to a central system.' }));
    });
    const o = await api('GET', '/ocpp');
    keys.append(table(['Key', 'Value', ''], o.configuration.map(k => {
      if (k.readonly) return [k.key, k.value, h('span', { class: 'badge', text: 'read only' })];
      const input = h('input', { value: k.value, 'aria-label': k.key, class: 'key-input' });
      const error = h('p', { class: 'error' });
      return [k.key, h('div', {}, input, error), h('button', { type: 'button', onclick: async () => {
        error.textContent = '';
        try { await api('PUT', '/ocpp/configuration/' + encodeURIComponent(k.key), { value: input.value }); toast(`${k.key} saved.`); }
        catch (err) { error.textContent = err.body?.errors?.value || err.message; }
      } }, 'Save')];
    }), 'No keys.'));
  },
};

pages.load = {
  title: 'Load management',
  async render(main) {
    const system = await api('GET', '/system');
    const A = (key, label, help, extra) => F(key, label, 'number', help, { step: 1, ...extra });
    const inputState = h('div', { class: 'card', id: 'external-input' });
    const dlmState = h('div', { class: 'card', id: 'dlm-state' });
    const smaState = h('div', { class: 'card', id: 'sma-state', hidden: true });
    const schedule = h('div', { class: 'card', id: 'current-schedule' });
    main.append(h('div', { class: 'card', id: 'local-settings' }, h('h2', { text: 'Local' }), settingsForm([
      F('operatorCurrentLimit', 'Operator current limit (A)', 'number', 'The highest current per phase the station offers, below the hardware limit. Empty: the hardware limit.', { nullable: true, step: 1, placeholder: 'hardware limit' }),
      F('externalInputEnabled', "Energy management from external input (Enable 'Opto1 In')", 'bool', 'Load shedding without DLM: while the external input is active, the station charges at most the current limit below.'),
      A('externalInputCurrentLimit', 'Current limit for energy management from external input (A)', '0 stops charging while the input is active; 10 reduces the current to 10 A.'),
      F('externalInputActiveLow', 'External input polarity: active low ("normally closed")', 'bool', 'On: the input is active while its level is low (contact open). Off: active high ("normally open"). Agree it with your energy supplier; it applies to the Local and the DLM use of the input.'),
      F('disconnectedUpperLimitForSmartCharging', 'Enable Disconnected Upper Limit for SmartCharging', 'bool', 'While the OCPP backend is offline, the station charges at most the Disconnected Limit (below).'),
    ])), inputState,
    h('div', { class: 'card', id: 'dlm-settings' }, h('h2', { text: 'Dynamic Load Management' }), settingsForm([
      F('dlmMode', 'Dynamic Load Management - DLM Master/Slave', 'select', 'The role of this station: the master distributes the sub-distribution\'s current among its slaves (with its own connectors as an internal slave, or standalone); a slave finds its master by the network id, or at a fixed address.',
        { options: [['Disabled', 'Disabled'], ['MasterWithInternalSlave', 'DLM Master (With internal DLM-Slave)'], ['MasterStandalone', 'DLM Master (Standalone)'], ['SlaveAutoDiscovery', 'DLM Slave (Master-Auto-Discovery)'], ['SlaveFixedMaster', 'DLM Slave (Master-Fixed-IP)']] }),
      A('dlmNetworkId', 'DLM Network Id', 'A master and its slaves share this number; several DLM networks can share one LAN.'),
      F('dlmMasterAddress', 'DLM Master address (fixed IP)', 'text', 'For DLM Slave (Master-Fixed-IP): the master\'s address, host or host:port (the master\'s report port, Dlm:MasterPort).', { nullable: true }),
      F('dlmDisableDiscoveryBroadcasting', 'Disable Discovery Broadcasting', 'bool', 'The master sends no announcements; its slaves then need its fixed address.'),
      A('dlmSampleRateSeconds', 'DLM Algorithm Sample Rate (s)', 'Seconds between allocation rounds; plugging in, start and stop allocate at once.'),
      F('dlmAllowEvWakeup', 'Allow EV Wakeup', 'bool', 'An EV that stopped drawing current keeps the minimum current so that it can start again; off: it gets none and the others share its part.'),
      A('dlmSubDistributionL1', 'EVSE Sub-Distribution Limit L1 (A)', 'What the sub-distribution carries for EVs on L1 (Modbus 610).'),
      A('dlmSubDistributionL2', 'EVSE Sub-Distribution Limit L2 (A)', 'The same for L2 (Modbus 611).'),
      A('dlmSubDistributionL3', 'EVSE Sub-Distribution Limit L3 (A)', 'The same for L3 (Modbus 612).'),
      A('dlmOperatorSubDistributionL1', 'Operator EVSE Sub-Distribution Limit L1 (A)', 'The operator\'s own limit on L1; an energy manager writes it to Modbus 613.'),
      A('dlmOperatorSubDistributionL2', 'Operator EVSE Sub-Distribution Limit L2 (A)', 'The same for L2 (Modbus 614).'),
      A('dlmOperatorSubDistributionL3', 'Operator EVSE Sub-Distribution Limit L3 (A)', 'The same for L3 (Modbus 615).'),
      F('dlmExternalInput', "External Input 1 Config (Enable 'Opto1 In')", 'bool', 'Load shedding with DLM: while the input is active, the master distributes the sub-distribution limits plus the offsets below.'),
      A('dlmExternalInputOffsetL1', 'Ext. Input 1 Current Offset L1 (A)', 'Negative: less current while the input is active (16 A with -10 A leaves 6 A).'),
      A('dlmExternalInputOffsetL2', 'Ext. Input 1 Current Offset L2 (A)', 'The same for L2.'),
      A('dlmExternalInputOffsetL3', 'Ext. Input 1 Current Offset L3 (A)', 'The same for L3.'),
      F('dlmExternalMeter', 'External Meter Support', 'bool', 'The building\'s other loads, read from the grid meter (GridMeter:Address in the configuration; the INSTALLATION page shows it), lower what the EVs get. Without a fresh reading only the Disconnected Limit is distributed.'),
      F('dlmImbalancePrevention', 'Current Imbalance Prevention', 'bool', 'Keeps the difference between the most and the least loaded phase within the limit below (single-phase EVs; each station\'s phase rotation counts).'),
      A('dlmImbalanceLimit', 'Current Imbalance Limit (A)', 'The largest difference between phases, e.g. 20 A; see your local rules.'),
      A('dlmMinimumCurrent', 'Minimum Current Limit (A)', 'An EV that cannot get this much waits (0 A) in a fair queue; 6 to 32 A.'),
      A('dlmDisconnectedLimit', 'Disconnected Limit (A)', 'What each station charges at most while the stations cannot reach each other; keep it as low as possible.'),
    ])), dlmState, schedule,
    h('div', { class: 'card', id: 'surplus-settings' }, h('h2', { text: 'Energy management from external meter (PV surplus)' }), settingsForm([
      F('surplusMode', 'Energy management from external meter', 'select', 'Charging from the grid meter\'s export (GridMeter:Address in the configuration): Off; PV surplus only; or the minimum current from the grid plus the surplus.',
        { options: [['Off', 'Off'], ['Pv', 'PV surplus only'], ['MinPv', 'Minimum + PV surplus']] }),
      A('surplusStartSeconds', 'Start delay (s)', 'The surplus must reach the minimum charging power (6 A on the EV\'s phases) for this long before charging starts.'),
      A('surplusStopSeconds', 'Stop delay (s)', 'Charging pauses when the surplus has stayed below the minimum this long (it holds the minimum meanwhile).'),
      A('surplusMinimumCycleMinutes', 'Minimum time between starts (min)', 'At most one start in this time: no flapping under passing clouds.'),
    ])),
    h('div', { class: 'card', id: 'sma-settings' }, h('h2', { text: 'SMA Sunny Home Manager Interface' }), settingsForm([
      F('smaInterface', 'SMA Interface (On/Off)', 'bool', 'The station as a SEMP device (EVCharger) for the Sunny Home Manager: found by SSDP, served on Semp:Port (8888) under /SimpleEnergyManagementProtocol. evcc uses it for phase switching.'),
      F('smaChargingMode', 'SMA charging mode', 'select', 'Surplus charging: the Home Manager switches the EV on and sets its power from the PV surplus. Immediate charging: full current at once; the Home Manager is only told the energy is needed.',
        { options: [['Surplus', 'Surplus charging'], ['Immediate', 'Immediate charging']] }),
      F('smaFallbackCurrent', 'SMA current on connection loss (A)', 'number', 'What the station charges when the Home Manager has been silent too long, and until it first speaks; 0 pauses.', { step: 0.1 }),
      A('smaConnectionLossSeconds', 'SMA time until connection loss (s)', 'No control message of the Home Manager for this long is a lost connection.'),
      F('smaMaxEnergyDemandKwh', 'SMA maximum energy demand (kWh)', 'number', 'The energy an EV asks of the Home Manager when it does not say what it needs (an ISO 15118 EV does).', { step: 0.1 }),
    ])), smaState,
    h('div', { class: 'card', id: 'modbus-card' }, h('h2', { text: 'Modbus TCP server' }), settingsForm([
      F('modbusEnabled', 'Modbus TCP server', 'bool', 'The register set for energy managers (read the state, write a current limit).', { restart: true }),
      F('modbusPort', 'Port', 'number', `TCP port of connector 1 (connector 2 on the next one). Empty: the configured port (Modbus:Port, ${system.modbusConfiguredPort}).`,
        { restart: true, nullable: true, step: 1, placeholder: `${system.modbusConfiguredPort} (configured)` }),
      F('modbusAllowStartStop', 'Allow Start/Stop Transaction', 'bool', 'A user id written to registers 1110–1119 starts or stops a transaction.'),
      F('modbusAllowUidDisclose', 'Allow UID Disclose', 'bool', 'The id tag of the session is readable in registers 720–729.'),
      F('modbusSafeCurrent', 'Safe current (A)', 'number', 'Register 131: the current while the Modbus master is silent past the communication timeout.', { step: 1 }),
      F('modbusCommunicationTimeout', 'Communication timeout (s)', 'number', 'Register 132: seconds of silence before the safe current applies; 0: never.', { step: 1 }),
    ])));
    await scheduleEditor(schedule);
    every(2000, async () => {
      const lm = await api('GET', '/load-management');
      const i = lm.externalInput;
      inputState.replaceChildren(h('h2', { text: 'External input' }), h('div', { class: 'kpis' },
        kpi('Level', i.level ?? 'not set'), kpi('Load shedding', i.active ? 'active' : 'inactive'), kpi('Used by', i.usedBy ?? 'nothing (off)'), kpi('Input', i.source)),
        i.hardware ? null : h('div', { class: 'buttons' },
          h('button', { type: 'button', id: 'input-high', onclick: async () => { await api('PUT', '/load-management/external-input', { level: 'high' }); } }, 'Set level high'),
          h('button', { type: 'button', id: 'input-low', onclick: async () => { await api('PUT', '/load-management/external-input', { level: 'low' }); } }, 'Set level low')));
      const rows = lm.connectors.map(c => [`Connector ${c.id}`, c.status, fmt.a(c.signalledCurrentA), c.binding]);
      const parts = [h('h2', { text: 'DLM now' }), h('p', { class: 'muted', text: 'Role: ' + lm.mode + (lm.slave ? (lm.slave.connected ? ` · following ${lm.slave.master} at ${lm.slave.address}` : ' · no master: the Disconnected Limit applies') : '') })];
      if (lm.master) {
        const pc = p => `${p.l1} / ${p.l2} / ${p.l3} A`;
        parts.push(h('div', { class: 'kpis' }, kpi('Slaves connected', lm.master.slavesConnected), kpi('Slaves lost', lm.master.slavesLost),
          ...(lm.master.otherLoads ? [kpi('Other loads L1/L2/L3', pc(lm.master.otherLoads))] : []),
          kpi('Applied L1/L2/L3', pc(lm.master.applied)), kpi('Available L1/L2/L3', pc(lm.master.available))),
          table(['Station', 'Connector', 'EV', 'Phases', 'EV max', 'Applied', 'Assigned'], lm.master.connectors.map(c =>
            [c.slave + (c.lost ? ' (lost)' : ''), c.connector, c.ev ? (c.idle ? 'idle' : 'yes') : '–', c.phases, fmt.a(c.maxA), fmt.a(c.appliedA), fmt.a(c.grantedA)]), 'No stations.'));
      }
      parts.push(table(['This station', 'Status', 'Current', 'Limited by'], rows, ''));
      dlmState.replaceChildren(...parts);
      smaState.hidden = !lm.sma;
      if (lm.sma) {
        const d = lm.sma.decision;
        smaState.replaceChildren(h('h2', { text: 'SMA Home Manager now' }), h('div', { class: 'kpis' },
          kpi('Home Manager', lm.sma.connected ? 'controls' : 'silent: the current on connection loss applies'), kpi('Device id', lm.sma.deviceId),
          kpi('Last control', lm.sma.lastControl ? new Date(lm.sma.lastControl).toLocaleTimeString() : 'none yet'), kpi('Phases', lm.sma.phases)),
          h('p', { class: 'muted', id: 'sma-decision', text: (d ? d.reason : 'no recommendation') + (lm.sma.url ? ` · ${lm.sma.url}` : '') }));
      }
    });
  },
};

async function scheduleEditor(card) {
  const s = await api('GET', '/settings');
  let entries = (s.currentSchedule || []).map(e => ({ ...e }));
  const enabled = h('input', { type: 'checkbox', id: 'f-currentSchedulerEnabled', checked: s.currentSchedulerEnabled });
  const error = h('p', { class: 'error', id: 'schedule-error' });
  const body = h('div');
  const draw = () => body.replaceChildren(table(['Hour', 'L1 (A)', 'L2 (A)', 'L3 (A)', ''], entries.map((e, i) => [
    h('select', { 'aria-label': 'Hour', onchange: ev => { e.hour = Number(ev.target.value); } }, [...Array(24).keys()].map(x => h('option', { value: x, text: String(x), selected: x === e.hour }))),
    ...['l1', 'l2', 'l3'].map(k => h('input', { type: 'number', step: 1, value: e[k], 'aria-label': k.toUpperCase(), class: 'key-input', oninput: ev => { e[k] = Number(ev.target.value); } })),
    h('button', { type: 'button', onclick: () => { entries.splice(i, 1); draw(); } }, 'Delete'),
  ]), 'No entries.'));
  draw();
  card.replaceChildren(h('h2', { text: 'Maximum Current Scheduler' }),
    h('p', { class: 'muted', text: 'From each hour (the station\'s time zone) on, at most these currents per phase, until the next entry; at least two entries. On a DLM master they lower the sub-distribution limits; otherwise the station\'s own current.' }),
    h('label', { class: 'check' }, enabled, 'On'), body, error,
    h('div', { class: 'buttons' },
      h('button', { type: 'button', id: 'schedule-add', onclick: () => { entries.push({ hour: 0, l1: 16, l2: 16, l3: 16 }); draw(); } }, 'Add Entry'),
      h('button', { type: 'button', class: 'primary', id: 'schedule-save', onclick: async () => {
        error.textContent = '';
        try {
          await api('PUT', '/settings', { currentSchedulerEnabled: enabled.checked, currentSchedule: entries });
          toast('Schedule saved.');
        } catch (err) { error.textContent = err.body?.errors?.currentSchedule || err.body?.errors?.CurrentSchedule || err.body?.detail || err.message; }
      } }, 'Save schedule')));
}

pages.installation = {
  title: 'Installation',
  async render(main) {
    const i = await api('GET', '/installation');
    main.append(h('div', { class: 'card', id: 'installation-facts' }, h('h2', { text: 'Installation' }),
      h('p', { class: 'muted', text: 'The facts of the installation that load management works with. Set in the station\'s configuration (README: Configuration) and applied at the next start.' }),
      table(['Fact', 'Value', 'Set by'], [
        ['Hardware current limit', fmt.a(i.hardwareCurrentLimit), i.keys.hardwareCurrentLimit],
        ['Phases wired', i.phases, i.keys.phases],
        ['Phase switching (1 or 3 phases, SMA Home Manager)', i.phaseSwitching ? 'yes' : 'no', i.keys.phaseSwitching],
        ['Phase rotation (grid phases of L1, L2, L3)', i.phaseRotation, i.keys.phaseRotation],
        ['Nominal voltage', i.nominalVoltage + ' V', i.keys.nominalVoltage],
        ['Energy transfer', i.energyTransfer, 'Station:EnergyTransfer'],
        ['External input', i.externalInput, i.keys.externalInput],
        ['Grid meter', i.gridMeter, 'GridMeter:Address, GridMeter:Map'],
        ['DLM station id / ports', `${i.dlm.stationId} · announcements UDP ${i.dlm.port} to ${i.dlm.discoveryAddress} · master reports UDP ${i.dlm.masterPort}`, i.keys.dlm],
        ...i.connectors.map(c => [`Connector ${c.id} meter`, `${c.meter} (EVSE ID ${c.evseId})`, 'Station:EvseIds']),
      ], '')));
  },
};

pages.system = {
  title: 'System',
  async render(main) {
    const s = await api('GET', '/system');
    const pw = { current: h('input', { type: 'password', id: 'pw-current', autocomplete: 'current-password' }), next: h('input', { type: 'password', id: 'pw-new', autocomplete: 'new-password' }),
      repeat: h('input', { type: 'password', id: 'pw-repeat', autocomplete: 'new-password' }) };
    const pwError = h('p', { class: 'error' });
    main.append(h('div', { class: 'card' }, h('h2', { text: 'Station' }), h('div', { class: 'kpis' },
      kpi('Version', s.version.split('+')[0]), kpi('Build', (s.version.split('+')[1] || '–').slice(0, 10)), kpi('Runtime', s.runtime), kpi('Up since', fmt.date(s.started)), kpi('Connectors', s.connectors)),
      h('p', { class: 'muted', text: 'Database: ' + s.database }),
      h('div', { class: 'buttons' }, h('a', { href: '/api/system/log', download: 'juice-station.log', id: 'download-log' }, h('button', { type: 'button' }, 'Download log')),
        h('button', { type: 'button', class: 'primary', onclick: restart }, 'Restart'))),
    h('div', { class: 'card' }, h('h2', { text: 'Operator password' }),
      h('label', { for: 'pw-current', text: 'Current password' }), pw.current, h('label', { for: 'pw-new', text: 'New password (at least 8 characters)' }), pw.next,
      h('label', { for: 'pw-repeat', text: 'Repeat the new password' }), pw.repeat, pwError,
      h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'primary', onclick: async () => {
        pwError.textContent = '';
        if (pw.next.value !== pw.repeat.value) { pwError.textContent = 'The two new passwords differ.'; return; }
        try {
          await api('POST', '/operator/password', { current: pw.current.value, new: pw.next.value });
          toast('Password changed: log in with the new one.');
          showLogin();
        } catch (err) { pwError.textContent = err.body?.errors?.new || err.body?.error || err.message; }
      } }, 'Change password'))));
  },
};

pages.network = {
  title: 'Network',
  async render(main) {
    const n = await api('GET', '/network');
    main.append(
      h('div', { class: 'card', id: 'network-listeners' }, h('h2', { text: 'Services and where they listen' }),
        table(['Service', 'Address / interface', 'Set by'], n.listeners.map(l => [l.service, l.where, l.key]), 'Nothing listens.')),
      h('div', { class: 'card', id: 'network-interfaces' }, h('h2', { text: 'Interfaces' }),
        table(['Interface', 'State', 'MAC', 'Addresses'], n.interfaces.map(i => [i.name, i.state, i.mac || '–', i.addresses.join(', ') || '–']), 'No interfaces.')),
      h('div', { class: 'card', id: 'network-settings' }, h('h2', { text: 'Listen addresses and ports' }),
        h('p', { class: 'muted', text: 'Set in the station\'s configuration (appsettings.json, environment or command line; README: Configuration) and applied at the next start; the Modbus port also on LOAD MANAGEMENT.' }),
        table(['Key', 'Value'], Object.entries(n.settings).map(([k, v]) => [k, v ?? '(none)']), '')));
  },
};

// ---------- router ----------

async function route() {
  state.timers.forEach(clearInterval);
  state.timers = [];
  const name = (location.hash.replace(/^#\//, '') || 'dashboard');
  // an address without a page says so instead of showing the dashboard
  const page = pages[name] || { title: 'No such page', render: async m => m.append(h('div', { class: 'card', id: 'no-page' },
    h('p', { text: `There is no page "${name}".` }), h('a', { href: '#/dashboard' }, 'Dashboard'))) };
  document.querySelectorAll('.sidebar a').forEach(a => a.classList.toggle('active', a.dataset.page === name));
  $('#page-title').textContent = page.title;
  document.title = page.title + ' · Juice charging station';
  const main = $('#main');
  main.replaceChildren();
  backendBadge();
  try {
    state.settings = await api('GET', '/settings');
    await page.render(main);
  } catch (err) {
    if (err.status !== 401) main.append(h('div', { class: 'card' }, h('p', { class: 'error', text: 'The station did not answer: ' + err.message })));
  }
}

async function backendBadge() {
  if ($('#app').hidden) return;
  try {
    const o = await api('GET', '/ocpp');
    const b = $('#backend-badge');
    b.textContent = 'Backend: ' + (!o.state.enabled ? 'off' : o.state.connected ? 'connected' : 'offline');
    b.className = 'badge ' + (!o.state.enabled ? '' : o.state.connected ? 'green' : 'red');
  } catch { /* shown by the page */ }
}
setInterval(backendBadge, 5000);

window.addEventListener('hashchange', () => { if (!$('#app').hidden) route(); });

(async () => {
  try {
    const s = await api('GET', '/session');
    state.csrf = s.csrf;
    $('#login').hidden = true;
    $('#app').hidden = false;
    route();
  } catch { showLogin(); }
})();
