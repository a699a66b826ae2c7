/**
 * The checker against histories with known verdicts. The corpus lives outside the repository:
 * $CAIRN_CORPORA, else ../shared/corpora next to the checkout, else /work/shared/corpora.
 * A missing corpus is a failure, not a skip: these tests are the checker's ground truth.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkOperations, type CheckResult, type Model, type Operation } from './checker.js';
import { etcdModel, kvModel } from './models.js';
import { parseEtcdLog, parseKvHistory } from './porcupine_format.js';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function locateCorpora(): { readonly directory: string } | { readonly error: string } {
  const fromEnvironment = process.env['CAIRN_CORPORA'];
  // An explicit setting is obeyed even when wrong, so that a typo fails instead of silently
  // testing some other copy.
  const candidates =
    fromEnvironment !== undefined && fromEnvironment !== ''
      ? [fromEnvironment]
      : [join(repositoryRoot, '..', 'shared', 'corpora'), '/work/shared/corpora'];
  const directory = candidates.find((candidate) => existsSync(join(candidate, 'porcupine')));
  if (directory !== undefined) return { directory };
  return {
    error:
      `no corpus directory with a porcupine/ subdirectory found; looked in: ${candidates.join(', ')}. ` +
      'Set CAIRN_CORPORA to the directory holding porcupine/.',
  };
}

type ExpectedVerdict = 'ok' | 'illegal';

function readExpected(path: string): { readonly file: string; readonly verdict: ExpectedVerdict }[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [file, verdictText, ...rest] = line.split(/\s+/);
      if (file === undefined || rest.length > 0 || (verdictText !== 'linearizable' && verdictText !== 'NOT-linearizable')) {
        throw new Error(`${path}: cannot read expected verdict line ${JSON.stringify(line)}`);
      }
      return { file, verdict: verdictText === 'linearizable' ? 'ok' : 'illegal' };
    });
}

function findFile(directory: string, name: string): string | undefined {
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) {
      const found = findFile(path, name);
      if (found !== undefined) return found;
    } else if (entry === name) {
      return path;
    }
  }
  return undefined;
}

// A generous bound: a slow machine should not turn a pass into 'unknown', but a checker that has
// lost its pruning should not hang the suite either.
const TIMEOUT_MS = 60_000;

function checkFile<State, Input, Output>(
  model: Model<State, Input, Output>,
  parse: (text: string, source: string) => Operation<Input, Output>[],
  path: string,
): CheckResult<State, Input, Output> {
  return checkOperations(model, parse(readFileSync(path, 'utf8'), path), { timeoutMs: TIMEOUT_MS });
}

const corpora = locateCorpora();

if ('error' in corpora) {
  describe('porcupine corpus', () => {
    it('is present', () => {
      throw new Error(corpora.error);
    });
  });
} else {
  const porcupine = join(corpora.directory, 'porcupine');
  const testData = join(porcupine, 'test_data');

  describe('porcupine kv histories', () => {
    const expected = readExpected(join(porcupine, 'EXPECTED_kv.txt'));

    it('lists all six kv histories', () => {
      expect(expected.map((entry) => entry.file).sort()).toEqual(
        ['c01-bad.txt', 'c01-ok.txt', 'c10-bad.txt', 'c10-ok.txt', 'c50-bad.txt', 'c50-ok.txt'],
      );
      for (const entry of expected) expect(existsSync(join(testData, 'kv', entry.file)), entry.file).toBe(true);
    });

    for (const entry of expected) {
      it(`${entry.file} is ${entry.verdict}`, () => {
        const result = checkFile(kvModel, parseKvHistory, join(testData, 'kv', entry.file));
        expect(result.verdict).toBe(entry.verdict);
        // The c50 histories (~4000 lines, 50 clients) take well under a second here.
        expect(result.elapsedMs).toBeLessThan(10_000);
      });
    }
  });

  describe('porcupine etcd histories', () => {
    const expected = readExpected(join(porcupine, 'EXPECTED_etcd.txt'));
    const present = expected
      .map((entry) => ({ ...entry, path: findFile(testData, entry.file) }))
      .filter((entry): entry is typeof entry & { path: string } => entry.path !== undefined);

    it('has expected verdicts to check against', () => {
      expect(expected.length).toBeGreaterThan(0);
    });

    // The etcd logs themselves are not part of the corpus today; any that appear are checked.
    for (const entry of present) {
      it(`${entry.file} is ${entry.verdict}`, () => {
        expect(checkFile(etcdModel, parseEtcdLog, entry.path).verdict).toBe(entry.verdict);
      });
    }
  });
}
