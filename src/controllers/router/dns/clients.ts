// The Route 53 API of a Router in DNS mode: credentials from its Secret (or the SDK's chain),
// clients cached per region and credentials so that Routers of one account share the rate-limit
// buckets and the per-zone change batcher. Bound to what `rest` is bound to (the manager's: this
// replica's leadership), so a deposed leader's calls stop with its control-plane requests.
import { createHash } from 'node:crypto';
import type { Rest } from '../../../runtime/rest.js';
import type { Router } from '../../../api/router.js';
import { awsClients } from '../../../clouds/aws/clients.js';
import type { OnCall } from '../../../clouds/aws/ratelimit.js';
import { route53Api, type Route53Api } from '../../../clouds/aws/route53.js';
import { awsCredentials } from '../../shared/awscredentials.js';
import type { Route53For } from './reconcile.js';

export function realRoute53(
  rest: Rest,
  options: { onCall?: OnCall; endpoint?: string } = {},
): Route53For {
  const apis = new Map<string, Route53Api>();
  return async (router: Router) => {
    const spec = router.spec.route53!;
    const region = spec.region ?? 'us-east-1';
    const credentials = await awsCredentials(
      rest,
      router.metadata.namespace ?? 'default',
      spec.credentialsSecretRef,
    );
    const key = createHash('sha256')
      .update(JSON.stringify([region, credentials]))
      .digest('hex');
    let api = apis.get(key);
    if (!api) {
      const { onCall, endpoint } = options;
      const clients = awsClients({
        region,
        credentials,
        ...(onCall && { onCall }),
        ...(endpoint && { endpoint }),
        signal: rest.signal,
      });
      api = route53Api(clients.route53);
      apis.set(key, api);
    }
    return api;
  };
}
