"""Automations (migration 0013) on every backend: the model as JSON, the engine's state, the run
and action log, continuations, and the organization taking its automations along.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

from test_contract import T0
from test_contract_console_sessions import add_org

from pinbase.storage.automations import ActionLogEntry, NewAutomationRun
from pinbase.storage.sql import SqlStore

SPEC = {"name": "Hot", "isActive": True, "condition": {"kind": "SCENE"}, "actions": []}


async def test_an_automation_is_stored_listed_updated_and_deleted(store: SqlStore) -> None:
    """An automation reads back armed with its JSON; update and toggle re-arm; delete ends it."""
    acme, other = await add_org(store, "Acme"), await add_org(store, "Other")
    async with store.transaction() as tx:
        first = await tx.add_automation(
            org_id=acme, owner_id=3, name="Hot", is_active=True, spec=SPEC, created_at=T0
        )
        await tx.add_automation(
            org_id=other, owner_id=None, name="B", is_active=False, spec=SPEC, created_at=T0
        )
        await tx.save_automation_state(first, armed=False, last_fired_at=T0 + 1, last_slot_at=T0)
        await tx.save_automation_state(first)
    async with store.transaction() as tx:
        found = await tx.find_automation(first)
        assert found is not None
        assert (found.name, found.spec, found.owner_id) == ("Hot", SPEC, 3)
        assert (found.armed, found.last_fired_at, found.last_slot_at) == (False, T0 + 1, T0)
        assert [a.id for a in await tx.list_automations([acme])] == [first]
        assert len(await tx.list_automations(None)) == 2
        assert await tx.count_automations(acme) == 1
        assert await tx.update_automation(first, name="Warm", is_active=True, spec=SPEC)
        assert not await tx.update_automation(999, name="x", is_active=True, spec=SPEC)
    async with store.transaction() as tx:
        found = await tx.find_automation(first)
        assert found is not None
        assert (found.name, found.armed) == ("Warm", True)
        assert await tx.set_automation_active(first, active=False)
        assert not await tx.set_automation_active(999, active=False)
        found = await tx.find_automation(first)
        assert found is not None
        assert (found.is_active, found.spec["isActive"]) == (False, False)
        assert await tx.delete_automation(first)
        assert not await tx.delete_automation(first)
        assert await tx.find_automation(first) is None


async def test_runs_actions_and_continuations(store: SqlStore) -> None:
    """Runs log newest first with their actions; continuations come due once and cancel."""
    acme = await add_org(store, "Acme")
    async with store.transaction() as tx:
        automation = await tx.add_automation(
            org_id=acme, owner_id=None, name="A", is_active=True, spec=SPEC, created_at=T0
        )
        skipped = await tx.add_automation_run(
            automation_id=automation,
            org_id=acme,
            trigger_kind="DEVICE_STATE",
            trigger_device_id=1,
            trigger_datastream_id=2,
            trigger_value="41",
            started_at=T0,
            finished_at=T0,
            status="SKIPPED",
            reason="AUTOMATION_LIMIT_PERIOD",
        )
        run = await tx.add_automation_run(
            automation_id=automation,
            org_id=acme,
            trigger_kind="SCENE",
            trigger_device_id=None,
            trigger_datastream_id=None,
            trigger_value=None,
            started_at=T0 + 5,
            status="RUNNING",
        )
        entry = ActionLogEntry(
            run_id=run,
            seq=0,
            type="CONTROL_DEVICE",
            device_id=1,
            datastream_id=2,
            value="1",
            status="OK",
            reason=None,
            ts=T0 + 5,
        )
        await tx.add_action_log([entry])
        await tx.add_action_log([])
        waiting = await tx.add_continuation(
            automation_id=automation, run_id=run, step=2, due_at=T0 + 100, context={"v": "41"}
        )
    async with store.transaction() as tx:
        runs = await tx.list_automation_runs(automation, since=T0, until=T0 + 10, limit=10)
        assert [r.id for r in runs] == [run, skipped]
        assert runs[1].reason == "AUTOMATION_LIMIT_PERIOD"
        stored = await tx.find_automation(automation)
        assert stored is not None
        assert stored.last_executed_at == T0 + 5
        assert await tx.list_action_log([run]) == [entry]
        assert await tx.list_action_log([]) == []
        assert await tx.next_continuation_due() == T0 + 100
        assert await tx.due_continuations(T0 + 99, limit=10) == []
        [due] = await tx.due_continuations(T0 + 100, limit=10)
        assert (due.id, due.step, due.context) == (waiting, 2, {"v": "41"})
        assert await tx.delete_continuation(waiting)
        assert not await tx.delete_continuation(waiting)
        await tx.add_continuation(
            automation_id=automation, run_id=run, step=2, due_at=T0 + 100, context={}
        )
        assert await tx.cancel_continuations(automation, finished_at=T0 + 7) == 1
        assert await tx.next_continuation_due() is None
        [latest, _] = await tx.list_automation_runs(automation, since=0, until=T0 + 10, limit=5)
        assert (latest.status, latest.finished_at) == ("CANCELLED", T0 + 7)
        assert await tx.delete_automation_runs_before(T0 + 6) == 2
        assert await tx.list_action_log([run]) == []


async def test_an_organization_takes_its_automations_along(store: SqlStore) -> None:
    """Deleting an organization deletes its automations and their log."""
    acme = await add_org(store, "Acme")
    async with store.transaction() as tx:
        automation = await tx.add_automation(
            org_id=acme, owner_id=None, name="A", is_active=True, spec=SPEC, created_at=T0
        )
        await tx.add_automation_run(
            automation_id=automation,
            org_id=acme,
            trigger_kind="SCENE",
            trigger_device_id=None,
            trigger_datastream_id=None,
            trigger_value=None,
            started_at=T0,
            status="OK",
        )
        assert await tx.delete_organization(acme) is not None
    async with store.transaction() as tx:
        assert await tx.list_automations(None) == []


async def test_devices_switched_out_of_an_automation(store: SqlStore) -> None:
    """Opt-outs read back with the automation, switch back in, and go with it."""
    acme = await add_org(store, "Acme")
    async with store.transaction() as tx:
        first = await tx.add_automation(
            org_id=acme, owner_id=None, name="A", is_active=True, spec=SPEC, created_at=T0
        )
        second = await tx.add_automation(
            org_id=acme, owner_id=None, name="B", is_active=True, spec=SPEC, created_at=T0
        )
        await tx.set_automation_opt_out(first, 7, opted_out=True)
        await tx.set_automation_opt_out(first, 7, opted_out=True)
        await tx.set_automation_opt_out(first, 8, opted_out=True)
        await tx.set_automation_opt_out(second, 9, opted_out=True)
        await tx.set_automation_opt_out(first, 8, opted_out=False)
    async with store.transaction() as tx:
        found = await tx.find_automation(first)
        assert found is not None
        assert found.opted_out == {7}
        listed = await tx.list_automations([acme])
        assert [(a.id, set(a.opted_out)) for a in listed] == [(first, {7}), (second, {9})]
        assert await tx.list_automation_opt_outs(None) == [(first, 7), (second, 9)]
        await tx.delete_automation(first)
        assert await tx.list_automation_opt_outs(None) == [(second, 9)]
        await tx.delete_organization(acme)
        assert await tx.list_automation_opt_outs(None) == []


async def test_runs_added_together_keep_their_order(store: SqlStore) -> None:
    """Runs added in one call get ids in order, read back as given, and set each automation's
    last execution to its latest non-skipped start."""
    acme = await add_org(store, "Acme")
    async with store.transaction() as tx:
        first = await tx.add_automation(
            org_id=acme, owner_id=None, name="A", is_active=True, spec=SPEC, created_at=T0
        )
        second = await tx.add_automation(
            org_id=acme, owner_id=None, name="B", is_active=True, spec=SPEC, created_at=T0
        )
        assert await tx.add_automation_runs([]) == []
        runs = [
            NewAutomationRun(
                automation_id=automation,
                org_id=acme,
                trigger_kind="DEVICE_STATE",
                trigger_device_id=1,
                trigger_datastream_id=2,
                trigger_value=str(n),
                started_at=T0 + n,
                finished_at=T0 + n + 1,
                status=status,
                reason="AUTOMATION_LIMIT_PERIOD" if status == "SKIPPED" else None,
            )
            for n, (automation, status) in enumerate(
                [(first, "OK"), (second, "FAILED"), (first, "OK"), (second, "SKIPPED")]
            )
        ]
        ids = await tx.add_automation_runs(runs)
    assert ids == sorted(ids)
    assert len(set(ids)) == 4
    async with store.transaction() as tx:
        listed = await tx.list_automation_runs(first, since=T0, until=T0 + 10, limit=10)
        assert [(r.id, r.trigger_value, r.status) for r in listed] == [
            (ids[2], "2", "OK"),
            (ids[0], "0", "OK"),
        ]
        skipped = await tx.list_automation_runs(second, since=T0, until=T0 + 10, limit=10)
        assert [(r.id, r.reason, r.finished_at) for r in skipped] == [
            (ids[3], "AUTOMATION_LIMIT_PERIOD", T0 + 4),
            (ids[1], None, T0 + 2),
        ]
        found_first = await tx.find_automation(first)
        found_second = await tx.find_automation(second)
    assert found_first is not None
    assert found_second is not None
    assert (found_first.last_executed_at, found_second.last_executed_at) == (T0 + 2, T0 + 1)


async def test_many_rules_arming_is_saved_at_once(store: SqlStore) -> None:
    """Saving several rules' arming in one call sets each; no last firing keeps the stored one."""
    acme = await add_org(store, "Acme")
    async with store.transaction() as tx:
        first = await tx.add_automation(
            org_id=acme, owner_id=None, name="A", is_active=True, spec=SPEC, created_at=T0
        )
        second = await tx.add_automation(
            org_id=acme, owner_id=None, name="B", is_active=True, spec=SPEC, created_at=T0
        )
        await tx.save_automation_state(second, last_fired_at=T0)
        await tx.save_automation_states([])
        await tx.save_automation_states([(first, False, T0 + 5), (second, False, None)])
    async with store.transaction() as tx:
        found = [await tx.find_automation(a) for a in (first, second)]
    assert [(f.armed, f.last_fired_at) for f in found if f is not None] == [
        (False, T0 + 5),
        (False, T0),
    ]
