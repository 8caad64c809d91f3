"""`weir export` on a data folder: one hour, a backfill, S3, bad input, and beside an open store."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from tests.metrics.export.test_service import as_points, ingest, make_points, read_hour, wanted
from weir.backends.aws.objects import S3ObjectStore
from weir.backends.folder.objects import FolderObjectStore
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.cli import main
from weir.metrics.export import render as export

H = export.HOUR_NS
HOUR = export.floor_hour(time.time_ns()) - 3 * H  # closed, and well within the retention


def now() -> float:
    return time.time()


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    store = SqliteMetricStore(d / "metrics.db", retention_seconds=30 * 86400)
    ingest(store, make_points(6, 60, HOUR) + make_points(6, 60, HOUR + H, seed=5), now)
    store.close()
    return d


def run(*args: str, **kw):
    return CliRunner().invoke(main, ["export", *args], catch_exceptions=False, **kw)


def test_one_hour_to_the_default_folder(data_dir):
    result = run("--hour", export.format_hour(HOUR), "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    assert "360 rows of 6 series" in result.output
    doc, rows = read_hour(FolderObjectStore(data_dir / "exports"), HOUR)
    assert as_points(rows) == wanted(make_points(6, 60, HOUR), HOUR) and doc["rows"] == 360


def test_backfill_a_range_with_a_progress_bar(data_dir, tmp_path):
    out = tmp_path / "out"
    result = run("--from", export.format_hour(HOUR - H), "--to", export.format_hour(HOUR + H),
                 "--data-dir", str(data_dir), "--out", str(out), "--format", "parquet")
    assert result.exit_code == 0, result.output
    assert "exported 3 of 3 hours, 720 rows" in result.output
    objects = FolderObjectStore(out)
    assert [read_hour(objects, HOUR + k * H)[0]["rows"] for k in (-1, 0, 1)] == [0, 360, 360]
    assert objects.list(export.hour_prefix(HOUR))[-1].endswith(".parquet")


def test_from_without_to_runs_up_to_the_last_closed_hour(data_dir):
    before = export.floor_hour(time.time_ns()) - H
    result = run("--from", export.format_hour(HOUR), "--data-dir", str(data_dir))
    after = export.floor_hour(time.time_ns()) - H
    assert result.exit_code == 0, result.output
    # the command reads the clock once, between `before` and `after` (they differ if an
    # hour turned during the run)
    counts = {(last_closed - HOUR) // H + 1 for last_closed in (before, after)}
    assert any(f"exported {n} of {n} hours, 720 rows" in result.output for n in counts), (counts, result.output)


def test_export_to_s3(data_dir, s3_bucket, moto_server, monkeypatch):
    client, bucket = s3_bucket
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    result = run("--hour", export.format_hour(HOUR), "--data-dir", str(data_dir), "--bucket", bucket,
                 "--prefix", "weir", "--endpoint-url", moto_server)
    assert result.exit_code == 0, result.output
    assert f"to s3://{bucket}/weir/" in result.output
    _, rows = read_hour(S3ObjectStore(client, bucket, "weir"), HOUR)
    assert len(rows) == 360
    key = "weir/" + export.manifest_key(HOUR)
    assert client.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "AES256"


@pytest.mark.parametrize("args, message", [
    (["--hour", "2026-11-22"], "YYYY-MM-DDTHH"),
    (["--hour", "2026-11-22T10:30"], "YYYY-MM-DDTHH"),
    ([], "either --hour, or --from"),
    (["--hour", "2026-11-22T10", "--from", "2026-11-22T09"], "either --hour, or --from"),
    (["--hour", "2026-11-22T10", "--to", "2026-11-22T11"], "--to goes with --from"),
    (["--from", "2026-11-22T10", "--to", "2026-11-22T09"], "--to is before --from"),
    (["--hour", "2999-01-01T00"], "has not closed yet"),
    (["--hour", "2026-11-22T10", "--format", "csv"], "'csv' is not one of"),
])
def test_bad_input_is_a_usage_error_that_says_what_to_do(data_dir, args, message):
    result = run(*args, "--data-dir", str(data_dir))
    assert result.exit_code == 2
    assert message in result.output


def test_a_missing_data_folder_is_a_clear_error(tmp_path):
    result = run("--hour", export.format_hour(HOUR), "--data-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "no metrics database" in result.output and "--data-dir" in result.output
    assert not (tmp_path / "nowhere").exists()


def test_reads_points_a_running_store_has_not_flushed(tmp_path):
    d = tmp_path / "data"
    store = SqliteMetricStore(d / "metrics.db", retention_seconds=30 * 86400)
    try:
        points = make_points(5, 120, HOUR, seed=3)
        ingest(store, points, now)  # in the head and the log only
        result = run("--hour", export.format_hour(HOUR), "--data-dir", str(d))
        assert result.exit_code == 0, result.output
        _, rows = read_hour(FolderObjectStore(d / "exports"), HOUR)
        assert as_points(rows) == wanted(points, HOUR)
        assert store._r.execute("SELECT count(*) FROM log").fetchone()[0] == 1  # untouched
    finally:
        store.close()


def test_serve_has_export_options():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert "--no-exports" in result.output and "--export-format" in result.output
    bad = CliRunner().invoke(main, ["serve", "--export-delay", "soon"])
    assert bad.exit_code == 2 and "--export-delay" in bad.output


def _without(monkeypatch, *packages: str, reimport: tuple[str, ...] = ()) -> None:
    """Make `packages` unimportable (failure injection), and forget the modules that import them."""
    import sys

    for name in list(sys.modules):
        if name.split(".")[0] in packages or name.startswith(reimport):
            monkeypatch.delitem(sys.modules, name)
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)


def test_a_bucket_without_boto3_is_a_clear_error(data_dir, monkeypatch):
    _without(monkeypatch, "boto3", "botocore", reimport=("weir.backends.aws", "weir.wiring.aws"))
    result = CliRunner().invoke(main, ["export", "--hour", export.format_hour(HOUR), "--data-dir", str(data_dir),
                                       "--bucket", "my-bucket"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), "a message, not a traceback"
    assert "'my-bucket' needs boto3" in result.stderr and "pip install 'weir[aws]'" in result.stderr


def test_parquet_without_pyarrow_names_the_extra_with_its_brackets(data_dir, monkeypatch):
    _without(monkeypatch, "pyarrow", reimport=("weir.metrics.export.parquet",))
    result = CliRunner().invoke(main, ["export", "--hour", export.format_hour(HOUR), "--data-dir", str(data_dir),
                                       "--format", "parquet"])
    assert result.exit_code != 0
    assert "weir[parquet]" in result.output


def test_hours_relative_to_now(data_dir):
    """`--hour -1h` is the last closed hour; `--from -4h` runs from the hour four hours back."""
    def last_closed() -> int:
        return export.floor_hour(time.time_ns()) - H

    before = last_closed()  # an hour may turn during the run: either answer is right then
    result = run("--hour", "-1h", "--data-dir", str(data_dir))
    after = last_closed()
    assert result.exit_code == 0, result.output
    assert any((data_dir / "exports" / export.manifest_key(h)).is_file() for h in {before, after})
    result = run("--from", "-4h", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    for hour in range(after - 3 * H, before + H, H):
        assert (data_dir / "exports" / export.manifest_key(hour)).is_file()
    assert read_hour(FolderObjectStore(data_dir / "exports"), HOUR)[1], "HOUR (3 h back) has the points"
    result = run("--hour", "-1x", "--data-dir", str(data_dir))
    assert result.exit_code == 2 and "is not a time" in result.output
