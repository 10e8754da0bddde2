"""Benchmarks: commands, never timed tests (`stepdiff bench NAME`).

The harness (timing, peak RSS, machine facts, report files) and the engines live here; a
benchmark that needs the workstation (the renderer, the parity report) registers itself under the
`stepdiff.benches` entry-point group, and the PyTorch engine under `stepdiff.bench_engines`, so
this package never imports models/ or export/.
"""
