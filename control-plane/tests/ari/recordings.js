// Asterisk testsuite `recording/nominal`, `file_conflicts`, `format_unavailable`,
// `stored/copy/*`, `stored/file`, and `bridges/bridge_record`: the live and stored recording
// lifecycle and error codes.
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const ev = new L.Events('rec');
  await ev.open;
  const call = L.sippCall('7000', 40);
  const id = (await ev.next('StasisStart')).channel.id;
  await L.expectStatus(204, 'POST', `/channels/${id}/answer`);
  const r = await L.expectStatus(201, 'POST', `/channels/${id}/record`, { query: { name: 'calls/first', format: 'wav', beep: 'yes', terminateOn: '#' } });
  assert.strictEqual(r.headers.location, '/ari/recordings/live/calls/first');
  const started = await ev.next('RecordingStarted', e => e.recording.name === 'calls/first');
  assert.strictEqual(started.recording.format, 'wav');
  assert.strictEqual(started.recording.state, 'recording');
  assert.strictEqual(started.recording.target_uri, 'channel:' + id);
  // In progress: the same name is refused.
  await L.expectStatus(409, 'POST', `/channels/${id}/record`, { query: { name: 'calls/first', format: 'wav', ifExists: 'overwrite' } });
  const live = await L.expectStatus(200, 'GET', '/recordings/live/calls%2Ffirst');
  assert.strictEqual(live.body.state, 'recording');
  await L.expectStatus(204, 'POST', '/recordings/live/calls%2Ffirst/pause');
  await L.expectStatus(204, 'DELETE', '/recordings/live/calls%2Ffirst/pause');
  await L.expectStatus(204, 'POST', '/recordings/live/calls%2Ffirst/mute');
  await L.expectStatus(204, 'DELETE', '/recordings/live/calls%2Ffirst/mute');
  await L.sleep(1500);
  await L.expectStatus(204, 'POST', '/recordings/live/calls%2Ffirst/stop');
  const fin = await ev.next('RecordingFinished', e => e.recording.name === 'calls/first');
  assert.strictEqual(fin.recording.state, 'done');
  assert.ok(fin.recording.duration >= 1, JSON.stringify(fin.recording));
  await L.expectStatus(404, 'GET', '/recordings/live/calls%2Ffirst');
  // file_conflicts: fail → 409, overwrite → 201.
  await L.expectStatus(409, 'POST', `/channels/${id}/record`, { query: { name: 'calls/first', format: 'wav' } });
  await L.expectStatus(201, 'POST', `/channels/${id}/record`, { query: { name: 'calls/first', format: 'wav', ifExists: 'overwrite', maxDurationSeconds: 1 } });
  await ev.next('RecordingFinished', e => e.recording.name === 'calls/first', 10000);
  // format_unavailable.
  await L.expectStatus(422, 'POST', `/channels/${id}/record`, { query: { name: 'x', format: 'grue' } });
  await L.expectStatus(400, 'POST', `/channels/${id}/record`, { query: { format: 'wav' } });
  await L.expectStatus(404, 'POST', '/channels/nope/record', { query: { name: 'x', format: 'wav' } });
  // Stored: list, get, file, copy, delete.
  const stored = await L.expectStatus(200, 'GET', '/recordings/stored');
  assert.ok(stored.body.some(s => s.name === 'calls/first' && s.format === 'wav'), JSON.stringify(stored.body));
  const one = await L.expectStatus(200, 'GET', '/recordings/stored/calls/first');
  assert.deepStrictEqual(one.body, { name: 'calls/first', format: 'wav' });
  const file = await L.expectStatus(200, 'GET', '/recordings/stored/calls/first/file');
  assert.strictEqual(file.raw.slice(0, 4).toString(), 'RIFF');
  assert.ok(file.raw.length > 44 + 8000, 'a second of audio');
  await L.expectStatus(200, 'POST', '/recordings/stored/calls/first/copy', { query: { destinationRecordingName: 'copy/superfreak' } });
  await L.expectStatus(409, 'POST', '/recordings/stored/calls/first/copy', { query: { destinationRecordingName: 'copy/superfreak' } });
  await L.expectStatus(404, 'POST', '/recordings/stored/nope/copy', { query: { destinationRecordingName: 'y' } });
  await L.expectStatus(200, 'GET', '/recordings/stored/copy/superfreak');
  await L.expectStatus(204, 'DELETE', '/recordings/stored/copy/superfreak');
  await L.expectStatus(404, 'GET', '/recordings/stored/copy/superfreak');
  await L.expectStatus(404, 'GET', '/recordings/stored/nope/file');
  // bridge_record: the bridge's mix.
  await L.expectStatus(200, 'POST', '/bridges/rb', { query: { type: 'mixing' } });
  await L.expectStatus(204, 'POST', '/bridges/rb/addChannel', { query: { channel: id } });
  const br = await L.expectStatus(201, 'POST', '/bridges/rb/record', { query: { name: 'bridge-rec', format: 'sln' } });
  assert.strictEqual(br.body.target_uri, 'bridge:rb');
  await ev.next('RecordingStarted', e => e.recording.name === 'bridge-rec');
  await L.sleep(500);
  await L.expectStatus(204, 'DELETE', '/recordings/live/bridge-rec');
  const canceled = await ev.next('RecordingFinished', e => e.recording.name === 'bridge-rec');
  assert.strictEqual(canceled.recording.state, 'canceled');
  await L.expectStatus(404, 'GET', '/recordings/stored/bridge-rec');
  await L.expectStatus(204, 'DELETE', '/bridges/rb');
  await L.expectStatus(204, 'DELETE', `/channels/${id}`);
  assert.strictEqual(await call.done, 0);
});
