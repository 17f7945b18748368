// The OpenStack client: clouds.yaml, a Keystone v3 session, Octavia v2 reads.
export type * from './types.js';
export {
  type ApplicationCredentialAuth,
  type CloudConfig,
  type Interface,
  type LoadOptions,
  type PasswordAuth,
  cloudsYamlCandidates,
  loadCloud,
  parseCloudsYaml,
} from './config.js';
export { type OpenStackErrorKind, OpenStackError, isOpenStackError } from './errors.js';
export {
  type CatalogEndpoint,
  type CatalogService,
  type OnCall,
  type RequestOptions,
  type Session,
  type SessionOptions,
  type Token,
  type Transport,
  createSession,
  selectEndpoint,
} from './keystone.js';
export {
  type OctaviaClient,
  type OctaviaOptions,
  createOctaviaClient,
  octaviaBase,
} from './octavia.js';
