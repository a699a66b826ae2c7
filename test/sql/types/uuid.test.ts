// uuid against PostgreSQL 15: every spelling uuid_in accepts or refuses; the 16-byte form against
// uuid_send's; gen_random_uuid's version and variant bits.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUuid, randomUuid, uuidFromBytes, uuidToBytes } from '../../../src/sql/types/uuid.js';
import { Oracle, describeMismatches, lit, type OracleCase } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await Oracle.start();
});
afterAll(async () => {
  await oracle?.stop();
});

async function expectSame(cases: OracleCase[]): Promise<void> {
  const mismatches = await oracle.compare(cases);
  expect(mismatches.length, `${mismatches.length} of ${cases.length} differ from PostgreSQL:\n${describeMismatches(mismatches)}`).toBe(0);
}

const INPUTS = [
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
  'a0eebc999c0b4ef8bb6d6bb9bd380a11', 'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11', '{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g',
  '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', 'a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11',
  '-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-', ' a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ', 'a0e-ebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '', '{}', '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a-11', 'a0eebc999c0b4ef8bb6d6bb9bd380a11-', '{{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}}',
];

describe('uuid', () => {
  it('reads every spelling as PostgreSQL does and prints the canonical form', async () => {
    await expectSame(INPUTS.map((i) => ({ label: JSON.stringify(i), sql: `select ${lit(i)}::uuid::text`, cairn: () => parseUuid(i) })));
  });

  it('has the bytes uuid_send sends', async () => {
    const values = ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', randomUuid()];
    await expectSame(
      values.map((u) => ({
        label: u,
        sql: `select encode(uuid_send(${lit(u)}::uuid), 'hex')`,
        cairn: () => Buffer.from(uuidToBytes(u)).toString('hex'),
      })),
    );
  });

  it('converts bytes to text and back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const u = uuidFromBytes(b);
        expect(parseUuid(u)).toBe(u);
        expect(parseUuid(u.toUpperCase().replace(/-/g, ''))).toBe(u);
        expect([...uuidToBytes(u)]).toEqual([...b]);
      }),
    );
    expect(() => uuidFromBytes(new Uint8Array(15))).toThrowError(expect.objectContaining({ code: 'XX000' }));
  });

  it('generates version 4, RFC 4122 variant uuids that PostgreSQL reads', async () => {
    const generated = Array.from({ length: 200 }, () => randomUuid());
    expect(new Set(generated).size).toBe(generated.length);
    for (const u of generated) {
      expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(parseUuid(u)).toBe(u);
    }
    await expectSame(generated.slice(0, 20).map((u) => ({ label: u, sql: `select ${lit(u)}::uuid::text`, cairn: () => u })));
  });
});
