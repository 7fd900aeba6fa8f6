// Issue scenario 3: three callers in one mixing bridge (the media checks are in Rust).
const L = require('./lib');
const { assert } = L;

L.run(async () => {
  const ev = new L.Events('conf');
  await ev.open;
  await L.expectStatus(200, 'POST', '/bridges/room', { query: { type: 'mixing' } });
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const id = (await ev.next('StasisStart', () => true, 20000)).channel.id;
    await L.expectStatus(204, 'POST', `/channels/${id}/answer`);
    await L.expectStatus(204, 'POST', '/bridges/room/addChannel', { query: { channel: id } });
    ids.push(id);
  }
  const b = await L.expectStatus(200, 'GET', '/bridges/room');
  assert.strictEqual(b.body.channels.length, 3);
  assert.strictEqual(b.body.technology, 'softmix');
  await L.sleep(9000);
  for (const id of ids) await L.expectStatus(204, 'DELETE', `/channels/${id}`);
  await L.expectStatus(204, 'DELETE', '/bridges/room');
});
