"""Hooks that exist only in the offline runner: they drop work whose result only matters to a real engine.

They are installed by :func:`platform_infra.cli.mocks.run_with_mocks` (``transformations=``) when the
offline plan or the test suite runs a program under mocks; the program itself (``stacks/__main__.py``,
:mod:`platform_infra.program`) never registers them, so under ``pulumi up`` nothing here runs. A test
proves that a program run without them still sends the SDK's aliases, and that the plan document is
byte-identical with and without them.

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

import copy

import pulumi


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
