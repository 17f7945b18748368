import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsError, call, isAwsError, toAwsError } from './errors.js';

// Shaped like the SDK's exceptions: query protocols put the raw code in Code.
const sdkError = (name: string, Code: string | undefined, status: number, fault = 'client') =>
  Object.assign(new Error(`message of ${Code ?? name}`), {
    name,
    Code,
    $fault: fault,
    $metadata: { httpStatusCode: status },
  });

test('AWS error codes map to kinds', () => {
  const cases: [string, string | undefined, number, AwsError['kind']][] = [
    ['ThrottlingException', 'Throttling', 400, 'Throttled'],
    ['RequestLimitExceeded', undefined, 503, 'Throttled'],
    ['PriorRequestNotComplete', undefined, 400, 'Throttled'],
    ['LoadBalancerNotFoundException', 'LoadBalancerNotFound', 400, 'NotFound'],
    ['InvalidVpcID.NotFound', undefined, 400, 'NotFound'],
    ['NoSuchHostedZone', undefined, 404, 'NotFound'],
    ['ResourceInUseException', 'ResourceInUse', 400, 'InUse'],
    ['DuplicateListenerException', 'DuplicateListener', 400, 'InUse'],
    ['TooManyTargetsException', 'TooManyTargets', 400, 'Quota'],
    ['AccessDenied', undefined, 403, 'AccessDenied'],
    ['UnauthorizedOperation', undefined, 403, 'AccessDenied'],
    ['InvalidClientTokenId', undefined, 403, 'AccessDenied'],
    ['ValidationError', 'ValidationError', 400, 'Invalid'],
    ['InvalidConfigurationRequestException', 'InvalidConfigurationRequest', 400, 'Invalid'],
    ['InternalFailure', undefined, 500, 'Unreachable'],
    ['SomethingNew', undefined, 502, 'Unreachable'],
    ['SomethingNew', undefined, 429, 'Throttled'],
    ['SomethingNew', undefined, 400, 'Other'],
  ];
  for (const [name, code, status, kind] of cases) {
    const e = toAwsError('Op', sdkError(name, code, status, status >= 500 ? 'server' : 'client'));
    assert.equal(e.kind, kind, `${name}/${code}`);
    assert.equal(e.code, code ?? name);
    assert.equal(e.status, status);
    assert.equal(e.operation, 'Op');
  }
});

test('network errors are Unreachable', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
    code: 'ECONNREFUSED',
  });
  const e = toAwsError('DescribeLoadBalancers', refused);
  assert.equal(e.kind, 'Unreachable');
  assert.equal(e.code, 'ECONNREFUSED');
  assert.equal(e.message, 'DescribeLoadBalancers: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1');
});

test('call wraps failures once', async () => {
  await assert.rejects(
    call('DeleteTargetGroup', () => Promise.reject(sdkError('x', 'ResourceInUse', 400))),
    (err) => isAwsError(err, 'InUse') && err.operation === 'DeleteTargetGroup',
  );
  const inner = new AwsError('NotFound', 'Inner', 'X', 'y');
  assert.equal(toAwsError('Outer', inner), inner);
  assert.equal(await call('Op', async () => 7), 7);
});
