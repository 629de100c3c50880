"""``infra check STACK``: the policy pack's rules evaluated over a stack's offline plan.

Every custom resource the stack's program registers under mocks is handed to each rule of
:data:`platform_infra.policy.rules.POLICIES`, exactly as ``pulumi preview --policy-pack`` would hand it
over (inputs in camelCase with secrets unwrapped, the resource's provider, the rule's config). Then the
whole stack goes to each rule of :data:`~platform_infra.policy.rules.STACK_POLICIES`, as the engine's
``AnalyzeStack`` does after the last registration: every resource but the providers, with its outputs
(the mocks' outputs over its inputs), parent, dependencies and per-property dependencies. Mandatory
violations make the command exit 1; advisory ones are printed and pass.

The two stack-dependent rules get their config from the stack's own config (see :func:`policy_config`), and
``--policy-config-out FILE`` writes that config for ``pulumi preview --policy-pack-config FILE`` so the
pipeline's real preview judges the stack the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import inspect
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from platform_infra.cli import plan as plan_module
from platform_infra.cli.mocks import MockRun, RegisteredResource, unwrap_secrets
from platform_infra.policy.rules import ALL_POLICIES, FIX_SEPARATOR, POLICIES, STACK_POLICIES

#: Stack config keys whose presence means "this stack configures an AWS external id": an environment
#: stack's own, or the bootstrap stack's per-target ``platform:externalId-<target>``.
EXTERNAL_ID_KEYS = re.compile(r"^platform:(awsExternalId|externalId-[a-z][a-z0-9-]*)$")


@dataclass(frozen=True)
class Violation:
    """One rule broken by one resource.

    :param rule: the policy's name, e.g. ``keyvault-purge-protection-prod``.
    :param mandatory: True when the violation fails the check (advisory ones only warn).
    :param resource_type: the resource's type token.
    :param resource_name: the resource's logical name.
    :param urn: the resource's URN.
    :param message: what is wrong.
    :param fix: how to fix it.
    """

    rule: str
    mandatory: bool
    resource_type: str
    resource_name: str
    urn: str
    message: str
    fix: str


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one stack.

    :param stack: the stack checked.
    :param checked: how many resources were checked.
    :param violations: every violation, mandatory first.
    :param policy_config: the per-rule config the rules ran with.
    """

    stack: str
    checked: int
    violations: list[Violation]
    policy_config: dict[str, dict[str, Any]]

    @property
    def mandatory(self) -> list[Violation]:
        """Violations that fail the check."""
        return [v for v in self.violations if v.mandatory]

    @property
    def advisory(self) -> list[Violation]:
        """Warnings that do not fail the check."""
        return [v for v in self.violations if not v.mandatory]

    @property
    def passed(self) -> bool:
        """True when no mandatory rule is broken."""
        return not self.mandatory


def policy_config(stack: str, config: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The policy pack config a stack is judged with, derived from its own config.

    * ``keyvault-purge-protection-prod.prodStacks`` is ``[stack]`` when ``platform:tier`` is ``prod``, else
      empty: the tier, not the stack's name, decides what is production (the same for
      ``cloudwatch-audit-log-group-cmk-prod``).
    * ``iam-role-trust-named-principals.externalIdAccounts`` lists the AWS accounts for which the stack
      configures an external id: its own account (``platform:aws.accountId``) when ``platform:awsExternalId``
      is set; in the bootstrap stack, each target's ``accountId`` (``platform:bootstrap.targets``) for which
      ``platform:externalId-<target>`` is set.

    :param stack: the stack name.
    :param config: the stack's runtime config (full keys; values as the CLI hands them to the program).
    """
    tier = str(config.get("platform:tier", "")).strip()
    accounts: list[str] = []
    for key, value in config.items():
        match = EXTERNAL_ID_KEYS.match(key)
        if not (match and value):
            continue
        if match.group(1) == "awsExternalId":
            account = _json(config.get("platform:aws")).get("accountId")
        else:
            target = match.group(1).removeprefix("externalId-")
            targets = _json(config.get("platform:bootstrap")).get("targets") or []
            account = next(
                (t.get("accountId") for t in targets if isinstance(t, dict) and t.get("name") == target), None
            )
        if account:
            accounts.append(str(account))
    return {
        "keyvault-purge-protection-prod": {"prodStacks": [stack] if tier == "prod" else []},
        "cloudwatch-audit-log-group-cmk-prod": {"prodStacks": [stack] if tier == "prod" else []},
        "iam-role-trust-named-principals": {"externalIdAccounts": sorted(set(accounts))},
    }


def _json(value: Any) -> dict[str, Any]:
    """A structured config value (JSON-encoded in runtime config) as a dict; {} when it is not one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _provider_of(resource: RegisteredResource, providers: Mapping[str, RegisteredResource]) -> Any:
    urn = resource.provider_urn
    if not urn:
        return None
    provider = providers.get(urn)
    name = urn.rsplit("::", 1)[-1]
    if provider is None:
        return PolicyProviderResource(resource_type="", props={}, urn=urn, name=name)
    return PolicyProviderResource(
        resource_type=provider.type, props=provider.plain_inputs, urn=provider.urn, name=provider.name
    )


def _options(resource: RegisteredResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=list(resource.ignore_changes),
        delete_before_replace=resource.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(resource.additional_secret_outputs),
        parent=resource.parent or None,
    )


def _violations_of(
    policy: ResourceValidationPolicy | StackValidationPolicy,
    args: ResourceValidationArgs | StackValidationArgs,
    resource: RegisteredResource | None,
    by_urn: Mapping[str, RegisteredResource],
) -> list[Violation]:
    """Run one rule on ``args``; each report becomes a :class:`Violation` (for a stack rule, against the
    resource whose URN it reports, or ``resource`` when none)."""
    found: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append((message, urn))

    if isinstance(policy, StackValidationPolicy):
        assert isinstance(args, StackValidationArgs)
        result = policy.validate(args, report)
    else:
        assert isinstance(args, ResourceValidationArgs)
        result = policy.validate(args, report)
    if inspect.isawaitable(result):
        asyncio.run(_await(result))
    violations = []
    for message, urn in found:
        text, _, fix = message.partition(FIX_SEPARATOR)
        subject = by_urn.get(urn or "") or resource
        violations.append(
            Violation(
                rule=policy.name,
                mandatory=policy.enforcement_level is not EnforcementLevel.ADVISORY,
                resource_type=subject.type if subject else "pulumi:pulumi:Stack",
                resource_name=subject.name if subject else "",
                urn=subject.urn if subject else (urn or ""),
                message=text,
                fix=fix or (policy.remediation_steps or ""),
            )
        )
    return violations


def stack_resources(run: MockRun) -> list[PolicyResource]:
    """The run's resources as the engine hands them to a stack policy (providers left out)."""
    providers = {r.urn: r for r in run.resources if r.is_provider}
    resources = [r for r in run.resources if not r.is_provider]
    built = {
        r.urn: PolicyResource(
            resource_type=r.type,
            # The engine passes outputs; a provider's outputs hold its inputs, the mocks' only the computed
            # part, so the outputs are laid over the inputs.
            props={**r.plain_inputs, **unwrap_secrets(r.outputs)},
            urn=r.urn,
            name=r.name,
            opts=_options(r),
            provider=_provider_of(r, providers),
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for r in resources
    }
    for r in resources:
        policy_resource = built[r.urn]
        policy_resource.parent = built.get(r.parent)
        policy_resource.dependencies = [built[d] for d in r.depends_on if d in built]
        policy_resource.property_dependencies = {
            key: [built[d] for d in urns if d in built] for key, urns in r.property_dependencies.items()
        }
    return list(built.values())


def evaluate(
    run: MockRun,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    policies: Sequence[ResourceValidationPolicy | StackValidationPolicy] = ALL_POLICIES,
) -> tuple[int, list[Violation]]:
    """Run every policy over ``run``: resource rules per custom resource, stack rules once over all of
    them. Returns (resources checked, violations)."""
    config = config or {}
    providers = {r.urn: r for r in run.resources if r.is_provider}
    by_urn = {r.urn: r for r in run.resources}
    resource_rules = [p for p in policies if isinstance(p, ResourceValidationPolicy)]
    stack_rules = [p for p in policies if isinstance(p, StackValidationPolicy)]
    checked = 0
    violations: list[Violation] = []
    for resource in run.resources:
        if not resource.custom or resource.is_provider:
            continue
        checked += 1
        provider = _provider_of(resource, providers)
        for policy in resource_rules:
            args = ResourceValidationArgs(
                resource_type=resource.type,
                props=resource.plain_inputs,
                urn=resource.urn,
                name=resource.name,
                opts=_options(resource),
                provider=provider,
                config=dict(config.get(policy.name, {})),
            )
            violations.extend(_violations_of(policy, args, resource, by_urn))
    if stack_rules:
        resources = stack_resources(run)
        for policy in stack_rules:
            args = StackValidationArgs(resources, dict(config.get(policy.name, {})))
            violations.extend(_violations_of(policy, args, None, by_urn))
    violations.sort(key=lambda v: (not v.mandatory, v.rule, v.urn))
    return checked, violations


async def _await(result: Any) -> None:
    await result


def check_stack(
    stack: str, root: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> CheckResult:
    """Run ``stack`` offline (with config ``overrides``) and evaluate every rule over its resources."""
    files, run = plan_module.run_stack(stack, root, overrides)
    config = policy_config(stack, files.config)
    checked, violations = evaluate(run, config)
    return CheckResult(stack=stack, checked=checked, violations=violations, policy_config=config)


def render(result: CheckResult) -> str:
    """The report ``infra check`` prints: each violation with rule, resource and fix, then a summary."""
    lines: list[str] = []
    for violation in result.violations:
        level = "MANDATORY" if violation.mandatory else "advisory"
        lines.append(f"[{level}] {violation.rule}: {violation.resource_type} '{violation.resource_name}'")
        lines.append(f"    {violation.message}")
        lines.append(f"    fix: {violation.fix}")
        lines.append(f"    urn: {violation.urn}")
    verdict = "FAILED" if not result.passed else "passed"
    lines.append(
        f"infra check {result.stack}: {verdict} - {len(result.mandatory)} mandatory violation(s), "
        f"{len(result.advisory)} advisory warning(s), {result.checked} resources, "
        f"{len(POLICIES)} resource rules and {len(STACK_POLICIES)} stack rule(s)"
    )
    return "\n".join(lines)


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_overrides(assignments: Iterable[str], stack: str, root: Path | None = None) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` strings into ``run_stack`` overrides.

    ``KEY`` is a config key as the error messages name it: ``platform:tier`` or a path inside a structured
    value, ``platform:vault.purgeProtection`` or ``platform:apps[0].sku``; the rest of that value is kept
    from the stack file. ``VALUE`` is read as YAML (``false``, ``30``, ``[a, b]``, plain text).
    """
    assignments = list(assignments)
    raw = plan_module.read_stack_config(stack, root) if assignments else {}
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or ":" not in key:
            raise argparse.ArgumentTypeError(f"--set {assignment!r}: expected NAMESPACE:KEY[.PATH]=VALUE")
        try:
            value = yaml.safe_load(text) if text else ""
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or "invalid YAML"
            raise argparse.ArgumentTypeError(
                f"--set {assignment!r}: the value is not valid YAML ({problem})"
            ) from error
        namespace, _, path = key.partition(":")
        segments = [m.group(1) or int(m.group(2)) for m in _SEGMENT.finditer(path)]
        if not namespace or not segments:
            raise argparse.ArgumentTypeError(f"--set {assignment!r}: expected NAMESPACE:KEY[.PATH]=VALUE")
        top = f"{namespace}:{segments[0]}"
        if len(segments) == 1:
            overrides[top] = value
            continue
        document = overrides.get(top, copy.deepcopy(raw.get(top)))
        overrides[top] = _assign(document, segments[1:], value, assignment)
    return overrides


def _assign(document: Any, segments: list[Any], value: Any, assignment: str) -> Any:
    head, rest = segments[0], segments[1:]
    if isinstance(head, int):
        items = list(document) if isinstance(document, list) else []
        if head >= len(items):
            raise argparse.ArgumentTypeError(f"--set {assignment!r}: index {head} is beyond the list")
        items[head] = _assign(items[head], rest, value, assignment) if rest else value
        return items
    mapping = dict(document) if isinstance(document, Mapping) else {}
    mapping[head] = _assign(mapping.get(head), rest, value, assignment) if rest else value
    return mapping


def _check(args: argparse.Namespace) -> int:
    root = args.root
    stacks = plan_module.select_stacks(args.stacks, args.all, root)
    if args.policy_config_out and (len(stacks) > 1 or args.all):
        print("error: --policy-config-out writes one stack's config: name a single stack", file=sys.stderr)
        return 2
    try:
        overrides = {stack: parse_overrides(args.set or [], stack, root) for stack in stacks}
    except argparse.ArgumentTypeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    code = 0
    # Several stacks run in this one process: the SDKs and the program load once, not once per stack.
    for stack in stacks:
        result = check_stack(stack, root, overrides[stack])
        if args.policy_config_out:
            plan_module.write_output(
                args.policy_config_out, json.dumps(result.policy_config, indent=2) + "\n"
            )
            print(
                f"wrote the policy pack config of stack '{stack}' to {args.policy_config_out}",
                file=sys.stderr,
            )
        print(render(result))
        code = code or (0 if result.passed else 1)
    return code


def add_check_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``infra check``."""
    parser = subparsers.add_parser(
        "check",
        help="evaluate the policy pack's rules over a stack's offline plan",
        description="Run a stack offline and check every resource against policy/rules.py. Exits 1 when a "
        "mandatory rule is broken; advisory rules only warn.",
    )
    parser.add_argument(
        "stacks",
        nargs="*",
        metavar="STACK",
        help="stack name: dev, staging, prod, ... (reads Pulumi.<stack>.yaml); several are checked in turn",
    )
    parser.add_argument("--all", action="store_true", help="check every stack of the project")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value for this check, e.g. --set platform:vault.purgeProtection=false",
    )
    parser.add_argument(
        "--policy-config-out",
        metavar="FILE",
        help="also write the policy pack config for `pulumi preview --policy-pack-config FILE`",
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="folder holding Pulumi.yaml (default: the nearest at or above the current folder)",
    )
    parser.set_defaults(handler=_check)
