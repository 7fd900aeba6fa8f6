// Bad input and resilience: an ARI client that disconnects mid-call drops no call (and gets
// its events again when it returns); a reader that stops reading is cut off while another
// app keeps getting its events on time; ApplicationReplaced goes to the old socket.
const L = require('./lib');
const net = require('net');
const { assert } = L;

L.run(async () => {
  let ev = new L.Events('app1');
  await ev.open;
  const call = L.sippCall('1234', 120);
  const id = (await ev.next('StasisStart')).channel.id;
  await L.expectStatus(204, 'POST', `/channels/${id}/answer`);
  ev.close();
  await L.sleep(500);
  const alive = await L.expectStatus(200, 'GET', `/channels/${id}`);
  assert.strictEqual(alive.body.state, 'Up', 'the call survives its app disconnecting');
  ev = new L.Events('app1');
  await ev.open;
  await L.expectStatus(204, 'POST', `/channels/${id}/variable`, { query: { variable: 'BACK', value: '1' } });
  const varset = await ev.next('ChannelVarset', e => e.variable === 'BACK');
  assert.deepStrictEqual(varset.channel.channelvars, { BACK: '1' }, 'ari.channelvars names what snapshots show');
  // ApplicationReplaced: a second socket for app1 takes it over.
  const replacement = new L.Events('app1');
  await replacement.open;
  await ev.next('ApplicationReplaced');
  // A slow reader: a raw socket that upgrades for app "slow" and then reads nothing.
  const slow = net.connect(new URL(process.env.ARI_URL).port, '127.0.0.1');
  await new Promise(r => slow.on('connect', r));
  slow.write('GET /ari/events?app=slow&subscribeAll=true&api_key=asterisk:asterisk HTTP/1.1\r\n' +
    'Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  await L.sleep(300);
  slow.pause();
  // Flood events (variables with large values) and time a fast client's view of them.
  const fast = new L.Events('fast', true);
  await fast.open;
  const big = 'x'.repeat(8000);
  const t0 = Date.now();
  for (let i = 0; i < 3000; i++) {
    await L.expectStatus(204, 'POST', `/channels/${id}/variable`, { query: { variable: 'V' + i, value: big } });
  }
  console.log(`3000 requests took ${Date.now() - t0} ms`);
  await fast.next('ChannelVarset', e => e.variable === 'V2999', 20000);
  const took = Date.now() - t0;
  const last = fast.list[fast.list.length - 1];
  assert.deepStrictEqual(last.channel.channelvars, { BACK: '1' }, 'other variables stay out of snapshots');
  // The slow reader's writes block once the kernel's buffers are full; a write blocked for
  // a second cuts it off.
  let names = [];
  for (let i = 0; i < 50; i++) {
    names = (await L.expectStatus(200, 'GET', '/applications')).body.map(a => a.name);
    if (!names.includes('slow')) break;
    await L.sleep(100);
  }
  assert.ok(!names.includes('slow'), 'the slow reader was cut off: ' + JSON.stringify(names));
  console.log(`3000 events of 8 kB reached the fast client in ${took} ms while the slow one was cut off`);
  slow.destroy();
  await L.expectStatus(204, 'DELETE', `/channels/${id}`);
  assert.strictEqual(await call.done, 0, 'SIPp ended its call normally');
});
