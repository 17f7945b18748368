// Git as a release source: the refs a repository offers, without cloning it.
export {
  type GitAuth,
  type GitRef,
  type LsRemoteOptions,
  classify,
  gitEnv,
  lsRemote,
  parseLsRemote,
} from './lsremote.js';
export { SourceError, isSourceError, type SourceErrorKind } from '../source-error.js';
