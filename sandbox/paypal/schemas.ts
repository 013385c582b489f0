/**
 * PayPal's official OpenAPI 3.0 documents, turned into Ajv validators once per process.
 *
 * The stand-in checks what it receives against the same documents a real integration is written
 * against, so a store that sends a number where PayPal wants a string, or forgets a required
 * field, fails here as it would at PayPal. Validation is deliberately literal: no type coercion,
 * no defaults filled in, no unknown properties stripped. What the body says is what is judged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsPlugin from 'ajv-formats';
import type { ErrorDetail } from './errors.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

// ajv-formats is CommonJS; under NodeNext its default import is typed as the module, not the function.
const addFormats = formatsPlugin as unknown as typeof formatsPlugin.default;

export const SPEC_NAMES = ['checkout_orders_v2', 'payments_payment_v2', 'notifications_webhooks_v1'] as const;
export type SpecName = (typeof SPEC_NAMES)[number];

/** PayPal's documents, copied into the repository (specs/paypal) so a clean checkout has them. */
export const DEFAULT_SPECS_DIR = path.join(PACKAGE_ROOT, 'specs', 'paypal');

type Json = Record<string, unknown>;
type Location = NonNullable<ErrorDetail['location']>;

/** A request check for one operation of one document. */
export interface OperationValidator {
  body(body: unknown): ErrorDetail[];
  /** Path and header parameters, by the names the document gives them. */
  parameters(values: { path: Record<string, string>; headers: Record<string, string | string[] | undefined> }): ErrorDetail[];
}

export interface PayPalSchemas {
  operation(spec: SpecName, method: string, route: string): OperationValidator;
  /** The schema of one documented response, for checking that answers keep PayPal's shapes. */
  response(spec: SpecName, method: string, route: string, status: number | 'default'): ValidateFunction;
  component(spec: SpecName, name: string): ValidateFunction;
  /**
   * The description a document fixes for an issue in one operation's error answer. PayPal's
   * documents enumerate each issue's exact text (and vary it by operation), so errors use theirs.
   */
  issueDescription(spec: SpecName, method: string, route: string, status: number, issue: string): string | undefined;
}

const cache = new Map<string, PayPalSchemas>();

/** Loading and converting takes a moment; every sandbox in a process shares the result. */
export function loadPayPalSchemas(specsDir: string = DEFAULT_SPECS_DIR): PayPalSchemas {
  const key = path.resolve(specsDir);
  let schemas = cache.get(key);
  if (!schemas) {
    schemas = new DocumentSchemas(key);
    cache.set(key, schemas);
  }
  return schemas;
}

/** The three documents, converted and registered with one Ajv; validators compiled on first use. */
class DocumentSchemas implements PayPalSchemas {
  private readonly ajv = createAjv();
  private readonly documents = new Map<SpecName, Json>();
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly operations = new Map<string, OperationValidator>();

  constructor(specsDir: string) {
    for (const name of SPEC_NAMES) {
      const document = readDocument(specsDir, name);
      this.documents.set(name, document);
      this.ajv.addSchema({ $id: specId(name), definitions: convertAll(componentsOf(document, 'schemas'), name) });
    }
  }

  operation(spec: SpecName, method: string, route: string): OperationValidator {
    const key = `${spec} ${method} ${route}`;
    let validator = this.operations.get(key);
    if (!validator) this.operations.set(key, (validator = this.buildOperation(spec, method, route)));
    return validator;
  }

  response(spec: SpecName, method: string, route: string, status: number | 'default'): ValidateFunction {
    const schema = jsonContent(this.responsesOf(spec, method, route)[String(status)]);
    if (!schema) throw new Error(`${spec} ${method.toUpperCase()} ${route} documents no JSON body for ${status}`);
    return this.compileOnce(`${spec} ${method} ${route} ${status}`, () => convert(schema, spec) as Json);
  }

  component(spec: SpecName, name: string): ValidateFunction {
    return this.compileOnce(`${spec} #${name}`, () => ({ $ref: `${specId(spec)}#/definitions/${name}` }));
  }

  issueDescription(spec: SpecName, method: string, route: string, status: number, issue: string): string | undefined {
    const schema = jsonContent(this.responsesOf(spec, method, route)[String(status)]);
    return findIssueDescription(this.documents.get(spec)!, schema, issue);
  }

  private buildOperation(spec: SpecName, method: string, route: string): OperationValidator {
    const op = findOperation(this.documents.get(spec)!, spec, method, route);
    const bodySchema = jsonContent(op.requestBody);
    const validateBody =
      bodySchema === undefined ? undefined : this.compileOnce(`${spec} ${method} ${route} body`, () => convert(bodySchema, spec) as Json);
    const parameters = resolveParameters(this.documents.get(spec)!, op).map((p) => ({
      ...p,
      validate: this.compileOnce(`${spec} param ${JSON.stringify(p.schema)}`, () => convert(p.schema, spec) as Json),
    }));
    return {
      body: (body) => (validateBody && !validateBody(body) ? toDetails(validateBody.errors ?? [], 'body') : []),
      parameters: (values) => parameters.flatMap((p) => checkParameter(p, values)),
    };
  }

  private responsesOf(spec: SpecName, method: string, route: string): Json {
    return findOperation(this.documents.get(spec)!, spec, method, route).responses as Json;
  }

  private compileOnce(key: string, make: () => Json): ValidateFunction {
    let validate = this.compiled.get(key);
    if (!validate) this.compiled.set(key, (validate = this.ajv.compile(make())));
    return validate;
  }
}

function createAjv(): Ajv {
  const ajv = new Ajv({
    // An OpenAPI keyword the conversion missed is an error, not a silently skipped rule...
    strictSchema: true,
    strictNumbers: true,
    strictTuples: true,
    // ...but these two police authoring style that the documents legitimately use (properties
    // without `type` inside allOf, required names defined in a sibling); they change no verdict.
    strictTypes: false,
    strictRequired: false,
    allErrors: true, // PayPal lists every problem in `details`, not just the first
    verbose: true, // gives each error the offending value, which PayPal echoes as `value`
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    // The documents' patterns are ECMAScript regular expressions written for the non-unicode
    // flavour (the email pattern escapes characters that `u` mode rejects).
    unicodeRegExp: false,
  });
  addFormats(ajv);
  addPayPalFormats(ajv);
  return ajv;
}

/**
 * PayPal's documents name internal formats. Each field carrying one also carries a pattern and
 * lengths that say the same thing, so the name itself adds nothing, except the currency code,
 * which has only a length: it gets ISO 4217's shape. (Which currencies PayPal supports is a
 * business rule, answered with 422 INVALID_CURRENCY_CODE elsewhere.)
 */
function addPayPalFormats(ajv: Ajv): void {
  ajv.addFormat('ppaas_common_currency_code_v2', /^[A-Z]{3}$/);
  for (const name of [
    'merchant_common_email_address_v2',
    'ppaas_common_email_address_v2',
    'ppaas_common_country_code_v2',
    'ppaas_common_language_v3',
    'ppaas_date_notime_v2',
    'ppaas_date_time_v3',
    'ppaas_ip_address_v1',
    'ppaas_payer_id_v3',
  ]) {
    ajv.addFormat(name, true);
  }
}

function readDocument(specsDir: string, name: SpecName): Json {
  const file = path.join(specsDir, `${name}.json`);
  if (!fs.existsSync(file)) {
    throw new Error(`PayPal stand-in: OpenAPI document ${file} is missing (expected beside the repository, see DESIGN.md)`);
  }
  const document = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  assertNoReadOnlyRequired(componentsOf(document, 'schemas'), name);
  return document;
}

function specId(name: SpecName): string {
  return `paypal-spec:${name}`;
}

function componentsOf(document: Json, kind: 'schemas' | 'parameters'): Json {
  return ((document.components as Json | undefined)?.[kind] ?? {}) as Json;
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.0 Schema Object -> JSON Schema (draft-07, Ajv's default)

/** Keywords OpenAPI adds to JSON Schema that validate nothing (nullable is handled, then dropped). */
const OPENAPI_ONLY = new Set(['example', 'externalDocs', 'xml', 'discriminator', 'nullable']);
/** Keywords whose value is data, not a schema: copied, never walked into. */
const DATA_KEYWORDS = new Set(['enum', 'default', 'required', 'examples', 'const']);

function convertAll(schemas: Json, spec: SpecName): Json {
  return Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, convert(schema, spec)]));
}

function convert(node: unknown, spec: SpecName): unknown {
  return convertOpenApiSchema(node, specId(spec));
}

/**
 * One OpenAPI 3.0 Schema Object as JSON Schema (draft-07). `#/components/schemas/NAME` refs become
 * `${documentId}#/definitions/NAME`: register the converted components under that $id. Shared
 * with the other stand-ins that check requests against a provider's OpenAPI document (Twilio).
 */
export function convertOpenApiSchema(node: unknown, documentId: string): unknown {
  if (Array.isArray(node)) return node.map((item) => convertOpenApiSchema(item, documentId));
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (OPENAPI_ONLY.has(key)) continue;
    // PayPal tags whole objects with internal format names (payer_v1); formats only apply to strings.
    if (key === 'format' && node.type !== 'string') continue;
    if (key === '$ref') out.$ref = rewriteRef(value as string, documentId);
    else if (key === 'properties')
      out.properties = Object.fromEntries(
        Object.entries(value as Json).map(([name, schema]) => [name, convertOpenApiSchema(schema, documentId)]),
      );
    else if (DATA_KEYWORDS.has(key)) out[key] = value;
    else out[key] = convertOpenApiSchema(value, documentId);
  }
  convertExclusiveBounds(out);
  return node.nullable === true ? allowNull(out) : out;
}

/** Refs into components become refs into the converted document registered under documentId. */
function rewriteRef(ref: string, documentId: string): string {
  const prefix = '#/components/schemas/';
  if (!ref.startsWith(prefix)) throw new Error(`OpenAPI conversion: unsupported $ref ${ref} in ${documentId}`);
  return `${documentId}#/definitions/${ref.slice(prefix.length)}`;
}

/** OpenAPI 3.0's `nullable: true` is JSON Schema's extra "null" type. */
function allowNull(schema: Json): Json {
  if (typeof schema.type === 'string') {
    const withNull: Json = { ...schema, type: [schema.type, 'null'] };
    if (Array.isArray(schema.enum)) withNull.enum = [...(schema.enum as unknown[]), null];
    return withNull;
  }
  return { anyOf: [schema, { type: 'null' }] };
}

/** OpenAPI 3.0 has draft-04's boolean exclusiveMinimum/Maximum; draft-07 wants the bound itself. */
function convertExclusiveBounds(schema: Json): void {
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof schema[flag] !== 'boolean') continue;
    if (schema[flag]) schema[flag] = schema[bound];
    else delete schema[flag];
    if (schema[flag] !== undefined) delete schema[bound];
  }
}

/**
 * OpenAPI says a required readOnly property is required in responses only. None of PayPal's
 * documents has one, so a single compiled view serves requests and responses; this check makes
 * sure a newer document that does have one is noticed instead of rejecting good requests.
 */
function assertNoReadOnlyRequired(schemas: Json, spec: SpecName): void {
  const visit = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((item) => visit(item, where));
    if (!isObject(node)) return;
    const properties = isObject(node.properties) ? node.properties : {};
    for (const name of Array.isArray(node.required) ? node.required : []) {
      const property = properties[name as string];
      if (isObject(property) && property.readOnly === true) {
        throw new Error(`PayPal stand-in: ${spec} ${where}.${name} is required and readOnly; schemas.ts needs request/response views`);
      }
    }
    for (const [key, value] of Object.entries(node)) if (!DATA_KEYWORDS.has(key)) visit(value, where);
  };
  for (const [name, schema] of Object.entries(schemas)) visit(schema, name);
}

// ---------------------------------------------------------------------------------------------
// Operations and their parameters

function findOperation(document: Json, spec: SpecName, method: string, route: string): Json {
  const op = ((document.paths as Json)[route] as Json | undefined)?.[method.toLowerCase()];
  if (!isObject(op)) throw new Error(`PayPal stand-in: ${spec} has no operation ${method.toUpperCase()} ${route}`);
  return op;
}

function jsonContent(container: unknown): unknown {
  if (!isObject(container)) return undefined;
  const content = container.content as Json | undefined;
  return (content?.['application/json'] as Json | undefined)?.schema;
}

interface Parameter {
  name: string;
  in: Location;
  required: boolean;
  schema: unknown;
}

function resolveParameters(document: Json, op: Json): Parameter[] {
  const declared = Array.isArray(op.parameters) ? op.parameters : [];
  const shared = componentsOf(document, 'parameters');
  return declared
    .map((p) => (isObject(p) && typeof p.$ref === 'string' ? shared[p.$ref.split('/').pop()!] : p) as Json)
    .filter((p) => p.in === 'path' || p.in === 'header')
    .map((p) => ({ name: p.name as string, in: p.in as Location, required: p.required === true, schema: p.schema }));
}

function checkParameter(
  parameter: Parameter & { validate: ValidateFunction },
  values: { path: Record<string, string>; headers: Record<string, string | string[] | undefined> },
): ErrorDetail[] {
  const raw = parameter.in === 'path' ? values.path[parameter.name] : values.headers[parameter.name.toLowerCase()];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) {
    return parameter.required ? [{ ...ISSUES.required, field: parameter.name, location: parameter.in }] : [];
  }
  if (parameter.validate(value)) return [];
  return toDetails(parameter.validate.errors ?? [], parameter.in).map((d) => ({ ...d, field: parameter.name }));
}

/**
 * Error responses are allOf [error_4xx, <operation>-4xx]; the second lists the operation's issues
 * as details.items.anyOf, each titled with its issue and fixing its description by enum.
 */
function findIssueDescription(document: Json, schema: unknown, issue: string, depth = 0): string | undefined {
  if (!isObject(schema) || depth > 8) return undefined;
  if (typeof schema.$ref === 'string') {
    return findIssueDescription(document, componentsOf(document, 'schemas')[schema.$ref.split('/').pop()!], issue, depth + 1);
  }
  for (const part of Array.isArray(schema.allOf) ? schema.allOf : []) {
    const found = findIssueDescription(document, part, issue, depth + 1);
    if (found) return found;
  }
  const details = (schema.properties as Json | undefined)?.details as Json | undefined;
  const variants = ((details?.items as Json | undefined)?.anyOf ?? []) as Json[];
  const variant = variants.find((v) => v.title === issue);
  const description = ((variant?.properties as Json | undefined)?.description as Json | undefined)?.enum;
  return Array.isArray(description) && typeof description[0] === 'string' ? description[0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Ajv errors -> PayPal's `details`

const ISSUES = {
  required: { issue: 'MISSING_REQUIRED_PARAMETER', description: 'A required field / parameter is missing.' },
  syntax: { issue: 'INVALID_PARAMETER_SYNTAX', description: 'The value of a field does not conform to the expected format.' },
  length: { issue: 'INVALID_STRING_LENGTH', description: 'The value of a field is either too short or too long.' },
  value: { issue: 'INVALID_PARAMETER_VALUE', description: 'The value of a field is invalid.' },
  minItems: { issue: 'INVALID_ARRAY_MIN_ITEMS', description: 'The number of items in an array parameter is too small.' },
  maxItems: { issue: 'INVALID_ARRAY_MAX_ITEMS', description: 'The number of items in an array parameter is too large.' },
  unknown: { issue: 'NOT_SUPPORTED', description: 'A field used is not currently supported.' },
};

const ISSUE_BY_KEYWORD: Record<string, (typeof ISSUES)[keyof typeof ISSUES]> = {
  required: ISSUES.required,
  type: ISSUES.syntax,
  pattern: ISSUES.syntax,
  format: ISSUES.syntax,
  minLength: ISSUES.length,
  maxLength: ISSUES.length,
  minItems: ISSUES.minItems,
  maxItems: ISSUES.maxItems,
  additionalProperties: ISSUES.unknown,
};

export function toDetails(errors: ErrorObject[], location: Location): ErrorDetail[] {
  const seen = new Set<string>();
  const details: ErrorDetail[] = [];
  // Errors inside the branches of anyOf/oneOf restate the composite failure; the composite says it once.
  for (const error of errors.filter((e) => !/\/(anyOf|oneOf)\/\d+\//.test(e.schemaPath))) {
    const detail = toDetail(error, location);
    const key = `${detail.field} ${detail.issue}`;
    if (!seen.has(key)) details.push(detail);
    seen.add(key);
  }
  return details;
}

function toDetail(error: ErrorObject, location: Location): ErrorDetail {
  const { issue, description } = ISSUE_BY_KEYWORD[error.keyword] ?? ISSUES.value;
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const child = params.missingProperty ?? params.additionalProperty;
  const field = child === undefined ? error.instancePath || '/' : `${error.instancePath}/${child}`;
  const detail: ErrorDetail = { field, location, issue, description: `${description.replace(/\.$/, '')}: ${error.message}.` };
  if (child === undefined && error.data !== undefined) detail.value = describeValue(error.data);
  return detail;
}

function describeValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
