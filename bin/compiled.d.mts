/** The URL of the compiled CLI for the current sources (compiling it if needed), or null if it cannot be built. */
export function compiledCli(): Promise<string | null>;
