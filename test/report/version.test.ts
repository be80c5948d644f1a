import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/scenario/load.ts';
import { checkVersion, compatibleRange } from '../../src/report/version.ts';

describe('which runs a fedmed can report', () => {
  it('reads its own minor release while the major is 0, and its own major release after', () => {
    expect(compatibleRange('0.1.3')).toBe('^0.1.0');
    expect(compatibleRange('1.4.2')).toBe('^1.0.0');
    for (const ok of ['0.1.0', '0.1.3', '0.1.9'])
      expect(() => checkVersion('m.json', ok, '0.1.3')).not.toThrow();
    for (const no of ['0.0.9', '0.2.0', '1.0.0', 'x', ''])
      expect(() => checkVersion('m.json', no, '0.1.3')).toThrow(InputError);
    for (const ok of ['1.0.0', '1.2.0', '1.9.1'])
      expect(() => checkVersion('m.json', ok, '1.4.2')).not.toThrow();
    expect(() => checkVersion('m.json', '2.0.0', '1.4.2')).toThrow(
      /m.json: written by fedmed 2.0.0, which this fedmed 1.4.2 cannot report: it reads outputs of fedmed 1.x/,
    );
  });
});
