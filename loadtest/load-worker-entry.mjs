// Worker threads start from a JavaScript file that registers tsx in the thread, then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./load-worker.ts');
