// Asterisk testsuite `authentication` (+ routing errors): Basic and api_key, read-only users,
// 401/403/405/400/404/204 exactly.
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const none = await L.request('GET', '/asterisk/info', { auth: null });
  assert.strictEqual(none.status, 401);
  assert.strictEqual(none.headers['www-authenticate'], 'Basic realm="Asterisk REST Interface"');
  assert.strictEqual(none.body.message, 'Authentication required');
  await L.expectStatus(401, 'GET', '/asterisk/info', { auth: 'asterisk:wrong' });
  await L.expectStatus(200, 'GET', '/asterisk/info', { auth: null, query: { api_key: 'asterisk:asterisk' } });
  // Read-only user.
  await L.expectStatus(204, 'OPTIONS', '/channels', { auth: 'ro:ro' });
  await L.expectStatus(200, 'GET', '/channels', { auth: 'ro:ro' });
  for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const r = await L.expectStatus(403, m, '/channels', { auth: 'ro:ro' });
    assert.strictEqual(r.body.message, 'Write access denied');
  }
  // Read-write user: POST without endpoint 400; PUT/PATCH/DELETE 405 with Allow.
  await L.expectStatus(400, 'POST', '/channels');
  for (const m of ['PUT', 'PATCH', 'DELETE']) {
    const r = await L.expectStatus(405, m, '/channels');
    assert.ok(/GET/.test(r.headers.allow) && /POST/.test(r.headers.allow), r.headers.allow);
  }
  const slash = await L.expectStatus(404, 'GET', '/channels/');
  assert.ok(slash.body.message.startsWith('ARI URLs do not end with a slash'), slash.body.message);
  const unknown = await L.expectStatus(404, 'GET', '/nothing/here');
  assert.strictEqual(unknown.body.message, 'Resource not found');
  const info = await L.expectStatus(200, 'GET', '/asterisk/info');
  assert.ok(info.body.system.entity_id && info.body.system.version);
  const ping = await L.expectStatus(200, 'GET', '/asterisk/ping');
  assert.strictEqual(ping.body.ping, 'pong');
  // Events WebSocket: app is required.
  const noapp = await L.request('GET', '/events');
  assert.strictEqual(noapp.status, 400);
});
