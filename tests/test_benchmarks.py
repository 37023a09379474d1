"""Smoke tests of the benchmarks' own parts (the benchmarks run with ``make bench``, not here)."""

from __future__ import annotations

import gzip

import httpx

from benchmarks import bench_fleet
from benchmarks.figures import Figures, spread
from central.telemetry.parse import parse_batch
from protocols.uplink import INGEST_PATH


def test_a_ratio_is_taken_per_round_and_written_with_its_baseline(capsys):
    figures = Figures("case")
    assert figures.ratio("ingest / bare", [2.0, 3.0, 8.0], [4.0, 4.0, 4.0]) == [0.5, 0.75, 2.0]
    figures.value("p99 ms", [10.0, 30.0, 20.0])
    assert figures.markdown().splitlines() == [
        "### case", "", "| figure | measured | same-run baseline | ratio |", "|---|---|---|---|",
        ("| ingest / bare | 2 / 3 / 8 (min / median / max of 3) | 4 / 4 / 4 (min / median / max of 3)"
         " | 0.5 / 0.75 / 2 (min / median / max of 3) |"),
        "| p99 ms | 10 / 20 / 30 (min / median / max of 3) | — | — |"]
    assert capsys.readouterr().out == (f"   ratio ingest / bare: {spread([0.5, 0.75, 2.0])}\n"
                                       f"   p99 ms: {spread([10.0, 30.0, 20.0])}\n")


def test_a_fleet_batch_is_thirty_readings_of_its_gateways_point():
    batch = parse_batch(gzip.decompress(bench_fleet.body(7, 2)))
    assert (batch.gateway, len(batch.readings), {r.point for r in batch.readings}, batch.readings[0].seq) == (
        "gw-7", 30, {"P7"}, 60)


async def test_the_bare_baseline_parses_the_body_and_answers_200():
    transport = httpx.ASGITransport(app=bench_fleet.bare_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        reply = await client.post(INGEST_PATH, content=bench_fleet.body(0, 0), headers={"Content-Encoding": "gzip"})
    assert (reply.status_code, reply.json()["stored"]) == (200, 30)


def test_a_run_replaces_its_own_sections_and_keeps_the_others_and_the_figures_the_code_cites(tmp_path, monkeypatch):
    from benchmarks import __main__ as runner

    results = tmp_path / "RESULTS.md"
    cited = f"{runner.CITED}\n\n- **Something** (`central/x.py`): 1.0 ms against 2.0 ms.\n"
    results.write_text("# Benchmark results\n\n## bench_old (1 s; commit a)\n\nold figures\n\n"
                       f"## bench_new (1 s; commit a)\n\nstale figures\n\n{cited}", encoding="utf-8")
    monkeypatch.setattr(runner, "RESULTS", results)
    runner.write_results({"bench_new": "## bench_new (2 s; commit b)\n\nnew figures\n"})
    text = results.read_text(encoding="utf-8")
    assert "stale figures" not in text
    assert text.endswith("## bench_new (2 s; commit b)\n\nnew figures\n\n## bench_old (1 s; commit a)\n\nold figures\n\n"
                         + cited)
