import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KINDS, type KindSpec } from '../../src/protocol/kinds.ts';

describe('the table of message kinds', () => {
  const entries = Object.entries(KINDS) as [string, KindSpec][];

  it('pairs every request with a reply that goes the other way, sent by a worker', () => {
    for (const [name, spec] of entries.filter(([, s]) => s.direction === 'to-hospital')) {
      expect(spec.sender, name).toBe('coordinator');
      const reply = KINDS[spec.reply as keyof typeof KINDS] as KindSpec | undefined;
      expect(reply?.direction, name).toBe('to-coordinator');
      expect(reply?.purpose, name).toBe(spec.purpose);
      expect(Object.values(spec.fields), name).toEqual(['config', 'config']);
    }
    for (const [name, spec] of entries.filter(([, s]) => s.direction === 'to-coordinator')) {
      expect(spec.sender, name).not.toBe('coordinator');
      expect(spec.reply, name).toBeUndefined();
      expect(Object.values(spec.fields), name).not.toContain('config');
    }
  });

  it('is the table README documents: every kind appears in its section on the boundary', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## The boundary'), readme.indexOf('## Backends'));
    for (const [name] of entries) expect(section, name).toContain(`\`${name}\``);
  });
});
