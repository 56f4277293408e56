/**
 * The most blocks a page module holds (JitOptions.maxBlocksPerPage's default; jit/page-blocks.ts).
 * Its own module so that the profile store (hot-page-store.ts, loaded by the CLI's main thread)
 * does not load the instruction tables with page-blocks.ts: those took ~5 ms of the main thread's
 * start-up on every command.
 */
export const MAX_PAGE_BLOCKS = 512;
