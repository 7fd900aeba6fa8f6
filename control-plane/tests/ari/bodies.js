// Asterisk testsuite `request-bodies` and `content-type`: parameters from a form body and a
// JSON body (JSON overrides the query), malformed JSON 400, Content-Type parameters ignored.
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const form = await L.expectStatus(200, 'POST', '/bridges', { form: { type: 'holding', name: 'f' } });
  assert.strictEqual(form.body.bridge_type, 'holding');
  const json = await L.expectStatus(200, 'POST', '/bridges', { query: { type: 'mixing' }, body: { type: 'holding' } });
  assert.strictEqual(json.body.bridge_type, 'holding', 'JSON body keys override the query');
  const bad = await L.expectStatus(400, 'POST', '/bridges', { body: '{"type": ' });
  assert.strictEqual(bad.body.message, 'Error parsing request body');
  await L.expectStatus(204, 'POST', '/asterisk/variable', {
    body: { variable: 'FOO', value: 'bar' },
    headers: { 'Content-Type': 'application/json; param=ignored' },
  });
  const v = await L.expectStatus(200, 'GET', '/asterisk/variable', { query: { variable: 'FOO' } });
  assert.strictEqual(v.body.value, 'bar');
  for (const b of [form.body.id, json.body.id]) await L.expectStatus(204, 'DELETE', '/bridges/' + b);
});
