// kachiku's AWS client layer: configured SDK clients, ELBv2 observe/act helpers for the NLB
// reconciler, deterministic names and typed errors.
export type * from './types.js';
export {
  awsClients,
  type AwsClientOptions,
  type AwsClients,
  type AwsCredentials,
} from './clients.js';
export {
  defaultLimits,
  limitClass,
  type Limit,
  type LimitClass,
  type Limits,
  type OnCall,
  type Service,
} from './ratelimit.js';
export { AwsError, isAwsError, toAwsError, type AwsErrorKind } from './errors.js';
export {
  addTags,
  createListener,
  createLoadBalancer,
  createTargetGroup,
  deleteListener,
  deleteLoadBalancer,
  deleteTargetGroup,
  deregisterTargets,
  modifyListener,
  modifyTargetGroup,
  observeStack,
  registerTargets,
  removeTags,
  setLoadBalancerAttributes,
  setSubnets,
  setTargetGroupAttributes,
  type ListenerSpec,
  type ObserveOptions,
  type ObservedListener,
  type ObservedLoadBalancer,
  type ObservedTargetGroup,
} from './elbv2.js';
export {
  loadBalancerName,
  targetGroupName,
  MAX_NAME,
  type LoadBalancerNameInput,
  type TargetGroupNameInput,
} from './names.js';
