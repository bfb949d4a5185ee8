"""Scale-out: Dask clusters (tune, generate, compare) and tf.distribute for the CNN.

Each Dask test starts a small LocalCluster (2 worker processes) and checks
that the cluster gives the same result as this machine, and that the work
really ran on the cluster's workers.
"""

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from captchakit._cluster import parse_scheduler
from captchakit._errors import CaptchakitError
from captchakit.cli import cli

distributed = pytest.importorskip("distributed")


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def cluster():
    """A running 2-worker cluster, reached by its address like a real `dask scheduler`."""
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as c, distributed.Client(c) as client:
        yield c, client


def executed(client):
    """Tasks each worker of the cluster has run so far."""
    return sum(client.run(lambda dask_worker: dask_worker.state.executed_count).values())


@pytest.mark.parametrize("text, expected", [("local:3", ("local", 3)), ("local", ("local", 2)),
                                            ("tcp://1.2.3.4:8786", ("address", "tcp://1.2.3.4:8786")),
                                            ("", None)])
def test_parse_scheduler(text, expected):
    assert parse_scheduler(text) == expected


@pytest.mark.parametrize("text", ["local:0", "nonsense"])
def test_parse_scheduler_refuses(text):
    with pytest.raises(CaptchakitError, match="--scheduler"):
        parse_scheduler(text)


def test_cli_bad_scheduler_is_one_line(tmp_path):
    res = run_cli("generate", tmp_path / "g", "-n", "5", "--scheduler", "nonsense")
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "--scheduler" in res.output and not (tmp_path / "g").exists()


def test_cli_unreachable_scheduler_is_one_line(tmp_path):
    res = run_cli("generate", tmp_path / "g", "-n", "5", "--scheduler", "tcp://127.0.0.1:9")
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "cannot reach the scheduler" in res.output


def test_tune_on_cluster_equals_local(cluster):
    """Same best setting and the same scores as the local (loky) run; the fits ran on the workers."""
    from captchakit.data import generate_captchas
    from captchakit.tune import tune

    c, client = cluster
    X, y = generate_captchas(200, seed=3)
    grid = {"median": [0, 3], "min_area": [12, 30]}
    kw = dict(cv=2, min_resources=80, seed=0, n_jobs=2, echo=lambda *_: None)
    local = tune(X, y, grid, **kw)
    before = executed(client)
    ticks = []

    def bar(items):
        for i in items:
            ticks.append(i)
            yield i

    remote = tune(X, y, grid, scheduler=c.scheduler_address, progress=bar, **kw)
    assert executed(client) > before  # the fits ran on the cluster's workers
    assert remote["best"]["params"] == local["best"]["params"]
    assert [(r["params"], r["cv_mean"], r["cv_std"]) for r in remote["ranking"]] == \
        [(r["params"], r["cv_mean"], r["cv_std"]) for r in local["ranking"]]
    assert remote["test"] == local["test"]
    assert len(ticks) > 0


def test_progress_messages_come_back_from_workers(cluster):
    """The progress bar's queue: what tasks on the workers put arrives here."""
    from captchakit._cluster import parallel_runner

    c, _ = cluster
    with parallel_runner(c.scheduler_address) as runner:
        q, handle, close = runner.queue()
        assert runner.client.submit(lambda h: [h.put(k) for k in range(3)] and 3, handle, pure=False).result() == 3
        assert sorted(q.get(timeout=20) for _ in range(3)) == [0, 1, 2]
        close()


def test_tune_on_local_cluster_cli(tmp_path, gen_dir):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"median": [0, 3], "min_area": [12, 30]}))
    res = run_cli("tune", gen_dir, "--out", tmp_path / "t", "--scheduler", "local:2", "--cv", "2", "--grid", grid)
    assert res.exit_code == 0, res.output
    assert "local Dask cluster of 2 worker processes" in res.output
    assert json.loads((tmp_path / "t" / "best.json").read_text())["preprocess"]


def test_generate_on_cluster_same_bytes(tmp_path, cluster):
    c, client = cluster
    a = run_cli("generate", tmp_path / "a", "-n", "150", "--seed", "4", "--length", "4-5")
    before = executed(client)
    b = run_cli("generate", tmp_path / "b", "-n", "150", "--seed", "4", "--length", "4-5",
                "--scheduler", c.scheduler_address)
    assert a.exit_code == 0 and b.exit_code == 0, b.output
    assert executed(client) > before
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir()) and len(files) == 152
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_compare_many_sets_on_cluster(tmp_path, cluster):
    """Two data sets side by side on the cluster: a report each, a summary, the same figures as here."""
    c, client = cluster
    for name, seed, length in (("set_a", 1, "4"), ("set_b", 2, "5")):
        assert run_cli("generate", tmp_path / name, "-n", "120", "--seed", seed, "--length", length).exit_code == 0
    sets = [tmp_path / "set_a", tmp_path / "set_b"]
    here = run_cli("compare", *sets, "--methods", "knn", "--report", tmp_path / "r1")
    before = executed(client)
    there = run_cli("compare", *sets, "--methods", "knn", "--report", tmp_path / "r2",
                    "--scheduler", c.scheduler_address)
    assert here.exit_code == 0, here.output
    assert there.exit_code == 0, there.output
    assert executed(client) > before
    for r in ("r1", "r2"):
        for name in ("set_a", "set_b"):
            assert (tmp_path / r / name / "report.html").is_file()
            assert (tmp_path / r / name / "models" / "knn" / "model.json").is_file()
        assert (tmp_path / r / "summary.html").is_file()

    def figures(r):
        rows = json.loads((tmp_path / r / "summary.json").read_text())["rows"]
        return [(row["data set"], row["method"], row["whole-string"], row["per-char"]) for row in rows]

    assert figures("r1") == figures("r2")
    assert [f[0] for f in figures("r1")] == ["set_a", "set_b"]
    # the saved model reads like any other
    from captchakit import load_model

    assert load_model(tmp_path / "r2" / "set_a" / "models" / "knn").alphabet_


@pytest.fixture
def dask_cli_cluster(tmp_path):
    """A scheduler and a worker started the way a user starts them: `dask scheduler`, `dask worker`."""
    import os
    import shutil
    import time

    dask_exe = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    if dask_exe is None:
        pytest.skip("the `dask` command is not installed")
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    procs = [subprocess.Popen([dask_exe, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sched_file.exists(), "dask scheduler did not start"
        address = json.loads(sched_file.read_text())["address"]
        procs.append(subprocess.Popen([dask_exe, "worker", address, "--nworkers", "1", "--nthreads", "1",
                                       "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        with distributed.Client(address, timeout="20s") as client:
            client.wait_for_workers(1, timeout=60)
            yield address, client
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_runs_on_a_dask_scheduler_started_from_the_shell(tmp_path, dask_cli_cluster):
    """`--scheduler ADDRESS` of a `dask scheduler` process: the tasks execute on its worker."""
    address, client = dask_cli_cluster
    assert executed(client) == 0
    res = run_cli("generate", tmp_path / "g", "-n", "60", "--seed", "2", "--scheduler", address)
    assert res.exit_code == 0, res.output
    assert executed(client) > 0
    assert len(list((tmp_path / "g").glob("*.png"))) == 60
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"median": [0, 3]}))
    before = executed(client)
    res = run_cli("tune", tmp_path / "g", "--out", tmp_path / "t", "--cv", "2", "--grid", grid,
                  "--scheduler", address)
    assert res.exit_code == 0, res.output
    assert f"the Dask cluster at {address}" in res.output
    assert executed(client) > before


@pytest.mark.cnn
def test_cnn_mirrored_on_two_logical_cpus(tmp_path):
    """MirroredStrategy over two logical CPU devices: two replicas, a saved model that reads the same."""
    pytest.importorskip("tensorflow")
    script = textwrap.dedent(f"""
        import json, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from captchakit import load_model
        from captchakit.cnn_baseline import CNNRecognizer
        from captchakit.data import generate_captchas
        X, y = generate_captchas(131, seed=1)
        rec = CNNRecognizer(height=24, width=48, head="positions", filters=(4, 8, 8, 8), rnn_units=0, epochs=1,
                            batch_size=15, patience=1, warmup_steps=0, verbose=0, distribute="mirrored").fit(X, y)
        rec.save({str(tmp_path / "m")!r})
        print(json.dumps({{"replicas": rec.fit_summary_["replicas"], "batch": rec.settings_["batch_size"],
                          "same": load_model({str(tmp_path / "m")!r}).predict(X[:8]) == rec.predict(X[:8])}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["replicas"] == 2 and res["same"]
