/**
 * Float64 rotary position embeddings written from Hugging Face's modeling_llama.py: inv_freq = 1 / θ^(2i/D),
 * emb = cat(freqs, freqs), x·cos + rotate_half(x)·sin with rotate_half(x) = cat(−x2, x1) over a head's halves.
 * Angles in float64 here (transformers rounds them to float32; tests allow for that at large positions).
 */
export function ropeRef(
  x: ArrayLike<number>,
  positions: ArrayLike<number>,
  W: number,
  rotated: number,
  D: number,
  theta: number,
): Float64Array {
  const y = Float64Array.from(x);
  const half = D / 2;
  for (let r = 0; r < positions.length; r++) {
    const p = positions[r]!;
    for (let h0 = 0; h0 < rotated; h0 += D) {
      const at = r * W + h0;
      // cos and sin of emb = cat(freqs, freqs): element j uses freq j mod D/2
      const rot = Array.from({ length: D }, (_, j) => (j < half ? -x[at + j + half]! : x[at + j - half]!));
      for (let j = 0; j < D; j++) {
        const angle = p / theta ** ((2 * (j % half)) / D);
        y[at + j] = x[at + j]! * Math.cos(angle) + rot[j]! * Math.sin(angle);
      }
    }
  }
  return y;
}
