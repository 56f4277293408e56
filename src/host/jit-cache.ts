/**
 * The JIT's cache between runs (jit/hot-pages.ts, jit/page-module-cache.ts) as a run opens it: the
 * profile saved for these images, the directory and build id of the compiled modules, a save of
 * what the run learned, and the compile ahead of the harts (`precompile`). The coordinator hands it
 * to its hart workers (host/coordinator.ts); the debugger's timeline, whose executors run on its
 * own thread, uses it directly (`executorCache`). Null when the cache is off (HINDSIGHT_JIT_PROFILE=0).
 */
import { hotPageFile, hotPagesEnabled, loadProfile, pageModuleDir, saveProfile, type JitProfile } from '../jit/hot-page-store.js';
import { HotPageList, HotPages } from '../jit/hot-pages.js';
import { PageModuleCache, type UsedModule } from '../jit/page-module-cache.js';
import { hartWorkerBuildId } from './worker-pool.js';

/** What `precompile` did: modules compiled, listed files it could not use, its thread's time. */
export interface PrecompileStats {
  precompiled: number;
  unusable: number;
  precompileMs: number;
}

export class JitCache {
  /** Modules `precompile` compiled, held so V8 keeps their code until the run ends (`release`). */
  private held: WebAssembly.Module[] = [];

  private constructor(private readonly file: string, private readonly profile: JitProfile, readonly moduleDir: string, readonly buildId: string | null) {}

  /** `buildId`: whose compiled modules to use (the hart workers' bundle's; none: not kept). */
  static open(images: readonly { role: string; bytes: Uint8Array }[], buildId = hartWorkerBuildId()): JitCache | null {
    if (!hotPagesEnabled()) return null;
    const file = hotPageFile(images);
    return new JitCache(file, loadProfile(file), pageModuleDir(), buildId);
  }

  /** The hot pages of earlier runs. */
  get known(): HotPageList {
    return this.profile.pages;
  }

  /**
   * The profile plus what this run learned, into the file (when that changes it). `modules` are
   * the threads' lists of module files used, merged into the order they were first used.
   */
  save(learned: HotPageList, modules: UsedModule[] = []): void {
    const order = [...modules].sort((a, b) => a[1] - b[1]).map(([key]) => key);
    saveProfile(this.file, this.profile, { pages: learned, modules: order });
  }

  /**
   * Compiles the module files the profile lists, on this thread, in the order the last run first
   * used them, while the harts run; stops once `stop()` is true. V8 keeps one compiled module per
   * distinct bytes in a process (its native-module cache) for as long as one is alive, so a hart's
   * `new WebAssembly.Module` of the same bytes finds the code compiled, or waits for this compile,
   * instead of compiling on the hart's thread (~3-5 ms a page; docs/ARCHITECTURE.md, the JIT's
   * profile). Yields to the event loop between modules, so the console keeps flowing. Compiling
   * changes no guest state: a listed file that no hart asks for costs this thread's time only.
   */
  async precompile(stop: () => boolean): Promise<PrecompileStats> {
    const stats: PrecompileStats = { precompiled: 0, unusable: 0, precompileMs: 0 };
    // HINDSIGHT_JIT_PRECOMPILE=0: the harts compile every module themselves (to measure this against).
    if (!this.buildId || this.profile.modules.length === 0 || process.env.HINDSIGHT_JIT_PRECOMPILE === '0') return stats;
    // The workers' V8 flags (wasm compiled eagerly by Liftoff, relaxed SIMD where the host FMA is
    // used): process-wide and already set by them, set again here so this thread cannot compile first
    // under other ones. Loaded now, not at start-up, where loading node:v8 delayed the workers.
    await import('../jit/v8-tuning.js');
    (await import('../jit/host-fma.js')).hostFusedMadd();
    const cache = new PageModuleCache(this.moduleDir, this.buildId);
    for (const key of this.profile.modules) {
      if (stop()) break;
      const t0 = performance.now();
      const hit = cache.read(key);
      try {
        if (hit) {
          this.held.push(new WebAssembly.Module(hit.bytes));
          stats.precompiled++;
        } else {
          stats.unusable++;
        }
      } catch {
        stats.unusable++;
      }
      stats.precompileMs += performance.now() - t0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    stats.precompileMs = Math.round(stats.precompileMs);
    return stats;
  }

  /** Lets V8 drop the modules `precompile` compiled. */
  release(): void {
    this.held = [];
  }

  /** JIT options for executors on this thread, sharing one profile; `save` writes what they learned. */
  executorCache(): { hotPages: HotPages; pageCache: PageModuleCache | null; save(): void } {
    const hotPages = new HotPages(this.known);
    const pageCache = this.buildId ? new PageModuleCache(this.moduleDir, this.buildId) : null;
    return {
      hotPages,
      pageCache,
      save: () => this.save(hotPages.takeLearned(), pageCache?.takeUsed()),
    };
  }
}
