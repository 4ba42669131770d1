// Home: the latest run's latest every_window replay, playing.
import { createPlayer } from './player.js';

const root = document.getElementById('player');
if (root) {
  const player = await createPlayer(root, { loop: true });
  window.__player = player;
  await player.load(root.dataset.run, root.dataset.replay, { autoplay: root.dataset.autoplay === '1' });
}
