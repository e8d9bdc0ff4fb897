"""Coalesced trigger polling against the emulator: one search per up to 100 employments per round, fan-out,
per-trigger intervals, failures per batch, cancelled triggers leaving, one pooled client, old trigger rows."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from airflow_lanes import import_string, serde_round_trip
from status_fixtures import trigger_events

from airflow_provider_feishu_corehr.triggers import _poller
from airflow_provider_feishu_corehr.triggers._poller import Poller, Subscription, active_pollers
from airflow_provider_feishu_corehr.triggers.offboarding import OffboardingStatusTrigger

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

POLL = 0.1


@pytest.fixture
def one_round(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """``one_round(n)``: the poller's first round starts only once ``n`` triggers subscribed, so all of them share it
    however long starting them takes (Airflow 2.11 reads each trigger's connection in one worker thread, trigger
    after trigger: on a busy machine 120 triggers take more than a second). Counted, not timed: the grouping window
    is widened to 1 s only so that a trigger that subscribed late in that wait is due by the round's start too
    (its first look is due at most the window minus one grid step before it subscribed)."""
    monkeypatch.setattr(_poller, "GROUP_FRACTION", 10.0)
    expected = [0]
    real_round = Poller._round

    async def round_with_every_trigger(self: Poller) -> None:
        while len(self.rounds) == 1 and len(self.subscriptions) < expected[0]:
            await asyncio.sleep(0.005)
        await real_round(self)

    monkeypatch.setattr(Poller, "_round", round_with_every_trigger)

    def set_expected(count: int) -> None:
        expected[0] = count

    return set_expected


def _employments(emu: FeishuEmulator, count: int, status: str = "Approving", start: int = 0) -> list[str]:
    """``count`` new employments, each with one offboarding of ``status``; returns their ids."""
    ids = [f"73100000000{start + i:08d}" for i in range(count)]
    for eid in ids:
        emu.add_offboarding(employment_id=eid, status=status)
    return ids


def _trigger(employment_id: str, **kwargs: Any) -> OffboardingStatusTrigger:
    args: dict[str, Any] = {
        "feishu_conn_id": "feishu_default",
        "employment_id": employment_id,
        "target_statuses": ["Approved"],
        "poll_interval": POLL,
        "max_consecutive_failures": 3,
    }
    args.update(kwargs)
    return OffboardingStatusTrigger(**args)


async def _first_events(triggers: list[OffboardingStatusTrigger]) -> list[dict[str, Any]]:
    async def first(trigger: OffboardingStatusTrigger) -> dict[str, Any]:
        event = await anext(trigger.run())
        return dict(event.payload)

    return list(await asyncio.gather(*(first(t) for t in triggers)))


def test_many_triggers_share_one_search_per_hundred_employments(
    feishu: FeishuEmulator, one_round: Callable[[int], None]
) -> None:
    ids = _employments(feishu, 250, status="Approved")
    one_round(len(ids))
    payloads = asyncio.run(_first_events([_trigger(eid) for eid in ids]))
    assert [p["status"] for p in payloads] == ["success"] * 250
    assert [p["record"]["employment_id"] for p in payloads] == ids  # each trigger got its own record
    assert feishu.request_count("search") == 3  # ceil(250 / 100): one round
    assert feishu.request_count("token") == 1


def test_waiting_triggers_keep_sharing_rounds_until_their_status_changes(
    feishu: FeishuEmulator, one_round: Callable[[int], None]
) -> None:
    ids = _employments(feishu, 150)
    one_round(len(ids))

    async def scenario() -> list[dict[str, Any]]:
        triggers = [_trigger(eid) for eid in ids]
        waiting = asyncio.gather(*(anext(t.run()) for t in triggers))
        while feishu.request_count("search") < 6:  # three rounds of two searches
            await asyncio.sleep(0.01)
        for item in feishu.offboardings():
            if item["offboarding_info"]["employment_id"] in ids:
                feishu.set_status(item["offboarding_id"], "Approved")
        return [dict(e.payload) for e in await waiting]

    payloads = asyncio.run(scenario())
    assert {p["status"] for p in payloads} == {"success"}
    searches = feishu.request_count("search")
    assert searches % 2 == 0  # every round searched both batches, never one search per trigger
    assert searches <= 12


def test_a_failed_search_counts_against_its_batch_only(
    feishu: FeishuEmulator, one_attempt_conn: str, one_round: Callable[[int], None]
) -> None:
    ids = _employments(feishu, 150, status="Approved")
    one_round(len(ids))
    feishu.inject_fault("search", "http_500", count=1)  # the first search of the round: the first 100 triggers
    triggers = [_trigger(eid, feishu_conn_id=one_attempt_conn, max_consecutive_failures=1) for eid in ids]
    payloads = asyncio.run(_first_events(triggers))
    assert [p["status"] for p in payloads] == ["error"] * 100 + ["success"] * 50
    assert {p["http_status"] for p in payloads[:100]} == {500}
    assert feishu.request_count("search") == 2


def test_a_failed_search_is_one_transient_error_and_the_next_round_recovers(
    feishu: FeishuEmulator, one_attempt_conn: str, one_round: Callable[[int], None]
) -> None:
    ids = _employments(feishu, 120, status="Approved")
    one_round(len(ids))
    feishu.inject_fault("search", "http_503", count=1)
    payloads = asyncio.run(_first_events([_trigger(eid, feishu_conn_id=one_attempt_conn) for eid in ids]))
    assert {p["status"] for p in payloads} == {"success"}
    assert feishu.request_count("search") == 3  # 2 searches, the first failed; its batch searched again


def test_each_subscription_looks_once_per_beat_of_its_own_interval(feishu: FeishuEmulator) -> None:
    fast_ids, slow_ids = _employments(feishu, 3), _employments(feishu, 3, start=100)

    async def scenario() -> tuple[Poller, Subscription, Subscription, list[float], list[float]]:
        from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

        hook = FeishuHook()
        poller = Poller(await hook.aget_conn(), "people_corehr_id")
        fast = poller.subscribe(tuple(fast_ids), 0.1)
        slow = poller.subscribe(tuple(slow_ids), 0.5)
        fast_beats, slow_beats = [fast.due], [slow.due]
        for _ in range(12):
            await fast.next_look()
            fast_beats.append(fast.due)
            if slow.due != slow_beats[-1]:
                slow_beats.append(slow.due)
        poller.unsubscribe(fast)
        poller.unsubscribe(slow)
        return poller, fast, slow, fast_beats, slow_beats

    poller, fast, slow, fast_beats, slow_beats = asyncio.run(scenario())
    assert len(fast.looks) == 12
    assert 2 <= len(slow.looks) <= 4  # about 1.2 s at 0.5 s, not once per round of the fast one
    # Every look planned on a beat of its own interval from the poller's anchor, one beat (or more) apart.
    for beats, interval in ((fast_beats, 0.1), (slow_beats, 0.5)):
        steps = [(b - poller.anchor) / interval for b in beats]
        assert steps == pytest.approx([round(k) for k in steps])
        assert all(round(b - a) >= 1 for a, b in itertools.pairwise(steps))
    assert poller.searches == feishu.request_count("search") == 12  # on the shared beats: one search per round


def _spread(count: int, over: float) -> list[float]:
    """Seconds after the start at which each of ``count`` triggers defers, uniformly over ``over`` seconds."""
    return [over * i / count for i in range(count)]


@pytest.mark.parametrize("count", [30, 150])
def test_triggers_deferring_at_spread_moments_merge_into_one_round_per_beat(feishu: FeishuEmulator, count: int) -> None:
    """Triggers that defer one after another over two intervals (as a scheduler starts mapped sensors) end up in
    one round per beat within two intervals after the last one deferred; from then on every round searches all of
    them: ceil(count / 100) searches per interval. The earlier rule kept every group formed at deferral apart."""
    interval = 0.4
    ids = _employments(feishu, count)

    async def scenario() -> tuple[int, int, set[float], int]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        tasks = []
        for eid, at in zip(ids, _spread(count, 2 * interval), strict=True):
            await asyncio.sleep(max(0.0, started + at - loop.time()))
            tasks.append(asyncio.create_task(anext(_trigger(eid, poll_interval=interval).run())))
        while len(active_pollers()) == 0 or len(active_pollers()[0].subscriptions) < count:
            await asyncio.sleep(0.01)
        (poller,) = active_pollers()
        subs = poller.subscriptions
        # Bounded merge: each trigger's first look (at most half an interval after it deferred), its second on the
        # beat: by then every subscription is planned on the same beat.
        while min(len(sub.looks) for sub in subs) < 2:
            await asyncio.sleep(0.01)
        merged_after = feishu.request_count("search")
        dues = {sub.due for sub in subs}
        rounds_before = len(poller.rounds)
        looks_before = {sub: len(sub.looks) for sub in subs}
        while min(len(sub.looks) - looks_before[sub] for sub in subs) < 3:  # three more looks each
            await asyncio.sleep(0.01)
        searches = feishu.request_count("search") - merged_after
        rounds = len(poller.rounds) - rounds_before
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return merged_after, searches, dues, rounds

    merged_after, searches, dues, rounds = asyncio.run(scenario())
    per_round = -(-count // 100)
    assert len(dues) == 1  # one beat for all
    assert rounds in (3, 4)  # the three rounds of the three looks (the first may have begun before the count)
    assert searches == rounds * per_round  # every round searched every trigger's employment
    # Until every trigger had its second look (last deferral at 2 intervals, its first look at most half an
    # interval later, its second at most one and a half after that): at most one round per half interval.
    assert merged_after <= ((2 + 0.5 + 1.5) * 2 + 1) * per_round


def test_cancelled_triggers_leave_and_the_last_one_stops_the_poller(feishu: FeishuEmulator) -> None:
    ids = _employments(feishu, 3)

    async def scenario() -> tuple[int, int, int, int]:
        tasks = [asyncio.create_task(anext(_trigger(eid).run())) for eid in ids]
        while feishu.request_count("search") < 2:
            await asyncio.sleep(0.01)
        (poller,) = active_pollers()
        subscribed = len(poller.subscriptions)
        tasks[0].cancel()
        await asyncio.sleep(0.05)
        after_cancel = len(poller.subscriptions)
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.05)
        searches = feishu.request_count("search")
        await asyncio.sleep(3 * POLL)
        return subscribed, after_cancel, len(active_pollers()), feishu.request_count("search") - searches

    assert asyncio.run(scenario()) == (3, 2, 0, 0)  # all left, the poller stopped, nothing polls any more


def test_one_pooled_client_per_connection_target(
    feishu: FeishuEmulator, monkeypatch: pytest.MonkeyPatch, one_round: Callable[[int], None]
) -> None:
    """Two connection ids of the same app share a poller and its connection pool."""
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_OTHER", json.dumps(json.loads(feishu.airflow_conn_json()) | {"extra": {}}))
    ids = _employments(feishu, 60, status="Approved")
    one_round(len(ids))
    triggers = [
        _trigger(eid, feishu_conn_id="feishu_default" if i % 2 else "feishu_other") for i, eid in enumerate(ids)
    ]
    feishu.reset_counters()
    payloads = asyncio.run(_first_events(triggers))
    assert {p["status"] for p in payloads} == {"success"}
    assert feishu.request_count("search") == 1
    assert feishu.connections_opened <= 2  # one pooled client (token + search may use two connections)


def test_a_trigger_row_in_the_earlier_form_still_runs(feishu: FeishuEmulator) -> None:
    """The kwargs an earlier release's ``serialize()`` wrote, verbatim, rebuilt as the triggerer does."""
    (eid,) = _employments(feishu, 1, status="Approved")
    row = {
        "classpath": "airflow_provider_feishu_corehr.triggers.offboarding.OffboardingStatusTrigger",
        "kwargs": {
            "feishu_conn_id": "feishu_default",
            "employment_id": eid,
            "offboarding_id": None,
            "target_statuses": ["Approved"],
            "failure_statuses": ["Rejected", "Withdrawn"],
            "user_id_type": None,
            "poll_interval": 0.1,
            "max_consecutive_failures": 5,
        },
    }
    trigger = import_string(row["classpath"])(**serde_round_trip(row["kwargs"]))  # as the triggerer does
    (event,) = trigger_events(trigger)
    assert event.payload["status"] == "success"
    assert event.payload["record"]["employment_id"] == eid
    assert trigger.serialize() == (row["classpath"], row["kwargs"])  # and it is written back the same way


def test_a_list_trigger_waits_for_all_and_lists_every_record(feishu: FeishuEmulator) -> None:
    ids = _employments(feishu, 130, status="Approved")
    late = _employments(feishu, 1, start=500)
    trigger = _trigger(None, employment_ids=[*ids, *late], match="all")
    _, kwargs = trigger.serialize()
    assert "employment_id" not in kwargs and kwargs["match"] == "all" and len(kwargs["employment_ids"]) == 131

    def approve_late() -> None:
        (item,) = [i for i in feishu.offboardings() if i["offboarding_info"]["employment_id"] == late[0]]
        feishu.set_status(item["offboarding_id"], "Approved")

    from status_fixtures import after_searches

    with after_searches(feishu, 4, approve_late):
        (event,) = trigger_events(trigger)
    assert event.payload["status"] == "success"
    assert [r["employment_id"] for r in event.payload["records"]] == [*ids, *late]
    assert {r["status"] for r in event.payload["records"]} == {"Approved"}
    assert feishu.request_count("search") % 2 == 0  # two searches (100 + 31 ids) per look


def test_a_list_trigger_with_any_ends_on_the_first_target(feishu: FeishuEmulator) -> None:
    waiting = _employments(feishu, 2)
    done = _employments(feishu, 1, status="Approved", start=300)
    (event,) = trigger_events(_trigger(None, employment_ids=[*waiting, *done], match="any"))
    assert event.payload["status"] == "success"
    assert [r["status"] for r in event.payload["records"]] == ["Approving", "Approving", "Approved"]
    assert feishu.request_count("search") == 1


def test_the_hook_async_path_masks_the_secret_and_builds_the_masking_client(feishu: FeishuEmulator) -> None:
    from airflow.providers.common.compat.sdk import redact

    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    async def scenario() -> tuple[Any, str]:
        hook = FeishuHook()
        settings = await hook.aget_settings()
        assert await hook.aget_settings() is settings  # the connection is read once per hook
        async with await hook.aget_conn() as client:
            token = await client.fetch_token()
        return client, token

    client, token = asyncio.run(scenario())
    assert isinstance(client, AsyncFeishuClient)  # a plain client given the async masker (aon_token)
    assert feishu.app_secret not in str(redact(f"secret={feishu.app_secret}"))
    assert token not in str(redact(f"token={token}"))


def test_pollers_of_one_target_share_one_pooled_client(feishu: FeishuEmulator) -> None:
    """One poller per ``user_id_type``, one client per connection target; both gone after the last trigger."""
    (eid,) = _employments(feishu, 1)
    open_id = feishu.employment_id_as(eid, "open_id")

    async def scenario() -> tuple[int, int, int]:
        triggers = [_trigger(eid, user_id_type="people_corehr_id"), _trigger(open_id, user_id_type="open_id")]
        tasks = [asyncio.create_task(anext(t.run())) for t in triggers]
        while feishu.request_count("search") < 2:
            await asyncio.sleep(0.01)
        pollers = active_pollers()
        clients = {id(p.client) for p in pollers}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.05)
        return len(pollers), len(clients), len(active_pollers())

    assert asyncio.run(scenario()) == (2, 1, 0)


def test_the_next_look_in_the_log_is_when_the_next_round_starts(feishu: FeishuEmulator, logs: Any) -> None:
    """The "first look in" / "next look in" of the trigger's log is when its next round was planned to start (its
    beat plus the grouping window), not one interval after the answer, which was the grouping window (2 s from an
    8 s interval on) plus the round's searches early."""
    (eid,) = _employments(feishu, 1)
    interval = 0.4

    async def scenario() -> tuple[float, list[float], list[float]]:
        task = asyncio.create_task(anext(_trigger(eid, poll_interval=interval).run()))
        while not active_pollers() or not active_pollers()[0].subscriptions:
            await asyncio.sleep(0.005)
        (poller,) = active_pollers()
        (sub,) = poller.subscriptions
        while len(sub.looks) < 4:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return poller.anchor, list(sub.looks), list(poller.rounds)

    anchor, looks, rounds = asyncio.run(scenario())
    text = logs()
    (first,) = set(re.findall(r"first look in ([0-9.]+) s \(about \d\d:\d\d:\d\d UTC\)", text))
    assert float(first) == pytest.approx(rounds[0] - anchor, abs=0.002)  # subscribed as the poller was made
    said = {float(x) for x in re.findall(r"next look in ([0-9.]+) s \(about \d\d:\d\d:\d\d UTC\)", text)}
    planned = [start - answered for answered, start in zip(looks[:3], rounds[1:4], strict=True)]
    for seconds in planned:  # as printed: three significant digits
        assert any(x == pytest.approx(seconds, abs=6e-4) for x in said), (seconds, said)
