"""Smoke tests of the benchmarks' own parts (the benchmarks run with ``make bench``, not here)."""

from __future__ import annotations

import gzip

import httpx

from benchmarks import bench_alert_rules, bench_fleet, bench_ingest_group, bench_storage
from benchmarks.figures import Figures, spread
from central.telemetry.alerts.rule_store import ensure_all_rules
from central.telemetry.parse import parse_batch
from protocols.uplink import INGEST_PATH


def test_a_ratio_is_taken_per_round_and_written_with_its_baseline(capsys):
    figures = Figures("case")
    assert figures.ratio("ingest / bare", [2.0, 3.0, 8.0], [4.0, 4.0, 4.0]) == [0.5, 0.75, 2.0]
    figures.value("p99 ms", [10.0, 30.0, 20.0])
    assert figures.markdown().splitlines() == [
        "### case",
        "",
        "| figure | measured | same-run baseline | ratio |",
        "|---|---|---|---|",
        (
            "| ingest / bare | 2 / 3 / 8 (min / median / max of 3) | 4 / 4 / 4 (min / median / max of 3)"
            " | 0.5 / 0.75 / 2 (min / median / max of 3) |"
        ),
        "| p99 ms | 10 / 20 / 30 (min / median / max of 3) | — | — |",
    ]
    assert capsys.readouterr().out == (
        f"   ratio ingest / bare: {spread([0.5, 0.75, 2.0])}\n   p99 ms: {spread([10.0, 30.0, 20.0])}\n"
    )


def test_a_fleet_batch_is_thirty_readings_of_its_gateways_point():
    batch = parse_batch(gzip.decompress(bench_fleet.body(7, 2)))
    assert (batch.gateway, len(batch.readings), {r.point for r in batch.readings}, batch.readings[0].seq) == (
        "gw-7",
        30,
        {"P7"},
        60,
    )


def test_a_group_holds_one_batch_of_each_gateway_and_a_gateways_next_batch_follows_its_last():
    bodies = bench_ingest_group.Bodies()
    bodies.sent = bench_fleet.GATEWAYS - 2
    groups = [bodies.next_group(2), bodies.next_group(2)]
    seen = [
        [(parse_batch(upload.body).gateway, parse_batch(upload.body).readings[0].seq) for upload in group]
        for group in groups
    ]
    last = bench_fleet.GATEWAYS - 1
    assert seen == [
        [(f"gw-{last - 1}", 0), (f"gw-{last}", 0)],
        [("gw-0", bench_fleet.READINGS_PER_BATCH), ("gw-1", bench_fleet.READINGS_PER_BATCH)],
    ]


async def test_the_bare_baseline_parses_the_body_and_answers_200():
    transport = httpx.ASGITransport(app=bench_fleet.bare_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        reply = await client.post(INGEST_PATH, content=bench_fleet.body(0, 0), headers={"Content-Encoding": "gzip"})
    assert (reply.status_code, reply.json()["stored"]) == (200, 30)


def test_a_run_replaces_its_own_sections_and_keeps_the_others_and_the_figures_the_code_cites(tmp_path, monkeypatch):
    from benchmarks import __main__ as runner

    results = tmp_path / "RESULTS.md"
    cited = f"{runner.CITED}\n\n- **Something** (`central/x.py`): 1.0 ms against 2.0 ms.\n"
    results.write_text(
        "# Benchmark results\n\n## bench_old (1 s; commit a)\n\nold figures\n\n"
        f"## bench_new (1 s; commit a)\n\nstale figures\n\n{cited}",
        encoding="utf-8",
    )
    monkeypatch.setattr(runner, "RESULTS", results)
    runner.write_results({"bench_new": "## bench_new (2 s; commit b)\n\nnew figures\n"})
    text = results.read_text(encoding="utf-8")
    assert "stale figures" not in text
    assert text.endswith(
        "## bench_new (2 s; commit b)\n\nnew figures\n\n## bench_old (1 s; commit a)\n\nold figures\n\n" + cited
    )


def test_storage_rows_come_in_ten_minute_batches_of_one_point_after_another_as_ingest_stores_them():
    rows = list(bench_storage.rows([5, 9], 20))
    batches = [(rows[i][0], rows[i][1], rows[i + 29][1]) for i in range(0, len(rows), 30)]
    start, minute = bench_storage.START, bench_storage.timedelta(minutes=1)
    assert batches == [
        (5, start, start + 9 * minute),
        (9, start, start + 9 * minute),
        (5, start + 10 * minute, start + 19 * minute),
        (9, start + 10 * minute, start + 19 * minute),
    ]
    assert len(rows[0]) == len(bench_storage.COLUMNS)
    assert [row[2] for row in rows[:3]] == ["flow", "totalizer", "level"]


def test_the_storage_capacity_table_counts_readings_rows_and_bytes_of_the_fleet():
    assert bench_storage.capacity(20.0, 180.0, wells=2, years=1) == [
        ("readings", "3,155,760"),  # 2 wells x 3 variables x 525,960 minutes (365.25 days)
        ("compacted rows (point, variable, hour)", "52,596"),
        ("compacted bytes", "0.00 TB"),
        ("as stored (readings rows)", "3,155,760 rows, 0.00 TB"),
    ]
    assert bench_storage.capacity(20.8, 180.6)[2:] == [
        ("compacted bytes", "0.33 TB"),
        ("as stored (readings rows)", "15,778,800,000 rows, 2.85 TB"),
    ]


def test_the_rules_baseline_writes_what_seeding_stores(db):
    """bench_alert_rules' baseline is the same rows as ``ensure_all_rules`` makes, only written raw."""
    table = (
        "SELECT r.scope, r.point_id, r.gateway_id, r.kind, r.config, s.state FROM alert_rules r"
        " JOIN alert_rule_states s ON s.rule_id = r.id ORDER BY r.id"
    )
    with db.transaction() as conn:
        bench_alert_rules.add_subjects(conn, points=5, gateways=2)
        bench_alert_rules.write_raw(conn, bench_alert_rules.rule_rows(conn))
        raw = conn.fetchall(table)
        conn.execute("DELETE FROM alert_rules")
        ensure_all_rules(conn, bench_alert_rules.NOW)
        assert (conn.fetchall(table), len(raw)) == (raw, 5 * 10 + 2 * 3)  # every point has every fact: 10 rules
