// How a plugin command ends on an error: kubectl's wording on stderr, exit status 1.
import { errorMessage } from './output.js';

export function fail(err: unknown): void {
  process.stderr.write(`${errorMessage(err)}\n`);
  process.exitCode = 1;
}
