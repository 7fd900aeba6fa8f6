// Helpers for ARI scenarios run against mediaplane with the real npm ari-client:
// raw REST (for exact status codes), an events WebSocket recorder, SIPp calls.
'use strict';
const assert = require('assert');
const http = require('http');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const WebSocket = require('ws');
const ariClient = require('ari-client');

const ARI = process.env.ARI_URL;
const AUTH = 'asterisk:asterisk';
const children = [];

function request(method, p, { query, body, form, auth = AUTH, headers = {} } = {}) {
  const url = new URL(ARI + '/ari' + p);
  if (query) for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  let data = null;
  const h = Object.assign({}, headers);
  if (body !== undefined) {
    data = typeof body === 'string' ? body : JSON.stringify(body);
    if (!h['Content-Type']) h['Content-Type'] = 'application/json';
  } else if (form) {
    data = new URLSearchParams(form).toString();
    h['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  if (auth) h['Authorization'] = 'Basic ' + Buffer.from(auth).toString('base64');
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, headers: h }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        let json = null;
        try { json = raw.length ? JSON.parse(raw.toString()) : null; } catch (e) { /* binary */ }
        resolve({ status: res.statusCode, body: json, raw, headers: res.headers });
      });
    });
    r.on('error', reject);
    if (data) r.write(data);
    r.end();
  });
}

async function expectStatus(status, method, p, opts) {
  const r = await request(method, p, opts);
  assert.strictEqual(r.status, status, `${method} ${p} → ${r.status} ${JSON.stringify(r.body)} (wanted ${status})`);
  if (status >= 400) assert.ok(r.body && typeof r.body.message === 'string', `${method} ${p}: error without {"message"}`);
  return r;
}

/// Records every event of an app's WebSocket.
class Events {
  constructor(app, subscribeAll = false) {
    this.app = app;
    this.list = [];
    this.cursor = 0;
    this.waiters = [];
    const url = ARI.replace('http', 'ws') + `/ari/events?app=${app}&api_key=${AUTH}` + (subscribeAll ? '&subscribeAll=true' : '');
    this.ws = new WebSocket(url);
    this.open = new Promise((resolve, reject) => { this.ws.on('open', resolve); this.ws.on('error', reject); });
    this.ws.on('message', m => {
      const e = JSON.parse(m.toString());
      this.list.push(e);
      this.waiters = this.waiters.filter(w => !w());
    });
  }
  /// The next event (after the cursor) of `type` matching `pred`; moves the cursor past it.
  next(type, pred = () => true, timeout = 8000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = this.cursor; i < this.list.length; i++) {
          const e = this.list[i];
          if (e.type === type && pred(e)) { this.cursor = i + 1; resolve(e); return true; }
        }
        return false;
      };
      if (check()) return;
      const t = setTimeout(() => reject(new Error(`no ${type} within ${timeout} ms; got ${this.list.slice(this.cursor).map(e => e.type).join(',')}`)), timeout);
      this.waiters.push(() => { if (check()) { clearTimeout(t); return true; } return false; });
    });
  }
  /// Like `next`, but anywhere in what arrived (ignores and keeps the cursor).
  seen(type, pred = () => true, timeout = 8000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.list.find(e => e.type === type && pred(e));
        if (hit) resolve(hit);
        return !!hit;
      };
      if (check()) return;
      const t = setTimeout(() => reject(new Error(`no ${type} within ${timeout} ms`)), timeout);
      this.waiters.push(() => { if (check()) { clearTimeout(t); return true; } return false; });
    });
  }
  /// Asserts no event of `type` arrived (so far).
  none(type, pred = () => true) {
    const hit = this.list.find(e => e.type === type && pred(e));
    assert.ok(!hit, `unexpected ${type}: ${JSON.stringify(hit)}`);
  }
  types(pred = () => true) { return this.list.filter(pred).map(e => e.type); }
  close() { this.ws.close(); }
}

function sleep(ms) { return new Promise(r => setTimeout(r, ms)); }

/// A SIPp call to mediaplane's `service` lasting `secs` unless mediaplane hangs up.
function sippCall(service, secs = 20) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ari-sipp-'));
  fs.symlinkSync('/usr/share/sip-tester', path.join(dir, 'pcap'));
  // SIPp takes no keyword in a timeout: write the call length into a copy.
  const scenario = path.join(dir, 'uac_call.xml');
  fs.writeFileSync(scenario, fs.readFileSync(path.join(__dirname, '..', 'sipp', 'uac_call.xml'), 'utf8')
    .replace('[call_length]', String(secs * 1000)));
  const port = 21000 + Math.floor(Math.random() * 8000);
  const p = spawn('sipp', ['-sf', scenario, process.env.SIP_ADDR, '-i', '127.0.0.1', '-p', String(port),
    '-mp', String(40000 + Math.floor(Math.random() * 4000) * 2), '-s', service, '-m', '1',
    '-d', String(secs * 1000), '-nostdin', '-trace_screen'], { cwd: dir, stdio: 'ignore' });
  children.push(p);
  p.done = new Promise(r => p.on('exit', code => r(code)));
  p.dir = dir;
  return p;
}

/// A SIPp UAS answering every INVITE; resolves to its port.
async function sippUas() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ari-uas-'));
  const port = 29000 + Math.floor(Math.random() * 3000);
  const p = spawn('sipp', ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(port), '-nostdin'], { cwd: dir, stdio: 'ignore' });
  children.push(p);
  await sleep(400);
  return { port, proc: p };
}

async function connect() {
  return ariClient.connect(ARI, 'asterisk', 'asterisk');
}

function run(fn) {
  const deadline = setTimeout(() => { console.error('scenario timed out'); finish(1); }, 50000);
  fn().then(() => { clearTimeout(deadline); console.log('ok'); finish(0); })
    .catch(e => { clearTimeout(deadline); console.error(e && e.stack || e); finish(1); });
}

function finish(code) {
  for (const c of children) { try { c.kill('SIGKILL'); } catch (e) { /* gone */ } }
  process.exit(code);
}

module.exports = { assert, request, expectStatus, Events, sleep, sippCall, sippUas, connect, run };
