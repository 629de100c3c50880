"""Hooks that exist only in the offline runner: they drop work whose result only matters to a real engine.

Also here: :func:`batch_gc`, the garbage-collector settings of a process that runs programs under mocks
and exits (the ``infra`` console script, the test session).

They are installed by :func:`platform_infra.cli.mocks.run_with_mocks` (``transformations=``,
``stack_traces=False``) when the offline plan or the test suite runs a program under mocks; the program
itself (``stacks/__main__.py``, :mod:`platform_infra.program`) never registers them, so under ``pulumi up``
nothing here runs. Tests prove that a program run without them still sends the SDK's aliases and stack
traces, and that the plan document is byte-identical with and without them.

**Stack traces.** For every registration the Python SDK walks the whole call stack
(``pulumi/runtime/resource.py``, ``_get_stack_trace``: ``traceback.extract_stack()``, then a ``file:`` URI
per frame) and sends it as ``stackTrace`` and ``sourcePosition`` in ``RegisterResourceRequest``, for the
engine to persist in state and show in diagnostics (pulumi/pulumi#13449 source positions, #20430 stack
traces, v3.195.0). The mock monitor reads neither, and it cost 25-45% of a warm in-process plan of the
shipped stacks (deeper under pytest). :func:`without_stack_traces` skips it while the offline runner runs a
program, and restores the SDK's function afterwards.

**The switch.** ``$PLATFORM_INFRA_OPTIMISATIONS=off`` turns every optimisation of the offline runner off at
once (:func:`optimised`): no alias or stack-trace hook, default garbage collection, a normal interpreter
exit, and the subcommands and SDKs the runner loaded eagerly before issue 16. That is "the unoptimised
runner": the benchmark's ``before`` column runs it (``benchmarks/plan_benchmark.py``) and a test compares
its plan documents byte for byte with the optimised runner's.

**Versioned-type aliases.** pulumi-azure-native's generated classes attach one alias per earlier API
version to every resource (e.g. ``pulumi_azure_native/web/web_app.py``, ``_internal_init``:
``alias_opts = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="azure-native:web/v20150801:WebApp"),
... 24 of them])`` merged into the caller's options), and pulumi-aws does the same for renamed types
(``pulumi_aws/alb/target_group.py``: ``Alias(type_="aws:applicationloadbalancing/targetGroup:...")``).
The Python SDK then turns every alias into Outputs twice: ``Resource.__init__`` (``pulumi/resource.py``)
calls ``collapse_alias_to_urn`` for each (an ``Output.all(...).apply`` chain ending in ``create_urn``,
``pulumi/runtime/resource.py``), and ``prepare_aliases`` awaits each again to build the alias spec sent
with ``RegisterResource``. That is the top of the offline plan's profile at scale. An alias only tells the
engine which existing state a resource may have been recorded under (pulumi.com/docs/iac/concepts/options/
aliases: "to ensure that existing resources will be migrated to the new name instead of being deleted and
replaced") and an offline plan has no state, so nothing it reports depends on them.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import os
from collections.abc import Iterator

import pulumi
import pulumi.runtime.resource
from pulumi.runtime.proto import source_pb2

SWITCH = "PLATFORM_INFRA_OPTIMISATIONS"
"""Environment variable: ``off`` runs the unoptimised runner (see :func:`optimised`); ``on`` or unset, the
optimised one."""


def optimised() -> bool:
    """Whether the offline runner's optimisations are on (``$PLATFORM_INFRA_OPTIMISATIONS``, default on).

    Off means all of them, never a subset, so "off" is one well-defined runner to measure and compare with:
    no :data:`TRANSFORMATIONS`, stack traces captured, no :func:`batch_gc`, a normal interpreter exit
    instead of the console script's flushed ``os._exit``, and the eager imports of the runner before
    (:data:`EAGER_IMPORTS`).
    A value other than ``on`` or ``off`` is refused (``ValueError`` naming the variable), so a typo never
    silently measures the wrong runner.
    """
    value = os.environ.get(SWITCH, "on").strip().lower()
    if value not in {"on", "off"}:
        raise ValueError(f"${SWITCH} must be 'on' or 'off', not {os.environ[SWITCH]!r}")
    return value == "on"


EAGER_IMPORTS: tuple[str, ...] = ("azure.mgmt.web", "pulumi_policy")
"""What ``infra`` imported for every command before its subcommands were loaded lazily: the release
tooling's Azure management SDK (``release/cli.py`` imported ``WebSiteManagementClient`` at module level)
and pulumi-policy (``cli/check.py``). The unoptimised runner imports them again, where installed (they are
the ``release`` and ``policy`` extras)."""


def _type_only(alias: object) -> bool:
    """True for ``Alias(type_=...)`` with every other field left unset (the SDK's versioned-type aliases).

    ``Alias`` marks an unset field with ``...`` (``pulumi/resource.py``: ``None`` means "no parent", ``...``
    means "not given"), so an alias naming an earlier name, parent, stack or project is never one of them.
    """
    if not isinstance(alias, pulumi.Alias):
        return False
    return (
        isinstance(alias.type_, str)
        and alias.name is ...
        and alias.parent is ...
        and alias.stack is ...
        and alias.project is ...
    )


def drop_type_aliases(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """A stack transformation removing type-only aliases (what provider SDKs attach to their classes).

    Aliases a program writes itself (a renamed resource, a new parent) are kept, so the offline plan still
    exercises them; the transformation runs before ``Resource.__init__`` expands any alias.
    """
    aliases = args.opts.aliases
    if not aliases:
        return None
    kept = [alias for alias in aliases if not _type_only(alias)]
    if len(kept) == len(aliases):
        return None
    opts = copy.copy(args.opts)
    opts.aliases = kept or None
    return pulumi.ResourceTransformationResult(args.props, opts)


TRANSFORMATIONS: tuple[pulumi.ResourceTransformation, ...] = (drop_type_aliases,)
"""The offline runner's stack transformations, in order."""


@contextlib.contextmanager
def without_stack_traces() -> Iterator[None]:
    """While inside, resource registrations carry no stack trace or source position (see the module's
    "Stack traces"); the SDK's ``_get_stack_trace`` is put back on exit, whatever happens inside.

    A pulumi without ``_get_stack_trace`` (older than the stack traces) has nothing to skip.
    """
    runtime = pulumi.runtime.resource
    original = getattr(runtime, "_get_stack_trace", None)
    if original is None:
        yield
        return
    # An empty trace is what the SDK itself sends when it finds no user frame.
    runtime._get_stack_trace = source_pb2.StackTrace  # type: ignore[attr-defined]
    try:
        yield
    finally:
        runtime._get_stack_trace = original  # type: ignore[attr-defined]


GC_GEN0_THRESHOLD = 100_000
"""Allocations between young collections in :func:`batch_gc` (CPython's default is 700)."""


def batch_gc() -> None:
    """Garbage-collector settings for a process that plans and exits: freeze start-up, collect rarely.

    Nearly everything a plan allocates lives until exit (SDK modules and classes loaded lazily, resources,
    their Outputs), yet with CPython's default threshold the cyclic collector re-traverses all of it in
    every full collection: measured on 100 generated apps (1,544 resources), 11 full collections took
    3.2 of 7.3 CPU seconds. ``gc.freeze()`` moves what start-up allocated out of every later collection
    (docs.python.org, ``gc.freeze``), and a young-generation threshold of 100,000 makes the collections
    that still run ~140 times rarer: 100 apps then take 5.0 s instead of 7.9 s, and peak memory grows by
    under 3% (274 vs 269 MiB), because the cyclic garbage a plan makes is small. Collection stays on,
    so a program that does make cyclic garbage is still bounded.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)
