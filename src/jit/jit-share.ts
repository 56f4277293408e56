/**
 * One compile per guest page for the whole machine. A hart that compiles a page publishes the
 * WebAssembly.Module on a BroadcastChannel of its machine; the other harts' JIT executors adopt it
 * when they reach that page (an Instance of a compiled Module costs ~0.1 ms; V8 shares the compiled
 * code, lazily compiled functions included, between the threads of a process). Without it every
 * hart of a 4-hart Linux boot warmed up and compiled the same kernel pages on its own: each spent
 * 0.6-0.9 s compiling and ran the kernel's cold paths on the reference executor meanwhile.
 *
 * A published page is valid for exactly what a local compile is valid for (jit-executor.ts):
 * one (RAM page, virtual page, code generation) triple, no breakpoints. Compiled code is exact on
 * any hart, so adopting another hart's code changes only speed, never the execution.
 *
 * The harts poll, never wait: their loops are synchronous, so messages are taken with
 * receiveMessageOnPort, and only after the machine's publish counter (a shared Int32, bumped after
 * each post) moved.
 *
 * The main thread posts on the same channel the module files of the last runs it compiled ahead
 * (host/compile-service.ts), by their page-module-cache key (ListedModulePoster): a hart that
 * wants one of those files installs the main thread's module, header included, without reading the
 * file again (jit-executor.ts compileCached; ~0.3 ms a module on the hart's thread).
 */
import { BroadcastChannel, MessagePort, receiveMessageOnPort } from 'node:worker_threads';

/** What a hart publishes for a page it compiled. */
export interface SharedPage {
  ramPage: number;
  vbase: bigint;
  gen: number;
  /** Block start offsets the module runs (it misses on the others). */
  offsets: number[];
  /** Its blocks' mid-block offsets and instructions left (page-blocks.ts blockTails). */
  tails: Map<number, number>;
  module: WebAssembly.Module;
}

/** A module file the main thread compiled ahead: its page-module-cache key, header and module. */
export interface ListedModule {
  key: string;
  entries: number[];
  offsets: number[];
  tails: Map<number, number>;
  module: WebAssembly.Module;
}

/**
 * What travels on a machine's channel: the pages' block offsets and tails as Int32Arrays, which a
 * structured clone copies as bytes. As an array and a Map (~150 offsets, ~200 tails a page) they
 * took ~45 us of the ~52 us the receiving thread spent on each message (the module itself ~6 us),
 * and a hart waking on a thread that had run little (the first secondary of a 4-hart Linux boot)
 * received ~100 modules at once: ~11 ms of its bring-up, with the boot hart waiting (`node
 * --cpu-prof`, 2026-12-05). Decoded when a hart first asks for the page or file.
 */
type WirePage = Omit<SharedPage, 'offsets' | 'tails'> & { offsets: Int32Array; tails: Int32Array };
type WireListed = Omit<ListedModule, 'entries' | 'offsets' | 'tails'> & { entries: Int32Array; offsets: Int32Array; tails: Int32Array };
export type ShareMessage = { page: WirePage } | { listed: WireListed };

/** A Map of offsets to instructions left as [offset, count, offset, count, ...]. */
function tailsToWire(tails: Map<number, number>): Int32Array {
  const out = new Int32Array(2 * tails.size);
  let i = 0;
  for (const [off, n] of tails) { out[i++] = off; out[i++] = n; }
  return out;
}

function tailsFromWire(wire: Int32Array): Map<number, number> {
  const tails = new Map<number, number>();
  for (let i = 0; i < wire.length; i += 2) tails.set(wire[i], wire[i + 1]);
  return tails;
}

function pageFromWire(w: WirePage): SharedPage {
  return { ramPage: w.ramPage, vbase: w.vbase, gen: w.gen, offsets: Array.from(w.offsets), tails: tailsFromWire(w.tails), module: w.module };
}

function listedFromWire(w: WireListed): ListedModule {
  return { key: w.key, entries: Array.from(w.entries), offsets: Array.from(w.offsets), tails: tailsFromWire(w.tails), module: w.module };
}

/** Where a machine's harts meet: the channel name and the publish counter (created by the coordinator). */
export interface JitShareSpec {
  channel: string;
  /** Int32Array over shared memory: [0] counts publications. */
  published: Int32Array;
  /**
   * Per RAM page, block executions on the reference executor by all harts (shm/layout.ts
   * CODE_HEAT_BASE): a page is compiled when the machine, not each hart, has run it enough.
   * Plain (racy) increments: a lost count only delays a compile a little.
   */
  heat: Int32Array;
  /**
   * The machine's only hart thread, for good (one host thread, none started later): what it
   * compiles stays on it, unposted (posting a module took ~0.2 ms of the hart, ~15 ms of a 1-hart
   * Linux boot). The main thread's listed modules still come.
   */
  solo?: boolean;
}

export class JitShare {
  private readonly channel: BroadcastChannel;
  /** By RAM page: what this thread published, or another thread's message, decoded at the first get. */
  private readonly pages = new Map<number, SharedPage | WirePage>();
  private readonly listed = new Map<string, ListedModule | WireListed>();
  private seen = 0;
  /** Bumped whenever a drain brought something new: pages remember the version they last looked at. */
  version = 0;

  readonly heat: Int32Array;

  /** `backlog`: what the channel carried before this thread joined (a thread started late, JitBacklog). */
  constructor(private readonly spec: JitShareSpec, backlog: readonly ShareMessage[] = []) {
    this.heat = spec.heat;
    this.channel = new BroadcastChannel(spec.channel);
    for (const message of backlog) this.take(message);
    // Messages the thread's event loop gets to first (when it turns: before the harts run, or
    // between a test's steps) would be dropped without a listener: they are kept the same way.
    this.channel.onmessage = (event) => { this.take((event as { data: unknown }).data as ShareMessage); };
    this.channel.unref();
  }

  /** The latest module published for a RAM page (by any hart, this thread's included). */
  get(ramPage: number): SharedPage | undefined {
    const page = this.pages.get(ramPage);
    if (page === undefined || Array.isArray(page.offsets)) return page as SharedPage | undefined;
    const decoded = pageFromWire(page as WirePage);
    this.pages.set(ramPage, decoded);
    return decoded;
  }

  /** Takes in what other threads published since the last look; true when something came. */
  refresh(): boolean {
    const now = Atomics.load(this.spec.published, 0);
    if (now === this.seen) return false;
    this.seen = now;
    let got = false;
    // Node takes a BroadcastChannel here too (its documentation; @types/node says MessagePort only).
    const port = this.channel as unknown as MessagePort;
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) got = this.take(m.message as ShareMessage) || got;
    return got;
  }

  /** Keeps a message; true for a page (adopt looks again then). */
  private take(message: ShareMessage): boolean {
    if ('listed' in message) {
      this.listed.set(message.listed.key, message.listed); // looked up by key (listedModule), not by page
      return false;
    }
    this.pages.set(message.page.ramPage, message.page);
    this.version++;
    return true;
  }

  publish(page: SharedPage): void {
    this.pages.set(page.ramPage, page);
    this.version++;
    if (this.spec.solo) return;
    this.channel.postMessage({ page: { ...page, offsets: Int32Array.from(page.offsets), tails: tailsToWire(page.tails) } } satisfies ShareMessage);
    Atomics.add(this.spec.published, 0, 1);
  }

  /** The main thread's module for the module file `key`, if it compiled that one ahead. */
  listedModule(key: string): ListedModule | undefined {
    this.refresh();
    const listed = this.listed.get(key);
    if (listed === undefined || Array.isArray(listed.offsets)) return listed as ListedModule | undefined;
    const decoded = listedFromWire(listed as WireListed);
    this.listed.set(key, decoded);
    return decoded;
  }

  close(): void {
    this.channel.close();
  }
}

/**
 * The main thread's copy of what the channel carried (the latest module per page, every listed
 * module), for a hart thread started late (a balanced run's threads start when its harts spread,
 * engine/hart-migration.ts): it begins with what the others compiled instead of compiling it again.
 * A message still on its way when the thread starts may be missed: that page is compiled again.
 */
export class JitBacklog {
  private readonly channel: BroadcastChannel;
  private readonly pages = new Map<number, ShareMessage>();
  private readonly listed = new Map<string, ShareMessage>();

  constructor(channel: string) {
    this.channel = new BroadcastChannel(channel);
    this.channel.onmessage = (event) => {
      const message = (event as { data: unknown }).data as ShareMessage;
      if ('listed' in message) this.listed.set(message.listed.key, message);
      else this.pages.set(message.page.ramPage, message);
    };
    this.channel.unref();
  }

  messages(): ShareMessage[] {
    return [...this.listed.values(), ...this.pages.values()];
  }

  close(): void {
    this.channel.close();
  }
}

/** The main thread's side: posts the modules it compiled ahead to the machine's harts. */
export class ListedModulePoster {
  private readonly channel: BroadcastChannel;

  constructor(private readonly spec: Pick<JitShareSpec, 'channel' | 'published'>) {
    this.channel = new BroadcastChannel(spec.channel);
    this.channel.unref();
  }

  post(listed: ListedModule): void {
    const wire: WireListed = { key: listed.key, entries: Int32Array.from(listed.entries), offsets: Int32Array.from(listed.offsets), tails: tailsToWire(listed.tails), module: listed.module };
    this.channel.postMessage({ listed: wire } satisfies ShareMessage);
    Atomics.add(this.spec.published, 0, 1);
  }

  close(): void {
    this.channel.close();
  }
}
