"""The store's upkeep stays cheap as the state grows."""

from __future__ import annotations

from stripe_sandbox.store import Store


def test_forgetting_old_idempotency_keys_searches_an_index() -> None:
    # The sweeper runs this four times a second; a full scan grew with every key of the last 24 h.
    store = Store()
    plan = store._db.execute("EXPLAIN QUERY PLAN DELETE FROM idempotency WHERE created < ?", (0.0,)).fetchall()
    assert any("USING INDEX idempotency_by_created" in row[-1] for row in plan)
    store.close()


def test_old_idempotency_keys_are_forgotten_and_new_ones_kept() -> None:
    store = Store()
    with store.transaction():
        store.save_idempotent_response("sk:old", "f", 200, [], b"{}", now=100.0)
        store.save_idempotent_response("sk:new", "f", 200, [], b"{}", now=200.0)
        store.forget_idempotency_before(150.0)
    assert store.idempotent_response("sk:old") is None
    assert store.idempotent_response("sk:new") == ("f", 200, [], b"{}")
    store.close()
