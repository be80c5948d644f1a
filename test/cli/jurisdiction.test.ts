import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, sha256 } from '../../src/common/hash.ts';
import { InputError, parseScenario } from '../../src/scenario/load.ts';
import { verifyRun } from '../../src/server/compliance/verify.ts';
import { fedmed } from '../helpers/cli.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'fedmed-jurisdiction-'));

/** One Korean and two Chinese hospitals, a Korean coordinator, two rounds of FedAvg on a tiny MLP. */
const PATIENTS = { 'kr-a': 60, 'cn-a': 40, 'cn-b': 80 };
const base = {
  name: 'jurisdiction-cli',
  seed: 4,
  rounds: 2,
  minClients: 3,
  backend: 'js',
  baselines: [],
  coordinator: { site: 'KR' },
  data: { kind: 'synthetic-cohort', testFraction: 0.25 },
  hospitals: Object.entries(PATIENTS).map(([id, patients]) => ({
    id,
    country: id.slice(0, 2).toUpperCase(),
    patients,
  })),
  model: { kind: 'mlp', hidden: [4] },
  training: { localEpochs: 1, batchSize: 64, learningRate: 0.1, optimizer: 'sgd' },
  evaluation: { subgroups: false },
  jurisdiction: {
    countries: {
      KR: { preset: 'korea', bases: [{ basis: 'entrusted-processing' }] },
      CN: { preset: 'china', bases: [{ basis: 'separate-consent' }, { basis: 'entrusted-processing' }] },
    },
    transfers: [{ from: 'CN', to: 'KR', bases: [{ basis: 'cac-standard-contract' }] }],
  },
};

function scenarioFile(dir: string, content: unknown): string {
  const file = join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const withJurisdiction = (j: unknown) => ({ ...base, jurisdiction: j });

describe('bad policy input is refused naming the JSON path', () => {
  it.each([
    [
      'an unknown class',
      withJurisdiction({
        countries: {
          KR: { preset: 'korea' },
          CN: { preset: 'china', importantData: ['patient-photos'] },
        },
      }),
      /\$\.jurisdiction\.countries\.CN\.importantData\[0\]: Invalid option/,
    ],
    [
      'an unknown basis',
      withJurisdiction({
        countries: { KR: { preset: 'korea', bases: [{ basis: 'handshake' }] }, CN: { preset: 'china' } },
      }),
      /\$\.jurisdiction\.countries\.KR\.bases\[0\]\.basis: Invalid option/,
    ],
    [
      'a basis for a country not in the scenario',
      withJurisdiction({
        countries: { KR: { preset: 'korea' }, CN: { preset: 'china' } },
        transfers: [{ from: 'JP', to: 'KR', bases: [{ basis: 'law-or-treaty' }] }],
      }),
      /\$\.jurisdiction\.transfers\[0\]\.from: expected a country with hospitals in the scenario \(none in JP\)/,
    ],
    [
      "a basis of another country's law",
      withJurisdiction({
        countries: {
          KR: { preset: 'korea', bases: [{ basis: 'cac-standard-contract' }] },
          CN: { preset: 'china' },
        },
      }),
      /\$\.jurisdiction\.countries\.KR\.bases\[0\]\.basis: cac-standard-contract is an instrument of CN law/,
    ],
  ])('%s', (_what, content, message) => {
    expect(() => parseScenario(content)).toThrow(InputError);
    expect(() => parseScenario(content)).toThrow(message);
  });

  it('the CLI exits 2 for it, without a stack trace or an output folder', () => {
    const d = tmp();
    const content = withJurisdiction({
      countries: { KR: { preset: 'korea', bases: [{ basis: 'handshake' }] }, CN: { preset: 'china' } },
    });
    const r = fedmed(['run', scenarioFile(d, content), '--out', join(d, 'out'), '--quiet']);
    expect(r.stderr).toMatch(/\$\.jurisdiction\.countries\.KR\.bases\[0\]\.basis: Invalid option/);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(d, 'out'))).toBe(false);
  });
});

describe('a compliant run, its compliance report and its verification', () => {
  let run: string;
  beforeAll(() => {
    const d = tmp();
    const out = join(d, 'out');
    const r = fedmed(['run', scenarioFile(d, base), '--out', out, '--workers', '1', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    run = realpathSync(out);
  });

  it('compliance.json counts what the protocol sends, known by construction', () => {
    const c = JSON.parse(readFileSync(join(run, 'compliance.json'), 'utf8')) as {
      status: string;
      violations: unknown[];
      countries: Record<string, Record<string, unknown>>;
    };
    const R = 2;
    const cn = c.countries.CN!;
    const kr = c.countries.KR!;
    expect(c.status).toBe('compliant');
    expect(c.violations).toEqual([]);
    expect(cn).toMatchObject({ hospitals: ['cn-a', 'cn-b'], recordsKeptAtHome: 120, rawRecordsExported: 0 });
    expect(kr).toMatchObject({ hospitals: ['kr-a'], recordsKeptAtHome: 60, rawRecordsExported: 0 });
    const messages = (side: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(side).map(([cls, f]) => [
          cls,
          (f as { messages: number; crossBorderMessages: number }).messages,
        ]),
      );
    // Each Chinese hospital: a setup reply, a fit reply and an evaluation reply each round, all across the border.
    expect(messages(cn.sent as Record<string, unknown>)).toEqual({
      setup: 2,
      'parameters-clear': 2 * R,
      'evaluation-metrics': 2 * R,
    });
    // It receives setup and the random model of round 1 (setup), then the aggregate of 3 hospitals 2R - 1 times.
    expect(messages(cn.received as Record<string, unknown>)).toEqual({
      setup: 2 * 2,
      'aggregate-model': 2 * (2 * R - 1),
    });
    // The coordinator is in Korea: Korea sends what the coordinator sends to all three and what kr-a replies.
    expect(messages(kr.sent as Record<string, unknown>)).toEqual({
      setup: 3 * 2 + 1,
      'aggregate-model': 3 * (2 * R - 1),
      'parameters-clear': R,
      'evaluation-metrics': R,
    });
    expect(cn.basesReliedOn).toEqual([
      { rule: 'CN-PIPL-23', basis: 'separate-consent', origin: 'CN', destination: 'KR', crossings: 2 * R },
      {
        rule: 'CN-PIPL-38',
        basis: 'cac-standard-contract',
        origin: 'CN',
        destination: 'KR',
        crossings: 2 * R,
      },
      { rule: 'CN-PIPL-39', basis: 'separate-consent', origin: 'CN', destination: 'KR', crossings: 2 * R },
    ]);
    expect(kr.basesReliedOn).toEqual([
      { rule: 'KR-PIPA-17', basis: 'entrusted-processing', origin: 'KR', destination: 'KR', crossings: R },
    ]);
    expect(readFileSync(join(run, 'compliance.md'), 'utf8')).toMatch(/0 violations/);
  });

  it('fedmed verify passes an untouched run and names the first bad line of each kind of tampering', async () => {
    const ok = fedmed(['verify', run]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok {4}chain/m);
    expect(ok.stdout).toMatch(/caught only by --rerun/);

    const lines = readFileSync(join(run, 'crossings.jsonl'), 'utf8').trimEnd().split('\n');
    const tampered = async (edit: (l: string[]) => string[]) => {
      const copy = tmp();
      cpSync(run, copy, { recursive: true });
      writeFileSync(join(copy, 'crossings.jsonl'), edit([...lines]).join('\n') + '\n');
      const v = await verifyRun(copy);
      expect(v.ok).toBe(false);
      return v.checks.find((c) => c.name === 'chain')!.detail;
    };
    const bytesOf = (l: string) => l.replace(/"bytes":(\d+)/, (_m, n: string) => `"bytes":${Number(n) + 1}`);
    expect(await tampered((l) => l.map((x, i) => (i === 9 ? bytesOf(x) : x)))).toMatch(
      /^crossings\.jsonl line 10: changed/,
    );
    expect(await tampered((l) => [...l.slice(0, 6), l[7]!, l[6]!, ...l.slice(8)])).toMatch(
      /^crossings\.jsonl line 7: out of order: it follows the entry on line 8$/,
    );
    expect(await tampered((l) => [...l.slice(0, 12), l[4]!, ...l.slice(12)])).toMatch(
      /^crossings\.jsonl line 13: inserted: a copy of line 5$/,
    );
    const forged = (l: string[]) => {
      const entry: Record<string, unknown> = { ...(JSON.parse(l[12]!) as Record<string, unknown>), bytes: 1 };
      entry.prev = sha256(canonicalJson(JSON.parse(l[11]!)));
      return [...l.slice(0, 12), canonicalJson(entry), ...l.slice(12)];
    };
    expect(await tampered(forged)).toMatch(
      /^crossings\.jsonl line 13: inserted: line 14 links to line 12, past this one$/,
    );
    expect(await tampered((l) => [...l.slice(0, 12), ...l.slice(13)])).toMatch(
      /^crossings\.jsonl line 13: entry 13 is missing before it \(deleted\)/,
    );
    expect(await tampered((l) => l.slice(0, -1))).toMatch(/deleted at the end/);

    const copy = tmp();
    cpSync(run, copy, { recursive: true });
    writeFileSync(
      join(copy, 'crossings.jsonl'),
      lines.map((x, i) => (i === 9 ? bytesOf(x) : x)).join('\n') + '\n',
    );
    const cli = fedmed(['verify', copy]);
    expect(cli.code).toBe(6);
    expect(cli.stdout).toMatch(/^FAIL {2}chain {6}crossings\.jsonl line 10: changed/m);
  });

  it('a consistent rewrite of the whole chain passes the checks from files and fails --rerun', async () => {
    const copy = tmp();
    cpSync(run, copy, { recursive: true });
    const entries = readFileSync(join(copy, 'crossings.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const manifest = JSON.parse(readFileSync(join(copy, 'manifest.json'), 'utf8')) as {
      ledger: { genesis: string; head: string };
    };
    // Claim another message crossed on line 10 (its content hash), and re-chain everything after it.
    entries[9]!.sha256 = 'f'.repeat(64);
    let prev = manifest.ledger.genesis;
    const text = entries.map((e) => {
      e.prev = prev;
      const line = canonicalJson(e);
      prev = sha256(line);
      return line;
    });
    writeFileSync(join(copy, 'crossings.jsonl'), text.join('\n') + '\n');
    manifest.ledger.head = prev;
    writeFileSync(join(copy, 'manifest.json'), JSON.stringify(manifest, null, 2));
    expect((await verifyRun(copy)).ok).toBe(true);

    const rerun = await verifyRun(copy, { threads: 1, timeoutMs: 120_000 });
    expect(rerun.ok).toBe(false);
    expect(rerun.checks.find((c) => c.name === 'rerun')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^the chain head is [0-9a-f]{12}…, not [0-9a-f]{12}…$/),
    });
  });
});

describe('a violation stops the CLI with exit 5 and keeps a record that verifies', () => {
  it('parameters of a Chinese hospital with no export instrument', () => {
    const d = tmp();
    const out = join(d, 'out');
    const noTransfer = withJurisdiction({ ...base.jurisdiction, transfers: [] });
    const r = fedmed(['run', scenarioFile(d, noTransfer), '--out', out, '--workers', '1', '--quiet']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      /jurisdiction violation: hospital cn-a, fit-reply, class parameters-clear: rule CN-PIPL-38 .*missing basis: one of cac-security-assessment, pi-protection-certification, cac-standard-contract for CN → KR; the fit-request was not sent/,
    );
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      status: 'stopped',
      roundsCompleted: 0,
      jurisdiction: { policies: true, status: 'violation', violations: 1 },
    });
    expect(readFileSync(join(out, 'compliance.md'), 'utf8')).toMatch(
      /\| \d+ \| 1 \| cn-a \| fit-reply \| parameters-clear \| CN-PIPL-38 \(CN → KR\) \| not sent \|/,
    );
    expect(fedmed(['verify', out]).code).toBe(0);
  });
});
