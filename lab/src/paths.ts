import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (this file runs as dist/lab/src/paths.js). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const labRoot = join(repoRoot, 'lab');
