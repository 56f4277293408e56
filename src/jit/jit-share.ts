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
}

export class JitShare {
  private readonly channel: BroadcastChannel;
  private readonly pages = new Map<number, SharedPage>();
  private seen = 0;
  /** Bumped whenever a drain brought something new: pages remember the version they last looked at. */
  version = 0;

  readonly heat: Int32Array;

  constructor(private readonly spec: JitShareSpec) {
    this.heat = spec.heat;
    this.channel = new BroadcastChannel(spec.channel);
    this.channel.unref();
  }

  /** The latest module published for a RAM page (by any hart, this thread's included). */
  get(ramPage: number): SharedPage | undefined {
    return this.pages.get(ramPage);
  }

  /** Takes in what other threads published since the last look; true when something came. */
  refresh(): boolean {
    const now = Atomics.load(this.spec.published, 0);
    if (now === this.seen) return false;
    this.seen = now;
    let got = false;
    // Node takes a BroadcastChannel here too (its documentation; @types/node says MessagePort only).
    const port = this.channel as unknown as MessagePort;
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const page = m.message as SharedPage;
      this.pages.set(page.ramPage, page);
      got = true;
    }
    if (got) this.version++;
    return got;
  }

  publish(page: SharedPage): void {
    this.pages.set(page.ramPage, page);
    this.version++;
    this.channel.postMessage(page);
    Atomics.add(this.spec.published, 0, 1);
  }

  close(): void {
    this.channel.close();
  }
}
