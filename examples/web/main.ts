// The page: talks to the engine in a worker, draws the loss, streams generated text.
import { drawLossChart } from './chart.js';
import { SAMPLE } from './sample.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module' });
const losses: number[] = [];
const state = { steps: 0, done: false, generated: '', generations: 0 };
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
// greedy decoding has no temperature, top-k or top-p
const greedy = $<HTMLInputElement>('greedy');
greedy.onchange = () => {
  for (const id of ['temperature', 'topK', 'topP']) $<HTMLInputElement>(id).disabled = greedy.checked;
};

const draw = () => drawLossChart($<HTMLCanvasElement>('chart'), losses);

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
    $('status').textContent =
      `done: ${m.steps} steps in ${m.seconds.toFixed(1)} s, final loss ${m.loss.toFixed(3)}. Generate below.`;
    state.done = true;
    $<HTMLButtonElement>('train').disabled = false;
    $<HTMLButtonElement>('generate').disabled = false;
    $<HTMLButtonElement>('save').disabled = false;
  } else if (m.type === 'token') {
    state.generated += m.text;
    $('out').textContent += m.text;
  } else if (m.type === 'generated') {
    const how = m.greedy ? 'greedy' : `sampled with seed ${m.seed}`;
    const why: Record<string, string> = {
      length: 'the tokens asked for',
      eos: 'an end-of-text token',
      stop: 'a stop string',
      context: 'the context is full',
    };
    const f = m.finish as { finishReason: string; newTokens: number; slides: number } | undefined;
    $('genStatus').textContent = f
      ? `done: ${f.newTokens} tokens, ${how}; stopped at ${why[f.finishReason] ?? f.finishReason}` +
        (f.slides > 0 ? ` (the context window slid ${f.slides} time${f.slides === 1 ? '' : 's'})` : '')
      : `done, ${how}`;
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
    $<HTMLButtonElement>('generate').disabled = !state.done;
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
  // each click samples with the next seed (shown when it is done), so Generate does not repeat itself
  state.generations++;
  $('genStatus').textContent = 'generating…';
  $('out').textContent = $<HTMLInputElement>('prompt').value;
  worker.postMessage({
    type: 'generate',
    prompt: $<HTMLInputElement>('prompt').value,
    maxNewTokens: 120,
    greedy: greedy.checked,
    temperature: Number($<HTMLInputElement>('temperature').value),
    topK: Number($<HTMLInputElement>('topK').value),
    topP: Number($<HTMLInputElement>('topP').value),
    seed: state.generations,
  });
};
$('save').onclick = () => worker.postMessage({ type: 'save' });
