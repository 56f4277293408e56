/**
 * Compiled page modules kept between runs: the wasm bytes our code generator made for a page, with
 * the block offsets and tails the executor needs beside them, in one file per compile under
 * `<cache>/jit-pages/`, one per page state. A file's name is a digest of what decides how a
 * module of that page is made: this build (`build-id.txt`, written by scripts/bundle-worker.mjs),
 * the hart's extensions, the host-FMA choice, the page's virtual and RAM page, its code
 * generation, the block limit and the page's 4 KiB. Which blocks it holds is up to the compile
 * (its entries): the executor takes a kept module when it covers every entry it wants and no
 * offset it rejects, and otherwise compiles and replaces it (jit-executor.ts). A hit skips
 * translation and code generation (~3/4 of a page compile; V8 still compiles the bytes); a Linux
 * boot spent ~230 ms of its hart thread there (docs/ARCHITECTURE.md, the JIT's profile). The
 * content carries the build id and a digest of the wasm bytes, both checked on every read: a
 * damaged file is a miss.
 * Best effort both ways: a failed read or write is a miss or nothing. Used only by the bundled
 * worker (no build id otherwise) and not with HINDSIGHT_JIT_PROFILE=0.
 * The files a run reads or writes, in the order it first does, go into the profile (`takeUsed`):
 * the next run's main thread compiles them ahead of its harts (host/jit-cache.ts `precompile`).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CachedPage {
  /** The entries the compile started from (it adds their static successors; some may have no block). */
  entries: number[];
  offsets: number[];
  tails: Map<number, number>;
  bytes: Uint8Array<ArrayBuffer>;
}

/** A module file a run used: its key and when first (ms since the epoch, to merge threads' lists). */
export type UsedModule = [key: string, atMs: number];

export class PageModuleCache {
  private madeDir = false;
  private readonly used = new Map<string, number>();

  constructor(private readonly dir: string, private readonly buildId: string) {}

  /** The file name for a compile made of `parts` (everything but the page) and the page's bytes. */
  key(parts: string, page: Uint8Array): string {
    return createHash('sha1').update(this.buildId).update(parts).update(page).digest('hex');
  }

  read(key: string): CachedPage | null {
    let data: Buffer;
    try {
      data = readFileSync(path.join(this.dir, `${key}.bin`));
    } catch {
      return null;
    }
    try {
      const headerBytes = data.readUInt32LE(0);
      const header = JSON.parse(data.subarray(4, 4 + headerBytes).toString('utf8')) as { build: string; entries: number[]; offsets: number[]; tails: [number, number][]; sha1: string };
      const bytes = data.subarray(4 + headerBytes);
      if (header.build !== this.buildId || createHash('sha1').update(bytes).digest('hex') !== header.sha1) return null;
      this.noteUsed(key);
      return { entries: header.entries, offsets: header.offsets, tails: new Map(header.tails), bytes: new Uint8Array(bytes) as Uint8Array<ArrayBuffer> };
    } catch {
      return null;
    }
  }

  /** The files read or written since the last call, first use first. */
  takeUsed(): UsedModule[] {
    const out = [...this.used];
    this.used.clear();
    return out;
  }

  /** `key`'s file was used without reading it (the main thread's module of it: jit-share.ts). */
  noteUsed(key: string): void {
    if (!this.used.has(key)) this.used.set(key, performance.timeOrigin + performance.now());
  }

  write(key: string, page: CachedPage): void {
    const header = Buffer.from(JSON.stringify({ build: this.buildId, entries: page.entries, offsets: page.offsets, tails: [...page.tails], sha1: createHash('sha1').update(page.bytes).digest('hex') }));
    const size = Buffer.alloc(4);
    size.writeUInt32LE(header.length, 0);
    try {
      if (!this.madeDir) mkdirSync(this.dir, { recursive: true });
      this.madeDir = true;
      const file = path.join(this.dir, `${key}.bin`);
      const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      writeFileSync(tmp, Buffer.concat([size, header, page.bytes]));
      renameSync(tmp, file);
      this.noteUsed(key);
    } catch {
      // A read-only or full cache: the next run compiles this page again.
    }
  }
}
