// Issue scenario 1: an inbound SIPp call → StasisStart → answer → play → PlaybackFinished →
// hangup from ARI → SIPp receives the BYE.
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const client = await L.connect();
  const ev = new L.Events('inbound');
  await ev.open;
  const call = L.sippCall('4100', 20);
  const start = await ev.next('StasisStart');
  const id = start.channel.id;
  assert.strictEqual(start.channel.state, 'Ring');
  assert.ok(start.channel.name.startsWith('PJSIP/call-in-'), start.channel.name);
  assert.strictEqual(start.channel.dialplan.exten, '4100');
  assert.deepStrictEqual(start.args.slice(0, 2), ['context_type=call', 'context=call-in']);
  assert.ok(start.args.some(a => a.startsWith('sip_call_id=') && a.length > 'sip_call_id='.length), start.args);
  assert.ok(start.channel.protocol_id.length > 0);
  await client.channels.answer({ channelId: id });
  await ev.next('ChannelStateChange', e => e.channel.state === 'Up');
  const pb = await client.channels.play({ channelId: id, media: 'sound:beep' });
  assert.strictEqual(pb.target_uri, 'channel:' + id);
  await ev.next('PlaybackStarted', e => e.playback.id === pb.id);
  const fin = await ev.next('PlaybackFinished', e => e.playback.id === pb.id);
  assert.strictEqual(fin.playback.state, 'done');
  await client.channels.hangup({ channelId: id });
  await ev.next('ChannelHangupRequest', e => e.channel.id === id);
  await ev.next('StasisEnd', e => e.channel.id === id);
  const d = await ev.next('ChannelDestroyed', e => e.channel.id === id);
  assert.strictEqual(d.cause, 16);
  for (const e of ev.list) {
    assert.strictEqual(e.application, 'inbound');
    assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    assert.ok(e.asterisk_id, 'asterisk_id');
  }
  assert.strictEqual(await call.done, 0, 'SIPp got our BYE and completed the call');
});
