// Regenerates traces/events-descriptor.ts from traces/events.proto:
//   node traces/gen-descriptor.mjs
// (test/unit/trace-store.test.ts fails while the two disagree.)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const protoPath = fileURLToPath(new URL('./events.proto', import.meta.url));
const outPath = fileURLToPath(new URL('./events-descriptor.ts', import.meta.url));
const json = JSON.stringify(protobuf.loadSync(protoPath).toJSON(), null, 2);
writeFileSync(
  outPath,
  `// GENERATED from traces/events.proto by \`node traces/gen-descriptor.mjs\`: do not edit by hand.\n` +
    `// When you change events.proto, rerun that command; test/unit/trace-store.test.ts checks they agree.\n` +
    `// Embedded so that the compiled code needs no file lookup at run time.\n\n` +
    `export const EVENTS_PROTO_DESCRIPTOR = ${json};\n`,
);
console.log(`wrote ${outPath}`);
