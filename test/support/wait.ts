// The tests wait with the project's one poll helper (and its promise-with-a-deadline form).
export { until, within } from '../../src/runtime/wait.js';
