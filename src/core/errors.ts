/**
 * An error caused by the user's input (config, flags, files). The CLI prints its message as a
 * single line and exits non-zero; anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'UserError';
  }
}

/** Formats a value for an error message: short, quoted when a string. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    return String(value);
  }
}
