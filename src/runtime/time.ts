// Timestamps as Kubernetes writes them: metav1.Time (RFC 3339, whole seconds) in status fields
// and conditions, metav1.MicroTime (microseconds) in Leases and Events.

/** metav1.Time: RFC 3339 in UTC, whole seconds ("2025-01-01T00:00:00Z"). */
export const timestamp = (d: Date = new Date()): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** metav1.MicroTime: RFC 3339 in UTC with microseconds ("2025-01-01T00:00:00.123000Z"). */
export const microTime = (d: Date = new Date()): string =>
  d.toISOString().replace(/(\.\d{3})Z$/, '$1000Z');
