/**
 * One error hierarchy for tracelake. Every error carries a message a person can act on; the CLI
 * prints `message` alone (no stack) for these, and a stack only for unexpected errors.
 */
export class TracelakeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TracelakeError';
  }
}

/** Bad configuration or arguments: names the variable or flag and the bad value. */
export class ConfigError extends TracelakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** A source that cannot be read at all (missing path, access denied). Bad documents are not this. */
export class SourceError extends TracelakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SourceError';
  }
}

/** The lake cannot be written or read. */
export class LakeError extends TracelakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LakeError';
  }
}

/** A document that fails validation; carries the reason shown to the user. */
export class ValidationError extends TracelakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ValidationError';
  }
}
