// Schema helpers that keep TypeBox inside what Kubernetes accepts as a *structural* schema, and
// `toStructural`, which turns a TypeBox schema into the plain JSON of a CRD's openAPIV3Schema.
// TypeBox gives the TypeScript types (Static<…>); Kubernetes gets the same schema, converted.
import { Type, type SchemaOptions, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** A schema node as Kubernetes' JSONSchemaProps sees it: plain JSON, no symbols. */
export type JSONSchemaProps = { [keyword: string]: unknown };

/** One CEL rule (`x-kubernetes-validations`), evaluated with `self` bound to the node it is on. */
export interface Rule {
  rule: string;
  /** What the user reads when the rule fails; name the fields involved. */
  message: string;
  /** Points the error at a child field, e.g. `.credentialsSecretRef`. */
  fieldPath?: string;
  reason?:
    'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** Schema options carrying CEL rules: `Type.Object({...}, validations({rule, message}))`. */
export const validations = (...rules: Rule[]): SchemaOptions => ({
  'x-kubernetes-validations': rules,
});

/** A transition rule: the field may be set once, never changed (CEL skips it on create). */
export const immutable = (message: string): Rule => ({ rule: 'self == oldSelf', message });

/** A string from a fixed set, emitted as `{type: string, enum}`, which Kubernetes validates and
 *  `kubectl explain` shows; TypeBox's Union of Literals would emit `anyOf` of `const`s. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** An integer from a fixed set (e.g. Route 53's health-check interval, 10 or 30). */
export function IntegerEnum<const T extends readonly number[]>(
  values: T,
  options: SchemaOptions = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'integer', enum: [...values] });
}

/** Go/CEL duration syntax restricted to what an operator writes: "500ms", "30s", "5m", "1h30m". */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

/** A duration string such as "30s"; `min` adds a CEL rule so the bound is checked as a duration. */
export function Duration(options: SchemaOptions & { min?: string } = {}): TUnsafe<string> {
  const { min, ...rest } = options;
  // Guarded by the pattern, so a malformed value reports the pattern, not a CEL conversion error.
  const rule = `!self.matches(r'${DURATION_PATTERN}') || duration(self) >= duration('${min}')`;
  const rules: Rule[] = min ? [{ rule, message: `must be at least ${min}` }] : [];
  return Type.Unsafe<string>({
    ...rest,
    ...(rules.length ? validations(...rules) : {}),
    type: 'string',
    pattern: DURATION_PATTERN,
    maxLength: 32,
  });
}

/** Kubernetes' resource.Quantity pattern, as controller-gen emits it. */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** A resource quantity ("500m", "2Gi", 4): int-or-string, the way core types declare it. */
export function Quantity(options: SchemaOptions = {}): TUnsafe<string | number> {
  return Type.Unsafe<string | number>({
    ...options,
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: QUANTITY_PATTERN,
  });
}

/** RFC 1123 label: namespaces, app names, component names. */
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** RFC 1123 subdomain: the names of most Kubernetes objects. */
export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

export const Label = (options: SchemaOptions = {}) =>
  Type.String({ ...options, pattern: DNS_LABEL, maxLength: 63 });
export const ObjectName = (options: SchemaOptions = {}) =>
  Type.String({ ...options, pattern: DNS_SUBDOMAIN, maxLength: 253 });
export const Timestamp = (options: SchemaOptions = {}) =>
  Type.String({ ...options, format: 'date-time' });

/** string → string map (labels, tags); becomes `additionalProperties` in the CRD. */
export const StringMap = (options: SchemaOptions = {}, valueMaxLength = 256) =>
  Type.Record(Type.String(), Type.String({ maxLength: valueMaxLength }), options);

/** An object whose content Kubernetes keeps as is (raw manifests): the only untyped node. */
export const FreeForm = (options: SchemaOptions = {}) =>
  Type.Unsafe<Record<string, unknown>>({
    ...options,
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  });

// The keywords of apiextensions.k8s.io/v1 JSONSchemaProps that a structural schema may use.
const KEPT = new Set([
  'description',
  'title',
  'type',
  'format',
  'default',
  'example',
  'enum',
  'nullable',
  'maximum',
  'minimum',
  'exclusiveMaximum',
  'exclusiveMinimum',
  'multipleOf',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'maxProperties',
  'minProperties',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
/** The key TypeBox gives Type.Record(Type.String(), …): "any key". */
const ANY_KEY = new Set(['^(.*)$', '^.*$']);

const isObject = (v: unknown): v is JSONSchemaProps =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A TypeBox schema as a CRD's openAPIV3Schema. It converts what has a structural equivalent and
 * throws on what has none, so that nothing is silently lost:
 * - symbol keys (TypeBox's Kind/Optional markers) and `$id`/`$schema` are dropped;
 * - `const` and `anyOf` of `const`s become `enum` (Type.Literal, Type.Union of Literals);
 * - `patternProperties` with the any-key pattern (Type.Record) becomes `additionalProperties`;
 * - `additionalProperties: false` is dropped: Kubernetes forbids it, and pruning of unknown fields
 *   already does its job; `true` becomes `x-kubernetes-preserve-unknown-fields`;
 * - numeric `exclusiveMinimum/Maximum` (JSON Schema 2019) become the boolean draft-4 form;
 * - keywords are sorted (stable YAML whatever order TypeBox wrote them in); property order is kept.
 * A schema-valued `additionalProperties` beside `properties`, `$ref`, tuples, other
 * `patternProperties`, `uniqueItems: true`, `type: null` and unknown keywords throw.
 */
export function toStructural(schema: TSchema | JSONSchemaProps, path = ''): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  const fail = (why: string): never => {
    throw new Error(`toStructural: ${path || '<root>'}: ${why}`);
  };
  // Object.entries skips symbol keys: TypeBox's [Kind], [OptionalKind], … never reach the CRD.
  for (const [key, value] of Object.entries(schema)) {
    const at = `${path}.${key}`;
    switch (key) {
      case '$id':
      case '$schema':
        break;
      case 'type':
        if (typeof value !== 'string' || !TYPES.has(value))
          fail(`unsupported type ${String(value)}`);
        out.type = value;
        break;
      case 'const':
        out.enum = [value];
        break;
      case 'properties':
        if (!isObject(value)) fail('properties must be an object');
        out.properties = Object.fromEntries(
          Object.entries(value as JSONSchemaProps).map(([name, sub]) => [
            name,
            toStructural(sub as JSONSchemaProps, `${path}.${name}`),
          ]),
        );
        break;
      case 'items':
        if (!isObject(value)) fail('tuples (items as an array) are not structural');
        out.items = toStructural(value as JSONSchemaProps, `${path}[]`);
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf': {
        const branches = value as JSONSchemaProps[];
        if (key === 'anyOf' && branches.every((b) => 'const' in b)) {
          // A union of literals: one enum of one type.
          const types = new Set(branches.map((b) => b.type ?? typeof b.const));
          if (types.size !== 1) fail('a union of literals of different types');
          out.type ??= [...types][0];
          out.enum = branches.map((b) => b.const);
        } else out[key] = branches.map((b, i) => toStructural(b, `${at}[${i}]`));
        break;
      }
      case 'not':
        out.not = toStructural(value as JSONSchemaProps, at);
        break;
      case 'additionalProperties':
      case 'patternProperties':
        break; // below, once `properties` is known
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        if (typeof value === 'number') {
          out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
          out[key] = true;
        } else out[key] = value;
        break;
      case 'uniqueItems':
        if (value === true)
          fail('uniqueItems is not allowed: use x-kubernetes-list-type set or map');
        break;
      case 'required':
        if ((value as string[]).length) out.required = [...(value as string[])];
        break;
      default:
        if (!KEPT.has(key)) fail(`keyword ${key} is not supported by Kubernetes`);
        out[key] = structuredClone(value);
    }
  }

  let additional = (schema as JSONSchemaProps).additionalProperties;
  const patterns = (schema as JSONSchemaProps).patternProperties;
  if (patterns !== undefined) {
    const entries = Object.entries(patterns as JSONSchemaProps);
    if (entries.length !== 1 || !ANY_KEY.has(entries[0]![0]))
      fail('patternProperties is not supported: use a CEL rule on the keys');
    additional = entries[0]![1];
  }
  if (additional === true) out['x-kubernetes-preserve-unknown-fields'] = true;
  else if (isObject(additional)) {
    if (out.properties && Object.keys(out.properties).length)
      fail('additionalProperties beside properties cannot be expressed');
    delete out.properties;
    out.additionalProperties = toStructural(additional, `${path}.*`);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Keywords allowed inside allOf/anyOf/oneOf/not: value validation only. */
const JUNCTOR_FORBIDDEN = ['description', 'default', 'additionalProperties', 'nullable'];

/**
 * The rules of a structural schema (Kubernetes' "Specifying a structural schema") that a
 * generated schema could break; returns one line per violation, [] when structural.
 */
export function structuralErrors(schema: JSONSchemaProps, path = ''): string[] {
  const errors: string[] = [];
  const walk = (s: JSONSchemaProps, at: string, inJunctor: boolean, intOrString: boolean) => {
    const here = at || '<root>';
    for (const key of Object.keys(s))
      if (!KEPT.has(key)) errors.push(`${here}: keyword ${key} is not allowed`);
    const untyped =
      s['x-kubernetes-int-or-string'] === true ||
      s['x-kubernetes-preserve-unknown-fields'] === true;
    if (!inJunctor && !untyped && !s.type) errors.push(`${here}: no type`);
    if (s.type !== undefined && !TYPES.has(s.type as string))
      errors.push(`${here}: type ${String(s.type)}`);
    if (inJunctor) {
      for (const k of JUNCTOR_FORBIDDEN)
        if (k in s) errors.push(`${here}: ${k} inside allOf/anyOf/oneOf/not`);
      if (s.type && !intOrString) errors.push(`${here}: type inside allOf/anyOf/oneOf/not`);
    }
    if (s.properties && s.additionalProperties !== undefined)
      errors.push(`${here}: both properties and additionalProperties`);
    if (s.additionalProperties === false) errors.push(`${here}: additionalProperties: false`);
    if (s['x-kubernetes-preserve-unknown-fields'] === false)
      errors.push(`${here}: x-kubernetes-preserve-unknown-fields: false`);
    if (s['x-kubernetes-list-type'] === 'map') {
      const item = (s.items ?? {}) as JSONSchemaProps;
      const props = (item.properties ?? {}) as Record<string, JSONSchemaProps>;
      const required = (item.required ?? []) as string[];
      for (const k of (s['x-kubernetes-list-map-keys'] ?? []) as string[]) {
        const p = props[k];
        if (!p) errors.push(`${here}: list map key ${k} is not a property of the items`);
        else if (!['string', 'integer', 'number', 'boolean'].includes(p.type as string))
          errors.push(`${here}: list map key ${k} is not a scalar`);
        else if (!required.includes(k) && p.default === undefined)
          errors.push(`${here}: list map key ${k} is neither required nor defaulted`);
      }
    }
    for (const [name, sub] of Object.entries(
      (s.properties ?? {}) as Record<string, JSONSchemaProps>,
    ))
      walk(sub, `${at}.${name}`, inJunctor, false);
    if (isObject(s.additionalProperties)) walk(s.additionalProperties, `${at}.*`, inJunctor, false);
    if (isObject(s.items)) walk(s.items, `${at}[]`, inJunctor, false);
    for (const j of ['allOf', 'anyOf', 'oneOf'])
      for (const [i, sub] of ((s[j] ?? []) as JSONSchemaProps[]).entries())
        walk(sub, `${at}.${j}[${i}]`, true, s['x-kubernetes-int-or-string'] === true);
    if (isObject(s.not)) walk(s.not, `${at}.not`, true, false);
  };
  walk(schema, path, false, false);
  return errors;
}
