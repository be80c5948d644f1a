import { DATA_CLASS_NAMES } from '../../protocol/kinds.ts';
import type { Compliance, Flow } from './report.ts';

/** compliance.md: the compliance report for people, each table from compliance.json's figures. */
export function complianceMarkdown(c: Compliance, chainHead: string): string {
  const out: string[] = ['# Compliance', ''];
  out.push(
    c.policies
      ? c.status === 'compliant'
        ? 'Every federation message satisfied the jurisdiction policies: **0 violations**.'
        : `**${c.violations.length} violation${c.violations.length === 1 ? '' : 's'}**: the run stopped at the first.`
      : 'The scenario declares no jurisdiction policies: messages were classified and recorded, none was checked.',
    '',
    'The policies are illustrative models of the laws they name, not legal advice. Figures come from ' +
      '`crossings.jsonl`, whose hash chain ends in `' +
      chainHead +
      '` (`fedmed verify` recomputes them).',
    '',
  );
  if (c.violations.length > 0) {
    out.push(
      '## Violations',
      '',
      '| line | round | hospital | message | class | rule | what happened | missing basis |',
    );
    out.push('|---|---|---|---|---|---|---|---|');
    for (const v of c.violations) {
      out.push(
        `| ${v.seq} | ${v.round} | ${v.hospital} | ${v.kind} | ${v.class} | ${v.rule} (${v.origin} → ${v.destination})${v.alsoBroke === undefined ? '' : `; also ${v.alsoBroke.join(', ')}`} | ${v.enforcement} | ${v.missing.join(' or ') || 'none can satisfy it'} |`,
      );
    }
    out.push('');
  }
  for (const [country, cc] of Object.entries(c.countries)) {
    out.push(`## ${country}`, '');
    out.push(
      cc.hospitals.length === 0
        ? 'No hospital; the coordinator sits here.'
        : `Hospitals: ${cc.hospitals.join(', ')}. Patient records kept at home: **${cc.recordsKeptAtHome}**; ` +
            `raw records exported: **${cc.rawRecordsExported}**. Violations of its policy: **${cc.violations}**.`,
      '',
    );
    out.push(
      `Bytes sent ${cc.bytes.sent} (${cc.bytes.sentAcrossBorder} across a border), received ` +
        `${cc.bytes.received} (${cc.bytes.receivedAcrossBorder} across a border).`,
      '',
    );
    const classes = DATA_CLASS_NAMES.filter((k) => cc.sent[k] !== undefined || cc.received[k] !== undefined);
    if (classes.length > 0) {
      out.push(
        '| class | sent: messages | bytes | across a border | received: messages | bytes | across a border |',
      );
      out.push('|---|---|---|---|---|---|---|');
      const cells = (f: Flow | undefined) =>
        f === undefined
          ? '0 | 0 | 0'
          : `${f.messages} | ${f.bytes} | ${f.crossBorderMessages} (${f.crossBorderBytes} B)`;
      for (const k of classes) out.push(`| ${k} | ${cells(cc.sent[k])} | ${cells(cc.received[k])} |`);
      out.push('');
    }
    if (cc.basesReliedOn.length > 0) {
      out.push('| rule | basis relied on | to | crossings |', '|---|---|---|---|');
      for (const b of cc.basesReliedOn)
        out.push(`| ${b.rule} | ${b.basis} | ${b.destination} | ${b.crossings} |`);
      out.push('');
    }
  }
  out.push('A message of several classes counts under each of them.', '');
  if (c.pooledOracle !== undefined) {
    out.push(
      '## Pooled oracle (a sovereignty violation, never sent)',
      '',
      'What pooling every patient would have taken out of each country: shown apart, never part of the federation.',
      '',
      '| country | patient records | bytes | rules it would break |',
      '|---|---|---|---|',
    );
    for (const [country, p] of Object.entries(c.pooledOracle.countries)) {
      out.push(
        `| ${country} | ${p.records} | ${p.bytes} | ${p.rulesBroken.join(', ') || '(none; still not sovereign)'} |`,
      );
    }
    out.push('');
  }
  if (c.localOnlyViolations > 0) {
    out.push(
      `Local-only baseline: ${c.localOnlyViolations} messages broke a rule (flagged; baselines never stop a run).`,
      '',
    );
  }
  return out.join('\n');
}
