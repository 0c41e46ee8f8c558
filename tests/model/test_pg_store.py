"""The model store in a real PostgreSQL database, and a worker following it (``ModelFollower``)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from spendcast.api.model_follower import ModelFollower
from spendcast.errors import ModelError, ModelNotFoundError, ModelStoreError
from spendcast.model.artifact import encode
from spendcast.model.pg_store import PostgresStore
from spendcast.model.store import DirectoryStore, fetch_predictor, open_store
from spendcast.model.training import TrainedModel
from spendcast.settings import Settings
from tests.support.postgres import TcpProxy

pytestmark = pytest.mark.postgres


def _store(url: str, tmp_path: Path) -> PostgresStore:
    return PostgresStore(url, copies=DirectoryStore(tmp_path / "copies"))


def test_publish_read_current_and_history(
    postgres_url: str, tmp_path: Path, trained: TrainedModel
) -> None:
    store = _store(postgres_url, tmp_path)
    assert store.current() is None
    assert store.history() == []
    first = encode(trained.pipeline, trained.metrics.as_dict())
    second = encode(trained.pipeline, trained.metrics.as_dict())  # skops bytes differ: a new one
    assert first.version != second.version
    store.publish(first)
    store.publish(second)
    store.publish(first)  # back to the first: its artifact is kept once, its history row added
    assert store.current() == first.version
    assert store.history() == [first.version, second.version]
    assert store.read(second.version) == second.data
    assert fetch_predictor(store).version == first.version
    with pytest.raises(ModelNotFoundError):
        store.read("0123456789ab")
    with pytest.raises(ModelNotFoundError):
        store.read("../secrets")
    # Each artifact read is kept on the local disk, for a start without the database.
    assert (tmp_path / "copies" / f"spendcast-{second.version}.skops").read_bytes() == second.data
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*) FROM spendcast_model_artifacts")).scalar()
        changes = connection.execute(text("SELECT count(*) FROM spendcast_model_history")).scalar()
    engine.dispose()
    assert (rows, changes) == (2, 3)
    store.close()


def test_publishes_at_once_end_on_one_current_version(
    postgres_url: str, tmp_path: Path, trained: TrainedModel
) -> None:
    encoded = [encode(trained.pipeline, trained.metrics.as_dict()) for _ in range(4)]
    stores = [_store(postgres_url, tmp_path) for _ in encoded]  # four replicas, one database
    start = threading.Barrier(len(encoded))

    def publish(n: int) -> None:
        start.wait()
        stores[n].publish(encoded[n])

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(len(encoded))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen = {store.current() for store in stores}
    assert len(seen) == 1
    assert seen <= {e.version for e in encoded}
    assert sorted(stores[0].history()) == sorted(e.version for e in encoded)
    for store in stores:
        store.close()


def test_an_unreachable_store_is_reported_and_the_follower_keeps_its_model(
    postgres_url: str, tmp_path: Path, trained: TrainedModel
) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    store = _store(url, tmp_path)
    first = encode(trained.pipeline, trained.metrics.as_dict())
    store.publish(first)
    follower = ModelFollower(store, poll_seconds=0.1)
    served = follower.first()
    assert served.version == first.version
    assert follower.store_ok

    proxy.cut()
    assert follower.next(served.version) is None
    assert not follower.store_ok
    with pytest.raises(ModelStoreError, match="unreachable"):
        store.current()
    # A worker restarting now starts on its local copy, and says the store is out of reach.
    restarting = _store(url, tmp_path)
    restarted = ModelFollower(restarting, poll_seconds=0.1)
    assert restarted.first().version == first.version
    assert not restarted.store_ok
    restarting.close()

    proxy.restore()
    second = encode(trained.pipeline, trained.metrics.as_dict())
    publisher = _store(postgres_url, tmp_path)
    publisher.publish(second)
    publisher.close()
    followed = follower.next(served.version)
    assert followed is not None
    assert followed.version == second.version
    assert follower.store_ok
    assert follower.problem is None
    proxy.close()
    store.close()


def test_a_broken_current_version_is_retried_after_a_delay_not_every_poll(
    tmp_path: Path, trained: TrainedModel
) -> None:
    store = DirectoryStore(tmp_path)
    store.publish(encode(trained.pipeline, trained.metrics.as_dict()))
    slow = ModelFollower(store, poll_seconds=3600)  # its first retry an hour away
    quick = ModelFollower(store, poll_seconds=0.01)
    served = slow.first().version
    assert quick.first().version == served
    newer = store.publish(encode(trained.pipeline, trained.metrics.as_dict()))
    hidden = newer.path.rename(tmp_path / "elsewhere")
    for follower in (slow, quick):
        assert follower.next(served) is None
        assert follower.problem is not None
        assert newer.version in follower.problem
    hidden.rename(newer.path)  # back, but the slow follower does not look before its delay
    time.sleep(0.05)
    assert slow.next(served) is None
    assert slow.problem is not None
    assert newer.version in slow.problem
    followed = quick.next(served)
    assert followed is not None
    assert followed.version == newer.version
    assert quick.problem is None
    latest = store.publish(encode(trained.pipeline, trained.metrics.as_dict()))
    followed = slow.next(served)  # another version: tried at once
    assert followed is not None
    assert followed.version == latest.version


def test_a_worker_starts_on_the_last_good_version_and_fails_without_any(
    tmp_path: Path, trained: TrainedModel
) -> None:
    store = DirectoryStore(tmp_path)
    good = store.publish(encode(trained.pipeline, trained.metrics.as_dict()))
    (tmp_path / "CURRENT").write_text("0123456789ab\n")
    follower = ModelFollower(store, poll_seconds=1)
    assert follower.first().version == good.version
    assert follower.problem is not None
    assert "0123456789ab" in follower.problem
    good.path.unlink()
    with pytest.raises(ModelError, match="no model"):
        ModelFollower(store, poll_seconds=1).first()


def test_the_settings_pick_the_store(tmp_path: Path, postgres_url: str) -> None:
    assert isinstance(open_store(Settings(model_dir=tmp_path)), DirectoryStore)
    named = open_store(Settings(model_store=str(tmp_path / "shared")))
    assert isinstance(named, DirectoryStore)
    assert named.model_dir == tmp_path / "shared"
    store = open_store(Settings(model_store=postgres_url, model_dir=tmp_path))
    assert isinstance(store, PostgresStore)
    store.close()
    with pytest.raises(ModelStoreError, match="SPENDCAST_MODEL_STORE"):
        open_store(Settings(model_store="sqlite:///models.db"))
