"""Block-wise weight quantization in numpy, laid out the way com.microsoft ops read it.

MatMulNBits wants B as [N, k_blocks, blob_size] uint8, quantized along K (the input features) in
blocks of `block_size`, the first code in the low bits of each byte, with one scale and one zero
point per block.

Why "split" zero points. Our SmolLM2 comes from a Q4_1 GGUF: every block of 32 weights is already
exactly `d * q + m` with q in 0..15. An asymmetric min/max grid with a *float* zero point
re-expresses that with no new error, but ORT's CPU kernel only takes its fast int8-activation
path (accuracy_level 4) with *integer* zero points, and rounding the zero point shifts all 32
weights of a block by the same amount. Those shifts add up instead of cancelling: plain int4 with
uint8 zero points turns SmolLM2's greedy output into different text. "split" keeps the exact
grid, hands the kernel the rounded zero point, and returns the per-block remainder
`(round(z) - z) * scale` as `residual`; the graph adds `blocksum(x) @ residual.T`, a matmul
block_size times smaller than the layer, and the result is exact again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ZERO_POINTS = ("split", "uint8", "float", "none")


@dataclass(frozen=True)
class BlockQuantized:
    """One [N, K] weight (torch Linear layout: out features, in features), quantized along K."""

    packed: np.ndarray  # uint8 [N, k_blocks, block_size * bits // 8]
    scales: np.ndarray  # float32 [N, k_blocks]
    # float32 or uint8 [N, k_blocks]; None means the op's default 2^(bits-1) (symmetric).
    zero_points: np.ndarray | None
    # float32 [N, k_blocks] to add per block on top of MatMulNBits ("split" only).
    residual: np.ndarray | None
    bits: int
    block_size: int
    n: int
    k: int


def quantize_blockwise(
    w: np.ndarray, bits: int, block_size: int, zero_points: str = "split"
) -> BlockQuantized:
    """Quantize a [N, K] float matrix block-wise along K for MatMulNBits.

    zero_points: "split" (exact float zero point = uint8 zero point + residual), "uint8"
    (integer zero points: per block the better of a rounded min/max grid and a symmetric one),
    "float" (exact, but ORT's CPU kernel then computes in float) or "none" (symmetric).
    """
    if zero_points not in ZERO_POINTS:
        raise ValueError(f"zero_points must be one of {ZERO_POINTS}, got {zero_points!r}")
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8, got {bits}")
    if block_size < 16 or block_size & (block_size - 1):
        raise ValueError(f"block_size must be a power of two >= 16, got {block_size}")
    if w.ndim != 2:
        raise ValueError(f"expected a 2-D weight, got shape {w.shape}")
    n, k = w.shape
    k_blocks = -(-k // block_size)
    padded = np.zeros((n, k_blocks * block_size), dtype=np.float32)
    padded[:, :k] = w
    blocks = padded.reshape(n, k_blocks, block_size)
    residual = None

    if zero_points == "none":
        q, scales, _ = _symmetric(blocks, bits)
        zp = None
    elif zero_points == "uint8":
        # Per block, the better of the two grids an integer zero point can express.
        q, scales, zp = _asymmetric(blocks, bits, integer_zero=True)
        q_s, scales_s, zp_s = _symmetric(blocks, bits)
        better = _sq_error(q_s, scales_s, zp_s, blocks) < _sq_error(q, scales, zp, blocks)
        q = np.where(better[..., None], q_s, q)
        scales = np.where(better, scales_s, scales)
        zp = np.where(better, zp_s, zp)
    else:
        q, scales, zp = _asymmetric(blocks, bits, integer_zero=False)
        if zero_points == "split":
            # (q - z) * s == (q - round(z)) * s + (round(z) - z) * s, for any rounding of z.
            zp_int = np.clip(np.rint(zp), 0, (1 << bits) - 1)
            residual = ((zp_int - zp) * scales).astype(np.float32)
            zp = zp_int
    if zp is not None:
        zp = zp.astype(np.float32 if zero_points == "float" else np.uint8)
    return BlockQuantized(
        packed=pack_bits(q.astype(np.uint8), bits),
        scales=scales.astype(np.float32),
        zero_points=zp,
        residual=residual,
        bits=bits,
        block_size=block_size,
        n=n,
        k=k,
    )


def _symmetric(blocks: np.ndarray, bits: int):
    """Codes, scales and zero points (all 2^(bits-1), the op's default) of a symmetric grid."""
    half = 1 << (bits - 1)
    scales = np.abs(blocks).max(axis=-1) / (half - 1)
    scales[scales == 0] = 1.0
    q = np.clip(np.rint(blocks / scales[..., None]) + half, 0, 2 * half - 1)
    return q, scales, np.full(scales.shape, float(half))


def _asymmetric(blocks: np.ndarray, bits: int, integer_zero: bool):
    """Codes, scales and zero points of a min/max grid."""
    qmax = (1 << bits) - 1
    lo, hi = blocks.min(axis=-1), blocks.max(axis=-1)
    if integer_zero:
        # A rounded zero point only keeps 0 exact if the grid covers 0.
        lo, hi = np.minimum(lo, 0), np.maximum(hi, 0)
    scales = (hi - lo) / qmax
    scales[scales == 0] = 1.0
    zp = -lo / scales
    if integer_zero:
        zp = np.clip(np.rint(zp), 0, qmax)
    q = np.clip(np.rint(blocks / scales[..., None] + zp[..., None]), 0, qmax)
    return q, scales, zp


def _sq_error(q, scales, zp, blocks) -> np.ndarray:
    return np.square((q - zp[..., None]) * scales[..., None] - blocks).sum(axis=-1)


def packed_zero_points(qw: BlockQuantized) -> np.ndarray | None:
    """Zero points as MatMulNBits reads them: floats as they are, uint8 bit-packed per row."""
    zp = qw.zero_points
    if zp is None or zp.dtype != np.uint8 or qw.bits == 8:
        return zp
    if zp.shape[1] % 2:
        zp = np.concatenate([zp, np.zeros((zp.shape[0], 1), dtype=np.uint8)], axis=1)
    return pack_bits(zp, qw.bits)


def pack_bits(q: np.ndarray, bits: int) -> np.ndarray:
    """Pack unsigned codes along the last axis, the first code in the low bits of each byte."""
    if bits == 8:
        return np.ascontiguousarray(q, dtype=np.uint8)
    if bits != 4 or q.shape[-1] % 2:
        raise ValueError(f"cannot pack {q.shape[-1]} codes of {bits} bits")
    return np.ascontiguousarray((q[..., 0::2] & 0x0F) | (q[..., 1::2] << 4), dtype=np.uint8)


def unpack_bits(packed: np.ndarray, bits: int) -> np.ndarray:
    if bits == 8:
        return packed
    out = np.empty(packed.shape[:-1] + (packed.shape[-1] * 2,), dtype=np.uint8)
    out[..., 0::2] = packed & 0x0F
    out[..., 1::2] = packed >> 4
    return out


def dequantize_blockwise(qw: BlockQuantized, with_residual: bool = True) -> np.ndarray:
    """The [N, K] float matrix the graph computes with (for tests and error budgets)."""
    q = unpack_bits(qw.packed, qw.bits).astype(np.float32)
    if qw.zero_points is None:
        zp = np.full(qw.scales.shape, 1 << (qw.bits - 1), dtype=np.float32)
    else:
        zp = qw.zero_points.astype(np.float32)
    w = (q - zp[..., None]) * qw.scales[..., None]
    if with_residual and qw.residual is not None:
        w = w + qw.residual[..., None]
    return w.reshape(qw.n, -1)[:, : qw.k]


@dataclass(frozen=True)
class TableQuantized:
    """A [V, D] embedding table as int8 codes with one float scale per block of each row."""

    codes: np.ndarray  # int8 [V, D]
    scales: np.ndarray  # float32 [V, D // block_size, 1]: shaped to broadcast after a Gather
    block_size: int


def quantize_table_int8(table: np.ndarray, block_size: int = 32) -> TableQuantized:
    """Symmetric int8 per block of a row. Q8_0 uses the same grid, so a Q8_0 table is exact."""
    v, d = table.shape
    if d % block_size:
        block_size = d  # one scale per row
    blocks = table.reshape(v, d // block_size, block_size)
    amax = np.abs(blocks).max(axis=-1, keepdims=True)
    scales = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    codes = np.clip(np.rint(blocks / scales), -127, 127).astype(np.int8).reshape(v, d)
    return TableQuantized(codes=codes, scales=scales, block_size=block_size)
