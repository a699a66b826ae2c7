// YCSB's CoreWorkload, reduced to what a KvTarget can run: one record per key ("user" + FNV-64 of
// the record number, as YCSB names keys with insertorder=hashed), one field of `fieldlength` bytes
// as its value, reads and updates chosen by proportion, keys by request distribution.
// The workload files are read at run time from the shared corpora, never copied into the repo.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProperties } from './properties.js';
import type { BenchRandom } from './random.js';
import { ScrambledZipfianGenerator, ZIPFIAN_CONSTANT, fnvhash64 } from './zipfian.js';

export type Operation = 'read' | 'update';

export interface WorkloadSpec {
  /** The file's suffix: "a" for workloada. */
  readonly name: string;
  readonly file: string;
  /** From the file's header comment, e.g. "Update heavy workload". */
  readonly title: string;
  readonly recordCount: number;
  readonly operationCount: number;
  readonly readProportion: number;
  readonly updateProportion: number;
  readonly requestDistribution: 'zipfian' | 'uniform';
  readonly zipfianConstant: number;
  readonly insertStart: number;
  readonly insertOrder: 'hashed' | 'ordered';
  readonly zeroPadding: number;
  readonly fieldCount: number;
  /** Size of the value this bench writes: one YCSB field. */
  readonly fieldLength: number;
}

export class WorkloadError extends Error {
  override name = 'WorkloadError';
}

/** `$CAIRN_CORPORA/ycsb`, else `<repo>/../shared/corpora/ycsb`, else `/work/shared/corpora/ycsb`. */
export function ycsbCorpusDir(): string {
  const fromEnv = process.env['CAIRN_CORPORA'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const dir = resolve(fromEnv, 'ycsb');
    if (!existsSync(dir)) throw new WorkloadError(`CAIRN_CORPORA is set but ${dir} does not exist`);
    return dir;
  }
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const candidates = [join(repo, '..', 'shared', 'corpora', 'ycsb'), '/work/shared/corpora/ycsb'];
  for (const dir of candidates) if (existsSync(dir)) return dir;
  throw new WorkloadError(
    `YCSB workload files not found; looked in ${candidates.join(' and ')} (set CAIRN_CORPORA to the corpora directory)`,
  );
}

export function loadWorkload(name: string, dir = ycsbCorpusDir()): WorkloadSpec {
  if (!/^[a-z0-9_]+$/i.test(name)) throw new WorkloadError(`bad workload name "${name}"`);
  const file = join(dir, `workload${name.toLowerCase()}`);
  if (!existsSync(file)) throw new WorkloadError(`no workload "${name}": ${file} does not exist`);
  const text = readFileSync(file, 'utf8');
  return workloadFromProperties(name.toLowerCase(), file, text);
}

export function workloadFromProperties(name: string, file: string, text: string): WorkloadSpec {
  const props = parseProperties(text, file);
  const str = (key: string, fallback: string): string => props.get(key)?.trim() ?? fallback;
  const num = (key: string, fallback: number, min: number, max = Number.POSITIVE_INFINITY): number => {
    const raw = props.get(key);
    if (raw === undefined) return fallback;
    const n = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new WorkloadError(`${file}: ${key}=${raw} must be a number in [${min}, ${max}]`);
    }
    return n;
  };
  const int = (key: string, fallback: number, min: number): number => {
    const n = num(key, fallback, min);
    if (!Number.isSafeInteger(n)) throw new WorkloadError(`${file}: ${key} must be an integer`);
    return n;
  };

  // YCSB's CoreWorkload defaults, for keys a file leaves out.
  const readProportion = num('readproportion', 0.95, 0, 1);
  const updateProportion = num('updateproportion', 0.05, 0, 1);
  const unsupported: string[] = [];
  for (const key of ['insertproportion', 'scanproportion', 'readmodifywriteproportion']) {
    if (num(key, 0, 0, 1) > 0) unsupported.push(`${key}=${props.get(key)}`);
  }
  if (unsupported.length > 0) {
    throw new WorkloadError(
      `${file}: ${unsupported.join(', ')} — this bench drives a KvTarget's put and get only (no inserts of new keys, scans or read-modify-writes)`,
    );
  }
  if (readProportion + updateProportion <= 0) throw new WorkloadError(`${file}: readproportion + updateproportion must be > 0`);
  const distribution = str('requestdistribution', 'uniform');
  if (distribution !== 'zipfian' && distribution !== 'uniform') {
    throw new WorkloadError(`${file}: requestdistribution=${distribution} is not supported (zipfian or uniform)`);
  }
  const insertOrder = str('insertorder', 'hashed');
  if (insertOrder !== 'hashed' && insertOrder !== 'ordered') {
    throw new WorkloadError(`${file}: insertorder=${insertOrder} must be hashed or ordered`);
  }
  const lengthDistribution = str('fieldlengthdistribution', 'constant');
  if (lengthDistribution !== 'constant') {
    throw new WorkloadError(`${file}: fieldlengthdistribution=${lengthDistribution} is not supported (constant only)`);
  }
  const title = /^#\s*Workload\s+\w+\s*:\s*(.+?)\s*$/im.exec(text)?.[1] ?? `workload ${name}`;
  return {
    name,
    file,
    title,
    recordCount: int('recordcount', 0, 0),
    operationCount: int('operationcount', 0, 0),
    readProportion,
    updateProportion,
    requestDistribution: distribution,
    zipfianConstant: num('zipfianconstant', ZIPFIAN_CONSTANT, 0.01, 0.999),
    insertStart: int('insertstart', 0, 0),
    insertOrder,
    zeroPadding: int('zeropadding', 1, 1),
    fieldCount: int('fieldcount', 10, 1),
    fieldLength: int('fieldlength', 100, 1),
  };
}

/** YCSB's buildKeyName: "user" + (hashed ? fnvhash64(n) : n), left-padded with zeros to zeropadding digits. */
export function keyName(keynum: number, spec: Pick<WorkloadSpec, 'insertOrder' | 'zeroPadding'>): string {
  const digits = spec.insertOrder === 'hashed' ? fnvhash64(keynum).toString() : String(keynum);
  return 'user' + digits.padStart(spec.zeroPadding, '0');
}

export function keyBytes(keynum: number, spec: Pick<WorkloadSpec, 'insertOrder' | 'zeroPadding'>): Uint8Array {
  return Buffer.from(keyName(keynum, spec), 'latin1');
}

/**
 * Record numbers for transactions, as CoreWorkload chooses them: the scrambled zipfian over
 * [insertstart, insertstart + recordcount] (YCSB's bound is one past the last record, room for
 * inserts), redrawn while it names a record beyond the last loaded; or uniform over the records.
 */
export class KeyChooser {
  private readonly zipfian: ScrambledZipfianGenerator | undefined;
  private readonly last: number;

  constructor(
    private readonly spec: WorkloadSpec,
    private readonly recordCount: number,
  ) {
    if (recordCount < 1) throw new WorkloadError('record count must be at least 1');
    this.last = spec.insertStart + recordCount - 1;
    this.zipfian =
      spec.requestDistribution === 'zipfian'
        ? new ScrambledZipfianGenerator(spec.insertStart, spec.insertStart + recordCount, spec.zipfianConstant)
        : undefined;
  }

  next(random: BenchRandom): number {
    if (this.zipfian === undefined) return this.spec.insertStart + Math.floor(random.nextDouble() * this.recordCount);
    for (;;) {
      const keynum = this.zipfian.next(random);
      if (keynum <= this.last) return keynum;
    }
  }
}

/** YCSB's DiscreteGenerator over the operation proportions. */
export class OperationChooser {
  private readonly readShare: number;

  constructor(spec: WorkloadSpec) {
    this.readShare = spec.readProportion / (spec.readProportion + spec.updateProportion);
  }

  next(random: BenchRandom): Operation {
    return random.nextDouble() < this.readShare ? 'read' : 'update';
  }
}
