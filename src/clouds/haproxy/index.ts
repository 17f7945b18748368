// The client of HAProxy's runtime API (the tenant routers): transport, info, maps, servers.
export { type RuntimeApiErrorKind, RuntimeApiError, isRuntimeApiError } from './errors.js';
export {
  type RuntimeClient,
  type RuntimeClientOptions,
  type RuntimeTarget,
  DEFAULT_MAX_REQUEST_BYTES,
  parseTarget,
  runtimeClient,
} from './socket.js';
export { type RouterInfo, showInfo } from './info.js';
export {
  type MapEntries,
  type MapEntry,
  type MapInfo,
  type ReplaceResult,
  addMapEntries,
  clearMap,
  commitMap,
  findMap,
  formatMapFile,
  prepareMap,
  replaceMap,
  showMap,
  showMaps,
  writeMapFile,
} from './maps.js';
export {
  type AdminState,
  type CheckResult,
  type OpState,
  type ServerState,
  disableHealth,
  dumpServersState,
  enableHealth,
  setServerAddr,
  setServerState,
  showServersState,
} from './servers.js';
