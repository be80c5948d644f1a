/**
 * The one place comlink is imported from: its transfer cache lives in the module instance, so every file
 * must reach the same one.
 */
export * as Comlink from 'comlink/dist/esm/comlink.mjs';
export { default as nodeEndpoint } from 'comlink/dist/esm/node-adapter.mjs';
