/**
 * Resource numbers of CREW ownership while recording, as trace events carry them: RAM page p is p,
 * the device bus (every MMIO access) is `pages`, and line l of a split RAM page p is
 * pages + 1 + 64 p + l — so replay and the trace tools find a line's page without a table.
 */

/** Ownership granularity of a split page: 64-byte lines (a cache line: what false sharing shares). */
export const LINE_BYTES = 64;
export const LINES_PER_PAGE = 4096 / LINE_BYTES;

export function lineResource(pages: number, page: number, line: number): number {
  return pages + 1 + page * LINES_PER_PAGE + line;
}

/** What a resource number names: a RAM page (line -1), a line of one, or the device bus. */
export function describeResource(pages: number, resource: number): { page: number; line: number } | 'bus' {
  if (resource < pages) return { page: resource, line: -1 };
  if (resource === pages) return 'bus';
  const k = resource - pages - 1;
  return { page: Math.floor(k / LINES_PER_PAGE), line: k % LINES_PER_PAGE };
}
