// `npm run web`: the page with the engine in a worker. COOP/COEP make it cross-origin isolated (threads);
// ISOLATE=0 serves it without them (one thread).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const isolated = process.env.ISOLATE !== '0';
const headers = isolated
  ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
  : {};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  server: { headers, fs: { allow: [fileURLToPath(new URL('../..', import.meta.url))] } },
  preview: { headers },
  worker: { format: 'es' },
  build: { outDir: fileURLToPath(new URL('./dist', import.meta.url)), emptyOutDir: true, target: 'es2022' },
});
