// /embed/?run=&replay=&frame=[&autoplay=0]: the replay player alone, for iframes in blogs
// and notebooks (docs/site.md#embed). `prospector replay export` drives this page too.
import { params, showMessage, url } from './util.js';
import { createPlayer } from './player.js';

const q = params();
const root = document.getElementById('player');
const player = await createPlayer(root, { loop: q.get('loop') === '1' });
window.__player = player;
const run = q.get('run');
const replay = q.get('replay');
if (!run || !replay) {
  root.dataset.state = 'error';
  showMessage(root.querySelector('.player-message'), 'This embed needs ?run=RUN&replay=REPLAY_ID (and optionally &frame=N).');
  player.drawEmpty();
} else {
  const full = document.getElementById('embed-full');
  if (full) full.href = `${url('replays/')}?${new URLSearchParams({ run, replay, frame: q.get('frame') || '0' })}`;
  await player.load(run, replay, { frame: q.get('frame'), autoplay: q.get('autoplay') !== '0' });
}
