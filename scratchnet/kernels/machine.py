"""The machine the kernels are compiled for, and the register tile and blocking chosen for it.

Every fast kernel is shaped by four numbers (see ``matmul.py`` for what each one does):

    VECTOR_BYTES  the width of one vector register the compiled code may use
    MR x NV       the micro-tile: MR rows by NV vectors of accumulators, held in registers
    KC            depths per packed block: one B micro-panel, KC x NV vectors, stays in L1
    MC, NC        rows of A and columns of B per packed block (L2 and L3)

They are chosen by rule, from what Numba compiles for (its target CPU and features, which
``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` override) and the cache sizes Linux reports:

- vectors are 64 bytes where the target has AVX-512, else 32 (AVX2);
- a tile needs ``MR * NV`` accumulators, ``NV`` registers for a row of B and one for the
  broadcast of A: with AVX-512's 32 registers ``8 x 2`` (19 in use); with AVX2's 16, ``6 x 2``
  (15: an ``8 x 2`` tile would need 19, and the spills cost more than the smaller tile);
- the B micro-panel, ``KC * NV * VECTOR_BYTES`` bytes, takes at most two thirds of L1d, leaving
  the rest for the A micro-panel that streams past it: ``KC = 256`` on a 48 KiB L1d with
  AVX-512, 160 on a 32 KiB one; never above 256, the value measured best where it was tuned;
- a 512-bit vector on Zen 4 is issued as two 256-bit halves; its FMA throughput per byte is the
  same, so the wide vectors are kept (fewer instructions), and ``explain`` says so.

The choice depends only on the target and the cache sizes, so Numba's on-disk cache (keyed by the
target CPU and features) never holds kernels compiled for another choice on the same target.
``scratchnet bench --explain`` prints it with its reasons.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import platform
from collections.abc import Mapping
from pathlib import Path

import llvmlite.binding as llvm
import numba

KC_MAX = 256  # the depth block measured best on a 48 KiB L1d (benchmarks/RESULTS.md); the rule only lowers it


@dataclasses.dataclass(frozen=True)
class Machine:
    """The CPU as ``/proc/cpuinfo`` and sysfs report it, and the target Numba compiles for.

    ``target_features`` is LLVM's ``+feature,-feature`` list in effect (``NUMBA_CPU_FEATURES`` when
    set, else the host's); ``l1d``, ``l2``, ``l3`` are bytes per core's cache (0 when unknown).
    """

    vendor: str
    family: int
    model: int
    model_name: str
    flags: frozenset[str]
    target_cpu: str
    target_features: str
    l1d: int
    l2: int
    l3: int

    def has(self, feature: str) -> bool:
        """Whether the compile target enables ``feature`` (LLVM's name: ``avx512f``, ``avx2``, ``fma``)."""
        return f"+{feature}" in self.target_features.split(",")

    @property
    def vector_bytes(self) -> int:
        """64 with AVX-512 in the target, else 32."""
        return 64 if self.has("avx512f") else 32

    @property
    def vector_registers(self) -> int:
        """32 vector registers with AVX-512, 16 with AVX2."""
        return 32 if self.has("avx512f") else 16

    @property
    def splits_512(self) -> bool:
        """AMD Zen 4 (family 25, models 0x10-0x1f and 0x60-0x7f, 0xa0-0xaf): 512-bit work in two halves."""
        return self.vendor == "AuthenticAMD" and self.family == 25 and self.has("avx512f")

    def describe(self) -> str:
        """``Intel Xeon ... (family 6, model 167), target sapphirerapids, AVX-512; L1d 48 KiB, L2 2048 KiB``."""
        isa = "AVX-512" if self.has("avx512f") else "AVX2" if self.has("avx2") else "no AVX2"
        return (f"{self.model_name} (vendor {self.vendor}, family {self.family}, model {self.model}), "
                f"Numba target {self.target_cpu}, {isa} ({self.vector_bytes}-byte vectors); "
                f"L1d {self.l1d // 1024} KiB, L2 {self.l2 // 1024} KiB, L3 {self.l3 // 1024} KiB")


@dataclasses.dataclass(frozen=True)
class KernelPlan:
    """The register tile and blocking for one :class:`Machine`, with the reason for each number."""

    vector_bytes: int
    mr: int
    nv: int
    dr: int
    dc: int
    kc: int
    mc: int
    nc: int
    conv_image: int
    reasons: tuple[str, ...]

    def explain(self) -> str:
        """One line per choice: the number, then why."""
        return "\n".join(self.reasons)


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none)."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return fields
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _cache_bytes() -> dict[str, int]:
    """``{"L1d": ..., "L2": ..., "L3": ...}`` from sysfs for cpu0 (sizes like ``48K``)."""
    out: dict[str, int] = {}
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(root.glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        scale = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(size[-1:], 1)
        value = int(size.rstrip("KMG") or 0) * scale
        name = "L1d" if level == "1" and kind in ("Data", "Unified") else f"L{level}" if kind != "Instruction" else ""
        if name and name not in out:
            out[name] = value
    return out


@functools.cache
def machine() -> Machine:
    """This process's :class:`Machine` (read once)."""
    info = _cpuinfo()
    caches = _cache_bytes()
    features = numba.config.CPU_FEATURES if numba.config.CPU_FEATURES is not None \
        else llvm.get_host_cpu_features().flatten()
    return Machine(vendor=info.get("vendor_id", platform.processor() or "unknown"),
                   family=int(info.get("cpu family", "0") or 0), model=int(info.get("model", "0") or 0),
                   model_name=info.get("model name", platform.machine()),
                   flags=frozenset(info.get("flags", "").split()),
                   target_cpu=numba.config.CPU_NAME or llvm.get_host_cpu_name(), target_features=features,
                   l1d=caches.get("L1d", 0), l2=caches.get("L2", 0), l3=caches.get("L3", 0))


# --8<-- [start:plan_for]
def plan_for(m: Machine) -> KernelPlan:
    """The rule of the module's docstring applied to ``m``."""
    vb, regs = m.vector_bytes, m.vector_registers
    reasons = [f"machine: {m.describe()}"]
    reasons.append(f"VECTOR_BYTES = {vb}: " + ("the target has AVX-512" if vb == 64 else
                                               "the target has no AVX-512 (AVX2 registers, 32 bytes)"))
    if m.splits_512:
        reasons.append("  (Zen 4 issues each 512-bit operation as two 256-bit halves: the same FMA throughput "
                       "per byte, fewer instructions, so the wide vectors stay)")
    nv = 2
    mr = 8 if regs >= 32 else 6
    reasons.append(f"MR x NV = {mr} x {nv}: {mr * nv} accumulators + {nv} for a row of B + 1 broadcast = "
                   f"{mr * nv + nv + 1} of the {regs} vector registers"
                   + ("" if regs >= 32 else " (8 x 2 would need 19 and spill)"))
    dr, dc = (4, 4) if regs >= 32 else (4, 2)
    reasons.append(f"DR x DC = {dr} x {dc} (the dot-product tile of a convolution's weight gradient): {dr * dc} "
                   f"accumulators + {dr + dc} loaded vectors = {dr * dc + dr + dc} of the {regs} registers")
    panel = nv * vb  # bytes of one depth of a B micro-panel, whatever the dtype
    if m.l1d:
        kc = max(64, min(KC_MAX, (2 * m.l1d // 3) // panel // 32 * 32))
        reasons.append(f"KC = {kc}: a B micro-panel of KC x {nv} vectors = {kc * panel // 1024} KiB, at most two "
                       f"thirds of the {m.l1d // 1024} KiB L1d (capped at {KC_MAX}, the value measured best)")
    else:
        kc = KC_MAX
        reasons.append(f"KC = {kc}: the L1d size is unknown; the value measured best on a 48 KiB L1d")
    mc = 128 // mr * mr  # whole micro-panels: a last panel of 2 rows would cost a whole tile
    if m.l2 and m.l2 < 2 * mc * kc * 8:
        mc = max(4 * mr, (m.l2 // 2) // (kc * 8) // mr * mr)
    reasons.append(f"MC = {mc}: an A block of MC x KC in float64 = {mc * kc * 8 // 1024} KiB, at most half of "
                   f"the {m.l2 // 1024 or '?'} KiB L2")
    nc = 4096
    reasons.append(f"NC = {nc}: a B block of KC x NC columns, {kc * nc * 4 // 1024} KiB in float32, streams from "
                   "L2/L3 (NC only bounds the packing buffer)")
    conv_image = 2 * (m.l1d or 32 * 1024) // 3
    reasons.append(f"CONV_IMAGE = {conv_image // 1024} KiB: a direct convolution whose padded image fits (two "
                   f"thirds of the {m.l1d // 1024 or '? (32 assumed)'} KiB L1d) sweeps each block of filters over "
                   "the whole image, which stays in L1; a larger image is swept a column of windows at a time, "
                   "every filter passing over it while it is in cache")
    return KernelPlan(vector_bytes=vb, mr=mr, nv=nv, dr=dr, dc=dc, kc=kc, mc=mc, nc=nc, conv_image=conv_image,
                      reasons=tuple(reasons))
# --8<-- [end:plan_for]


@functools.cache
def plan() -> KernelPlan:
    """The :class:`KernelPlan` of this process's machine (what the kernels are compiled with)."""
    return plan_for(machine())


def avx2_features() -> str:
    """The host's LLVM features with AVX-512 (and the AMX and AVX-VNNI extensions built on it) off:
    with ``NUMBA_CPU_NAME=haswell`` it makes Numba compile as for an AVX2-only machine.
    (``NUMBA_CPU_NAME`` alone keeps the host's features, AVX-512 included.)"""
    out = []
    for feature in llvm.get_host_cpu_features().flatten().split(","):
        name = feature[1:]
        if feature.startswith("+") and name.startswith(("avx512", "amx", "avxvnni", "avx10", "evex512",
                                                          "avxifma", "avxneconvert", "avxvnniint")):
            feature = "-" + name
        out.append(feature)
    return ",".join(out)


def emulation_env(target: str) -> dict[str, str]:
    """Environment variables that make this machine compute as ``target`` would: ``"native"`` (none)
    or ``"haswell"`` (AVX2 only, for Numba, OpenBLAS, PyTorch's kernels, oneDNN and MKL)."""
    if target == "native":
        return {}
    if target == "haswell":
        return {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": avx2_features(),
                "OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                "MKL_ENABLE_INSTRUCTIONS": "AVX2", "NUMBA_CACHE_DIR": str(_emulation_cache(target))}
    raise ValueError(f"unknown CPU target {target!r}: expected 'native' or 'haswell'")


def bench_env(target: str, environ: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``(environment, dropped)`` for measuring as ``target``: ``environ`` with the target's
    variables set; for ``"native"``, without the instruction-set variables a shell may have set
    (a machine whose profile sets ``OPENBLAS_CORETYPE=Haswell`` would otherwise measure OpenBLAS's
    AVX2 kernels on an AVX-512 CPU), which come back as ``dropped`` so the caller can say so."""
    env = dict(environ)
    isa = [k for k in emulation_env("haswell") if k != "NUMBA_CACHE_DIR"]  # NUMBA_CACHE_DIR only keeps caches apart
    dropped = {k: env.pop(k) for k in isa if k in env} if target == "native" else {}
    env.update(emulation_env(target))
    return env, dropped


def _emulation_cache(target: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "scratchnet" / f"numba-{target}"
