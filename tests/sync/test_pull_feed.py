"""R27-R29: the pull feed pages in commit order, survives a restore, and reaches new assignees."""

import pytest
from sync_helpers import DEV_A, VISIT, Phone, checklist, make_store, push

from sync.engine import CursorError, build_pull, emit_visit_snapshot
from sync.store import Change


def feed(n, visit_id=VISIT):
    store = make_store()
    for i in range(n):
        store.record_change(
            Change("checklist_item", f"{visit_id}:i{i}", visit_id, "upsert", {"n": i})
        )
    return store


def pull_all(store, scope=None, cursor=None, limit=3):
    """Pull until has_more is false, as the client does; return ids seen and the last cursor."""
    seen, pages = [], 0
    while True:
        page = build_pull(store, scope, cursor, limit)
        seen += [c.id for c in page.changes]
        cursor, pages = page.cursor, pages + 1
        assert pages < 100, "the client would loop forever"
        if not page.has_more:
            return seen, cursor, pages


@pytest.mark.parametrize(("count", "limit", "pages"), [(6, 3, 2), (7, 3, 3), (3, 3, 1), (0, 3, 1)])
def test_r27_pull_pages_and_has_more_at_exact_page_size(count, limit, pages):
    store = feed(count)
    seen, cursor, n = pull_all(store, limit=limit)
    assert seen == [f"12:i{i}" for i in range(count)]
    assert n == pages
    assert cursor == f"e1:{count}"
    again = build_pull(store, None, cursor, limit)
    assert (again.changes, again.has_more) == ([], False)


def test_r27_exact_page_says_no_more():
    """RxDB #3727: a page exactly full must not claim there is more."""
    page = build_pull(feed(3), None, None, 3)
    assert len(page.changes) == 3 and page.has_more is False


def test_r27_pull_returns_only_changes_after_cursor_in_order():
    store = feed(2)
    first = build_pull(store, None, None, 10)
    store.record_change(Change("payment", "p", VISIT, "upsert", {}))
    page = build_pull(store, None, first.cursor, 10)
    assert [c.id for c in page.changes] == ["p"]


def test_r27_pull_respects_scope_and_wire_shape():
    store = feed(2)
    store.add_visit(13)
    store.record_change(Change("payment", "p13", 13, "upsert", {"amount_fen": 1}))
    page = build_pull(store, {13}, None, 10)
    assert page.to_wire()["changes"] == [
        {
            "entity": "payment",
            "id": "p13",
            "visit_id": 13,
            "op": "upsert",
            "data": {"amount_fen": 1},
        }
    ]
    assert set(page.to_wire()) == {"cursor", "has_more", "resync", "changes", "server_time", "hlc"}


def test_r27_pushed_ops_appear_in_the_feed():
    store = make_store()
    push(store, DEV_A, [Phone(DEV_A).op("checklist.set", checklist("kit"))])
    [change] = build_pull(store, None, None, 10).changes
    assert (change.entity, change.id, change.data["state"]) == ("checklist_item", "12:kit", "done")


@pytest.mark.parametrize(("limit", "used"), [(None, 500), (0, 1), (10_000, 1000)])
def test_r27_limit_is_bounded(limit, used):
    store = feed(1001)
    assert len(build_pull(store, None, None, limit).changes) == used


def test_r28_epoch_change_resyncs():
    store = feed(4)
    page = build_pull(store, None, None, 10)
    store.restore_epoch("e2")  # restored from a backup
    page = build_pull(store, None, page.cursor, 2)
    assert page.resync is True
    assert [c.id for c in page.changes] == ["12:i0", "12:i1"]
    assert page.cursor == "e2:2"
    assert build_pull(store, None, page.cursor, 2).resync is False


@pytest.mark.parametrize("bad", ["nonsense", "e1:", ":5", "e1:-1", "e1:x"])
def test_r28_malformed_cursor_is_an_error(bad):
    with pytest.raises(CursorError):
        build_pull(feed(1), None, bad, 10)


def test_r29_newly_assigned_visit_reaches_device():
    store = make_store()
    store.add_visit(13)
    a = Phone(DEV_A)
    push(store, DEV_A, [a.op("checklist.set", checklist("kit"), visit_id=13)])
    push(store, DEV_A, [a.op("checklist.set", checklist("kit"))])
    # Device B sees only visit 12 and has pulled past visit 13's history.
    _, cursor, _ = pull_all(store, scope={VISIT})
    assert cursor == "e1:2"
    assert build_pull(store, {VISIT, 13}, cursor, 10).changes == []  # assigned, yet nothing new
    added = emit_visit_snapshot(store, 13)  # the office assigns visit 13 to B
    page = build_pull(store, {VISIT, 13}, cursor, 10)
    assert added == 2
    assert [(c.entity, c.id) for c in page.changes] == [
        ("visit", "13"),
        ("checklist_item", "13:kit"),
    ]


def test_r27a_cursor_skips_what_the_scope_cannot_see():
    from sync.engine import build_pull
    from sync.memory import MemoryStore
    from sync.store import Change

    store = MemoryStore()
    for n in range(5):
        store.position += 1
        store.changes.append(Change("part_event", f"p{n}", 99, "upsert", {}, store.position))
    page = build_pull(store, {12}, None, 10)
    assert page.changes == [] and page.has_more is False
    assert page.cursor == f"{store.epoch()}:5"
    store.position += 1
    store.changes.append(Change("part_event", "mine", 12, "upsert", {}, store.position))
    assert [c.id for c in build_pull(store, {12}, page.cursor, 10).changes] == ["mine"]
