// Asterisk testsuite `channels/playback/basic`, `playback/lists/basic` + `lists/stop`,
// `bridges/playback/basic` + `playback/tones`: 201 + Location, pause (no event), unpause
// (PlaybackStarted again), restart, media lists with PlaybackContinuing and next_media_uri,
// bridge playbacks, tone: URIs, failures.
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const ev = new L.Events('pb');
  await ev.open;
  const call = L.sippCall('6000', 40);
  const id = (await ev.next('StasisStart')).channel.id;
  await L.expectStatus(204, 'POST', `/channels/${id}/answer`);
  // play/{id}: a long tone.
  const r = await L.expectStatus(201, 'POST', `/channels/${id}/play/pb-1`, { query: { media: 'tone:440/1000,0/500' } });
  assert.strictEqual(r.headers.location, '/ari/playbacks/pb-1');
  assert.strictEqual(r.body.id, 'pb-1');
  assert.strictEqual(r.body.media_uri, 'tone:440/1000,0/500');
  await ev.next('PlaybackStarted', e => e.playback.id === 'pb-1' && e.playback.state === 'playing');
  await L.expectStatus(204, 'POST', '/playbacks/pb-1/control', { query: { operation: 'pause' } });
  await L.sleep(200);
  const paused = await L.expectStatus(200, 'GET', '/playbacks/pb-1');
  assert.strictEqual(paused.body.state, 'paused');
  ev.none('PlaybackStarted', e => e.playback.id === 'pb-1' && e.playback.state === 'paused');
  await L.expectStatus(409, 'POST', '/playbacks/pb-1/control', { query: { operation: 'pause' } });
  await L.expectStatus(204, 'POST', '/playbacks/pb-1/control', { query: { operation: 'unpause' } });
  await ev.next('PlaybackStarted', e => e.playback.id === 'pb-1');
  await L.expectStatus(204, 'POST', '/playbacks/pb-1/control', { query: { operation: 'restart' } });
  await L.expectStatus(400, 'POST', '/playbacks/pb-1/control', { query: { operation: 'spin' } });
  await L.expectStatus(409, 'POST', `/channels/${id}/play/pb-1`, { query: { media: 'tone:beep' } });
  await L.expectStatus(204, 'DELETE', '/playbacks/pb-1');
  const done = await ev.next('PlaybackFinished', e => e.playback.id === 'pb-1');
  assert.strictEqual(done.playback.state, 'done');
  await L.expectStatus(404, 'GET', '/playbacks/pb-1');
  // A media list.
  const list = await L.expectStatus(201, 'POST', `/channels/${id}/play/list-1`, {
    query: { media: 'tone:!440/100,tone:!660/100,sound:silence/1' },
  });
  assert.strictEqual(list.body.next_media_uri, 'tone:!660/100');
  await ev.next('PlaybackStarted', e => e.playback.id === 'list-1');
  const c1 = await ev.next('PlaybackContinuing', e => e.playback.id === 'list-1');
  assert.strictEqual(c1.playback.media_uri, 'tone:!660/100');
  assert.strictEqual(c1.playback.next_media_uri, 'sound:silence/1');
  const c2 = await ev.next('PlaybackContinuing', e => e.playback.id === 'list-1');
  assert.strictEqual(c2.playback.media_uri, 'sound:silence/1');
  assert.ok(!('next_media_uri' in c2.playback));
  const lf = await ev.next('PlaybackFinished', e => e.playback.id === 'list-1');
  assert.strictEqual(lf.playback.state, 'done');
  // A list stopped in the middle.
  await L.expectStatus(201, 'POST', `/channels/${id}/play/list-2`, { query: { media: 'tone:440,tone:660' } });
  await ev.next('PlaybackStarted', e => e.playback.id === 'list-2');
  await L.expectStatus(204, 'DELETE', '/playbacks/list-2');
  await ev.next('PlaybackFinished', e => e.playback.id === 'list-2');
  ev.none('PlaybackContinuing', e => e.playback.id === 'list-2');
  // A missing sound fails.
  await L.expectStatus(201, 'POST', `/channels/${id}/play/bad-1`, { query: { media: 'sound:no-such-sound' } });
  const failed = await ev.next('PlaybackFinished', e => e.playback.id === 'bad-1');
  assert.strictEqual(failed.playback.state, 'failed');
  // Into a bridge.
  await L.expectStatus(200, 'POST', '/bridges/pbr', { query: { type: 'mixing' } });
  await L.expectStatus(204, 'POST', '/bridges/pbr/addChannel', { query: { channel: id } });
  const bp = await L.expectStatus(201, 'POST', '/bridges/pbr/play', { query: { media: 'tone:!800/200', playbackId: 'bp-1' } });
  assert.strictEqual(bp.body.target_uri, 'bridge:pbr');
  await ev.next('PlaybackStarted', e => e.playback.id === 'bp-1' && e.playback.target_uri === 'bridge:pbr');
  await ev.next('PlaybackFinished', e => e.playback.id === 'bp-1');
  await L.expectStatus(404, 'POST', '/bridges/nope/play', { query: { media: 'tone:beep' } });
  await L.expectStatus(404, 'POST', '/channels/nope/play', { query: { media: 'tone:beep' } });
  await L.expectStatus(400, 'POST', `/channels/${id}/play`);
  await L.expectStatus(204, 'DELETE', '/bridges/pbr');
  await L.expectStatus(204, 'DELETE', `/channels/${id}`);
  assert.strictEqual(await call.done, 0);
});
