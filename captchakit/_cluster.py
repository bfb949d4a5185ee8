"""Where parallel work runs: this machine's processes (joblib's loky) or a Dask cluster.

One machine is the default and needs nothing more.  ``--scheduler`` moves
the work onto Dask (``pip install 'captchakit[dask]'``):

* ``local:N`` starts a :class:`distributed.LocalCluster` of N worker
  processes for the run and stops it afterwards;
* ``tcp://HOST:PORT`` (or any address :class:`distributed.Client` accepts)
  uses a running cluster (``dask scheduler`` / ``dask worker``).

Work is sent through joblib's Dask backend, so a search, a generation or a
comparison gives the same result wherever it runs.  Dask is imported only
when a scheduler is given.
"""

import contextlib
import logging
import queue as _queue
import re

from captchakit._errors import CaptchakitError

_LOCAL = re.compile(r"^local(?::(\d+))?$")


def parse_scheduler(text):
    """``None``, ``("local", n_workers)`` or ``("address", address)``.

    Examples
    --------
    >>> parse_scheduler("local:2")
    ('local', 2)
    >>> parse_scheduler("tcp://10.0.0.5:8786")
    ('address', 'tcp://10.0.0.5:8786')
    >>> parse_scheduler(None) is None
    True
    """
    if text is None or str(text).strip() == "":
        return None
    text = str(text).strip()
    m = _LOCAL.match(text)
    if m:
        n = int(m.group(1) or 2)
        if n < 1:
            raise CaptchakitError(f"--scheduler local:N needs N >= 1, got {text!r}")
        return ("local", n)
    if "://" not in text and ":" not in text:
        raise CaptchakitError(f"--scheduler takes local:N or a scheduler address such as tcp://HOST:8786, "
                              f"got {text!r}")
    return ("address", text)


class Runner:
    """What a parallel section needs: joblib's *n_jobs*, the Dask client (or None) and a tick queue."""

    def __init__(self, n_jobs, client=None, description="this machine"):
        self.n_jobs = n_jobs
        self.client = client
        self.description = description

    @property
    def on_cluster(self):
        return self.client is not None

    def queue(self):
        """A queue that worker processes can put small messages into and this process reads.

        On Dask a :class:`distributed.Queue` (through the scheduler), handed
        to the workers by name only; with local processes a multiprocessing
        manager's queue; else an in-process queue.  Returns
        ``(queue, handle_for_workers, close)``.
        """
        if self.client is not None:
            from distributed import Queue

            q = Queue(client=self.client)
            return q, QueueByName(q.name), (lambda: None)
        if self.n_jobs > 1:
            import multiprocessing

            manager = multiprocessing.Manager()
            q = manager.Queue()
            return q, q, manager.shutdown
        q = _queue.SimpleQueue()
        return q, q, (lambda: None)


class QueueByName:
    """A Dask queue named only, opened on first use on the worker (pickles as its name).

    Pickling a :class:`distributed.Queue` itself would make whoever
    unpickles it (the scheduler, when it reads the task graph) talk to the
    scheduler: a deadlock when the scheduler runs in this process.
    """

    def __init__(self, name):
        self.name = name
        self._queue = None

    def __getstate__(self):
        return {"name": self.name}

    def __setstate__(self, state):
        self.name, self._queue = state["name"], None

    def put(self, item):
        if self._queue is None:
            from distributed import Queue, get_client

            self._queue = Queue(self.name, client=get_client())
        self._queue.put(item)


def each(fn, args, n_jobs=None):
    """``fn(*a)`` for every tuple *a* of *args*, yielded in order.

    With *n_jobs* None or 1 the calls run here, one by one, as the results
    are asked for.  Otherwise they run in *n_jobs* of joblib's loky worker
    processes, named explicitly: a joblib backend set around the caller (the
    Dask backend inside a cluster's task, whose nested calls would wait for
    the cluster's busy workers) is never inherited.

    Examples
    --------
    >>> list(each(pow, [(2, 3), (3, 2)]))
    [8, 9]
    """
    if n_jobs is None or n_jobs == 1:
        return (fn(*a) for a in args)
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(delayed(fn)(*a) for a in args)


def each_workers(n_jobs):
    """How many calls :func:`each` runs at once with *n_jobs*.

    Examples
    --------
    >>> each_workers(None), each_workers(1), each_workers(2)
    (1, 1, 2)
    """
    if n_jobs is None or n_jobs == 1:
        return 1
    from joblib import effective_n_jobs

    return max(1, effective_n_jobs(n_jobs))


@contextlib.contextmanager
def parallel_runner(scheduler=None, n_jobs=1):
    """Context manager: joblib's backend set for *scheduler*; yields a :class:`Runner`.

    Without a scheduler, joblib's loky processes (or nothing when
    ``n_jobs == 1``).  With one, joblib's Dask backend on a client of that
    cluster (a :class:`~distributed.LocalCluster` for ``local:N``, closed on
    exit).

    Examples
    --------
    >>> with parallel_runner(None, n_jobs=1) as run:
    ...     run.on_cluster, run.n_jobs
    (False, 1)
    """
    from joblib import parallel_config

    spec = parse_scheduler(scheduler) if not isinstance(scheduler, tuple) else scheduler
    if spec is None:
        with parallel_config(backend="loky" if n_jobs > 1 else "sequential"):
            yield Runner(n_jobs)
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise CaptchakitError("--scheduler needs Dask: pip install 'captchakit[dask]' "
                              "(dask and distributed)") from None
    kind, value = spec
    cluster = None
    try:
        if kind == "local":
            cluster = LocalCluster(n_workers=value, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            client = Client(value, timeout="5s")
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise CaptchakitError(f"--scheduler {value}: cannot reach the scheduler ({exc})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise CaptchakitError(f"--scheduler {value}: the cluster has no worker (none joined within 60 s)") from None
        with parallel_config(backend=_cluster_backend()):
            yield Runner(-1, client, describe(spec))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _cluster_backend():
    """The name of joblib's Dask backend, registered so that a cluster of one worker thread is used too.

    joblib runs a ``Parallel`` call in this process when the backend's
    effective number of jobs is 1, which is what its Dask backend reports
    for a cluster with one worker thread: the work would silently stay
    here.  This subclass reports at least 2, so the tasks always go to
    the cluster.
    """
    from joblib import register_parallel_backend
    from joblib._dask import DaskDistributedBackend  # joblib's own Dask backend (what backend="dask" uses)

    class ClusterBackend(DaskDistributedBackend):
        def effective_n_jobs(self, n_jobs):
            return max(2, super().effective_n_jobs(n_jobs))

    register_parallel_backend("captchakit-dask", ClusterBackend)
    return "captchakit-dask"


def describe(scheduler):
    """One line saying where the work runs (for the command's output)."""
    spec = scheduler if isinstance(scheduler, tuple) else parse_scheduler(scheduler)
    if spec is None:
        return "this machine"
    return (f"a local Dask cluster of {spec[1]} worker processes" if spec[0] == "local"
            else f"the Dask cluster at {spec[1]}")
