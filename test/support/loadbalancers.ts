// The members' load-balancer controller and the app's pods, stood in for on loopback: it lives in
// the lab (the demo runs it too); the tests import it from here.
export {
  LoopbackLoadBalancers,
  freeLoopbackPort,
  type StandIn,
} from '../../lab/src/loadbalancers.js';
