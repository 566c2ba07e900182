/**
 * The worker's whole program, as source text, so one string serves Node's worker_threads (eval) and
 * Web Workers (a Blob URL) alike, with no separate file to locate or bundle.
 *
 * Control block (Int32 slots at `ctl`): see CTL in pool.ts. A worker spins on the generation counter
 * for `spin` loads, then sleeps in Atomics.wait; on each new generation it runs its contiguous range of
 * the work items (worker i of p parts runs part i; the caller runs the last part), then counts down
 * `pending` and wakes the caller if it sleeps.
 */
const BODY = String.raw`
function start(init, post) {
  const { module, memory, ctl, argv, names, index } = init;
  let exports;
  try {
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  } catch (err) {
    post({ type: 'error', message: String(err && err.message || err) });
    return;
  }
  const fns = names.map((n) => exports[n]);
  const c = new Int32Array(memory.buffer, ctl, 16);
  const a = new Float64Array(memory.buffer, argv, 16);
  const call = [];
  let seen = Atomics.load(c, 0);
  post({ type: 'ready' });
  for (;;) {
    let g = Atomics.load(c, 0);
    if (g === seen) {
      const spin = c[8];
      for (let i = 0; i < spin && g === seen; i++) g = Atomics.load(c, 0);
      while (g === seen) {
        Atomics.add(c, 9, 1);
        Atomics.wait(c, 0, seen);
        Atomics.sub(c, 9, 1);
        g = Atomics.load(c, 0);
      }
    }
    seen = g;
    if (c[6] & 1) break;
    const parts = c[5];
    if (index < parts - 1) {
      const items = c[4];
      const n = c[3];
      call.length = n + 2;
      for (let i = 0; i < n; i++) call[i] = a[i];
      call[n] = Math.floor((index * items) / parts);
      call[n + 1] = Math.floor(((index + 1) * items) / parts);
      try {
        Reflect.apply(fns[c[2]], undefined, call);
      } catch (err) {
        Atomics.compareExchange(c, 7, 0, index + 1);
        post({ type: 'kernel-error', message: String(err && err.message || err) });
      }
    }
    if (Atomics.sub(c, 1, 1) === 1 && Atomics.load(c, 10) !== 0) Atomics.notify(c, 1);
  }
  post({ type: 'exit' });
}
`;

export const NODE_WORKER_SOURCE = `${BODY}
import('node:worker_threads').then(({ parentPort }) => {
  parentPort.once('message', (init) => start(init, (m) => parentPort.postMessage(m)));
});
`;

export const WEB_WORKER_SOURCE = `${BODY}
self.onmessage = (e) => { self.onmessage = null; start(e.data, (m) => self.postMessage(m)); };
`;
