/**
 * The hart-worker plug-in (WorkerMode.module) each command uses, by name: the CLI's entry tells the
 * workers it starts ahead (host/worker-pool.ts) to load it while they wait for their machine,
 * without loading the recorder or the replayer itself. test/unit/worker-bundle.test.ts checks these
 * are the modules recordWorkerMode and replayWorkerMode name.
 */
export const WORKER_PLUGIN_OF_COMMAND: Readonly<Record<string, string | undefined>> = {
  record: 'recorder/worker-plugin.js',
  replay: 'replayer/worker-plugin.js',
};
