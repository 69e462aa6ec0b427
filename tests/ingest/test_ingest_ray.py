"""The Ray path builds the same index as the local one, on a 2-CPU cluster started here (skipped without ray).

One cluster for the module (starting one takes seconds). Its workers see RAGFORGE_TEST_RAY_KILL_ONCE: deleting
that marker makes the next embedding call kill its worker, once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ragforge.config import IndexConfig
from ragforge.errors import ClusterError, ConfigError
from ragforge.ingest import sync_folder
from ragforge.ingest.ray_tasks import KILL_ONCE
from ragforge.store import Store

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from ragforge.ingest.ray_executor import RayExecutor, check_reachable  # noqa: E402 - after the skip

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "corpora" / "sample"
HASHING = IndexConfig(model="hashing:256")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    marker = tmp_path_factory.mktemp("ray") / "killed"
    marker.touch()  # disarmed
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {KILL_ONCE: str(marker)}})
    yield marker
    ray.shutdown()


def _rows(store: Store) -> list[tuple]:
    return sorted(store._conn.execute("SELECT id, source, ordinal, text, text_hash FROM chunks").fetchall())


def _vectors(store: Store) -> dict[str, np.ndarray]:
    hashes = [h for (h,) in store._conn.execute("SELECT DISTINCT text_hash FROM chunks")]
    return store.cached_vectors(hashes)


def _same_index(a: Store, b: Store) -> None:
    assert _rows(a) == _rows(b)
    va, vb = _vectors(a), _vectors(b)
    assert va.keys() == vb.keys() and len(va) == len({r[4] for r in _rows(a)})
    worst = max(float(np.abs(va[h] - vb[h]).max()) for h in va)
    assert worst < 1e-5, f"vectors differ by {worst}"
    assert a.info().chunks == b.info().chunks == a._index.ntotal == b._index.ntotal


def _folder(root: Path, n: int) -> Path:
    root.mkdir()
    for i in range(n):
        words = " ".join(f"w{(i * 7 + j) % 997}" for j in range(12 + i % 40))
        (root / f"d{i % 20:02d}").mkdir(exist_ok=True)
        (root / f"d{i % 20:02d}" / f"f{i:04d}.txt").write_text(f"File {i}. {words}.\n\nBoilerplate footer.\n")
    (root / "empty.txt").write_text("")
    (root / "binary.txt").write_bytes(b"\x00\x01\x02" * 50)
    return root


def test_the_sample_corpus_gives_the_same_index_when_a_worker_is_killed_mid_run(cluster: Path,
                                                                                tmp_path: Path) -> None:
    local = Store.create(tmp_path / "local", HASHING)
    expected = sync_folder(local, SAMPLE)
    remote = Store.create(tmp_path / "ray", HASHING)
    cluster.unlink()  # armed: the first embedding call kills its actor; Ray starts it again and retries
    report = sync_folder(remote, SAMPLE, executor=RayExecutor(actors=2, cpus_per_actor=0.75, batch_size=8))
    assert cluster.exists(), "no worker was killed"
    assert (report.added, report.chunks_added) == (expected.added, expected.chunks_added)
    assert report.added >= 30
    _same_index(local, remote)
    local.close()
    remote.close()


def test_2000_files_with_the_default_resources_then_an_incremental_sync(cluster: Path, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "docs", 2000)
    executor = RayExecutor()
    assert executor.resources() == (2, 0.75)  # one single-threaded actor per CPU, half a CPU left to the reads
    local = Store.create(tmp_path / "local", HASHING)
    expected = sync_folder(local, folder)
    remote = Store.create(tmp_path / "ray", HASHING)
    report = sync_folder(remote, folder, executor=executor)
    assert (report.added, report.chunks_added) == (expected.added, expected.chunks_added) == (2000, 2000)
    assert [(s.source, s.reason) for s in report.skipped] == [(s.source, s.reason) for s in expected.skipped]
    assert report.chunks_embedded == expected.chunks_embedded
    _same_index(local, remote)

    for i in range(0, 50, 5):
        path = folder / f"d{i % 20:02d}" / f"f{i:04d}.txt"
        path.write_text(path.read_text() + "A new last line about otters.\n")
    (folder / "d01" / "f0001.txt").rename(folder / "moved.txt")
    (folder / "d02" / "f0002.txt").unlink()
    expected, report = sync_folder(local, folder), sync_folder(remote, folder, executor=executor)
    counts = ("added", "changed", "removed", "renamed", "unchanged", "chunks_embedded", "chunks_from_cache")
    assert [getattr(report, c) for c in counts] == [getattr(expected, c) for c in counts]
    assert (report.changed, report.renamed, report.removed) == (10, 1, 1)
    assert report.chunks_embedded == 10  # the renamed file's vector came from the cache, never sent
    _same_index(local, remote)
    local.close()
    remote.close()


def test_a_driver_killed_mid_run_leaves_the_last_commit(cluster: Path, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "docs", 60)
    index = tmp_path / "idx"
    with Store.create(index, HASHING) as store:
        sync_folder(store, folder)
        before = _rows(store)
    for i in range(0, 60, 2):
        (folder / f"d{i % 20:02d}" / f"f{i:04d}.txt").write_text(f"rewritten {i} about herons\n")
    address = ray.get_runtime_context().gcs_address
    command = [sys.executable, "-m", "ragforge.cli", "index", str(folder), "--index", str(index), "--ray", address,
               "--actors", "1", "--cpus-per-actor", "1", "-q"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), RAGFORGE_TEST_CRASH_AT="before_commit")
    crashed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert crashed.returncode != 0
    with Store.open(index) as store:
        assert _rows(store) == before
    del env["RAGFORGE_TEST_CRASH_AT"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "changed 30" in done.stdout
    local = Store.create(tmp_path / "local", HASHING)
    sync_folder(local, folder)
    with Store.open(index) as store:
        _same_index(local, store)
    local.close()


def test_resources_that_would_starve_the_read_tasks_are_refused(cluster: Path) -> None:
    with pytest.raises(ConfigError, match="44687"):
        RayExecutor(actors=2, cpus_per_actor=1).resources()
    with pytest.raises(ConfigError, match="fits on no node"):
        RayExecutor(actors=1, cpus_per_actor=3).resources()
    assert RayExecutor(actors=2, cpus_per_actor=0.75).resources() == (2, 0.75)
    with pytest.raises(ConfigError):
        RayExecutor(actors=0)


def test_an_unreachable_cluster_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="no Ray cluster answers at 127.0.0.1:9"):
        check_reachable("127.0.0.1:9")
    folder = _folder(tmp_path / "docs", 3)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "ragforge.cli", "index", str(folder), "--index",
                          str(tmp_path / "idx"), "--model", "hashing:32", "--ray", "127.0.0.1:9"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [run.stderr.strip()] and "no Ray cluster answers" in run.stderr
