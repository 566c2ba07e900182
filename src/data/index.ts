/** `src/data/`: corpora, splits, objectives and padding — token ids and text only, no tensors. */
export * from './split.js';
export * from './batch.js';
export * from './clm.js';
export * from './mlm.js';
export * from './nsp.js';
export * from './span-corruption.js';
export * from './bart-noise.js';
export * from './email.js';
export * from './brown.js';
export * from './spam.js';
export * from './cmudict.js';
export * from './packages.js';
