import { createQueryId, type Compilable, type CompiledQuery } from 'kysely';
import type { Db } from './database.js';

/** What a reusable query takes: named values, each a scalar or a list of scalars (for `in`). */
type Scalar = string | number | null | undefined;
export type QueryValues = Record<string, Scalar | readonly Scalar[]>;

/** A compiled query's SQL, and for each of its parameters where this call's value comes from. */
interface Template<Row> {
  compiled: CompiledQuery<Row>;
  slots: ({ value: unknown } | { name: string; index?: number })[];
}

const MARK = '\u0000reusable-query:';

/**
 * Kysely builds a query's tree and compiles it to SQL on every call; for a query on a hot path
 * with many joins that costs as much as sending it (the media bench: a fifth of the download
 * ownership query's CPU). A reusable query is built and compiled once per database and shape,
 * from markers in place of the values, and each call then sends that SQL with its own values in
 * the markers' places. The shape is which values are absent and how long each list is: a
 * builder may leave out a condition for an absent value or write one `?` per list item, and
 * each such shape is compiled once. A builder must use the values only as values (never to
 * choose a table, a column or an order), which is what the markers check: a marker that ends
 * up anywhere but among the parameters is refused at the first call.
 */
export function reusableQuery<V extends QueryValues, Row>(build: (db: Db, values: V) => Compilable<Row>) {
  const templates = new WeakMap<Db, Map<string, Template<Row>>>();

  function template(db: Db, values: V): Template<Row> {
    let byShape = templates.get(db);
    if (!byShape) templates.set(db, (byShape = new Map<string, Template<Row>>()));
    const shape = shapeOf(values);
    let known = byShape.get(shape);
    if (!known) byShape.set(shape, (known = compileTemplate(build(db, markersFor(values)).compile(), values)));
    return known;
  }

  return async (db: Db, values: V): Promise<Row[]> => {
    const { compiled, slots } = template(db, values);
    const parameters = slots.map((slot) => {
      if ('value' in slot) return slot.value;
      const value = values[slot.name];
      return slot.index === undefined ? value : (value as readonly Scalar[])[slot.index];
    });
    const result = await db.executeQuery<Row>({ ...compiled, queryId: createQueryId(), parameters });
    return result.rows;
  };
}

function shapeOf(values: QueryValues): string {
  return Object.entries(values)
    .map(
      ([name, value]) =>
        `${name}:${value === undefined ? 'absent' : value === null ? 'null' : Array.isArray(value) ? value.length : 'value'}`,
    )
    .join(',');
}

/** The values with each present one replaced by a marker naming it (null and absent stay: they may change the SQL). */
function markersFor<V extends QueryValues>(values: V): V {
  const markers: QueryValues = {};
  for (const [name, value] of Object.entries(values))
    markers[name] = Array.isArray(value)
      ? value.map((_, index) => `${MARK}${name}:${index}`)
      : value === undefined || value === null
        ? value
        : `${MARK}${name}`;
  return markers as V;
}

/** The compiled markers' SQL and slots, refused when a value was not used as a plain value (see reusableQuery). */
function compileTemplate<Row>(compiled: CompiledQuery<Row>, values: QueryValues): Template<Row> {
  if (compiled.sql.includes(MARK)) throw new Error('reusableQuery: a value was written into the SQL itself, so it cannot be reused');
  const slots = compiled.parameters.map((parameter) => {
    if (typeof parameter !== 'string' || !parameter.startsWith(MARK)) return { value: parameter };
    const [name, index] = parameter.slice(MARK.length).split(':') as [string, string | undefined];
    return index === undefined ? { name } : { name, index: Number(index) };
  });
  const used = new Set(slots.map((slot) => ('name' in slot ? slot.name : undefined)));
  const unused = Object.keys(values).filter(
    (name) => values[name] != null && !(Array.isArray(values[name]) && values[name].length === 0) && !used.has(name),
  );
  if (unused.length) throw new Error(`reusableQuery: ${unused.join(', ')} did not reach the SQL as a value, so it cannot be reused`);
  return { compiled, slots };
}
