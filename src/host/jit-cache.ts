/**
 * The JIT's cache between runs (jit/hot-pages.ts, jit/page-module-cache.ts) as a run opens it: the
 * profile saved for these images, the directory and build id of the compiled modules, a save of
 * what the run learned, and the modules to compile ahead of the harts (`ahead`). The coordinator hands it
 * to its hart workers (host/coordinator.ts); the debugger's timeline, whose executors run on its
 * own thread, uses it directly (`executorCache`). Null when the cache is off (HINDSIGHT_JIT_PROFILE=0).
 */
import { hotPageFile, hotPagesEnabled, loadProfile, pageModuleDir, saveProfile, type JitProfile } from '../jit/hot-page-store.js';
import { HotPageList, HotPages } from '../jit/hot-pages.js';
import { PageModuleCache, type UsedModule } from '../jit/page-module-cache.js';
import type { AheadModule } from './compile-service.js';
import { hartWorkerBuildId } from './worker-pool.js';

/**
 * How a machine runs, as far as the JIT's profile is concerned (hot-page-store.ts hotPageFile):
 * its hart count and the command (`run`, `record`, `replay`, `debug`). A replay, serial or
 * parallel, repeats its recording's execution; runs and recordings differ from each other only
 * where timing does.
 */
export function profileShape(harts: number, command: 'run' | 'record' | 'replay' | 'debug'): string {
  return `${harts} harts, ${command}`;
}

export class JitCache {
  private constructor(private readonly file: string, private readonly profile: JitProfile, readonly moduleDir: string, readonly buildId: string | null) {}

  /**
   * `shapes`: profileShape()s, this run's first; while it has no profile yet, the first of the
   * others that has one is where it starts (a first recording from the runs' profile: most of
   * either is the kernel's pages, and a recording without one took ~1.4 s against ~1.1 s on 4
   * harts). `buildId`: whose compiled modules to use (the hart workers' bundle's; none: not kept).
   */
  static open(images: readonly { role: string; bytes: Uint8Array }[], shapes: string | readonly string[], buildId = hartWorkerBuildId()): JitCache | null {
    if (!hotPagesEnabled()) return null;
    const [own, ...seeds] = typeof shapes === 'string' ? [shapes] : shapes;
    const file = hotPageFile(images, own);
    let profile = loadProfile(file);
    for (const seed of seeds) {
      if (profile.pages.length > 0 || profile.modules.length > 0) break;
      if (seed === own) continue; // a run's own shape is its seed too: read once
      profile = loadProfile(hotPageFile(images, seed));
    }
    return new JitCache(file, profile, pageModuleDir(), buildId);
  }

  /** The module files the last runs used, first used first (the tickets of compile-service.ts). */
  get listed(): readonly string[] {
    return this.buildId ? this.profile.modules : [];
  }

  /** The hot pages of earlier runs. */
  get known(): HotPageList {
    return this.profile.pages;
  }

  /**
   * The profile plus what this run learned, into the file (when that changes it). `modules` are
   * the threads' lists of module files used, merged into the order they were first used;
   * `unusable` listed files the main thread could not read (gone, or another build's) leave the list.
   */
  save(learned: HotPageList, modules: UsedModule[] = [], unusable: readonly string[] = []): void {
    const order = [...modules].sort((a, b) => a[1] - b[1]).map(([key]) => key);
    saveProfile(this.file, this.profile, { pages: learned, modules: order }, new Set(unusable));
  }

  /**
   * The module files the profile lists, in the order the last run first used them (null for a
   * file that cannot be used: gone, damaged, another build's), for the main thread to compile ahead
   * of the harts (host/compile-service.ts).
   */
  *ahead(): Generator<AheadModule | null> {
    if (!this.buildId) return;
    const cache = new PageModuleCache(this.moduleDir, this.buildId);
    for (const key of this.listed) {
      const page = cache.read(key);
      yield page ? { key, page } : null;
    }
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
