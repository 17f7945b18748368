import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import {
  DURATION_PATTERN,
  Duration,
  FreeForm,
  IntegerEnum,
  Quantity,
  StringEnum,
  StringMap,
  structuralErrors,
  toStructural,
  validations,
} from './schema.js';

test('toStructural drops TypeBox internals: symbols, $id, empty required', () => {
  const s = Type.Object({ a: Type.Optional(Type.String()) }, { $id: 'Thing' });
  assert.deepEqual(toStructural(s), { properties: { a: { type: 'string' } }, type: 'object' });
  assert.equal(Object.getOwnPropertySymbols(toStructural(s)).length, 0);
});

test('toStructural keeps validation and Kubernetes keywords', () => {
  const s = Type.Object(
    {
      n: Type.Integer({ minimum: 0, maximum: 9, default: 3, description: 'n' }),
      s: Type.String({ pattern: '^a', maxLength: 4, format: 'date-time' }),
      l: Type.Array(Type.String(), { minItems: 1, 'x-kubernetes-list-type': 'set' }),
    },
    validations({ rule: 'self.n > 1', message: 'n is more than 1' }),
  );
  assert.deepEqual(toStructural(s), {
    properties: {
      n: { default: 3, description: 'n', maximum: 9, minimum: 0, type: 'integer' },
      s: { format: 'date-time', maxLength: 4, pattern: '^a', type: 'string' },
      l: { items: { type: 'string' }, minItems: 1, type: 'array', 'x-kubernetes-list-type': 'set' },
    },
    required: ['n', 's', 'l'],
    type: 'object',
    'x-kubernetes-validations': [{ rule: 'self.n > 1', message: 'n is more than 1' }],
  });
});

test('toStructural sorts keywords but keeps the order of properties', () => {
  const out = toStructural(
    Type.Object({ z: Type.String(), a: Type.String() }, { description: 'd' }),
  );
  assert.deepEqual(Object.keys(out), ['description', 'properties', 'required', 'type']);
  assert.deepEqual(Object.keys(out.properties as object), ['z', 'a']);
});

test('toStructural turns literals and unions of literals into enums', () => {
  assert.deepEqual(toStructural(Type.Literal('x')), { enum: ['x'], type: 'string' });
  assert.deepEqual(toStructural(Type.Union([Type.Literal('a'), Type.Literal('b')])), {
    enum: ['a', 'b'],
    type: 'string',
  });
  assert.throws(
    () => toStructural(Type.Union([Type.Literal('a'), Type.Literal(1)])),
    /different types/,
  );
  assert.deepEqual(toStructural(StringEnum(['Delete', 'Retain'], { default: 'Delete' })), {
    default: 'Delete',
    enum: ['Delete', 'Retain'],
    type: 'string',
  });
  assert.deepEqual(toStructural(IntegerEnum([10, 30])), { enum: [10, 30], type: 'integer' });
});

test('toStructural maps records to additionalProperties and open objects to preserve-unknown-fields', () => {
  assert.deepEqual(toStructural(StringMap({}, 8)), {
    additionalProperties: { maxLength: 8, type: 'string' },
    type: 'object',
  });
  assert.deepEqual(
    toStructural(Type.Object({ a: Type.String() }, { additionalProperties: false })),
    {
      properties: { a: { type: 'string' } },
      required: ['a'],
      type: 'object',
    },
  );
  assert.deepEqual(toStructural(Type.Object({}, { additionalProperties: true })), {
    properties: {},
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  });
  assert.deepEqual(toStructural(FreeForm()), {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  });
});

test('toStructural converts numeric exclusive bounds to the draft-4 form Kubernetes uses', () => {
  assert.deepEqual(toStructural(Type.Integer({ exclusiveMinimum: 0, exclusiveMaximum: 10 })), {
    exclusiveMaximum: true,
    exclusiveMinimum: true,
    maximum: 10,
    minimum: 0,
    type: 'integer',
  });
});

test('toStructural throws on what has no structural equivalent, naming the place', () => {
  const cases: [unknown, RegExp][] = [
    [
      Type.Object({ a: Type.String() }, { additionalProperties: Type.String() }),
      /<root>: additionalProperties beside properties/,
    ],
    [
      Type.Object({ m: Type.Record(Type.String({ pattern: '^x' }), Type.String()) }),
      /\.m: patternProperties/,
    ],
    [Type.Tuple([Type.String(), Type.Number()]), /tuples/],
    [Type.Object({ n: Type.Null() }), /\.n: unsupported type null/],
    [Type.Array(Type.String(), { uniqueItems: true }), /uniqueItems/],
    [Type.Ref('Other'), /keyword \$ref is not supported/],
    [
      Type.Object({ a: Type.String({ contentEncoding: 'base64' }) }),
      /\.a: keyword contentEncoding/,
    ],
  ];
  for (const [schema, error] of cases)
    assert.throws(() => toStructural(schema as never), error, JSON.stringify(schema));
});

test('Quantity is int-or-string, and structural', () => {
  const q = toStructural(Type.Object({ cpu: Quantity() }));
  assert.deepEqual((q.properties as Record<string, unknown>).cpu, {
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: (Quantity() as unknown as { pattern: string }).pattern,
    'x-kubernetes-int-or-string': true,
  });
  assert.deepEqual(structuralErrors(q), []);
  const pattern = new RegExp((q.properties as Record<string, { pattern: string }>).cpu!.pattern);
  for (const ok of ['500m', '2Gi', '1.5', '4', '1e3']) assert.match(ok, pattern);
  for (const bad of ['two', '2 Gi', '1GB']) assert.doesNotMatch(bad, pattern);
});

test('Duration accepts Go durations an operator writes, and adds a CEL minimum', () => {
  const pattern = new RegExp(DURATION_PATTERN);
  for (const ok of ['30s', '5m', '1h30m', '500ms', '1.5m']) assert.match(ok, pattern);
  for (const bad of ['30', '5 m', '-1s', '1d', 's', '']) assert.doesNotMatch(bad, pattern);
  assert.deepEqual(toStructural(Duration({ min: '5s', default: '60s' })), {
    default: '60s',
    maxLength: 32,
    pattern: DURATION_PATTERN,
    type: 'string',
    'x-kubernetes-validations': [
      {
        rule: `!self.matches(r'${DURATION_PATTERN}') || duration(self) >= duration('5s')`,
        message: 'must be at least 5s',
      },
    ],
  });
});

test('structuralErrors finds what Kubernetes would refuse', () => {
  assert.deepEqual(
    structuralErrors({
      type: 'object',
      properties: {
        untyped: { description: 'x' },
        both: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
        closed: { type: 'object', additionalProperties: false },
        junctor: { type: 'string', anyOf: [{ type: 'string', description: 'd' }] },
        list: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['k', 'o'],
          items: { type: 'object', properties: { k: { type: 'string' }, o: { type: 'object' } } },
        },
        ref: { $ref: '#/x' },
      },
    }),
    [
      '.untyped: no type',
      '.both: both properties and additionalProperties',
      '.closed: additionalProperties: false',
      '.junctor.anyOf[0]: description inside allOf/anyOf/oneOf/not',
      '.junctor.anyOf[0]: type inside allOf/anyOf/oneOf/not',
      '.list: list map key k is neither required nor defaulted',
      '.list: list map key o is not a scalar',
      '.ref: keyword $ref is not allowed',
      '.ref: no type',
    ],
  );
  assert.deepEqual(structuralErrors({ 'x-kubernetes-preserve-unknown-fields': true }), []);
});
