/**
 * Twilio's official OpenAPI document for API v2010 (specs/twilio/twilio_api_v2010.json, MIT),
 * turned into Ajv validators for the two operations the stand-in serves: create a Message (POST
 * .../Messages.json) and fetch one (GET .../Messages/{Sid}.json). Schemas go through the same
 * OpenAPI 3.0 -> JSON Schema conversion as the PayPal stand-in's.
 *
 * Twilio's requests are form-encoded, so every value arrives as a string; `typedForm` gives each
 * parameter the type the document declares (a boolean from true/false, an integer from digits,
 * an array from repeated keys) and leaves anything else as the string it was, for the schema to
 * refuse. No defaults are filled in and nothing is stripped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsPlugin from 'ajv-formats';
import { convertOpenApiSchema } from '../paypal/schemas.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

const addFormats = formatsPlugin as unknown as typeof formatsPlugin.default;

/** Twilio's document, copied into the repository (specs/twilio) so a clean checkout has it. */
export const DEFAULT_TWILIO_SPEC = path.join(PACKAGE_ROOT, 'specs', 'twilio', 'twilio_api_v2010.json');

export const MESSAGES_ROUTE = '/2010-04-01/Accounts/{AccountSid}/Messages.json';
export const MESSAGE_ROUTE = '/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json';
const DOCUMENT_ID = 'twilio-spec:api_v2010';

type Json = Record<string, unknown>;

/** E.164, a channel address (whatsapp:+1555...), a short code, or an alphanumeric sender ID. */
const PHONE_NUMBER = /^(?:\+[1-9]\d{1,14}|[a-z][a-z0-9-]*:\S+|\d{3,8}|(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9 ]{1,11})$/;
/** A number a message can go to: E.164 or a channel address (not a short code or sender ID). */
export const ADDRESSABLE = /^(?:\+[1-9]\d{1,14}|[a-z][a-z0-9-]*:\S+)$/;

export interface TwilioSchemas {
  /** The create-message form, typed and checked: the errors are Ajv's. */
  createMessage(form: URLSearchParams): { params: Json; errors: ErrorObject[] };
  /** Path parameters of an operation, by the names the document gives them. */
  pathErrors(
    route: typeof MESSAGES_ROUTE | typeof MESSAGE_ROUTE,
    values: Record<string, string>,
  ): { name: string; errors: ErrorObject[] }[];
  /** The documented message resource (api.v2010.account.message), for answers and tests. */
  messageResource: ValidateFunction;
}

const cache = new Map<string, TwilioSchemas>();

export function loadTwilioSchemas(file: string = DEFAULT_TWILIO_SPEC): TwilioSchemas {
  const key = path.resolve(file);
  let schemas = cache.get(key);
  if (!schemas) cache.set(key, (schemas = build(key)));
  return schemas;
}

function build(file: string): TwilioSchemas {
  if (!fs.existsSync(file)) throw new Error(`Twilio stand-in: OpenAPI document ${file} is missing (see specs/README.md)`);
  const document = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  const components = ((document.components as Json).schemas ?? {}) as Json;
  const ajv = createAjv();
  // Only the message family is registered: the whole document is 1.8 MB of schemas we never use.
  const used = Object.fromEntries(
    Object.entries(components).filter(([name]) => name.startsWith('message_enum_') || name === 'api.v2010.account.message'),
  );
  ajv.addSchema({ $id: DOCUMENT_ID, definitions: Object.fromEntries(Object.entries(used).map(([n, s]) => [n, convert(s)])) });

  const create = operation(document, MESSAGES_ROUTE, 'post');
  const formSchema = (((create.requestBody as Json).content as Json)['application/x-www-form-urlencoded'] as Json).schema as Json;
  const validateForm = ajv.compile(convert(formSchema) as Json);
  const declared = formSchema.properties as Json;
  const typeOf = (name: string): string | undefined => {
    const property = declared[name] as Json | undefined;
    if (!property) return undefined;
    if (typeof property.$ref === 'string')
      return (components[property.$ref.split('/').pop()!] as Json | undefined)?.type as string | undefined;
    return property.type as string | undefined;
  };

  const pathValidators = new Map<string, { name: string; validate: ValidateFunction }[]>();
  for (const [route, method] of [
    [MESSAGES_ROUTE, 'post'],
    [MESSAGE_ROUTE, 'get'],
  ] as const) {
    const parameters = (operation(document, route, method).parameters ?? []) as Json[];
    pathValidators.set(
      route,
      parameters.filter((p) => p.in === 'path').map((p) => ({ name: p.name as string, validate: ajv.compile(convert(p.schema) as Json) })),
    );
  }

  return {
    createMessage(form) {
      const params: Json = {};
      for (const name of new Set(form.keys())) {
        const values = form.getAll(name);
        params[name] = typed(typeOf(name), values);
      }
      const ok = validateForm(params);
      return { params, errors: ok ? [] : [...(validateForm.errors ?? [])] };
    },
    pathErrors(route, values) {
      return (pathValidators.get(route) ?? []).flatMap(({ name, validate }) =>
        validate(values[name]) ? [] : [{ name, errors: [...(validate.errors ?? [])] }],
      );
    },
    messageResource: ajv.compile({ $ref: `${DOCUMENT_ID}#/definitions/api.v2010.account.message` }),
  };
}

/** One form parameter as the type its schema declares, or as it came when it does not fit. */
function typed(type: string | undefined, values: string[]): unknown {
  if (type === 'array') return values;
  if (values.length > 1) return values; // a scalar given twice: the schema refuses the array
  const value = values[0]!;
  if (type === 'boolean' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (type === 'integer' && /^-?\d+$/.test(value)) return Number(value);
  if (type === 'number' && /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value)) return Number(value);
  return value;
}

function operation(document: Json, route: string, method: string): Json {
  const op = ((document.paths as Json)[route] as Json | undefined)?.[method] as Json | undefined;
  if (!op) throw new Error(`Twilio stand-in: the document has no ${method.toUpperCase()} ${route}`);
  return op;
}

/** The shared conversion, after honouring Twilio's own `x-twilio: { ignoreFormat: true }` marks. */
function convert(schema: unknown): unknown {
  return convertOpenApiSchema(dropIgnoredFormats(schema), DOCUMENT_ID);
}

function dropIgnoredFormats(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropIgnoredFormats);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  const ignore = ((node as Json)['x-twilio'] as Json | undefined)?.ignoreFormat === true;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'x-twilio' || (key === 'format' && ignore)) continue;
    out[key] = key === 'enum' || key === 'required' ? value : dropIgnoredFormats(value);
  }
  return out;
}

function createAjv(): Ajv {
  const ajv = new Ajv({
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictRequired: false,
    allErrors: true,
    verbose: false, // errors never carry the offending value: it may be a phone number or a body
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
  });
  addFormats(ajv);
  ajv.addFormat('phone-number', PHONE_NUMBER);
  ajv.addFormat(
    'date-time-rfc-2822',
    /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/,
  );
  ajv.addFormat('currency', /^[A-Za-z]{3}$/);
  for (const name of ['uri-map', 'endpoint', 'ice-server', 'phone-number-capabilities', 'twiml', 'iso-country-code', 'http-method'])
    ajv.addFormat(name, true);
  return ajv;
}
