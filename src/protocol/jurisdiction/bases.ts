/**
 * Legal bases a consortium can have in place for data to leave a hospital or a country, as the presets name
 * them. `law` is the country whose law provides the instrument (`any`: both laws know it); `validYears`, when
 * set, is how long a grant lasts.
 */
export interface BasisSpec {
  readonly law: 'CN' | 'KR' | 'any';
  readonly meaning: string;
  /** A grant of this basis lasts this many years from the year it was granted. */
  readonly validYears?: number;
  /** The basis is declared for a share of the patients (consent); it covers data derived from all only at 1. */
  readonly share?: true;
}

/** Every basis a policy may require or a scenario may declare. */
export const BASES = {
  'separate-consent': {
    law: 'any',
    share: true,
    meaning:
      'separate consent of each patient the data derive from (PIPL art. 29 and 39; PIPA art. 23 and 28-8(1)1)',
  },
  'entrusted-processing': {
    law: 'any',
    meaning:
      'an entrusted-processing (outsourcing) agreement with the recipient (PIPL art. 21; PIPA art. 26)',
  },
  'cac-security-assessment': {
    law: 'CN',
    validYears: 3,
    meaning: 'a security assessment passed with the Cyberspace Administration of China, valid 3 years',
  },
  'cac-standard-contract': {
    law: 'CN',
    meaning: "the CAC's standard contract, signed with the recipient and filed (PIPL art. 38)",
  },
  'pi-protection-certification': {
    law: 'CN',
    meaning: 'personal-information protection certification by a professional body (PIPL art. 38)',
  },
  'hgr-approval': {
    law: 'CN',
    meaning:
      'approval to provide human genetic resources information abroad (Regulation on Human Genetic Resources)',
  },
  'hgr-filing': {
    law: 'CN',
    meaning: 'filing, with a backup copy, under the Regulation on Human Genetic Resources',
  },
  'law-or-treaty': {
    law: 'KR',
    meaning: 'a special provision in a law, or a treaty Korea has joined (PIPA art. 28-8(1)2)',
  },
  'contract-necessity': {
    law: 'KR',
    meaning:
      'necessity for a contract with the person (outsourcing, storage), disclosed (PIPA art. 28-8(1)3)',
  },
  'pipc-certification': {
    law: 'KR',
    meaning: 'certification of the recipient by the PIPC, with its safeguards (PIPA art. 28-8(1)4)',
  },
  'pipc-adequacy': {
    law: 'KR',
    meaning:
      "a PIPC decision that the recipient country's protection is substantially equivalent (PIPA art. 28-8(1)5)",
  },
} as const satisfies Record<string, BasisSpec>;

/** The name of a legal basis. */
export type BasisName = keyof typeof BASES;

/** Every basis name, in the table's order. */
export const BASIS_NAMES = Object.keys(BASES) as [BasisName, ...BasisName[]];

/** The declaration of a basis. */
export function basisSpec(name: BasisName): BasisSpec {
  return BASES[name];
}
