// /embed/?run=&replay=&frame=[&autoplay=1][&loop=1]: the replay player alone, for iframes in blogs
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
  // paused unless the page that embeds it asks for autoplay=1 (a page should not start moving by itself)
  await player.load(run, replay, { frame: q.get('frame'), autoplay: q.get('autoplay') === '1' });
}

// For `prospector replay export` (sitegen/export.py): frames first..first+count-1 drawn by
// the player's own view (render.js), sector view with the mini-map inset, w x h, as JPEG
// (base64). Deterministic: each frame settled (phase 1), animation time from its index.
let exportCanvas = null;
window.__exportFrames = (first, count, w, h, fps, quality) => {
  player.pause();
  player.frozen = true;      // no redraws of the live view between batches
  const sector = root.querySelector('canvas.sector');
  const mini = root.querySelector('canvas.minimap');
  if (!exportCanvas) exportCanvas = document.createElement('canvas');
  exportCanvas.width = w;
  exportCanvas.height = h;
  const ctx = exportCanvas.getContext('2d');
  const sb = sector.getBoundingClientRect();
  const mb = mini.getBoundingClientRect();
  const images = [];
  for (let i = first; i < first + count; i++) {
    const frame = player.frames.get(i);
    if (!frame) throw new Error(`frame ${i} is not loaded`);
    player.view.dirty = true;
    player.view.draw(frame, { phase: 1, showTruth: false, time: (i * 1000) / fps });
    ctx.drawImage(sector, 0, 0, w, h);
    if (sb.width > 0 && mb.width > 0) {
      ctx.drawImage(mini, ((mb.left - sb.left) / sb.width) * w, ((mb.top - sb.top) / sb.height) * h,
        (mb.width / sb.width) * w, (mb.height / sb.height) * h);
    }
    images.push(exportCanvas.toDataURL('image/jpeg', quality).slice('data:image/jpeg;base64,'.length));
  }
  return images;
};
