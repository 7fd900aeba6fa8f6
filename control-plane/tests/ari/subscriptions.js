// Asterisk testsuite `applications/subscribe-bridge`, `event-filter/{allowed,disallowed}`,
// `applications/errors`, `events/user/{multi,invalid}`.
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const watcher = new L.Events('watcher');
  const owner = new L.Events('owner');
  await Promise.all([watcher.open, owner.open]);
  const apps = await L.expectStatus(200, 'GET', '/applications');
  assert.deepStrictEqual(apps.body.map(a => a.name).sort(), ['owner', 'watcher']);
  await L.expectStatus(404, 'GET', '/applications/nope');
  const call = L.sippCall('8000', 30);
  const id = (await owner.next('StasisStart')).channel.id;
  await L.expectStatus(200, 'POST', '/bridges/sb', { query: { type: 'mixing' } });
  // Errors: unknown app 404, no eventSource 400, unknown source 422, bad scheme 400.
  await L.expectStatus(404, 'POST', '/applications/nope/subscription', { query: { eventSource: 'bridge:sb' } });
  await L.expectStatus(400, 'POST', '/applications/watcher/subscription');
  await L.expectStatus(422, 'POST', '/applications/watcher/subscription', { query: { eventSource: 'bridge:nope' } });
  await L.expectStatus(400, 'POST', '/applications/watcher/subscription', { query: { eventSource: 'grue:x' } });
  await L.expectStatus(409, 'DELETE', '/applications/watcher/subscription', { query: { eventSource: 'bridge:sb' } });
  // subscribe-bridge: the watcher sees the owner's channel enter and leave.
  const sub = await L.expectStatus(200, 'POST', '/applications/watcher/subscription', { query: { eventSource: 'bridge:sb' } });
  assert.deepStrictEqual(sub.body.bridge_ids, ['sb']);
  await L.expectStatus(204, 'POST', '/bridges/sb/addChannel', { query: { channel: id } });
  await watcher.next('ChannelEnteredBridge', e => e.bridge.id === 'sb' && e.application === 'watcher');
  await L.expectStatus(204, 'POST', '/bridges/sb/removeChannel', { query: { channel: id } });
  await watcher.next('ChannelLeftBridge', e => e.bridge.id === 'sb');
  await L.expectStatus(200, 'DELETE', '/applications/watcher/subscription', { query: { eventSource: 'bridge:sb' } });
  await L.expectStatus(204, 'POST', '/bridges/sb/addChannel', { query: { channel: id } });
  await owner.next('ChannelEnteredBridge', e => e.bridge.id === 'sb');
  await L.sleep(200);
  assert.strictEqual(watcher.types(e => e.type === 'ChannelEnteredBridge').length, 1, 'no events after unsubscribing');
  // event-filter: only ChannelVarset allowed, then ChannelVarset disallowed.
  const f = await L.expectStatus(200, 'PUT', '/applications/owner/eventFilter', { body: { allowed: [{ type: 'ChannelVarset' }] } });
  assert.deepStrictEqual(f.body.events_allowed, [{ type: 'ChannelVarset' }]);
  await L.expectStatus(204, 'POST', `/channels/${id}/variable`, { query: { variable: 'A', value: '1' } });
  await L.expectStatus(204, 'POST', `/channels/${id}/answer`);
  await owner.next('ChannelVarset', e => e.variable === 'A');
  await L.sleep(200);
  owner.none('ChannelStateChange', e => e.channel.state === 'Up');
  await L.expectStatus(200, 'PUT', '/applications/owner/eventFilter', { body: { disallowed: [{ type: 'ChannelVarset' }] } });
  await L.expectStatus(204, 'POST', `/channels/${id}/variable`, { query: { variable: 'B', value: '2' } });
  await L.sleep(200);
  owner.none('ChannelVarset', e => e.variable === 'B');
  await L.expectStatus(400, 'PUT', '/applications/owner/eventFilter', { body: { allowed: [{ nottype: 1 }] } });
  await L.expectStatus(200, 'PUT', '/applications/owner/eventFilter', { body: {} });
  // User events: multi (channel + bridge sources), invalid (404 app, 400 source, 422 missing).
  await L.expectStatus(204, 'POST', '/events/user/party', {
    query: { application: 'owner', source: `channel:${id},bridge:sb` },
    body: { variables: { k: 'v' } },
  });
  const ue = await owner.next('ChannelUserevent', e => e.eventname === 'party');
  assert.deepStrictEqual(ue.userevent, { k: 'v' });
  assert.strictEqual(ue.channel.id, id);
  assert.strictEqual(ue.bridge.id, 'sb');
  await L.expectStatus(404, 'POST', '/events/user/x', { query: { application: 'nope' } });
  await L.expectStatus(400, 'POST', '/events/user/x', { query: { application: 'owner', source: 'grue:1' } });
  await L.expectStatus(422, 'POST', '/events/user/x', { query: { application: 'owner', source: 'channel:nope' } });
  await L.expectStatus(400, 'POST', '/events/user/x');
  await L.expectStatus(204, 'DELETE', '/bridges/sb');
  await L.expectStatus(204, 'DELETE', `/channels/${id}`);
  assert.strictEqual(await call.done, 0);
});
