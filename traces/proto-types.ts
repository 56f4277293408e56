/**
 * protobufjs types built from the embedded descriptor of traces/events.proto (no file lookup at run
 * time), loaded on first use. Recording and the common replay path never need them (the recorder
 * encodes and the reader decodes canonical batches by hand, traces/event-codec.ts): loading
 * protobufjs and building the root took ~40 ms of the main thread and ~25 ms of each replaying
 * hart worker's start-up (`node --cpu-prof` of `replay`), on the way to the first instruction.
 */
import { createRequire } from 'node:module';
import type protobuf from 'protobufjs/light.js';
import { EVENTS_PROTO_DESCRIPTOR } from './events-descriptor.js';

let root: protobuf.Root | null = null;

/** Every message of events.proto (event batches, debugger checkpoints), by full name. */
export function traceProtoType(name: 'hindsight.trace.EventBatch' | 'hindsight.trace.Checkpoint'): protobuf.Type {
  root ??= (createRequire(import.meta.url)('protobufjs/light.js') as typeof protobuf).Root.fromJSON(runtimeDescriptor());
  return root.lookupType(name);
}

/**
 * The run-time types drop the `oneof kind` grouping of Event: a oneof does not exist on the wire
 * (its members are ordinary optional fields), and protobufjs's decoder spends most of its time
 * maintaining the oneof (deleting the other members of every decoded event). The event decoder
 * instead checks that exactly one member is present.
 */
function runtimeDescriptor(): protobuf.INamespace {
  const d = JSON.parse(JSON.stringify(EVENTS_PROTO_DESCRIPTOR)) as {
    nested: { hindsight: { nested: { trace: { nested: { Event: { oneofs?: unknown } } } } } };
  };
  delete d.nested.hindsight.nested.trace.nested.Event.oneofs;
  return d as protobuf.INamespace;
}
