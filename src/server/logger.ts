/** Moved to src/logger.ts (options.ts must not import from server/); kept for imports of the old path. */
export * from "../logger.js";
