/*
 * What the dashboard's live feed carries, from the server to every page watching a session (a live run or a
 * replay). Plain JSON: the browser script imports these types only.
 */

/** A hospital as the page shows it. */
export interface SiteView {
  readonly id: string;
  /** Display name (any script), or the id. */
  readonly label: string;
  readonly country: string;
  readonly patients: number;
}

/** Byte and message totals of the federation's crossings, as the ledger and the manifest count them. */
export interface Totals {
  readonly toHospitals: number;
  readonly toCoordinator: number;
  /** Bytes that crossed a national border, both directions. */
  readonly crossBorder: number;
  readonly messages: number;
  /** Messages that crossed a national border. */
  readonly borderMessages: number;
  /** Replies the boundary rejected. */
  readonly rejected: number;
}

/** A chart rendered by the report's chart code. */
export interface ChartView {
  readonly key: string;
  readonly title: string;
  readonly svg: string;
}

/** Something that happened to one hospital in a round: a rejected reply or a failure. */
export interface IncidentView {
  readonly round: number;
  readonly hospital: string;
  readonly what: string;
  /** Field and expectation, never a value. */
  readonly reason: string;
}

/** One event of a session's feed. */
export type FeedEvent =
  | {
      readonly type: 'session';
      readonly id: string;
      readonly mode: 'live' | 'replay';
      readonly scenario: string;
      readonly description: string;
      readonly seed: number;
      readonly rounds: number;
      readonly strategy: string;
      readonly backend: string;
      readonly coordinator: string;
      readonly hospitals: readonly SiteView[];
      /** The report's map, every flow drawn thin until messages cross it. */
      readonly map: string;
      /** The run folder, relative to the runs folder. */
      readonly folder: string;
    }
  | { readonly type: 'phase'; readonly text: string }
  | {
      /** How long the page takes to show one message, and the pause the run makes between messages. */
      readonly type: 'pace';
      readonly msPerMessage: number;
    }
  | {
      /** A message crossing a hospital's boundary, as it happens (live) or as recorded (replay). */
      readonly type: 'message';
      readonly round: number;
      readonly hospital: string;
      readonly direction: 'to-hospital' | 'to-coordinator';
      readonly kind: string;
      readonly crossesBorder: boolean;
    }
  | {
      readonly type: 'round';
      readonly round: number;
      /** The federation's evaluation after this round. */
      readonly metrics: Readonly<Record<string, number>>;
      readonly sampled: readonly string[];
      readonly admitted: readonly string[];
      /** Totals of every federation crossing so far (setup included). */
      readonly totals: Totals;
      readonly incidents: readonly IncidentView[];
    }
  | { readonly type: 'charts'; readonly round: number; readonly charts: readonly ChartView[] }
  | {
      readonly type: 'done';
      readonly status: 'completed' | 'stopped' | 'failed';
      readonly roundsCompleted: number;
      readonly detail?: string;
      /** Totals of every federation crossing the feed counted. */
      readonly totals: Totals;
      /** Totals the manifest holds, when the run wrote one. */
      readonly manifestTotals?: Totals;
      /** Where the report of the run opens, when there is a run folder to report. */
      readonly report?: string;
    };

/** The type names of feed events. */
export type FeedEventType = FeedEvent['type'];

/** What the page lists: shipped scenarios and finished run folders. */
export interface Catalogue {
  readonly scenarios: readonly {
    readonly file: string;
    readonly name: string;
    readonly description: string;
    readonly rounds: number;
    readonly seed: number;
    readonly strategy: string;
    readonly backend: string;
    readonly hospitals: number;
  }[];
  readonly strategies: readonly string[];
  readonly backends: readonly string[];
  readonly runs: readonly { readonly folder: string; readonly status: string; readonly rounds: number }[];
  /** Largest scenario file the page may upload. */
  readonly uploadLimitBytes: number;
  /** The session under way or last run, if any. */
  readonly session?: string;
}

/** An error in an uploaded or overridden scenario: its JSON path and what was expected. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}
