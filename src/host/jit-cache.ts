/**
 * The JIT's cache between runs (jit/hot-pages.ts, jit/page-module-cache.ts) as a run opens it: the
 * profile saved for these images, the directory and build id of the compiled modules, and a save
 * of what the run learned. The coordinator hands it to its hart workers (host/coordinator.ts); the
 * debugger's timeline, whose executors run on its own thread, uses it directly (`executorCache`).
 * Null when the cache is off (HINDSIGHT_JIT_PROFILE=0).
 */
import { hotPageFile, hotPagesEnabled, loadHotPages, pageModuleDir, saveHotPages } from '../jit/hot-page-store.js';
import { HotPageList, HotPages } from '../jit/hot-pages.js';
import { PageModuleCache } from '../jit/page-module-cache.js';
import { hartWorkerBuildId } from './worker-pool.js';

export class JitCache {
  private constructor(private readonly file: string, readonly known: HotPageList, readonly moduleDir: string, readonly buildId: string | null) {}

  static open(images: readonly { role: string; bytes: Uint8Array }[]): JitCache | null {
    if (!hotPagesEnabled()) return null;
    const file = hotPageFile(images);
    return new JitCache(file, loadHotPages(file), pageModuleDir(), hartWorkerBuildId());
  }

  /** The profile plus what this run learned, into the file (when the run learned anything new). */
  save(learned: HotPageList): void {
    if (learned.length > 0) saveHotPages(this.file, this.known, learned);
  }

  /** JIT options for executors on this thread, sharing one profile; `save` writes what they learned. */
  executorCache(): { hotPages: HotPages; pageCache: PageModuleCache | null; save(): void } {
    const hotPages = new HotPages(this.known);
    return {
      hotPages,
      pageCache: this.buildId ? new PageModuleCache(this.moduleDir, this.buildId) : null,
      save: () => this.save(hotPages.takeLearned()),
    };
  }
}
