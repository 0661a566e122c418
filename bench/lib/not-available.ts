/**
 * Thrown by a target that cannot run here (Holdline part not built yet, peer not installed): the
 * scenario records "not available" with the reason, never a figure.
 */
export class NotAvailableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotAvailableError';
  }
}
