"""One tenant's load cannot take the sandbox from the others: runs in flight per tenant."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.runs import fairness
from apps.runs.models import Run
from tests.conftest import Persona
from tests.runs.helpers import add_function, allow, execute

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_counts() -> None:
    cache.clear()


def test_slots_are_counted_refused_over_the_limit_and_given_back() -> None:
    key = fairness.in_flight_key("t_1")
    with fairness.in_flight_slot("t_1", 2), fairness.in_flight_slot("t_1", 2):
        assert cache.get(key) == 2
        with pytest.raises(fairness.TenantBusy), fairness.in_flight_slot("t_1", 2):
            pass
        assert cache.get(key) == 2
        with fairness.in_flight_slot("t_2", 2):  # another tenant has its own slots
            assert cache.get(fairness.in_flight_key("t_2")) == 1
    assert cache.get(key) == 0


def test_a_slot_is_given_back_when_the_run_raises() -> None:
    with pytest.raises(RuntimeError), fairness.in_flight_slot("t_1", 1):
        raise RuntimeError("boom")
    with fairness.in_flight_slot("t_1", 1):
        assert cache.get(fairness.in_flight_key("t_1")) == 1


def test_the_bound_comes_from_the_setting_or_the_tenants_limits(settings) -> None:
    settings.SANDBOX_TENANT_MAX_IN_FLIGHT = 5
    assert fairness.max_in_flight({}) == 5
    assert fairness.max_in_flight({"max_in_flight": 2}) == 2
    for bad in (0, -1, True, "3", 1.5):
        assert fairness.max_in_flight({"max_in_flight": bad}) == 5


def test_a_busy_tenant_is_denied_with_tenant_busy_and_others_run(
    alice: Persona, charlie: Persona
) -> None:
    alice.tenant.limits = {"max_in_flight": 1}
    alice.tenant.save()
    add_function(alice.tenant, "a", allow("a"))
    add_function(charlie.tenant, "c", allow("c"))
    key = fairness.in_flight_key(str(alice.tenant.pk))
    cache.set(key, 1, fairness.IN_FLIGHT_TTL_S)  # one run of alice's is in the sandbox

    response = execute(alice)
    body = response.json()
    assert response.status_code == 200
    assert body["decision"] == "deny"
    assert body["error"]["code"] == "tenant_busy"
    assert "at most 1 at once" in body["error"]["message"]
    run = Run.objects.get(id=body["run_id"])
    assert run.status == "error" and run.error_code == "tenant_busy"
    assert cache.get(key) == 1  # the refused run took no slot

    assert execute(charlie).json()["decision"] == "allow"
    cache.set(key, 0, fairness.IN_FLIGHT_TTL_S)
    assert execute(alice).json()["decision"] == "allow"
    assert cache.get(key) == 0


def test_cpu_is_counted_per_tenant_per_minute_and_refused_past_the_allowance() -> None:
    fairness.check_cpu("t_1", 100)  # nothing used yet
    fairness.charge_cpu("t_1", 60.4)
    fairness.check_cpu("t_1", 100)
    fairness.charge_cpu("t_1", 40)
    with pytest.raises(fairness.TenantBusy, match="100 ms per minute"):
        fairness.check_cpu("t_1", 100)
    fairness.check_cpu("t_2", 100)  # another tenant has its own allowance
    # The next minute starts from nothing.
    now = 1_800_000_000.0
    assert fairness.cpu_key("t_1", now) != fairness.cpu_key("t_1", now + fairness.CPU_WINDOW_S)


def test_the_cpu_allowance_comes_from_the_setting_or_the_tenants_limits(settings) -> None:
    settings.SANDBOX_TENANT_CPU_MS_PER_MINUTE = 900
    assert fairness.cpu_ms_per_minute({}) == 900
    assert fairness.cpu_ms_per_minute({"cpu_ms_per_minute": 50}) == 50
    for bad in (0, -5, False, "50", 2.5):
        assert fairness.cpu_ms_per_minute({"cpu_ms_per_minute": bad}) == 900


# A fixed amount of work (tens of milliseconds of CPU), not a wall-clock loop: a busy machine
# stretches the wall time, not the CPU time.
BURNS = """
async function pipe(user, context, callback) {
  let x = 0;
  for (let i = 0; i < 5e7; i++) x = (x + i) % 1000003;
  user.x = x;
  callback(null, user, context);
}
"""


def test_a_tenant_past_its_cpu_allowance_gets_tenant_busy_and_others_run(
    alice: Persona, charlie: Persona
) -> None:
    alice.tenant.limits = {"cpu_ms_per_minute": 10}
    alice.tenant.save()
    add_function(alice.tenant, "burns", BURNS)
    add_function(charlie.tenant, "c", BURNS)

    first = execute(alice).json()
    assert first["decision"] == "allow"  # within the allowance when it started
    used = cache.get(fairness.cpu_key(str(alice.tenant.pk)))
    assert 10 <= used < 3000  # what the isolate's thread used, not a guess

    body = execute(alice).json()
    assert body["decision"] == "deny"
    assert body["error"]["code"] == "tenant_busy"
    assert "CPU time allowance (10 ms per minute)" in body["error"]["message"]
    assert Run.objects.get(id=body["run_id"]).error_code == "tenant_busy"
    # Another tenant, running the same code, is not affected.
    assert execute(charlie).json()["decision"] == "allow"


def test_admission_holds_a_slot_charges_what_the_run_used_and_gives_the_slot_back() -> None:
    """The execute path's single entry point, on whichever cache the suite runs with (the
    local-memory one, or Redis through one client and two round trips per run)."""
    slot, cpu = fairness.in_flight_key("t_adm"), fairness.cpu_key("t_adm")
    limits = {"max_in_flight": 2, "cpu_ms_per_minute": 100}
    with fairness.admission("t_adm", limits) as charge:
        assert cache.get(slot) == 1
        with fairness.admission("t_adm", limits):
            assert cache.get(slot) == 2
            with (
                pytest.raises(fairness.TenantBusy, match="2 runs in flight"),
                fairness.admission("t_adm", limits),
            ):
                pass
            assert cache.get(slot) == 2  # the refused run took no slot
        charge(60.4)
    assert cache.get(slot) == 0
    assert cache.get(cpu) == 60

    with fairness.admission("t_adm", limits) as charge:
        charge(40)
    assert cache.get(cpu) == 100
    with (
        pytest.raises(fairness.TenantBusy, match="100 ms per minute"),
        fairness.admission("t_adm", limits),
    ):
        pass
    assert cache.get(slot) == 0
    # Another tenant has its own slots and allowance.
    with fairness.admission("t_other", limits):
        assert cache.get(fairness.in_flight_key("t_other")) == 1


def test_admission_gives_the_slot_back_when_the_run_raises() -> None:
    with pytest.raises(RuntimeError), fairness.admission("t_adm", {"max_in_flight": 1}) as charge:
        charge(5)  # what was charged before the failure stands, on either cache
        raise RuntimeError("sandbox failed")
    assert cache.get(fairness.cpu_key("t_adm")) == 5
    with fairness.admission("t_adm", {"max_in_flight": 1}):
        assert cache.get(fairness.in_flight_key("t_adm")) == 1
