/** Float64 references of SiLU and the SwiGLU gate. */
export const silu = (x: number) => x / (1 + Math.exp(-x));
export const siluGate = (a: number, b: number) => silu(a) * b;
