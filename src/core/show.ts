/** Renders a bad value for an error message so the user can find it. */
export function show(value: unknown): string {
  // Never throws: a hostile value (a Proxy whose traps throw) is still described.
  try {
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'bigint') return `${value}n`;
    if (value === null || typeof value !== 'object') return String(value);
    if (Array.isArray(value)) return 'an array';
    return Object.prototype.toString.call(value);
  } catch {
    return 'an unprintable value';
  }
}
