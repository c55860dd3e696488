/** Any decode failure: short input, a length over its maximum, a bad discriminant. → GARBAGE_ARGS. */
export class XdrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XdrError';
  }
}
