// Container registries as a release source: tags and manifest digests through the OCI
// distribution API, with basic and token auth.
export {
  type ListTagsOptions,
  type OnRegistryCall,
  type RegistryCredentials,
  type RegistryOptions,
  MANIFEST_TYPES,
  listTags,
  manifestDigest,
} from './client.js';
export { type Repository, parseRepository } from './reference.js';
export { type Challenge, nextLink, parseChallenge } from './headers.js';
export { credentialsFromDockerConfig } from './dockerconfig.js';
export { SourceError, isSourceError, type SourceErrorKind } from '../source-error.js';
