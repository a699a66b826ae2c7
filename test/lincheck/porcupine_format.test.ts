import { describe, expect, it } from 'vitest';
import { HistoryParseError, parseEtcdLog, parseKvHistory } from './porcupine_format.js';

describe('parseKvHistory', () => {
  it('pairs each invocation with the same process’s next completion, time = line number', () => {
    const history = parseKvHistory(
      [
        '{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}',
        '{:process 1, :type :invoke, :f :get, :key "0", :value nil}',
        '{:process 1, :type :ok, :f :get, :key "0", :value ""}',
        '{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}',
        '',
        '{:process 1, :type :invoke, :f :put, :key "1", :value "say \\"hi\\""}',
        '{:process 1, :type :ok, :f :put, :key "1", :value "say \\"hi\\""}',
      ].join('\n'),
    );
    expect(history).toEqual([
      { clientId: 0, input: { kind: 'append', key: '0', value: 'x 0 0 y' }, call: 1, output: '', return: 4 },
      { clientId: 1, input: { kind: 'get', key: '0' }, call: 2, output: '', return: 3 },
      { clientId: 1, input: { kind: 'put', key: '1', value: 'say "hi"' }, call: 6, output: '', return: 7 },
    ]);
  });

  it('drops :fail, makes :info and unfinished writes unknown, and drops unknown reads', () => {
    const history = parseKvHistory(
      [
        '{:process 0, :type :invoke, :f :put, :key "a", :value "1"}',
        '{:process 0, :type :fail, :f :put, :key "a", :value "1"}',
        '{:process 0, :type :invoke, :f :append, :key "a", :value "2"}',
        '{:process 0, :type :info, :f :append, :key "a", :value "2"}',
        '{:process 1, :type :invoke, :f :get, :key "a", :value nil}',
        '{:process 1, :type :info, :f :get, :key "a", :value nil}',
        '{:process 2, :type :invoke, :f :put, :key "a", :value "3"}',
        '{:process 3, :type :invoke, :f :get, :key "a", :value nil}',
        '{:process :nemesis, :type :info, :f :start, :value nil}',
      ].join('\n'),
    );
    expect(history).toEqual([
      { clientId: 0, input: { kind: 'append', key: 'a', value: '2' }, call: 3, output: '', return: Infinity },
      { clientId: 2, input: { kind: 'put', key: 'a', value: '3' }, call: 7, output: '', return: Infinity },
    ]);
  });

  it.each([
    ['{:process 0, :type :invoke, :f :get, :key "a"', /x\.txt:1: unterminated map/],
    ['{:process 0, :type :invoke, :f :get, :value nil}', /x\.txt:1: missing :key/],
    ['{:process 0, :type :begin, :f :get, :key "a", :value nil}', /x\.txt:1: :type must be one of/],
    ['{:process 0, :type :invoke, :f :cas, :key "a", :value nil}', /x\.txt:1: :f must be one of/],
    ['{:process 0, :type :invoke, :f :put, :key "a", :value nil}', /x\.txt:1: :put needs a string :value/],
    ['{:process 0, :type :ok, :f :get, :key "a", :value ""}', /x\.txt:1: process 0 completes :get \(:ok\) but has no pending invocation/],
    ['{:process 0, :type :invoke, :f :get, :key "a", :value "\\q"}', /x\.txt:1: unsupported escape/],
    ['{:process 0 :type :invoke, :f :get, :key "a", :value nil} extra', /x\.txt:1: unexpected text after the map/],
  ])('names the line of bad input: %s', (line, message) => {
    expect(() => parseKvHistory(line, 'x.txt')).toThrow(message);
  });

  it('reports overlapping invocations of one process and mismatched completions', () => {
    const invokeGet = '{:process 0, :type :invoke, :f :get, :key "a", :value nil}';
    expect(() => parseKvHistory(`${invokeGet}\n${invokeGet}`, 'y.txt')).toThrow(
      'y.txt:2: process 0 invokes :get while its :get from line 1 has not completed',
    );
    expect(() => parseKvHistory(`${invokeGet}\n{:process 0, :type :ok, :f :put, :key "a", :value "v"}`, 'y.txt')).toThrow(
      'y.txt:2: process 0 completes :put but invoked :get at line 1',
    );
    expect(() => parseKvHistory(`${invokeGet}\n{:process 0, :type :ok}`, 'y.txt')).toThrow(HistoryParseError);
  });
});

describe('parseEtcdLog', () => {
  it('reads the Jepsen etcd log, with tabs or spaces between fields', () => {
    const history = parseEtcdLog(
      [
        'INFO  jepsen.util - 0\t:invoke\t:read\tnil',
        'INFO  jepsen.util - 1\t:invoke\t:write\t4',
        'INFO  jepsen.util - 0\t:ok\t:read\tnil',
        'INFO  jepsen.util - 1   :ok     :write  4',
        'INFO  jepsen.util - 2\t:invoke\t:cas\t[4 0]',
        'INFO  jepsen.util - 2\t:ok\t:cas\t[4 0]',
        'INFO  jepsen.util - 0\t:invoke\t:read\tnil',
        'INFO  jepsen.util - 0\t:ok\t:read\t0',
      ].join('\n'),
    );
    expect(history).toEqual([
      { clientId: 0, input: { kind: 'read' }, call: 1, output: null, return: 3 },
      { clientId: 1, input: { kind: 'write', value: 4 }, call: 2, output: null, return: 4 },
      { clientId: 2, input: { kind: 'cas', expected: 4, value: 0 }, call: 5, output: true, return: 6 },
      { clientId: 0, input: { kind: 'read' }, call: 7, output: 0, return: 8 },
    ]);
  });

  it('reads :fail of a cas as a compare that did not match, and timeouts as unknown', () => {
    const history = parseEtcdLog(
      [
        'INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]',
        'INFO  jepsen.util - 0\t:fail\t:cas\t[1 2]',
        'INFO  jepsen.util - 1\t:invoke\t:write\t3',
        'INFO  jepsen.util - 1\t:info\t:write\t:timed-out',
        'INFO  jepsen.util - 2\t:invoke\t:read\tnil',
        'INFO  jepsen.util - 2\t:fail\t:read\t:timed-out',
        'INFO  jepsen.util - 3\t:invoke\t:cas\t[3 4]',
        'INFO  jepsen.util - 3\t:info\t:cas\t:timed-out',
        'INFO  jepsen.util - 4\t:invoke\t:write\t1',
      ].join('\n'),
    );
    expect(history).toEqual([
      { clientId: 0, input: { kind: 'cas', expected: 1, value: 2 }, call: 1, output: false, return: 2 },
      { clientId: 1, input: { kind: 'write', value: 3 }, call: 3, output: null, return: Infinity },
      { clientId: 3, input: { kind: 'cas', expected: 3, value: 4 }, call: 7, output: null, return: Infinity },
      { clientId: 4, input: { kind: 'write', value: 1 }, call: 9, output: null, return: Infinity },
    ]);
  });

  it.each([
    ['INFO  jepsen.core - starting', /e\.log:1: expected "INFO jepsen\.util/],
    ['INFO  jepsen.util - 0\t:invoke\t:write\tfour', /e\.log:1: expected an integer/],
    ['INFO  jepsen.util - 0\t:invoke\t:cas\t[1]', /e\.log:1: expected \[expected new\]/],
    ['INFO  jepsen.util - 0\t:invoke\t:read\t3', /e\.log:1: a read is invoked with nil/],
    ['INFO  jepsen.util - 0\t:ok\t:read\t3', /e\.log:1: process 0 completes :read \(:ok\) but has no pending invocation/],
  ])('names the line of bad input: %s', (line, message) => {
    expect(() => parseEtcdLog(line, 'e.log')).toThrow(message);
  });
});
