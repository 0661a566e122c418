/**
 * A webhook's event-type filter (protocol/webhooks.md): exact dotted types, `prefix.*` for every
 * type under a prefix, `*` for every event.
 */
export function typeMatcher(patterns: readonly string[]): (eventType: string) => boolean {
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((p) => !p.endsWith('.*')));
  const prefixes = patterns.filter((p) => p.endsWith('.*')).map((p) => p.slice(0, -1));
  return (t) => exact.has(t) || prefixes.some((p) => t.startsWith(p));
}
