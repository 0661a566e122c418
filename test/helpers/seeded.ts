/**
 * A small seeded generator for tests that draw their own random runs, so a failing run can be
 * replayed from its seed (a linear congruential generator: Numerical Recipes' constants).
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
