"""Tables (Markdown, printed and written to bench/results/latest.md) and the targets."""

from typing import Any

# The targets of issue 4.
RATIO_TARGETS = {"get_cleaning": 0.5, "list_cleanings": 0.5, "create_cleaning": 0.4}
# Phresh against the smallest idiomatic FastAPI app doing the same work (bench/floor/app.py).
FLOOR_TARGET = 0.95
FLOOR_TARGETS = ("get_cleaning", "list_cleanings", "create_cleaning")
GROWTH_LIMIT = 1.5  # p99 at the largest size over p99 at the smallest, keyset pages and feed
GROWTH_KEYSET = ("list_first", "list_deep", "feed")
SEARCH_P99_MS = 50.0


def _size(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _bad(summary: dict[str, Any]) -> str:
    return f"{summary['socket_errors']} / {summary['non2xx']}"


def comparison_table(phase: dict[str, Any]) -> list[str]:
    lines = [
        "| endpoint | Phresh req/s | p50 ms | p99 ms | reference req/s | p50 ms | p99 ms "
        "| floor req/s | p50 ms | p99 ms | Phresh / reference | Phresh / floor "
        "| errors / non-2xx (P, R, F) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in phase["endpoints"].values():
        p, r, f = row["phresh"], row["reference"], row.get("floor")
        floor_cells = (
            f"{_n(f['requests_per_s'])} | {_ms(f['p50_ms'])} | {_ms(f['p99_ms'])}" if f else " | | "
        )
        floor_ratio = f"**{row['floor_ratio']:.2f}x**" if f else ""
        bad = f"{_bad(p)}, {_bad(r)}" + (f", {_bad(f)}" if f else "")
        lines.append(
            f"| {row['label']} | {_n(p['requests_per_s'])} | {_ms(p['p50_ms'])} "
            f"| {_ms(p['p99_ms'])} | {_n(r['requests_per_s'])} | {_ms(r['p50_ms'])} "
            f"| {_ms(r['p99_ms'])} | {floor_cells} | **{row['ratio']:.2f}x** | {floor_ratio} "
            f"| {bad} |"
        )
    hello = phase.get("hello")
    if hello:
        lines.append(
            f"| hello world (HTTP ceiling) | | | | {_n(hello['requests_per_s'])} "
            f"| {_ms(hello['p50_ms'])} | {_ms(hello['p99_ms'])} | | | | | | {_bad(hello)} |"
        )
    rss = phase.get("rss_mb", {})
    if rss:
        shown = ", ".join(f"{name} {value:.0f} MB" for name, value in rss.items())
        lines.append("")
        lines.append(f"Server RSS after the runs (all processes): {shown}.")
    return lines


def growth_table(growth: dict[str, Any]) -> list[str]:
    sizes = sorted(int(size) for size in growth["sizes"])
    header = "| endpoint | " + " | ".join(f"{_size(s)}: p50 / p99 ms" for s in sizes)
    header += " | req/s at " + " / ".join(_size(s) for s in sizes)
    divider = "|---|" + "---:|" * len(sizes) + "---:|"
    if len(sizes) > 1:
        header += f" | p99 {_size(sizes[-1])} / {_size(sizes[0])}"
        divider += "---:|"
    header += " | DB exec ms (EXPLAIN) | errors / non-2xx |"
    divider += "---:|---|"
    lines = [header, divider]
    first = growth["sizes"][str(sizes[0])]
    for endpoint, sample in first.items():
        cells = []
        throughput = []
        explain = []
        bad = 0
        for size in sizes:
            summary = growth["sizes"][str(size)][endpoint]
            cells.append(f"{_ms(summary['p50_ms'])} / {_ms(summary['p99_ms'])}")
            throughput.append(_n(summary["requests_per_s"]))
            if summary.get("explain_ms") is not None:
                explain.append(_ms(summary["explain_ms"]))
            bad += summary["socket_errors"] + summary["non2xx"]
        line = f"| {sample['label']} | " + " | ".join(cells) + " | " + " / ".join(throughput)
        if len(sizes) > 1:
            line += f" | {growth['p99_growth'][endpoint]:.2f}x"
        line += f" | {' / '.join(explain)} | {bad} |"
        lines.append(line)
    return lines


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []
    one = results.get("comparison", {}).get("1", {}).get("endpoints", {})
    for endpoint, minimum in RATIO_TARGETS.items():
        if endpoint in one:
            ratio = one[endpoint]["ratio"]
            targets.append(
                {
                    "target": f"{one[endpoint]['label']}: Phresh ≥ {minimum}x reference (1 worker)",
                    "value": f"{ratio:.3f}x",
                    "met": ratio >= minimum,
                }
            )
    for endpoint in FLOOR_TARGETS:
        if endpoint in one and "floor_ratio" in one[endpoint]:
            ratio = one[endpoint]["floor_ratio"]
            targets.append(
                {
                    "target": f"{one[endpoint]['label']}: Phresh ≥ {FLOOR_TARGET}x the FastAPI "
                    "floor (1 worker)",
                    "value": f"{ratio:.3f}x",
                    "met": ratio >= FLOOR_TARGET,
                }
            )
    bad = 0
    for phase in results.get("comparison", {}).values():
        for row in phase["endpoints"].values():
            for target in ("phresh", "reference", "floor"):
                if target in row:
                    bad += row[target]["socket_errors"] + row[target]["non2xx"]
    for size in results.get("growth", {}).get("sizes", {}).values():
        for summary in size.values():
            bad += summary["socket_errors"] + summary["non2xx"]
    targets.append({"target": "zero errors and zero non-2xx", "value": str(bad), "met": bad == 0})
    growth = results.get("growth")
    if growth and len(growth["sizes"]) > 1:
        sizes = sorted(int(size) for size in growth["sizes"])
        for endpoint in GROWTH_KEYSET:
            if endpoint in growth["p99_growth"]:
                value = growth["p99_growth"][endpoint]
                label = growth["sizes"][str(sizes[0])][endpoint]["label"]
                targets.append(
                    {
                        "target": f"{label}: p99 {_size(sizes[-1])} / {_size(sizes[0])} "
                        f"≤ {GROWTH_LIMIT}x",
                        "value": f"{value:.2f}x",
                        "met": value <= GROWTH_LIMIT,
                    }
                )
    if growth:
        largest = str(max(int(size) for size in growth["sizes"]))
        search = growth["sizes"][largest].get("search")
        if search:
            connections = growth["connections"]
            targets.append(
                {
                    "target": f"search p99 < {SEARCH_P99_MS:g} ms at {_size(int(largest))} rows, "
                    f"{connections} connections",
                    "value": f"{search['p99_ms']:.1f} ms",
                    "met": search["p99_ms"] < SEARCH_P99_MS,
                }
            )
    return targets


def markdown(results: dict[str, Any]) -> str:
    settings = results["settings"]
    machine = results["machine"]
    lines = [
        f"# Benchmark results ({results['mode']} mode)",
        "",
        f"`{results['command']}` — {results['finished_at']}, {results['duration_s']:.0f} s; "
        f"Phresh at `{results['phresh_commit']}`"
        + (" (with uncommitted changes in src/)" if results.get("src_dirty") else "")
        + ".",
        "",
        f"Machine: {machine['nproc']} cores ({machine['cpu_model']}), "
        f"{machine['memory_gb']} GB, Python {machine['python']}, "
        f"{machine['postgres']['version'].split(' on ')[0]} (embedded, shared_buffers "
        f"{machine['postgres']['shared_buffers']}), {machine['wrk']}.",
        "",
    ]
    for workers, phase in results.get("comparison", {}).items():
        lines += [
            f"## Phresh vs the reference: {workers} worker{'s' if workers != '1' else ''}, "
            f"{_size(phase['size'])} cleanings",
            "",
            f"wrk -t{settings['threads']} -c{settings['connections']} "
            f"(the accept path: -t{settings['connections']} -c{settings['connections']}), "
            f"{settings['duration_s']:g} s a run, median of {settings['runs']} runs, "
            "Phresh, the reference and (on its endpoints) the FastAPI floor alternating.",
            "",
            *comparison_table(phase),
            "",
        ]
    growth = results.get("growth")
    if growth:
        lines += [
            f"## Growth: Phresh, 1 worker, wrk -t2 -c{growth['connections']}, "
            f"{settings['growth_duration_s']:g} s a run, median of "
            f"{settings.get('growth_runs', settings['runs'])} runs",
            "",
            *growth_table(growth),
            "",
        ]
    lines += ["## Targets", "", "| target | measured | |", "|---|---:|---|"]
    for target in results["targets"]:
        lines.append(
            f"| {target['target']} | {target['value']} | {'met' if target['met'] else 'MISSED'} |"
        )
    parity = results.get("sql_parity")
    if parity is not None:
        in_transaction = [call for call, sql in parity["phresh_sql"].items() if "BEGIN" in sql]
        without = [call for call in parity["phresh_sql"] if call not in in_transaction]
        drifted = [call for call, diff in parity["calls"].items() if diff != "same"]
        lines += [
            "",
            f"In a transaction (BEGIN ... COMMIT), in both apps as in Phresh: "
            f"{', '.join(in_transaction) or 'none'}; without one (autocommit): "
            f"{', '.join(without) or 'none'}. SQL parity (the statements PostgreSQL received "
            "from each app, call by call): "
            + (
                f"the same on all {len(parity['calls'])} calls."
                if parity["ok"]
                else f"DRIFT on {', '.join(drifted) or 'no call'}; "
                f"HTTP errors: {len(parity['http_errors'])} (see Anomalies)."
            ),
        ]
    if results.get("anomalies"):
        lines += ["", "## Anomalies", ""]
        lines += [f"- {anomaly}" for anomaly in results["anomalies"]]
    return "\n".join(lines) + "\n"
