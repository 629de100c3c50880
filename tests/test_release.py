"""``infra release`` driven end to end through the real azure-mgmt-web/azure-mgmt-monitor clients over HTTP.

The fake (tests/release_fake.py) behaves like App Service when things go wrong: restart lag, several
instances, Easy Auth redirects, Azure's swap warm-up under production's sticky settings, operations in
progress and 409 Conflict, rampUpRules and the x-ms-routing-name cookie, scripted Azure Monitor metrics.
Every scenario ends by asserting what production serves in the fake (its config, every instance caught up)
and ``production_history``: every version users could have been served.

The eight failures of issue 11 each have a test named ``test_failure_<n>_...``; those tests fail on the
release flow before issue 11 (checked by running this file against it).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import platform_infra.cli.main as cli
import pytest
from azure.core.credentials import AccessToken
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import HeadersPolicy
from azure.mgmt.web import WebSiteManagementClient
from platform_infra.release import cli as release_cli

from tests.release_fake import APP, RESOURCE_GROUP, SUBSCRIPTION, TOKEN, Behaviour, FakeAzure, image, serving

V0 = image("0.9.0")
V1 = image("1.0.0")
V2 = image("2.0.0")
V3 = image("3.0.0")
I2 = "myregistry.azurecr.io/web:2.0.0"


@pytest.fixture(scope="module")
def servers() -> Iterator[FakeAzure]:
    with serving() as fake:
        yield fake


@pytest.fixture
def fake(servers: FakeAzure) -> FakeAzure:
    servers.reset(production=V1, staging=V0)
    servers.record(previous=V0, current=V1)
    return servers


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """``infra``'s parser, built once (~180 arguments): parsing leaves it as it was, with a new Namespace."""
    return cli.build_parser()


class FakeCredential:
    """A TokenCredential that hands out a fixed token (the fake ARM endpoint checks it)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, 4_102_444_800)


class PlainHttpAllowed(HeadersPolicy):
    """Lets the bearer-token policy send to the fake's http:// URL (it refuses non-TLS URLs by default)."""

    def on_request(self, request: PipelineRequest) -> None:
        request.context.options["enforce_https"] = False
        super().on_request(request)


class FakeClock:
    """Monotonic and wall time that only move when the flow sleeps, so waits cost nothing."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_795_000_000.0 + self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Run:
    code: int
    lines: list[str]
    stderr: str
    clock: FakeClock

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _client(base_url: str) -> WebSiteManagementClient:
    return WebSiteManagementClient(
        FakeCredential(),  # type: ignore[arg-type]  # duck-typed TokenCredential
        SUBSCRIPTION,
        base_url=base_url,
        headers_policy=PlainHttpAllowed(),
        retry_total=0,
        # The fake listens on 127.0.0.1: no proxy of the environment applies, and requests would otherwise
        # read the environment's proxy settings again for every request (Session.trust_env).
        use_env_settings=False,
    )


def _metrics(base_url: str):
    from azure.mgmt.monitor import MonitorManagementClient
    from platform_infra.release.gates import monitor_reader

    client = MonitorManagementClient(
        FakeCredential(),  # type: ignore[arg-type]
        SUBSCRIPTION,
        base_url=base_url,
        headers_policy=PlainHttpAllowed(),
        retry_total=0,
        # The fake listens on 127.0.0.1: no proxy of the environment applies, and requests would otherwise
        # read the environment's proxy settings again for every request (Session.trust_env).
        use_env_settings=False,
    )
    return monitor_reader(client)


@pytest.fixture
def release(servers: FakeAzure, capsys: pytest.CaptureFixture[str]):
    """Run ``infra release <argv>`` against the fake; returns a :class:`Run`."""

    def run(*argv: str, owner: str = "test-run") -> Run:
        clock = FakeClock()
        lines: list[str] = []
        offered: dict[str, Any] = {
            "client_factory": lambda subscription: _client(servers.arm_url),
            "metrics_factory": lambda subscription: _metrics(servers.arm_url),
            "clock": clock,
            "wall": clock.wall,
            "sleep": clock.sleep,
            "echo": lines.append,
            "scheme": "http",
            "polling_interval": 0,
            "owner": owner,
        }
        fields = {f.name for f in dataclasses.fields(release_cli.ReleaseDependencies)}
        if "reporter" in fields:
            from platform_infra.release.progress import Reporter

            offered["reporter"] = Reporter(lines.append)
        deps = release_cli.ReleaseDependencies(**{k: v for k, v in offered.items() if k in fields})
        args = _parser().parse_args(
            [
                "release",
                *argv,
                "--subscription",
                SUBSCRIPTION,
                "--resource-group",
                RESOURCE_GROUP,
                "--app",
                APP,
            ]
        )
        capsys.readouterr()
        code = release_cli.handle(args, deps)
        return Run(code, lines, capsys.readouterr().err, clock)

    return run


def pipeline(release, *steps: tuple[str, ...]) -> list[Run]:
    """Run steps like the pipeline does (`set -e`): stop at the first that fails."""
    runs = []
    for step in steps:
        runs.append(release(*step))
        if runs[-1].code != 0:
            break
    return runs


DEPLOY = ("deploy", "--image", I2)
VERIFY = ("verify", "--interval", "5", "--timeout", "120")
SWAP = ("swap", "--image", I2, "--interval", "5", "--timeout", "120")


# -- the happy path --


def test_release_deploys_confirms_swaps_and_records(fake: FakeAzure, release) -> None:
    fake.restart_lag = 2  # each instance answers with 1.0.0's predecessor twice more after the change
    runs = pipeline(release, DEPLOY, VERIFY, SWAP)
    assert [r.code for r in runs] == [0, 0, 0], runs[-1].stderr
    assert fake.config_patches == [("staging", {"properties": {"linuxFxVersion": V2}})]
    assert fake.swap_bodies == [{"slot": "staging", "targetSlot": "production", "preserveVnet": True}]
    assert fake.production() == V2 and fake.config["staging"] == V1
    assert fake.production_history == [V1, V2]
    assert fake.tags["platform-release-current"] == "2.0.0 myregistry.azurecr.io/web:2.0.0"
    assert fake.tags["platform-release-previous"] == "1.0.0 myregistry.azurecr.io/web:1.0.0"
    assert fake.tags["platform-release-at"].endswith("Z")
    assert "platform-release-lock" not in fake.tags  # released after each step
    deploy = runs[0].text
    assert "reports 0.9.0 (not 2.0.0)" in deploy  # the restart lag was seen, and waited out
    assert "all 2 instance(s) of 'staging' answered version 2.0.0 3 times in a row" in deploy
    assert "s elapsed" in deploy and "s left" in deploy


# -- the eight failures of issue 11 --


def test_failure_1_old_container_answering_after_a_change_is_not_a_deployed_version(
    fake: FakeAzure, release
) -> None:
    """App Service restarts a slot after a config change; until the new container runs, the old one answers.

    A 2xx from the old container is not the new version: deploy waits for every instance to report
    2.0.0. Here 2.0.0 never starts (503 after the lag), and the pipeline stops before any swap.
    """
    fake.reset(production=V1, staging=V0, gate=False)  # a stack deployed before Azure's gate was set
    fake.restart_lag = 2
    fake.never_starts = {V2}
    runs = pipeline(release, DEPLOY, VERIFY, SWAP)
    assert runs[-1].code == 1
    assert fake.swaps_requested == 0
    assert fake.production_history == [V1]
    assert fake.production() == V1


@pytest.mark.parametrize("failure", ["easy-auth-redirect", "one-broken-instance"])
def test_failure_2_redirects_are_unhealthy_and_every_instance_is_probed(
    failure: str, fake: FakeAzure, release
) -> None:
    """A login redirect answering 200 is not a healthy app (3xx is unhealthy, redirects never followed),
    and one healthy instance of two is not a healthy slot (each is probed with its ARRAffinity cookie)."""
    fake.reset(production=V1, staging=V0, gate=False)
    if failure == "easy-auth-redirect":
        fake.easy_auth_redirect = {V2}
    else:
        fake.broken_instances = {("staging", fake.instances["staging"][1].id)}
    runs = pipeline(release, DEPLOY, VERIFY, SWAP)
    assert runs[-1].code == 1
    if failure == "easy-auth-redirect":
        assert "HTTP 302 redirect to" in runs[-1].stderr + runs[-1].text
    else:
        assert fake.instances["staging"][1].id in runs[-1].stderr
    assert fake.swaps_requested == 0
    assert fake.production_history == [V1]
    assert fake.production() == V1


def test_failure_3_swap_back_hangs_then_settles(fake: FakeAzure, release) -> None:
    """The swap back does not finish within --swap-timeout; the site reports targetSwapSlot and an operation
    in progress until Azure completes it. No second swap is requested; production ends on 1.0.0."""
    _stage(fake, V2)
    fake.fails_in_production_traffic = {V2}
    fake.hang_from_swap = 2  # the swap back outlives --swap-timeout and completes on Azure afterwards
    result = release("swap", "--image", I2, "--interval", "5", "--timeout", "30", "--swap-timeout", "1")
    assert result.code == 1
    assert fake.swaps_requested == 2  # the swap and one swap back: never a blind third
    assert "swapped back automatically; production serves myregistry.azurecr.io/web:1.0.0" in result.stderr
    assert fake.production_history == [V1, V2, V1]
    # Following the old advice ("run `infra release rollback`") must not swap 2.0.0 back in.
    again = release("rollback", "--interval", "5", "--timeout", "30")
    assert again.code == 1
    assert fake.swaps_requested == 2
    assert fake.production() == V1


def test_failure_3_a_409_on_the_swap_back_is_retried(fake: FakeAzure, release) -> None:
    """Azure answers 409 Conflict while another operation runs on the site; the swap back retries."""
    _stage(fake, V2)
    fake.fails_in_production_traffic = {V2}
    fake.conflict_on_swaps = {2}
    result = release("swap", "--image", I2, "--interval", "5", "--timeout", "30")
    assert result.code == 1
    assert fake.rejected == ["POST slotsswap #2"]
    assert fake.swaps_requested == 2
    assert "409 Conflict" in result.text
    assert fake.production_history == [V1, V2, V1]
    assert fake.production() == V1


def test_failure_4_rollback_refuses_a_version_that_was_never_released(fake: FakeAzure, release) -> None:
    """After a release of 2.0.0, 3.0.0 was deployed to staging: rollback must not swap it into production."""
    fake.reset(production=V2, staging=V3)
    fake.record(previous=V1, current=V2)
    result = release("rollback", "--interval", "5")
    assert result.code == 1
    assert "holds myregistry.azurecr.io/web:3.0.0" in result.stderr
    assert "recorded previous release is myregistry.azurecr.io/web:1.0.0" in result.stderr
    assert fake.swaps_requested == 0
    assert fake.production() == V2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("verify", "--interval", "0"), "argument --interval: must be between 1 and 300 seconds, got 0"),
        (("verify", "--timeout", "1e300"), "argument --timeout: must be between 1 and 7200 seconds"),
        (("swap", "--swap-timeout", "1e300"), "argument --swap-timeout: must be between 1 and 3600 seconds"),
        (("swap", "--timeout", "1e12"), "argument --timeout: must be between 1 and 7200 seconds"),
    ],
)
def test_failure_5_unbounded_waits_are_refused_before_anything_happens(
    argv: tuple[str, ...], message: str, fake: FakeAzure, release, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--interval 0`` used to turn --retries into a single probe; a huge timeout crashed (OverflowError in
    the poller's wait) after the swap had started. Both are argument errors now."""
    _stage(fake, V2)
    with pytest.raises(SystemExit) as exit_info:
        release(*argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert fake.swaps_requested == 0
    assert fake.production() == V1


def test_failure_6_a_tag_string_is_not_a_live_version(fake: FakeAzure, release) -> None:
    """Production's config names 2.0.0, but its instances run 1.0.0 (a mutable tag re-pointed, or a swap
    completing late): "already live" needs every production instance to report 2.0.0."""
    fake.config["production"] = V2
    for worker in fake.instances["production"]:
        worker.serving = V2
    fake.versions = {V2: "1.0.0"}  # what the tag resolves to in the running container
    fake.production_history = [V2]
    result = release("swap", "--image", I2, "--interval", "5", "--timeout", "30")
    assert result.code == 1
    assert "do not confirm version 2.0.0" in result.stderr
    assert fake.swaps_requested == 0 and fake.config_patches == []
    assert fake.production() == V2 and fake.version_of(V2) == "1.0.0"


def test_failure_6_a_late_swap_is_confirmed_before_it_counts_as_live(fake: FakeAzure, release) -> None:
    fake.config["production"] = V2
    fake.restart(  # the instances still start 2.0.0
        "production", V2
    )
    for worker in fake.instances["production"]:
        worker.lag = 3
    result = release("deploy", "--image", I2, "--interval", "5", "--timeout", "120")
    assert result.code == 0, result.stderr
    assert "production already runs myregistry.azurecr.io/web:2.0.0 (version 2.0.0, confirmed)" in result.text
    assert fake.config_patches == []
    assert fake.production() == V2


@pytest.mark.parametrize("bad", ["", "PYTHON|3.12", "web:1\nx", "DOCKER|web:1", "Web:1"])
def test_failure_6_deploy_refuses_what_is_not_an_image(bad: str, fake: FakeAzure, release) -> None:
    result = release("deploy", "--image", bad)
    assert result.code == 2
    assert "--image must be a container image reference" in result.stderr
    assert fake.config_patches == [] and fake.tag_patches == []
    assert fake.production() == V1


def test_failure_7_azure_aborts_a_swap_to_a_candidate_failing_with_production_settings(
    fake: FakeAzure, release
) -> None:
    """2.0.0 is healthy in staging but fails with production's sticky settings. Azure applies them to the
    candidate and pings WEBSITE_SWAP_WARMUP_PING_PATH before swapping; the status (503) is not in
    WEBSITE_SWAP_WARMUP_PING_STATUSES (200), so Azure aborts: no user is routed to 2.0.0."""
    _stage(fake, V2)
    fake.broken_in_production = {V2}
    result = release("swap", "--image", I2, "--interval", "5", "--timeout", "30")
    assert result.code == 1
    assert "warm-up of slot 'staging' answered HTTP 503" in result.stderr
    assert "production still serves myregistry.azurecr.io/web:1.0.0" in result.stderr
    assert fake.swaps_requested == 1
    assert fake.production_history == [V1]
    assert fake.production() == V1


def test_failure_7_no_swap_without_azures_gate(fake: FakeAzure, release) -> None:
    """Without the warm-up settings Azure pings / and accepts any status: the flow refuses to swap."""
    fake.reset(production=V1, staging=V2, gate=False)
    fake.record(previous=V0, current=V1)
    fake.broken_in_production = {V2}
    result = release("swap", "--image", I2, "--interval", "5", "--timeout", "30")
    assert result.code == 1
    assert "WEBSITE_SWAP_WARMUP_PING_PATH on 'production'" in result.stderr
    assert "No swap requested" in result.stderr
    assert fake.swaps_requested == 0
    assert fake.production_history == [V1]
    assert fake.production() == V1


# -- safe failure handling --


def test_swap_is_refused_while_an_operation_runs(fake: FakeAzure, release) -> None:
    _stage(fake, V2)
    fake.foreign_operation = "a1b2c3"
    result = release("swap", "--image", I2, "--interval", "5")
    assert result.code == 1
    assert "operation a1b2c3 in progress" in result.stderr and "nothing changed" in result.stderr
    assert fake.swaps_requested == 0 and fake.rejected == []
    assert fake.production() == V1


def test_release_lock_held_by_another_run_refuses(fake: FakeAzure, release) -> None:
    _stage(fake, V2)
    fake.tags["platform-release-lock"] = f"github-run-77 {1_795_000_000 + 99_999}"
    result = release("swap", "--image", I2, "--interval", "5")
    assert result.code == 1
    assert "is being released by github-run-77" in result.stderr
    assert fake.swaps_requested == 0
    assert fake.tags["platform-release-lock"].startswith("github-run-77 ")
    assert fake.production() == V1


def test_an_expired_lock_is_taken_over(fake: FakeAzure, release) -> None:
    _stage(fake, V2)
    fake.tags["platform-release-lock"] = "github-run-77 1000"
    result = release("swap", "--image", I2, "--interval", "5", "--timeout", "60")
    assert result.code == 0, result.stderr
    assert "platform-release-lock" not in fake.tags
    assert fake.production() == V2


def _engine_deps(
    servers: FakeAzure, owner: str, clock: FakeClock, sleep, metrics_factory=None
) -> release_cli.ReleaseDependencies:
    """Dependencies of a release run against the fake, on ``clock``; metrics from the fake unless given."""
    from platform_infra.release.progress import Reporter

    return release_cli.ReleaseDependencies(
        client_factory=lambda subscription: _client(servers.arm_url),
        metrics_factory=metrics_factory or (lambda subscription: _metrics(servers.arm_url)),
        clock=clock,
        wall=clock.wall,
        sleep=sleep,
        reporter=Reporter(lambda _: None),
        scheme="http",
        polling_interval=0,
        owner=owner,
    )


def _swap_args(*extra: str):
    argv = ["release", "swap", "--image", I2, "--interval", "5", "--timeout", "60", *extra]
    return _parser().parse_args(
        [*argv, "--subscription", SUBSCRIPTION, "--resource-group", RESOURCE_GROUP, "--app", APP]
    )


def test_two_concurrent_releases_one_refuses_without_touching_production(
    fake: FakeAzure, servers: FakeAzure, capsys: pytest.CaptureFixture[str]
) -> None:
    """The interleaving a read-back-at-once lock gets wrong. ARM tags have no compare-and-swap (no If-Match on
    Tags_UpdateAtScope), so a Merge is last-writer-wins. Run B reads the lock (free) and sends its write,
    which lands late; run A reads the lock (still free), writes it, and only then does B's write land. A
    lock that reads its own value straight back lets both proceed. With Fischer's protocol A waits
    LOCK_SETTLE before reading back, sees B's value and refuses; B proceeds alone: one swap, production on
    2.0.0, no lock left behind."""
    import threading
    import time as real_time

    _stage(fake, V2)
    rival_waiting, release_rival = threading.Event(), threading.Event()

    def gate(body: dict[str, Any]) -> None:
        value = body["properties"]["tags"].get("platform-release-lock", "")
        if body["operation"] == "Merge" and value.startswith("rival-run#"):
            rival_waiting.set()
            release_rival.wait(10)

    fake.tag_write_gate = gate
    codes: dict[str, int] = {}

    def rival() -> None:
        clock = FakeClock()
        codes["rival"] = release_cli.handle(
            _swap_args(), _engine_deps(servers, "rival-run", clock, clock.sleep)
        )

    thread = threading.Thread(target=rival)
    thread.start()
    assert rival_waiting.wait(10)  # B has read "free" and its write is in flight

    clock = FakeClock()

    def sleep(seconds: float) -> None:
        if not release_rival.is_set():  # A's first wait: B's write lands now
            release_rival.set()
            deadline = real_time.monotonic() + 10
            while not fake.tags.get("platform-release-lock", "").startswith("rival-run#"):
                assert real_time.monotonic() < deadline
                real_time.sleep(0.01)
        clock.sleep(seconds)

    codes["first"] = release_cli.handle(_swap_args(), _engine_deps(servers, "first-run", clock, sleep))
    thread.join(30)
    err = capsys.readouterr().err
    assert codes == {"first": 1, "rival": 0}, err
    assert "another release of app 'web-app' took the lock (now held by rival-run)" in err
    assert fake.swaps_requested == 1
    assert fake.production_history == [V1, V2]
    assert "platform-release-lock" not in fake.tags
    assert fake.production() == V2


def test_a_slow_lock_write_is_withdrawn(
    fake: FakeAzure, servers: FakeAzure, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fischer's protocol holds only if a run's read-then-write is shorter than the settle wait; a write
    acknowledged after LOCK_WRITE_BOUND may have crossed another run's, so the run removes its own value and
    refuses."""
    from platform_infra.release.budget import LOCK_WRITE_BOUND

    _stage(fake, V2)
    clock = FakeClock()

    def gate(body: dict[str, Any]) -> None:
        if body["operation"] == "Merge" and "platform-release-lock" in body["properties"]["tags"]:
            clock.now += LOCK_WRITE_BOUND + 5  # the write took 15 s to be acknowledged

    fake.tag_write_gate = gate
    code = release_cli.handle(_swap_args(), _engine_deps(servers, "slow-run", clock, clock.sleep))
    assert code == 1
    assert "too slow to be sure no other release wrote meanwhile; lock withdrawn" in capsys.readouterr().err
    assert "platform-release-lock" not in fake.tags
    assert fake.swaps_requested == 0
    assert fake.production() == V1


def test_a_lock_taken_over_during_a_canary_stops_before_the_next_step(fake: FakeAzure, release) -> None:
    """Fencing: before every forward change the run checks the lock still holds its value. Someone removes the
    lock by hand and another run takes it while the canary bakes at 5%: the canary stops before routing 25%,
    removes its rule, and never swaps."""
    _stage(fake, V2)
    reads = {"n": 0}
    real_metrics = fake.metrics

    def metrics(slot: str, minutes: int) -> dict[str, Any]:
        reads["n"] += 1
        if reads["n"] == 2:
            fake.tags["platform-release-lock"] = f"other-run#abc {1_795_000_000 + 99_999}"
        return real_metrics(slot, minutes)

    fake.metrics = metrics  # type: ignore[method-assign]
    result = release("canary", "--image", I2, "--steps", "5,25", "--bake", "2m", "--interval", "5")
    assert result.code == 1
    assert "the release lock is no longer ours (now held by other-run)" in result.stderr
    assert fake.ramp_history == [[5.0], []]
    assert fake.swaps_requested == 0
    assert fake.tags["platform-release-lock"].startswith("other-run#")  # not removed: it is not ours
    assert fake.production() == V1


def test_rollback_restores_the_recorded_previous_release_once(fake: FakeAzure, release) -> None:
    fake.reset(production=V2, staging=V1)
    fake.record(previous=V1, current=V2)
    result = release("rollback", "--interval", "5")
    assert result.code == 0, result.stderr
    assert fake.production() == V1
    assert fake.tags["platform-release-current"] == "1.0.0 myregistry.azurecr.io/web:1.0.0"
    assert fake.tags["platform-release-previous"] == "-"
    again = release("rollback", "--interval", "5")
    assert again.code == 1 and "names no previous release" in again.stderr
    assert fake.swaps_requested == 1
    assert fake.production() == V1


def test_version_from_a_header_or_a_path(fake: FakeAzure, release) -> None:
    for contract, instance in (
        ("header:X-App-Version", "json:instance"),
        ("path:/version", "header:X-Instance-Id"),
    ):
        fake.reset(production=V1, staging=V2)
        result = release(
            "verify",
            "--version",
            "2.0.0",
            "--version-from",
            contract,
            "--instance-from",
            instance,
            "--interval",
            "5",
        )
        assert result.code == 0, (contract, result.stderr)
        assert fake.production() == V1


def test_runtime_stack_app_is_swapped_and_rolled_back_by_the_versions_it_reports(
    fake: FakeAzure, release
) -> None:
    """A runtime-stack app (PYTHON|3.12, code zip-deployed) names the same stack on both slots: the versions
    the instances report decide, and the record keeps the stack as its image."""
    fake.reset(production="PYTHON|3.12", staging="PYTHON|3.12")
    for slot, code in (("production", "1.0.0"), ("staging", "2.0.0")):
        for worker in fake.instances[slot]:
            worker.code = code
    swap = release("swap", "--version", "2.0.0", "--interval", "5")
    assert swap.code == 0, swap.stderr
    assert fake.tags["platform-release-current"] == "2.0.0 PYTHON|3.12"
    assert fake.tags["platform-release-previous"] == "1.0.0 PYTHON|3.12"  # what production reported
    assert {w.code for w in fake.instances["production"]} == {"2.0.0"}
    for worker in fake.instances["staging"]:
        worker.code = "2.1.0"  # a newer build zip-deployed to staging since: not the recorded previous
    refused = release("rollback", "--interval", "5", "--timeout", "30")
    assert refused.code == 1 and "reports 2.1.0 (not 1.0.0)" in refused.stderr
    for worker in fake.instances["staging"]:
        worker.code = "1.0.0"
    back = release("rollback", "--interval", "5")
    assert back.code == 0, back.stderr
    assert fake.swaps_requested == 2
    assert {w.code for w in fake.instances["production"]} == {"1.0.0"}
    assert fake.production() == "PYTHON|3.12"


# -- per-instance confirmation with client affinity off --


@pytest.mark.parametrize("honoured", [False, True])
def test_every_instance_confirms_whether_or_not_the_cookie_is_honoured(
    honoured: bool, fake: FakeAzure, release
) -> None:
    """BlueGreenAppService sets clientAffinityEnabled=false; the Microsoft.Web API documents that only as
    "stop sending session affinity cookies", so whether the front end still routes by an incoming ARRAffinity
    cookie is unknown. Either way each answer is counted for the instance that names itself in it."""
    fake.affinity_honoured = honoured
    fake.restart_lag = 1
    runs = pipeline(release, DEPLOY, VERIFY, SWAP)
    assert [r.code for r in runs] == [0, 0, 0], runs[-1].stderr
    assert fake.production() == V2


def test_a_stale_instance_is_not_confirmed_by_another_answering_for_it(fake: FakeAzure, release) -> None:
    """The front end ignores the ARRAffinity cookie (client affinity off) and sends every probe to the first
    instance; the second still runs 1.0.0. A flow that credits each answer to the instance its cookie asked
    for would confirm 2.0.0 on both and swap a half-updated slot; attributed by the instance the app names,
    the second instance is never reached, so staging is not confirmed and nothing is swapped."""
    _stage(fake, V2)
    fake.routing = "first"
    fake.instances["staging"][1].serving = V1
    result = release("swap", "--image", I2, "--interval", "5", "--timeout", "60")
    assert result.code == 1
    stale = fake.instances["staging"][1].id
    assert f"{stale}: never answered (the front end routed every probe elsewhere)" in result.stderr
    assert fake.swaps_requested == 0
    assert fake.production_history == [V1]
    assert fake.production() == V1


def test_an_app_that_does_not_name_its_instance_is_never_confirmed(fake: FakeAzure, release) -> None:
    """The default contract needs the instance in the health JSON (``instance``: WEBSITE_INSTANCE_ID); an app
    that does not report it cannot prove every instance answered. ``--instance-from none`` opts out, with a
    warning that the result then rests on the undocumented cookie routing."""
    _stage(fake, V2)
    missing = release("verify", "--instance-from", "json:node", "--interval", "5", "--timeout", "20")
    assert missing.code == 1
    assert "from an instance that did not name itself" in missing.stderr
    trusting = release("verify", "--instance-from", "none", "--interval", "5", "--timeout", "60")
    assert trusting.code == 0, trusting.stderr
    assert "holds only if App Service honours that cookie while client affinity is off" in trusting.text
    assert fake.swaps_requested == 0
    assert fake.production() == V1


def test_a_plain_text_version_path_needs_the_instance_in_a_header(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(_release_args("verify", "--version-from", "path:/version"))
    assert release_cli.handle(args, release_cli.ReleaseDependencies(client_factory=_unused)) == 2
    assert (
        "use header:<name> (e.g. X-Instance-Id on both answers) or none for the instance"
        in capsys.readouterr().err
    )


# -- canary and bake, judged by the fake's Azure Monitor metrics --


def test_canary_breach_at_25_percent_removes_the_rule_and_leaves_production(fake: FakeAzure, release) -> None:
    """2.0.0 is fine at 5% of the traffic and fails under load from 25% on (30% 5xx)."""
    _stage(fake, V2)
    fake.behaviours = {V2: Behaviour(error_rate=0.3, from_share=0.25)}
    result = release("canary", "--image", I2, "--steps", "5,25,50", "--bake", "10m", "--interval", "5")
    assert result.code == 1
    assert "canary: 25% breached (5xx rate 30.00% above the ceiling 5.00%)" in result.stderr
    assert fake.ramp_history == [[5.0], [25.0], []]  # rule removed, not left at 0%
    assert fake.ramp_rules == []
    assert fake.swaps_requested == 0
    # With the rule gone, the routing cookie no longer reaches staging.
    status, _, body = fake.answer("production", "/healthz", {"x-ms-routing-name": "staging"})
    assert (status, b"1.0.0" in body) == (200, True)
    assert fake.production_history == [V1]
    assert fake.production() == V1


def test_canary_that_passes_promotes_with_the_swap(fake: FakeAzure, release) -> None:
    _stage(fake, V2)
    result = release("canary", "--image", I2, "--steps", "5,25,50", "--bake", "5m", "--interval", "5")
    assert result.code == 0, result.stderr
    assert fake.ramp_history == [[5.0], [25.0], [50.0], []]
    assert fake.swaps_requested == 1
    assert set(fake.metric_queries) == {"staging", "production"}
    assert "canary: 50% passed" in result.text
    assert fake.tags["platform-release-current"].startswith("2.0.0 ")
    assert fake.production() == V2


def test_an_interrupted_canary_removes_its_rule_and_its_lock(
    fake: FakeAzure, servers: FakeAzure, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C or a cancelled CI job (SIGTERM, made a KeyboardInterrupt) in the middle of a canary step."""

    _stage(fake, V2)
    clock = FakeClock()
    reads = []

    def metrics_factory(subscription: str):
        real = _metrics(servers.arm_url)

        def read(resource_id: str, start: float, end: float):
            reads.append(resource_id)
            if len(reads) == 3:
                raise KeyboardInterrupt
            return real(resource_id, start, end)

        return read

    deps = _engine_deps(servers, "test-run", clock, clock.sleep, metrics_factory=metrics_factory)
    argv = ["release", "canary", "--image", I2, "--steps", "5,25", "--bake", "5m", "--interval", "5"]
    args = _parser().parse_args(
        [*argv, "--subscription", SUBSCRIPTION, "--resource-group", RESOURCE_GROUP, "--app", APP]
    )
    assert release_cli.handle(args, deps) == 130
    assert "canary interrupted" in capsys.readouterr().err
    assert fake.ramp_history == [[5.0], []] and fake.ramp_rules == []
    assert "platform-release-lock" not in fake.tags
    assert fake.swaps_requested == 0
    assert fake.production() == V1


def test_canary_with_too_little_traffic_does_not_promote(fake: FakeAzure, release) -> None:
    _stage(fake, V2)
    fake.requests_per_minute = 10  # 5% of it: 0.5 requests a minute
    result = release("canary", "--image", I2, "--steps", "5", "--bake", "10m", "--interval", "5")
    assert result.code == 1
    assert "only 5 requests (at least 50 needed to judge)" in result.stderr
    assert fake.ramp_rules == [] and fake.swaps_requested == 0
    assert fake.production() == V1


def test_canary_refused_when_staging_has_its_own_sticky_values(fake: FakeAzure, release) -> None:
    _stage(fake, V2)
    fake.sticky = ["APPLICATIONINSIGHTS_CONNECTION_STRING", "DB_NAME"]
    fake.settings["production"]["DB_NAME"] = "orders"
    fake.settings["staging"]["DB_NAME"] = "orders-staging"
    result = release("canary", "--image", I2, "--interval", "5")
    assert result.code == 1
    assert "slot-sticky settings that differ from production's (DB_NAME)" in result.stderr
    assert fake.ramp_history == [] and fake.swaps_requested == 0
    assert fake.production() == V1


def test_bake_breach_after_the_swap_swaps_back(fake: FakeAzure, release) -> None:
    _stage(fake, V2)
    fake.behaviours = {V2: Behaviour(latency=0.9)}  # 7.5x slower under production traffic
    result = release("swap", "--image", I2, "--bake", "10m", "--interval", "5", "--timeout", "60")
    assert result.code == 1
    assert "production breached its bake: p95 latency 0.900s above 0.220s" in result.stderr
    assert "swapped back automatically; production serves" in result.stderr
    assert fake.swaps_requested == 2
    assert fake.production_history == [V1, V2, V1]
    assert fake.tags["platform-release-current"].startswith("1.0.0 ")  # the record is the one before
    assert fake.production() == V1


def test_bake_within_limits_keeps_the_release(fake: FakeAzure, release) -> None:
    _stage(fake, V2)
    result = release("swap", "--image", I2, "--bake", "3m", "--interval", "5", "--timeout", "60")
    assert result.code == 0, result.stderr
    assert fake.swaps_requested == 1
    assert result.clock.sleeps.count(60.0) == 3
    assert fake.production() == V2


# -- arguments, credentials, laziness --


def _stage(fake: FakeAzure, img: str) -> None:
    """Staging already runs ``img`` on every instance (deployed earlier)."""
    fake.config["staging"] = img
    for worker in fake.instances["staging"]:
        worker.serving, worker.pending, worker.lag = img, None, 0


def _unused(subscription: str) -> WebSiteManagementClient:
    raise AssertionError("no client may be built for invalid arguments")


def _release_args(*extra: str) -> list[str]:
    return ["release", *extra, "--subscription", SUBSCRIPTION, "--resource-group", "rg", "--app", "a"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--timeout", "nan"], "argument --timeout: must be a number of seconds, got 'nan'"),
        (["verify", "--interval", "inf"], "argument --interval: must be a number of seconds, got 'inf'"),
        (["verify", "--consecutive", "0"], "argument --consecutive: must be between 1 and 20, got 0"),
        (["canary", "--steps", "25,5"], "argument --steps: must be increasing percentages"),
        (["canary", "--steps", "5,100"], "argument --steps: must be increasing percentages"),
        (["canary", "--bake", "7h"], "argument --bake: must be at most 6h"),
        (["swap", "--bake", "soon"], "argument --bake: must be a duration like 90s, 10m or 1h"),
        (["verify", "--version-from", "xml:v"], "version contract must be json:<field, dotted for nesting>"),
        (["verify", "--version", "1 2"], "argument --version: must be a version"),
    ],
)
def test_release_numbers_are_bounded(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(_release_args(*argv))
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--slot", ""], "slot '' is not a valid slot name"),
        (["verify", "--slot", "Production"], "the release slot cannot be production"),
        (["verify", "--slot", "a/b"], "slot 'a/b' is not a valid slot name"),
        (["verify", "--target", "other"], "--target must be the release slot (staging) or production"),
        (["verify", "--health-path", "/a b"], "health path must be an absolute URL path"),
    ],
)
def test_release_names_are_validated(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _parser().parse_args(_release_args(*argv))
    assert release_cli.handle(args, release_cli.ReleaseDependencies(client_factory=_unused)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_release_validates_the_subscription_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "not-a-guid")
    args = _parser().parse_args(["release", "verify", "--resource-group", "rg", "--app", "a"])
    assert release_cli.handle(args, release_cli.ReleaseDependencies(client_factory=_unused)) == 2
    assert "AZURE_SUBSCRIPTION_ID must be a subscription GUID, got 'not-a-guid'" in capsys.readouterr().err


class NoTokenCredential:
    """Fails the way DefaultAzureCredential does when no credential in its chain works."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError(
            message="DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
            "Attempted credentials:\n\tEnvironmentCredential: EnvironmentCredential authentication "
            "unavailable.\n\tAzureCliCredential: Azure CLI not found on path\nTo mitigate this issue, please "
            "refer to the troubleshooting guidelines here at "
            "https://aka.ms/azsdk/python/identity/troubleshoot."
        )


def test_missing_credentials_are_one_line(servers: FakeAzure, capsys: pytest.CaptureFixture[str]) -> None:
    from platform_infra.release.progress import Reporter

    def factory(subscription: str) -> WebSiteManagementClient:
        return WebSiteManagementClient(
            NoTokenCredential(),  # type: ignore[arg-type]
            subscription,
            base_url=servers.arm_url,
            headers_policy=PlainHttpAllowed(),
            retry_total=0,
        )

    args = _parser().parse_args(_release_args("verify"))
    code = release_cli.handle(
        args, release_cli.ReleaseDependencies(client_factory=factory, reporter=Reporter(lambda _: None))
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "no Azure token (DefaultAzureCredential failed to retrieve a token" in err
    assert "Last tried: AzureCliCredential: Azure CLI not found on path" in err


def test_default_client_silences_the_credential_chain_warning() -> None:
    logger = logging.getLogger("azure.identity")
    level = logger.level
    try:
        release_cli.default_client(SUBSCRIPTION)
        assert logger.getEffectiveLevel() == logging.ERROR
    finally:
        logger.setLevel(level)


def test_release_cli_constants_match_the_component() -> None:
    from platform_infra import app_service

    assert release_cli.STAGING_SLOT == app_service.STAGING_SLOT
    assert release_cli.PRODUCTION_SLOT == app_service.PRODUCTION_SLOT
    assert release_cli.DEFAULT_HEALTH_PATH == app_service.DEFAULT_HEALTH_CHECK_PATH


def test_release_cli_module_loads_no_azure_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys, platform_infra.release.cli as c, platform_infra.cli.main as m; m.build_parser(); "
        "print(sorted(n for n in sys.modules if n.startswith('azure')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_progress_redraws_one_line_on_a_terminal() -> None:
    import io

    from platform_infra.release.progress import Reporter

    lines: list[str] = []
    screen = io.StringIO()
    reporter = Reporter(lines.append, screen)
    reporter.status("round 1: HTTP 503 (5s elapsed, 55s left)")
    reporter.status("round 2: HTTP 200 (10s elapsed, 50s left)")
    reporter.say("confirmed")
    assert screen.getvalue() == (
        "\r\x1b[2Kround 1: HTTP 503 (5s elapsed, 55s left)\r\x1b[2Kround 2: HTTP 200 (10s elapsed, 50s "
        "left)\n"
    )
    assert lines == ["confirmed"]
