"""PCG32 (XSH-RR, 64-bit state) and the derived draws of docs/game.md#61-randomness.

The C core (ext/prospector.h) implements the same generator; the draw order of
every mechanic is part of the contract, so both sides call these in the same order.
"""

from __future__ import annotations

import math

from .spec import RNG_SEQ

MASK64 = (1 << 64) - 1
PCG_MULT = 6364136223846793005
TWO_PI = 2.0 * math.pi
U32_SCALE = 2.0**-32


class Pcg32:
    __slots__ = ("state", "inc")

    def __init__(self, seed: int, seq: int = RNG_SEQ):
        # pcg32_srandom_r(seed, seq) from the reference implementation.
        self.state = 0
        self.inc = ((seq << 1) | 1) & MASK64
        self.next_u32()
        self.state = (self.state + (seed & MASK64)) & MASK64
        self.next_u32()

    def next_u32(self) -> int:
        old = self.state
        self.state = (old * PCG_MULT + self.inc) & MASK64
        xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((xorshifted >> rot) | (xorshifted << ((-rot) & 31))) & 0xFFFFFFFF

    def u(self) -> float:
        """Uniform double in [0, 1)."""
        return self.next_u32() * U32_SCALE

    def n(self) -> float:
        """Standard normal from two uniforms (Box-Muller, cosine branch)."""
        u1 = self.u()
        u2 = self.u()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(TWO_PI * u2)

    def randint(self, lo: int, hi: int) -> int:
        """Integer in [lo, hi], both inclusive."""
        return lo + self.next_u32() % (hi - lo + 1)

    def next_u64(self) -> int:
        hi = self.next_u32()
        return (hi << 32) | self.next_u32()


def splitmix64(state: int) -> tuple[int, int]:
    """One SplitMix64 step: (new state, output). Used to derive per-env seeds."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def env_seeds(seed: int, count: int) -> list[int]:
    """First episode seed of each env of a vector env: SplitMix64 outputs of `seed`."""
    state, out = seed & MASK64, []
    for _ in range(count):
        state, value = splitmix64(state)
        out.append(value)
    return out
