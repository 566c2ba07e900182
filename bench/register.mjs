// `npm run bench` = `node --import ./bench/register.mjs bench/run.ts`: tsx as the loader, so the
// benchmarks run as TypeScript without a build. Child processes inherit it through execArgv.
import { register } from 'tsx/esm/api';

register();
