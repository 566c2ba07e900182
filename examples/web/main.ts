// The page: talks to the engine in a worker, draws the loss, streams generated text.
import { SAMPLE } from './sample.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module' });
const losses: number[] = [];
const state = { steps: 0, done: false, generated: '' };
(window as unknown as { __simdformer: typeof state & { losses: number[] } }).__simdformer = Object.assign(state, {
  losses,
});

$<HTMLTextAreaElement>('text').value = SAMPLE;
$('mode').textContent = crossOriginIsolated
  ? 'This page is cross-origin isolated: the engine uses threads (Web Workers over shared memory).'
  : 'This page is not cross-origin isolated: the engine runs on one thread (the single-thread build).';
for (const id of ['temperature', 'topK', 'topP']) {
  const input = $<HTMLInputElement>(id);
  input.oninput = () => ($(`${id}Value`).textContent = input.value);
}

function draw(): void {
  const c = $<HTMLCanvasElement>('chart');
  const g = c.getContext('2d')!;
  g.clearRect(0, 0, c.width, c.height);
  if (losses.length < 2) return;
  const max = Math.max(...losses);
  const min = Math.min(...losses);
  g.strokeStyle = '#1f77b4';
  g.lineWidth = 1.5;
  g.beginPath();
  losses.forEach((l, i) => {
    const x = 40 + (i / (losses.length - 1)) * (c.width - 50);
    const y = 10 + (1 - (l - min) / (max - min || 1)) * (c.height - 30);
    if (i) g.lineTo(x, y);
    else g.moveTo(x, y);
  });
  g.stroke();
  g.fillStyle = '#444';
  g.fillText(max.toFixed(2), 2, 14);
  g.fillText(min.toFixed(2), 2, c.height - 16);
  g.fillText(`step ${losses.length}`, c.width - 60, c.height - 4);
}

worker.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'started') {
    $('mode').textContent += ` Running ${m.threads} thread(s), ${m.build} build.`;
  } else if (m.type === 'step') {
    losses.push(m.loss);
    state.steps = m.step + 1;
    $('status').textContent =
      `step ${m.step + 1}: loss ${m.loss.toFixed(3)}, ${Math.round(m.tokensPerSecond).toLocaleString()} tokens/s`;
    if (m.step % 5 === 0) draw();
  } else if (m.type === 'trained') {
    draw();
    state.done = true;
    $<HTMLButtonElement>('train').disabled = false;
    $<HTMLButtonElement>('generate').disabled = false;
    $<HTMLButtonElement>('save').disabled = false;
  } else if (m.type === 'token') {
    state.generated += m.text;
    $('out').textContent += m.text;
  } else if (m.type === 'generated') {
    $<HTMLButtonElement>('generate').disabled = false;
  } else if (m.type === 'files') {
    const box = $('downloads');
    box.textContent = '';
    for (const f of m.files as { name: string; bytes: Uint8Array<ArrayBuffer> }[]) {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([f.bytes]));
      a.download = f.name;
      a.textContent = `${f.name} (${f.bytes.length.toLocaleString()} bytes)`;
      box.append(a);
      a.click();
    }
  } else if (m.type === 'error') {
    $('status').textContent = `error: ${m.message}`;
    $<HTMLButtonElement>('train').disabled = false;
  }
};

$('train').onclick = () => {
  losses.length = 0;
  state.done = false;
  $<HTMLButtonElement>('train').disabled = true;
  const threads = crossOriginIsolated ? Math.max(1, navigator.hardwareConcurrency || 2) : 1;
  worker.postMessage({
    type: 'train',
    text: $<HTMLTextAreaElement>('text').value,
    steps: Number($<HTMLInputElement>('steps').value),
    threads,
    seed: Number($<HTMLInputElement>('seed').value),
  });
};
$('generate').onclick = () => {
  $<HTMLButtonElement>('generate').disabled = true;
  state.generated = '';
  $('out').textContent = $<HTMLInputElement>('prompt').value;
  worker.postMessage({
    type: 'generate',
    prompt: $<HTMLInputElement>('prompt').value,
    maxNewTokens: 120,
    temperature: Number($<HTMLInputElement>('temperature').value),
    topK: Number($<HTMLInputElement>('topK').value),
    topP: Number($<HTMLInputElement>('topP').value),
    seed: 1,
  });
};
$('save').onclick = () => worker.postMessage({ type: 'save' });
