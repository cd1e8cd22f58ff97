/** The product's eight moods, in the strip's order (the API's `mood:vote` values). */
export const MOODS = ['calm', 'playful', 'flirty', 'intense', 'chill', 'dreamy', 'energetic', 'mysterious'] as const;
export type Mood = (typeof MOODS)[number];

/** Each mood's share of the votes, in whole percent (0 when nobody voted). */
export function shares(counts: Record<string, number>, total: number): Record<Mood, number> {
  const out = {} as Record<Mood, number>;
  for (const m of MOODS) out[m] = total > 0 ? Math.round(((counts[m] ?? 0) / total) * 100) : 0;
  return out;
}
