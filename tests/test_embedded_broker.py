"""The embedded broker (missionapp/broker.py) hands out whole messages, each once, while many
processes and threads publish at the same time; a real worker runs every task sent at once."""

import re
import threading

import pytest
from kombu import Connection

from conftest import wait_for
from missionapp.broker import Transport


def _connection(folder):
    return Connection(
        "filesystem://",
        transport=Transport,
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )


def _write(folder, n, count, body):
    with _connection(folder) as conn:
        channel = conn.default_channel
        for i in range(count):
            channel._put("q", {"id": f"{n}-{i}", "body": body})


def test_a_consumer_never_reads_a_message_being_written(tmp_path):
    """Writer processes and consumers race on one folder: with kombu's own `_put` (create the
    file, then lock and encode and write) a consumer takes files still empty and `loads` fails;
    here every message arrives whole, exactly once."""
    import multiprocessing
    from queue import Empty

    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    writers, per_writer = 3, 200
    # A body slow to encode widens the window between creating the file and writing it.
    body = [{"n": i, "text": "x" * 20} for i in range(5_000)]
    errors, received = [], []
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_write, args=(tmp_path, n, per_writer, body)) for n in range(writers)
    ]

    def consume():
        try:
            with _connection(tmp_path) as conn:
                channel = conn.default_channel
                while True:
                    try:
                        message = channel._get("q")
                    except Empty:
                        if not any(p.is_alive() for p in processes) and not channel._size("q"):
                            return
                        continue
                    assert message["body"] == body
                    received.append(message["id"])
        except Exception as exc:  # noqa: BLE001 - asserted on below
            errors.append(exc)

    consumers = [threading.Thread(target=consume) for _ in range(2)]
    for process in processes:
        process.start()
    for thread in consumers:
        thread.start()
    for process in processes:
        process.join(timeout=120)
    for thread in consumers:
        thread.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * writers
    assert errors == []
    expected = {f"{n}-{i}" for n in range(writers) for i in range(per_writer)}
    assert len(received) == len(expected)  # each once: two consumers never share one
    assert set(received) == expected
    assert not [p for p in (tmp_path / "queue").rglob("*") if p.is_file()]


def test_the_configured_broker_is_the_atomic_one_on_the_embedded_stack(settings):
    from missionapp.celery import app

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        with app.connection_for_write() as conn:
            assert isinstance(conn.transport, Transport)
    else:
        assert not hasattr(settings, "CELERY_BROKER_TRANSPORT")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_every_task_sent_at_once_from_many_threads(celery_worker):
    """The flake this broker fixes: many tasks sent at once, and the worker stopped consuming.
    Here 8 threads send 12 tasks each; the worker's log shows each of the 96 succeed."""
    from core.tasks import audit_seal

    ids, errors = [], []

    def send():
        try:
            for _ in range(12):
                ids.append(audit_seal.delay().id)
        except Exception as exc:  # noqa: BLE001 - asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(ids)) == 96

    def succeeded():
        log = celery_worker.log_path.read_text()
        return set(re.findall(r"core\.tasks\.audit_seal\[([0-9a-f-]+)\] succeeded", log))

    done = wait_for(lambda: set(ids) <= succeeded(), timeout=90, message="all 96 tasks")
    assert done
    # The worker still consumes after the burst: one more task runs.
    last = audit_seal.delay().id
    wait_for(lambda: last in succeeded(), message="a task after the burst")
    assert "JSONDecodeError" not in celery_worker.log_path.read_text()
