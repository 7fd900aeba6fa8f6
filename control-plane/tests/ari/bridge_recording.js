// Issue scenario 4 (bridge part): two SIPp calls in a bridge with a tone played into it;
// the bridge recording (the Rust side checks the WAV) holds the mix.
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const ev = new L.Events('rec');
  await ev.open;
  const calls = [L.sippCall('9001', 30), L.sippCall('9002', 30)];
  const a = (await ev.next('StasisStart')).channel.id;
  const b = (await ev.next('StasisStart')).channel.id;
  await L.expectStatus(200, 'POST', '/bridges/cb', { query: { type: 'mixing' } });
  for (const id of [a, b]) {
    await L.expectStatus(204, 'POST', `/channels/${id}/answer`);
    await L.expectStatus(204, 'POST', '/bridges/cb/addChannel', { query: { channel: id } });
  }
  await L.expectStatus(201, 'POST', '/bridges/cb/record', { query: { name: 'conf-mix', format: 'wav' } });
  await ev.next('RecordingStarted', e => e.recording.name === 'conf-mix');
  await L.expectStatus(201, 'POST', '/bridges/cb/play', { query: { media: 'tone:2000' } });
  await L.sleep(3000);
  await L.expectStatus(204, 'POST', '/recordings/live/conf-mix/stop');
  const fin = await ev.next('RecordingFinished', e => e.recording.name === 'conf-mix');
  assert.ok(fin.recording.duration >= 2, JSON.stringify(fin.recording));
  await L.expectStatus(204, 'DELETE', '/bridges/cb');
  for (const id of [a, b]) await L.expectStatus(204, 'DELETE', `/channels/${id}`);
  for (const c of calls) assert.strictEqual(await c.done, 0);
});
