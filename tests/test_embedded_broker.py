"""The embedded broker (missionapp/broker.py) hands out whole messages, each once, while many
processes and threads publish at the same time; a real worker runs every task sent at once."""

import re

import pytest
from kombu import Connection

from conftest import in_thread, wait_for
from missionapp.broker import Transport


def _connection(folder, **options):
    return Connection(
        "filesystem://",
        transport=Transport,
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            **options,
        },
    )


def _write(folder, n, count, body):
    with _connection(folder) as conn:
        channel = conn.default_channel
        for i in range(count):
            channel._put("q", {"id": f"{n}-{i}", "body": body})


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    return tmp_path


def test_a_message_being_written_is_not_yet_in_the_queue(folder, monkeypatch):
    """Deterministic: a consumer looks at the queue while a message is being written (kombu's
    own `_put` had created `<name>.q.msg` empty by then: `loads` failed and the worker's
    consumer stopped). Here it finds nothing, and then the whole message."""
    from queue import Empty

    from missionapp import broker

    seen_during_write = []
    with _connection(folder) as writer, _connection(folder) as reader:
        consumer = reader.default_channel
        encode = broker.str_to_bytes

        def encode_and_look(text):
            try:
                seen_during_write.append(consumer._get("q"))
            except Empty:
                seen_during_write.append("empty")
            return encode(text)

        monkeypatch.setattr(broker, "str_to_bytes", encode_and_look)
        writer.default_channel._put("q", {"id": 1})
        monkeypatch.undo()
        assert seen_during_write == ["empty"]
        assert consumer._get("q") == {"id": 1}
        with pytest.raises(Empty):
            consumer._get("q")


def test_writers_and_consumers_racing_get_each_message_once(folder):
    """Writer processes and two consumers on one folder: every message arrives whole, once
    (kombu moved a taken file to /tmp, a copy when /tmp is another filesystem)."""
    import multiprocessing
    from queue import Empty

    writers, per_writer = 3, 100
    body = [{"n": i, "text": "x" * 20} for i in range(500)]
    errors, received = [], []
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_write, args=(folder, n, per_writer, body)) for n in range(writers)
    ]

    def consume():
        with _connection(folder) as conn:
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

    consumers = [in_thread(consume, errors) for _ in range(2)]
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
    assert not [p for p in (folder / "queue").rglob("*") if p.is_file()]


def test_a_file_that_is_not_a_message_is_set_aside_and_the_next_one_delivered(folder, caplog):
    from queue import Empty

    with _connection(folder) as conn:
        channel = conn.default_channel
        (folder / "queue" / "1_damaged.q.msg").write_bytes(b"")
        channel._put("q", {"id": "after"})
        assert channel._get("q") == {"id": "after"}
        with pytest.raises(Empty):
            channel._get("q")
    assert (folder / "queue" / "claimed" / "1_damaged.q.msg.bad").exists()
    assert "1_damaged.q.msg is not a message (0 bytes)" in caplog.text


def test_what_a_crash_left_is_cleaned_up_or_delivered_again(folder):
    """A writer that died mid-write left a `.part`; a consumer that died between taking a
    message and reading it left it in `claimed/`. Old ones are dealt with by the next
    consumer; recent ones (perhaps a live process's) are left alone."""
    import time
    from queue import Empty

    queue, claimed = folder / "queue", folder / "queue" / "claimed"
    claimed.mkdir()
    (queue / "1_a.q.msg.part").write_text('{"id": "ha')
    (claimed / "2_b.q.msg").write_text('{"id": "taken by a consumer that died"}')
    time.sleep(1.2)
    (queue / "3_c.q.msg.part").write_text('{"id": "be')  # being written now
    (claimed / "4_d.q.msg").write_text('{"id": "being read now"}')
    with _connection(folder, stale_seconds=1.0) as conn:
        channel = conn.default_channel
        assert channel._get("q") == {"id": "taken by a consumer that died"}
        with pytest.raises(Empty):
            channel._get("q")
    assert sorted(p.name for p in queue.iterdir()) == ["3_c.q.msg.part", "claimed"]
    assert [p.name for p in claimed.iterdir()] == ["4_d.q.msg"]


def test_keeping_processed_messages_is_refused_not_ignored(folder):
    connection = _connection(folder, store_processed=True)
    with pytest.raises(ValueError, match="does not keep processed messages"):
        connection.transport  # noqa: B018 - making the transport is what is refused


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
        for _ in range(12):
            ids.append(audit_seal.delay().id)

    threads = [in_thread(send, errors) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(ids)) == 96

    def succeeded():
        log = celery_worker.log_path.read_text()
        return set(re.findall(r"core\.tasks\.audit_seal\[([0-9a-f-]+)\] succeeded", log))

    wait_for(lambda: set(ids) <= succeeded(), timeout=90, message="all 96 tasks")
    # The worker still consumes after the burst: one more task runs.
    last = audit_seal.delay().id
    wait_for(lambda: last in succeeded(), message="a task after the burst")
    assert "JSONDecodeError" not in celery_worker.log_path.read_text()
