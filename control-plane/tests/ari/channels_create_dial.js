// Asterisk testsuite `channels/originate_duplicate_id`, `create_duplicate_id`,
// `create_dial_bridge/create/nominal`, `originate_with_vars`, `channel_variables/get_set_*`:
// a channel created towards a SIPp UAS, its variables, duplicate ids, dialling, hangup.
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const uas = await L.sippUas();
  const ev = new L.Events('dialer');
  await ev.open;
  const endpoint = `pjsip/call-out/sip:alice@127.0.0.1:${uas.port}`;
  // create: no dial yet; StasisStart at once with appArgs.
  const c = await L.expectStatus(200, 'POST', '/channels/create', {
    body: { endpoint, app: 'dialer', appArgs: 'a=1,b=2', channelId: 'chan-1', variables: { 'CALLERID(name)': 'Bob', 'X_VAR': '7' } },
  });
  assert.strictEqual(c.body.id, 'chan-1');
  assert.strictEqual(c.body.state, 'Down');
  const start = await ev.next('StasisStart', e => e.channel.id === 'chan-1');
  assert.deepStrictEqual(start.args, ['a=1', 'b=2']);
  // Duplicate ids: 409 for create and originate, and for otherChannelId.
  await L.expectStatus(409, 'POST', '/channels/create', { body: { endpoint, app: 'dialer', channelId: 'chan-1' } });
  await L.expectStatus(409, 'POST', '/channels', { body: { endpoint, app: 'dialer', channelId: 'chan-1' } });
  await L.expectStatus(409, 'POST', '/channels/create', { body: { endpoint, app: 'dialer', channelId: 'x', otherChannelId: 'chan-1' } });
  await L.expectStatus(400, 'POST', '/channels/create', { body: { endpoint: 'Local/s@default', app: 'dialer' } });
  // Variables, including functions.
  const got = await L.expectStatus(200, 'GET', '/channels/chan-1');
  assert.strictEqual(got.body.caller.name, 'Bob');
  let v = await L.expectStatus(200, 'GET', '/channels/chan-1/variable', { query: { variable: 'X_VAR' } });
  assert.strictEqual(v.body.value, '7');
  await L.expectStatus(204, 'POST', '/channels/chan-1/variable', { query: { variable: 'Y', value: 'yes' } });
  await ev.next('ChannelVarset', e => e.variable === 'Y' && e.value === 'yes');
  v = await L.expectStatus(200, 'GET', '/channels/chan-1/variables', { query: { variables: 'X_VAR,Y' } });
  assert.deepStrictEqual(v.body.variables, { X_VAR: '7', Y: 'yes' });
  await L.expectStatus(404, 'GET', '/channels/chan-1/variable', { query: { variable: 'NOPE' } });
  await L.expectStatus(400, 'GET', '/channels/chan-1/variable');
  // Dial: Dial events, Up, protocol_id = the SIP Call-ID.
  await L.expectStatus(204, 'POST', '/channels/chan-1/dial', { body: { timeout: 10 } });
  await ev.next('Dial', e => e.peer.id === 'chan-1' && e.dialstatus === '');
  const up = await ev.next('ChannelStateChange', e => e.channel.state === 'Up');
  await ev.next('Dial', e => e.peer.id === 'chan-1' && e.dialstatus === 'ANSWER');
  assert.ok(up.channel.protocol_id.length > 0);
  v = await L.expectStatus(200, 'GET', '/channels/chan-1/variable', { query: { variable: 'CHANNEL(pjsip,call-id)' } });
  assert.strictEqual(v.body.value, up.channel.protocol_id);
  await L.expectStatus(409, 'POST', '/channels/chan-1/dial');
  // Hang up: HangupRequest, StasisEnd, Destroyed; then 404.
  await L.expectStatus(204, 'DELETE', '/channels/chan-1', { query: { reason_code: '200' } });
  await ev.next('ChannelHangupRequest', e => e.channel.id === 'chan-1' && e.cause === 200);
  await ev.next('StasisEnd', e => e.channel.id === 'chan-1');
  await ev.next('ChannelDestroyed', e => e.channel.id === 'chan-1');
  await L.expectStatus(404, 'GET', '/channels/chan-1');
  await L.expectStatus(404, 'DELETE', '/channels/chan-1');
  // Originate straight away: StasisStart after the answer.
  const o = await L.expectStatus(200, 'POST', '/channels', { body: { endpoint, app: 'dialer', channelId: 'chan-2', timeout: 10 } });
  assert.strictEqual(o.body.id, 'chan-2');
  await ev.next('StasisStart', e => e.channel.id === 'chan-2' && e.channel.state === 'Up');
  await L.expectStatus(204, 'DELETE', '/channels/chan-2');
  await ev.next('ChannelDestroyed', e => e.channel.id === 'chan-2');
  // Originate to nowhere: Dial failure and destruction.
  await L.expectStatus(200, 'POST', '/channels', { body: { endpoint: 'pjsip/call-out/sip:x@127.0.0.1:9', app: 'dialer', channelId: 'chan-3', timeout: 3 } });
  await ev.next('ChannelDestroyed', e => e.channel.id === 'chan-3', 40000);
});
