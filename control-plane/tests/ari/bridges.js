// Asterisk testsuite `bridges/bridge_by_id`, `happy`, `move`, `unhappy`, `delete`, `hangup`:
// bridges with inbound SIPp calls in them, every error code and event sequence.
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const ev = new L.Events('br');
  await ev.open;
  const calls = [L.sippCall('5001', 30), L.sippCall('5002', 30)];
  const a = (await ev.next('StasisStart')).channel.id;
  const b = (await ev.next('StasisStart')).channel.id;
  for (const id of [a, b]) await L.expectStatus(204, 'POST', `/channels/${id}/answer`);
  // bridge_by_id: create with an id; duplicate 409.
  const br = await L.expectStatus(200, 'POST', '/bridges/b1', { query: { type: 'mixing', name: 'first' } });
  assert.deepStrictEqual([br.body.id, br.body.bridge_type, br.body.name, br.body.bridge_class], ['b1', 'mixing', 'first', 'stasis']);
  await L.expectStatus(409, 'POST', '/bridges/b1');
  await L.expectStatus(200, 'POST', '/bridges', { query: { bridgeId: 'b2', type: 'mixing' } });
  // unhappy: missing bridge 404, missing channel 400, missing parameter 400.
  await L.expectStatus(404, 'POST', '/bridges/nope/addChannel', { query: { channel: a } });
  await L.expectStatus(400, 'POST', '/bridges/b1/addChannel', { query: { channel: 'nope' } });
  await L.expectStatus(400, 'POST', '/bridges/b1/addChannel');
  // happy: both in b1.
  await L.expectStatus(204, 'POST', '/bridges/b1/addChannel', { query: { channel: `${a},${b}` } });
  await ev.next('ChannelEnteredBridge', e => e.channel.id === a && e.bridge.id === 'b1');
  await ev.next('ChannelEnteredBridge', e => e.channel.id === b && e.bridge.id === 'b1');
  const got = await L.expectStatus(200, 'GET', '/bridges/b1');
  assert.deepStrictEqual(got.body.channels, [a, b]);
  // unhappy: remove a channel that is not in this bridge 422.
  await L.expectStatus(422, 'POST', '/bridges/b2/removeChannel', { query: { channel: a } });
  // move: straight into b2 — Left b1, Entered b2.
  await L.expectStatus(204, 'POST', '/bridges/b2/addChannel', { query: { channel: a } });
  await ev.next('ChannelLeftBridge', e => e.channel.id === a && e.bridge.id === 'b1');
  await ev.next('ChannelEnteredBridge', e => e.channel.id === a && e.bridge.id === 'b2');
  // remove.
  await L.expectStatus(204, 'POST', '/bridges/b2/removeChannel', { query: { channel: a } });
  await ev.next('ChannelLeftBridge', e => e.channel.id === a && e.bridge.id === 'b2');
  // delete a bridge with a channel in it: Left + BridgeDestroyed, the channel survives.
  await L.expectStatus(204, 'DELETE', '/bridges/b1');
  await ev.next('ChannelLeftBridge', e => e.channel.id === b && e.bridge.id === 'b1');
  await ev.next('BridgeDestroyed', e => e.bridge.id === 'b1');
  await L.expectStatus(200, 'GET', `/channels/${b}`);
  await L.expectStatus(404, 'GET', '/bridges/b1');
  // hangup in a bridge: Left + StasisEnd.
  await L.expectStatus(204, 'POST', '/bridges/b2/addChannel', { query: { channel: b } });
  await ev.next('ChannelEnteredBridge', e => e.channel.id === b && e.bridge.id === 'b2');
  await L.expectStatus(204, 'DELETE', `/channels/${b}`);
  await ev.next('ChannelLeftBridge', e => e.channel.id === b && e.bridge.id === 'b2');
  await ev.next('StasisEnd', e => e.channel.id === b);
  const list = await L.expectStatus(200, 'GET', '/bridges');
  assert.ok(list.body.some(x => x.id === 'b2' && x.channels.length === 0));
  await L.expectStatus(204, 'DELETE', '/bridges/b2');
  await L.expectStatus(204, 'DELETE', `/channels/${a}`);
  for (const c of calls) assert.strictEqual(await c.done, 0);
});
