/** Formatting helpers of the dashboard. */

/** bytes formats a byte count for people: 1.2 MB. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i] ?? ''}`;
}

/** count formats a number with thousands separators. */
export function count(n: number | undefined): string {
  return n === undefined ? '–' : n.toLocaleString('en-US');
}

/** ms formats milliseconds: 0.42 ms, 12 ms, 1.2 s. */
export function ms(v: number | undefined): string {
  if (v === undefined) return '–';
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 100) return `${v.toFixed(1)} ms`;
  if (v < 1000) return `${Math.round(v)} ms`;
  return `${(v / 1000).toFixed(1)} s`;
}

/** clock formats a time of day with milliseconds: 14:03:21.042. */
export function clock(at: number): string {
  const d = new Date(at);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** ago formats how long ago `at` was: 3 s, 2 min. */
export function ago(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

/** hostOf returns the host:port of a URL. */
export function hostOf(url: string | undefined): string {
  if (url === undefined || !URL.canParse(url)) return '–';
  return new URL(url).host;
}

/** PALETTE colours the members, by their position in the member list. */
export const PALETTE = [
  '#2563eb',
  '#d97706',
  '#059669',
  '#db2777',
  '#7c3aed',
  '#0891b2',
  '#65a30d',
];

/** colorOf returns the colour of member id among ids. */
export function colorOf(id: number, ids: readonly number[]): string {
  const i = ids.indexOf(id);
  return PALETTE[(i < 0 ? id : i) % PALETTE.length] ?? '#64748b';
}
