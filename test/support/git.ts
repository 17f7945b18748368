// Pushing to the lab's git server (the demo pushes too: the code lives in lab/src).
export { pushCommit, type PushOptions } from '../../lab/src/gitpush.js';
