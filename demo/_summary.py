"""The demo's closing summary as text."""

from __future__ import annotations

from ._model import DemoConfig, DemoSummary


def _ms(value: int | None) -> str:
    return "n/a" if value is None else f"{value} ms"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def describe_demo(summary: DemoSummary, config: DemoConfig) -> list[str]:
    report = summary.report
    lines = [
        "",
        "nicelist demo summary",
        f"  events planned / accepted:    {summary.planned} / {summary.accepted}",
        f"  events produced (delivered):  {summary.delivered}  (failed {summary.failed}, "
        f"undelivered {summary.undelivered})",
        f"  archived rows / distinct:     {summary.archived_rows} / {summary.archived_events}",
        f"  lost (delivered, unarchived): {summary.lost}"
        + (f"  e.g. {summary.lost_samples[:3]}" if summary.lost else ""),
        f"  dead-lettered:                {summary.dead_letters}  (undecodable records put: {summary.garbage_sent})",
        f"  {f'reshard {config.shards} -> {config.reshard_target} shards:':<30}{summary.reshard}",
        f"  worker restarts:              {summary.worker_restarts}",
        f"  producing took:               {summary.produce_s:.1f} s",
        f"  first put to fully archived:  {summary.pipeline_s:.1f} s  ({summary.events_per_s:.0f} events/s)",
    ]
    if report is not None:
        lines += [
            f"  kids in the table:            {report.table_items}  ({report.naughty} naughty, {report.nice} nice)",
            f"  put() to DynamoDB item p50:   {_ms(report.latency_percentile(0.5))}",
            f"  put() to DynamoDB item p99:   {_ms(report.latency_percentile(0.99))}",
            f"  Kinesis records archived twice: {report.duplicate_records}",
            f"  reconcile:                    {'AGREE' if report.ok else f'DISAGREE ({report.problems} problems)'}",
        ]
        if not report.ok:
            lines += [
                f"    missing from table {report.missing_from_table}, stale {report.stale_items}, "
                f"differing {report.mismatched_items}, without archived event {report.items_without_archived_event}, "
                f"archived twice {report.duplicate_records}"
            ]
    if summary.worker_metrics:
        shown = [f"{label} {_number(value)}" for label, value in summary.worker_metrics.items()]
        lines.append(f"  worker metrics (CloudWatch):  {', '.join(shown[:5])}")
        lines.append(f"                                {', '.join(shown[5:])}")
    lines += summary.analytics
    lines += [
        f"  Athena DDL:                   nicelist athena-ddl --bucket {config.names.bucket}",
    ]
    if summary.work_dir is not None:
        lines.append(f"  logs and spools:              {summary.work_dir}")
    lines.append("RESULT: nothing lost, table agrees with archive" if summary.ok else "RESULT: FAILED (see above)")
    return lines
