// The tests wait with the project's one poll helper.
export { until } from '../../src/runtime/wait.js';
