// The registry of KV bench targets. A target lives in bench/kv/<module>.ts and exports
// `createTarget(context): KvTarget` (see target.ts). Modules are imported lazily by a computed
// specifier, so a target whose file does not exist yet (cairn, until its client lands) typechecks,
// and is reported as "not available" rather than breaking the run.

import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TargetUnavailableError, type KvTarget, type TargetContext, type TargetModule } from './target.js';

export const TARGETS: Readonly<Record<string, { readonly module: string }>> = {
  etcd: { module: './etcd.js' },
  cairn: { module: './cairn.js' },
};

export type OpenedTarget = { kind: 'ready'; target: KvTarget } | { kind: 'unavailable'; reason: string };

function isTargetModule(value: unknown): value is TargetModule {
  return typeof value === 'object' && value !== null && typeof (value as { createTarget?: unknown }).createTarget === 'function';
}

/** Loads and creates a target (setup is the caller's). Unknown names are a usage error, thrown. */
export async function openTarget(name: string, context: TargetContext): Promise<OpenedTarget> {
  const entry = TARGETS[name];
  if (entry === undefined) throw new Error(`unknown target "${name}" (known: ${Object.keys(TARGETS).join(', ')})`);
  const url = new URL(entry.module, import.meta.url);
  const file = relative(process.cwd(), fileURLToPath(url)).replace(/\.js$/, '.ts');
  let loaded: unknown;
  try {
    loaded = await import(url.href);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'ERR_MODULE_NOT_FOUND' && message.includes(fileURLToPath(url).replace(/\.js$/, ''))) {
      return { kind: 'unavailable', reason: `${file} does not exist yet` };
    }
    if (code === 'ERR_MODULE_NOT_FOUND') return { kind: 'unavailable', reason: `${file} cannot be loaded: ${message}` };
    throw error;
  }
  if (!isTargetModule(loaded)) return { kind: 'unavailable', reason: `${file} does not export createTarget(context)` };
  try {
    return { kind: 'ready', target: await loaded.createTarget(context) };
  } catch (error) {
    if (error instanceof TargetUnavailableError) return { kind: 'unavailable', reason: error.reason };
    throw error;
  }
}
