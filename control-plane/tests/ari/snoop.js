// Issue scenario 4 (snoop part) and testsuite channels/snoop_id + snoop_spy + snoop_whisper:
// two SIPp calls bridged; snoops on them spy one direction each and are recorded (the Rust
// side checks the WAVs), a whisper snoop plays a tone into one side; hanging the snoops up
// leaves the calls alone. Off-nominal: the 400/404/409 matrix.
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const ev = new L.Events('spy');
  await ev.open;
  const calls = [L.sippCall('7001', 30), L.sippCall('7002', 30)];
  const a = (await ev.next('StasisStart')).channel.id;
  const b = (await ev.next('StasisStart')).channel.id;
  await L.expectStatus(200, 'POST', '/bridges/call', { query: { type: 'mixing' } });
  for (const id of [a, b]) {
    await L.expectStatus(204, 'POST', `/channels/${id}/answer`);
    await L.expectStatus(204, 'POST', '/bridges/call/addChannel', { query: { channel: id } });
  }

  // Off-nominal first.
  await L.expectStatus(404, 'POST', '/channels/nope/snoop', { query: { app: 'spy', spy: 'in' } });
  await L.expectStatus(400, 'POST', `/channels/${a}/snoop`, { query: { spy: 'in' } });
  await L.expectStatus(400, 'POST', `/channels/${a}/snoop`, { query: { app: 'spy', spy: 'sideways' } });
  await L.expectStatus(400, 'POST', `/channels/${a}/snoop`, { query: { app: 'spy' } });

  // snoop_id: the client's id, a Snoop/ name, Up, StasisStart with the args.
  const sIn = await L.expectStatus(200, 'POST', `/channels/${a}/snoop/snoop-a-in`,
    { body: { app: 'spy', spy: 'in', appArgs: 'rec,in' } });
  assert.strictEqual(sIn.body.id, 'snoop-a-in');
  assert.ok(sIn.body.name.startsWith(`Snoop/${a}-`), sIn.body.name);
  assert.strictEqual(sIn.body.state, 'Up');
  const start = await ev.next('StasisStart', e => e.channel.id === 'snoop-a-in');
  assert.deepStrictEqual(start.args, ['rec', 'in']);
  await L.expectStatus(409, 'POST', `/channels/${a}/snoop/snoop-a-in`, { query: { app: 'spy', spy: 'in' } });
  const sOut = (await L.expectStatus(200, 'POST', `/channels/${a}/snoop`, { query: { app: 'spy', spy: 'out' } })).body.id;
  const whisper = (await L.expectStatus(200, 'POST', `/channels/${a}/snoop`, { query: { app: 'spy', whisper: 'in' } })).body.id;
  const sB = (await L.expectStatus(200, 'POST', `/channels/${b}/snoop`, { query: { app: 'spy', spy: 'out' } })).body.id;
  for (const id of [sOut, whisper, sB]) await ev.next('StasisStart', e => e.channel.id === id);

  // Record each spied direction; A hears a 1 kHz tone; the whisper snoop says 2.5 kHz into A's side.
  for (const [id, name] of [['snoop-a-in', 'a_in'], [sOut, 'a_out'], [sB, 'b_out']]) {
    await L.expectStatus(201, 'POST', `/channels/${id}/record`, { query: { name, format: 'wav' } });
    await ev.next('RecordingStarted', e => e.recording.name === name);
  }
  await L.expectStatus(201, 'POST', `/channels/${a}/play`, { query: { media: 'tone:1000' } });
  await L.expectStatus(201, 'POST', `/channels/${whisper}/play`, { query: { media: 'tone:2500' } });
  await L.sleep(3000);

  // Hanging up the snoops ends their recordings (VoIPBIN's way) and leaves the call alone.
  for (const [id, name] of [['snoop-a-in', 'a_in'], [sOut, 'a_out'], [sB, 'b_out'], [whisper, null]]) {
    await L.expectStatus(204, 'DELETE', `/channels/${id}`);
    await ev.next('ChannelHangupRequest', e => e.channel.id === id);
    await ev.next('StasisEnd', e => e.channel.id === id);
    if (name) {
      // Once the file is complete: after StasisEnd, still to the snoop's app.
      const fin = await ev.seen('RecordingFinished', e => e.recording.name === name);
      assert.ok(fin.recording.duration >= 2, JSON.stringify(fin.recording));
    }
  }
  for (const id of [a, b]) {
    const ch = await L.expectStatus(200, 'GET', `/channels/${id}`);
    assert.strictEqual(ch.body.state, 'Up', 'the spied call is untouched');
  }
  // A snoop ends with its target.
  const last = (await L.expectStatus(200, 'POST', `/channels/${b}/snoop`, { query: { app: 'spy', spy: 'both' } })).body.id;
  await ev.next('StasisStart', e => e.channel.id === last);
  await L.expectStatus(204, 'DELETE', `/channels/${b}`);
  await ev.next('StasisEnd', e => e.channel.id === last);
  await L.expectStatus(404, 'GET', `/channels/${last}`);
  await L.expectStatus(204, 'DELETE', `/channels/${a}`);
  for (const c of calls) assert.strictEqual(await c.done, 0);
});
