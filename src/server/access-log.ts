/** Moved to src/access-log.ts (options.ts must not import from server/); kept for imports of the old path. */
export * from "../access-log.js";
