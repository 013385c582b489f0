import type { SelectQueryBuilder } from 'kysely';

/**
 * One page of a list (pages count from 1), and whether another follows: asks for one row more
 * than a page instead of counting the whole list.
 */
export async function fetchPage<O>(
  query: SelectQueryBuilder<any, any, O>,
  page: number,
  pageSize: number,
): Promise<{ rows: O[]; more: boolean }> {
  const rows = await query
    .limit(pageSize + 1)
    .offset((page - 1) * pageSize)
    .execute();
  return { rows: rows.slice(0, pageSize), more: rows.length > pageSize };
}
