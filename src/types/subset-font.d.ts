declare module 'subset-font' {
  /** Options of subset-font (harfbuzz hb-subset compiled to wasm). */
  interface SubsetOptions {
    targetFormat?: 'sfnt' | 'woff' | 'woff2' | 'truetype';
    noLayoutClosure?: boolean;
    noHinting?: boolean;
  }
  /** A font holding only the glyphs `text` needs. */
  export default function subsetFont(font: Buffer, text: string, options?: SubsetOptions): Promise<Buffer>;
}
