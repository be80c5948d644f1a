// dcmjs ships no TypeScript types. These declare only what fedmed uses: data sets in dcmjs's
// "denaturalized" form (hex tag → {vr, Value}), reading a Part 10 file and writing one.
declare module 'dcmjs' {
  /** A person name value as dcmjs reads and writes it (the DICOM JSON model). */
  export interface DicomPersonName {
    Alphabetic?: string;
  }

  /** One element's value: text, a number (US, IS, DS…), bytes (OB, OW) or a person name (PN). */
  export type DicomValue = string | number | ArrayBuffer | DicomPersonName;

  /** One data element; `Value` may be empty. */
  export interface DicomElement {
    vr: string;
    Value: DicomValue[];
  }

  /** A data set keyed by eight upper-case hex digits, group then element, such as `'00280010'`. */
  export type DicomDataset = Record<string, DicomElement | undefined>;

  export interface DicomReadOptions {
    ignoreErrors?: boolean;
    untilTag?: string | null;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
    forceStoreRaw?: boolean;
  }

  export interface DicomWriteOptions {
    allowInvalidVRLength?: boolean;
  }

  /** A Part 10 file: file meta information (group 0002) and the data set. */
  export interface DicomDict {
    meta: DicomDataset;
    dict: DicomDataset;
    /** The whole file: 128-byte preamble, 'DICM', meta information, data set (sorted by tag). */
    write(options?: DicomWriteOptions): ArrayBuffer;
  }

  export interface DicomDictConstructor {
    new (meta: DicomDataset): DicomDict;
  }

  export interface DicomMessageStatic {
    /** Parses a Part 10 file; throws on a missing 'DICM' prefix or malformed meta information. */
    readFile(buffer: ArrayBuffer, options?: DicomReadOptions): DicomDict;
  }

  export const data: {
    DicomDict: DicomDictConstructor;
    DicomMessage: DicomMessageStatic;
  };
}
