"""``infra access <stack>``: who can reach what, computed from a stack's offline plan (reachability as data).

Starting from every federated subject (a GitHub Actions OIDC ``sub`` claim, an Azure DevOps service
connection), the report follows what the plan declares:

- AWS: a role whose trust policy names the GitHub OIDC provider and lists the subject under
  ``token.actions.githubusercontent.com:sub`` (``StringEquals``, with the ``sts.amazonaws.com`` audience)
  can be obtained with ``AssumeRoleWithWebIdentity``. From there, a role's inline policies that allow
  ``sts:AssumeRole`` on another role, whose trust policy names the first role, extend the chain
  (transitively). A role in a target account reaches that environment: *deploy* when it holds any
  permission beyond AWS's ``ReadOnlyAccess`` and read actions (``Get*``, ``List*``, ``Describe*``: IAM's
  List and Read access levels by AWS's naming convention), *read* otherwise. A role tagged
  ``platform:environment`` is filed under that stack (the shared stack's own drift role lives in the
  shared-services account). It reads the environment's *data* (``Reach.data``) when an inline policy
  allows a data-plane action (:data:`platform_infra.preview_read.DATA_PLANE_ACTIONS`, wildcards
  included) or any managed policy is attached (its document is not in the plan; ``ReadOnlyAccess``
  reads log events, objects and parameters). State access comes from the state bucket's
  policy (which stack objects each principal may get or put) and secrets from the KMS key policies
  (decrypt, or encrypt and decrypt).
- Azure: a federated identity credential with the subject's issuer and subject gives its managed identity;
  the identity's role assignments on a target subscription (or the shared stack's own) reach that
  environment (*read* for Reader, which has no data actions; *deploy*, and data, otherwise), on a
  secrets key its environment's secrets, on the state container its state.

Subject formats: GitHub's OpenID Connect reference ("Example subject claims"); AWS condition keys
``token.actions.githubusercontent.com:sub``/``:aud`` (IAM: "Configuring a role for GitHub OIDC identity
provider"); Azure DevOps workload identity federation issuer ``https://vstoken.dev.azure.com/<org-id>`` and
subject ``sc://<org>/<project>/<connection>``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platform_infra.preview_read import DATA_PLANE_ACTIONS
from platform_infra.review_stacks import ENVIRONMENT_TAG, REVIEW_ENVIRONMENT, REVIEW_STACK_PATTERN

if TYPE_CHECKING:
    from platform_infra.cli.mocks import MockRun, RegisteredResource

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_SUB = "token.actions.githubusercontent.com:sub"
GITHUB_AUD = "token.actions.githubusercontent.com:aud"
READ_ONLY_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/ReadOnlyAccess$")
READER_ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
BLOB_WRITER_ROLES = {"ba92f5b4-2d11-453d-a403-e96b0029c9fe", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"}
BLOB_READER_ROLES = {"2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"}
CRYPTO_ROLES = {"12338af0-0e69-4776-bea7-57ae8d297424", "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"}
WRITE_OBJECT_ACTIONS = {"s3:PutObject", "s3:DeleteObject", "s3:*"}
ENCRYPT_ACTIONS = {"kms:Encrypt", "kms:GenerateDataKey*", "kms:GenerateDataKey", "kms:*"}
DECRYPT_ACTIONS = {"kms:Decrypt", "kms:*"}
TARGET_PROVIDER = re.compile(r"^target-(?P<env>.+)-(?P<cloud>aws|azure)$")
#: Action names that change nothing (IAM's List and Read access levels follow this naming).
READ_ACTION = re.compile(r"^[a-z0-9-]+:(Get|List|Describe|Head)[A-Za-z0-9*]*$")
#: Stacks reached under a name other than their own: the review stacks ``pr-*`` go by ``review`` (their
#: deploy role carries review_stacks.ENVIRONMENT_TAG, their state statements name ``pr-*`` objects).
STACK_GROUPS = {REVIEW_ENVIRONMENT: REVIEW_STACK_PATTERN}


@dataclass(frozen=True)
class Reach:
    """What one identity can do in one environment.

    :param environment: the environment (target stack) name.
    :param cloud: ``deploy`` (may change resources), ``read`` (read-only) or ``""`` (no cloud access).
    :param state: ``write``, ``read`` or ``""``: the environment's stack objects in the state backend.
    :param secrets: ``encrypt+decrypt``, ``decrypt`` or ``""``: the environment's secrets-provider key.
    :param data: ``read`` when it can read what the environment's resources hold (log events, objects,
        parameter values: :data:`platform_infra.preview_read.DATA_PLANE_ACTIONS`), else ``""``.
    """

    environment: str
    cloud: str = ""
    state: str = ""
    secrets: str = ""
    data: str = ""


@dataclass(frozen=True)
class Access:
    """One subject and one identity it can obtain, with everything that identity reaches.

    :param subject: the federated subject (GitHub ``sub`` claim or Azure DevOps ``sc://`` subject).
    :param issuer: the token issuer.
    :param cloud: ``aws`` or ``azure``.
    :param identity: the role ARN or managed identity name obtained first.
    :param chain: every role assumed from there (AWS), in order.
    :param reaches: per environment reached.
    :param shared_state: state containers reached that hold every environment's stacks (Azure RBAC scopes
        blob roles to a container, not to a stack).
    """

    subject: str
    issuer: str
    cloud: str
    identity: str
    chain: tuple[str, ...] = ()
    reaches: tuple[Reach, ...] = ()
    shared_state: tuple[str, ...] = ()

    @property
    def environments(self) -> list[str]:
        """The environments this identity reaches in any way."""
        return sorted({r.environment for r in self.reaches if r.cloud or r.state or r.secrets})

    @property
    def deploys(self) -> list[str]:
        """The environments it can change."""
        return sorted({r.environment for r in self.reaches if r.cloud == "deploy" or r.state == "write"})


@dataclass
class _Role:
    name: str
    arn: str
    account: str
    trust: list[Mapping[str, Any]]
    inline: list[Mapping[str, Any]] = field(default_factory=list)
    managed: list[str] = field(default_factory=list)
    environment: str | None = None


def analyse(run: MockRun) -> list[Access]:
    """Every (subject, identity) pair the plan allows, with what each reaches."""
    accounts, subscriptions = _target_maps(run)
    shared = _shared_name(run)
    return sorted(
        [*_aws_access(run, accounts, shared), *_azure_access(run, subscriptions)],
        key=lambda a: (a.subject, a.cloud, a.identity),
    )


def _shared_name(run: MockRun) -> str | None:
    """The bootstrap stack's own environment name (its ``environment`` output), if the plan is one."""
    name = run.stack_outputs.get("environment")
    return str(name) if isinstance(name, str) else None


PULL_REQUEST_SUBJECT = re.compile(r"^repo:[^:]+:pull_request(:|$)")


def is_pull_request_subject(subject: str) -> bool:
    """A GitHub subject (or pattern) of pull-request jobs: ``repo:O/R:pull_request`` in GitHub's default
    template, ``repo:O/R:pull_request:ref:refs/pull/<n>/merge`` with ``[repo, context, ref]``."""
    return PULL_REQUEST_SUBJECT.match(subject) is not None


def violations(
    accesses: Iterable[Access],
    *,
    prod: str = "prod",
    production_subjects: Iterable[str],
    review_subjects: Iterable[str] = (),
    review_base: str = "dev",
    drift_identities: Iterable[str] = (),
    drift_subjects: Iterable[str] = (),
    shared: str = "shared",
) -> list[str]:
    """The trust rules the report is checked against; empty when they all hold.

    - a pull-request subject reaches no environment with deploy rights and never ``prod``, and reads no
      environment's data plane (log events, objects, parameter values: ``Reach.data``);
    - only ``production_subjects`` reach ``prod`` with deploy rights;
    - the review stacks (``review``) are reached only by ``review_subjects``, which run pull-request code:
      they reach ``review`` and, on Azure only, ``review_base``'s cloud (RBAC cannot fence ARM writes by
      name), never its state or secrets, never an AWS role of it, never any other environment;
    - the shared stack's drift identities (``drift_identities``: role ARNs, managed identity names) are
      obtained only by ``drift_subjects`` (never a pull request) and only read: cloud read anywhere, state
      and decrypt of the ``shared`` stack only, never another stack's state or secrets; nothing else
      reaches ``shared``;
    - every other identity reaches exactly one environment.
    """
    problems: list[str] = []
    allowed_prod = set(production_subjects)
    reviewers = set(review_subjects)
    drifts = set(drift_identities)
    drifters = set(drift_subjects)
    for access in accesses:
        where = f"{access.subject} -> {access.cloud} {access.identity}"
        if is_pull_request_subject(access.subject):
            if access.deploys:
                problems.append(f"{where}: a pull request can deploy {', '.join(access.deploys)}")
            if prod in access.environments:
                problems.append(f"{where}: a pull request reaches {prod}")
            for reach in access.reaches:
                if reach.data:
                    problems.append(f"{where}: a pull request reads {reach.environment}'s data plane")
        if access.identity in drifts:
            if is_pull_request_subject(access.subject) or access.subject not in drifters:
                problems.append(f"{where}: obtains the drift identity but is not a drift subject")
            for reach in access.reaches:
                if reach.cloud not in ("", "read") or reach.state not in ("", "read"):
                    problems.append(f"{where}: the drift identity can change {reach.environment}")
                if reach.secrets not in ("", "decrypt"):
                    problems.append(f"{where}: the drift identity can encrypt with {reach.environment}'s key")
                if (reach.state or reach.secrets) and reach.environment != shared:
                    problems.append(
                        f"{where}: the drift identity reads {reach.environment}'s state or secrets"
                    )
            if not access.reaches:
                problems.append(f"{where}: a drift identity that reaches nothing")
            continue
        if shared in access.environments:
            problems.append(f"{where}: reaches the {shared} stack but is not its drift identity")
        if prod in access.deploys and access.subject not in allowed_prod:
            problems.append(f"{where}: deploys {prod} but is not a production subject")
        if access.subject in reviewers:
            for reach in access.reaches:
                if reach.environment == REVIEW_ENVIRONMENT:
                    continue
                if reach.environment != review_base or access.cloud != "azure":
                    problems.append(f"{where}: review code reaches {reach.environment} ({access.cloud})")
                elif reach.state or reach.secrets:
                    problems.append(f"{where}: review code reaches {review_base}'s state or secrets")
            if REVIEW_ENVIRONMENT not in access.environments:
                problems.append(f"{where}: a review subject that deploys no review stack")
            continue
        if REVIEW_ENVIRONMENT in access.environments:
            problems.append(f"{where}: reaches the review stacks but is not a review subject")
        if len(access.environments) != 1:
            problems.append(f"{where}: reaches {access.environments or 'no environment'}, not exactly one")
    return problems


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _statements(document: Any) -> list[Mapping[str, Any]]:
    document = _json(document)
    if not isinstance(document, Mapping):
        return []
    return [s for s in _list(document.get("Statement")) if isinstance(s, Mapping)]


def _target_maps(run: MockRun) -> tuple[dict[str, str], dict[str, str]]:
    """Account id -> environment and subscription id -> environment, from the target providers.

    The shared stack's own subscription is filed under its name (a Reader there reads that stack); its
    account is not: every pipeline role lives there, and its drift role says so by tag instead.
    """
    accounts: dict[str, str] = {}
    subscriptions: dict[str, str] = {}
    shared = _shared_name(run)
    for resource in run.resources:
        if shared is not None and resource.is_provider and resource.name == f"{shared}-azure":
            subscription = resource.plain_inputs.get("subscriptionId")
            if subscription:
                subscriptions[str(subscription).lower()] = shared
            continue
        match = TARGET_PROVIDER.match(resource.name) if resource.is_provider else None
        if match is None:
            continue
        inputs = resource.plain_inputs
        if match["cloud"] == "aws":
            for account in _list(_json(inputs.get("allowedAccountIds"))):
                accounts[str(account)] = match["env"]
        elif inputs.get("subscriptionId"):
            subscriptions[str(inputs["subscriptionId"]).lower()] = match["env"]
    return accounts, subscriptions


def _account_of(run: MockRun, resource: RegisteredResource) -> str:
    for provider in run.resources:
        if provider.is_provider and provider.urn == resource.provider_urn:
            ids = _list(_json(provider.plain_inputs.get("allowedAccountIds")))
            return str(ids[0]) if ids else ""
    return ""


def _actions(statement: Mapping[str, Any]) -> set[str]:
    return {str(a) for a in _list(statement.get("Action"))}


def _allows(statement: Mapping[str, Any], wanted: set[str]) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    return any(fnmatch.fnmatchcase(w, a) or a == w for a in _actions(statement) for w in wanted)


def _aws_principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return [str(p) for p in _list(principal.get("AWS"))]
    return []


def _aws_roles(run: MockRun) -> dict[str, _Role]:
    roles: dict[str, _Role] = {}
    by_name: dict[str, _Role] = {}
    for resource in run.of_type("aws:iam/role:Role"):
        inputs = resource.plain_inputs
        name = str(inputs.get("name") or resource.name)
        account = _account_of(run, resource)
        role = _Role(
            name=name,
            arn=f"arn:aws:iam::{account}:role/{name}",
            account=account,
            trust=_statements(inputs.get("assumeRolePolicy")),
            environment=(_json(inputs.get("tags")) or {}).get(ENVIRONMENT_TAG),
        )
        roles[role.arn] = role
        by_name[f"{account}/{name}"] = role
    for resource in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        inputs = resource.plain_inputs
        role = by_name.get(f"{_account_of(run, resource)}/{inputs.get('role')}")
        if role is not None:
            role.inline += _statements(inputs.get("policy"))
    for resource in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        inputs = resource.plain_inputs
        role = by_name.get(f"{_account_of(run, resource)}/{inputs.get('role')}")
        if role is not None:
            role.managed.append(str(inputs.get("policyArn")))
    return roles


def _federated_subjects(role: _Role) -> list[tuple[str, str]]:
    """(issuer, subject) pairs a role's trust admits through ``AssumeRoleWithWebIdentity``.

    Any OIDC issuer: IAM names an OIDC provider's condition keys after its URL without the scheme
    (``token.actions.githubusercontent.com:sub``, ``vstoken.dev.azure.com/<org-id>:sub``), and the statement's
    federated principal must be that provider (``oidc-provider/<host>``). A statement without an audience
    condition on the same provider is not counted (the shipped stacks always set one).
    """
    subjects: list[tuple[str, str]] = []
    for statement in role.trust:
        if statement.get("Effect") != "Allow" or "sts:AssumeRoleWithWebIdentity" not in _actions(statement):
            continue
        principal = statement.get("Principal")
        federated = (
            [str(p) for p in _list(principal.get("Federated"))] if isinstance(principal, Mapping) else []
        )
        condition = statement.get("Condition") or {}
        if not isinstance(condition, Mapping):
            continue
        for operator in ("StringEquals", "StringLike"):
            # A StringLike subject is a pattern: it is reported as such.
            keys = condition.get(operator, {})
            for key, values in keys.items() if isinstance(keys, Mapping) else ():
                host = str(key).removesuffix(":sub")
                if host == key or not any(arn.endswith(f":oidc-provider/{host}") for arn in federated):
                    continue
                audience = condition.get("StringEquals", {}).get(f"{host}:aud")
                if audience is None:
                    continue
                subjects += [(f"https://{host}", str(v)) for v in _list(values)]
    return subjects


def _can_assume(source: _Role, target: _Role) -> bool:
    allowed = any(
        _allows(s, {"sts:AssumeRole"})
        and any(fnmatch.fnmatchcase(target.arn, r) for r in map(str, _list(s.get("Resource"))))
        for s in source.inline
    )
    denied = any(
        s.get("Effect") == "Deny"
        and "sts:AssumeRole" in _actions(s)
        and any(fnmatch.fnmatchcase(target.arn, r) for r in map(str, _list(s.get("Resource"))))
        for s in source.inline
    )
    trusted = any(
        s.get("Effect") == "Allow"
        and "sts:AssumeRole" in _actions(s)
        and any(p in (source.arn, f"arn:aws:iam::{source.account}:root", "*") for p in _aws_principals(s))
        for s in target.trust
    )
    return allowed and trusted and not denied


def _state_reach(
    run: MockRun, accounts: Mapping[str, str], shared: str | None = None
) -> dict[str, dict[str, dict[str, str]]]:
    """Principal ARN -> environment -> {"state": ..., "secrets": ...} from bucket and key policies."""
    result: dict[str, dict[str, dict[str, str]]] = {}
    # Stack name (or S3 wildcard of names) in the object keys -> the environment it is reported under.
    stacks = {env: env for env in accounts.values()} | {pattern: env for env, pattern in STACK_GROUPS.items()}
    if shared is not None:
        stacks[shared] = shared
    environments = sorted(stacks, key=len, reverse=True)
    for resource in run.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        for statement in _statements(resource.plain_inputs.get("policy")):
            if statement.get("Effect") != "Allow":
                continue
            for arn in _aws_principals(statement):
                for pattern in map(str, _list(statement.get("Resource"))):
                    stack = next(
                        (e for e in environments if f"/{e}.json" in pattern or f"/{e}/" in pattern), None
                    )
                    if stack is None:
                        continue
                    env = stacks[stack]
                    level = "write" if _actions(statement) & WRITE_OBJECT_ACTIONS else "read"
                    entry = result.setdefault(arn, {}).setdefault(env, {})
                    if entry.get("state") != "write":
                        entry["state"] = level
    for resource in run.of_type("aws:kms/key:Key"):
        inputs = resource.plain_inputs
        match = re.match(
            r"^Pulumi secrets provider of the (?P<env>.+) stack$", str(inputs.get("description", ""))
        )
        if match is None:
            continue
        for statement in _statements(inputs.get("policy")):
            if not _allows(statement, DECRYPT_ACTIONS):
                continue
            level = "encrypt+decrypt" if _allows(statement, ENCRYPT_ACTIONS) else "decrypt"
            for arn in _aws_principals(statement):
                if arn.endswith(":root"):
                    continue  # the account administers the key through IAM; no pipeline policy grants kms:*
                entry = result.setdefault(arn, {}).setdefault(match["env"], {})
                if entry.get("secrets") != "encrypt+decrypt":
                    entry["secrets"] = level
    return result


def _aws_access(run: MockRun, accounts: Mapping[str, str], shared: str | None = None) -> list[Access]:
    roles = _aws_roles(run)
    state = _state_reach(run, accounts, shared)
    accesses: list[Access] = []
    for start in roles.values():
        for issuer, subject in _federated_subjects(start):
            chain: list[_Role] = []
            frontier = [start]
            seen = {start.arn}
            while frontier:
                current = frontier.pop(0)
                for other in roles.values():
                    if other.arn not in seen and _can_assume(current, other):
                        seen.add(other.arn)
                        chain.append(other)
                        frontier.append(other)
            reaches: dict[str, Reach] = {}
            for role in [start, *chain]:
                env = role.environment or accounts.get(role.account)
                if env is not None:
                    writes = any(
                        s.get("Effect") == "Allow"
                        and not all(
                            a in {"sts:AssumeRole", "sts:TagSession"} or READ_ACTION.match(a)
                            for a in _actions(s)
                        )
                        for s in role.inline
                    ) or any(not READ_ONLY_POLICY.match(m) for m in role.managed)
                    old = reaches.get(env, Reach(env))
                    level = "deploy" if writes else "read"
                    reaches[env] = Reach(
                        env,
                        _max(old.cloud, level, ("read", "deploy")),
                        old.state,
                        old.secrets,
                        "read" if old.data or _reads_data(role) else "",
                    )
                for env, grants in state.get(role.arn, {}).items():
                    old = reaches.get(env, Reach(env))
                    reaches[env] = Reach(
                        env,
                        cloud=old.cloud,
                        state=_max(old.state, grants.get("state", ""), ("read", "write")),
                        secrets=_max(old.secrets, grants.get("secrets", ""), ("decrypt", "encrypt+decrypt")),
                        data=old.data,
                    )
            accesses.append(
                Access(
                    subject=subject,
                    issuer=issuer,
                    cloud="aws",
                    identity=start.arn,
                    chain=tuple(r.arn for r in chain),
                    reaches=tuple(sorted(reaches.values(), key=lambda r: r.environment)),
                )
            )
    return accesses


def _reads_data(role: _Role) -> bool:
    """Whether a role may read stored data: an inline Allow of a data-plane action (or a wildcard covering
    one), or any managed policy (its document is not in the plan; AWS's ``ReadOnlyAccess`` holds
    ``logs:Get*``, ``s3:Get*`` and ``ssm:Get*`` on ``*``: AWS managed policy reference)."""
    if role.managed:
        return True
    return any(
        statement.get("Effect") == "Allow"
        and any(
            fnmatch.fnmatchcase(wanted, granted)
            for granted in _actions(statement)
            for wanted in DATA_PLANE_ACTIONS
        )
        for statement in role.inline
    )


def _max(a: str, b: str, order: tuple[str, str]) -> str:
    rank = {"": 0, order[0]: 1, order[1]: 2}
    return a if rank.get(a, 0) >= rank.get(b, 0) else b


def _azure_access(run: MockRun, subscriptions: Mapping[str, str]) -> list[Access]:
    identities = {
        str(r.plain_inputs.get("resourceName")): r
        for r in run.of_type("azure-native:managedidentity:UserAssignedIdentity")
    }
    key_envs = sorted(set(subscriptions.values()) | set(STACK_GROUPS), key=len, reverse=True)
    assignments = [r.plain_inputs for r in run.of_type("azure-native:authorization:RoleAssignment")]
    accesses: list[Access] = []
    for credential in run.of_type("azure-native:managedidentity:FederatedIdentityCredential"):
        inputs = credential.plain_inputs
        name = str(inputs.get("resourceName"))
        identity = identities.get(name)
        principal = identity.outputs.get("principalId") if identity is not None else None
        reaches: dict[str, Reach] = {}
        shared_state: list[str] = []
        for assignment in assignments:
            if principal is None or assignment.get("principalId") != principal:
                continue
            scope = str(assignment.get("scope", ""))
            role = str(assignment.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower()
            subscription = re.match(r"^/subscriptions/([^/]+)$", scope, re.IGNORECASE)
            key = re.search(r"/keys/(?P<key>[^/]+)$", scope)
            if subscription is not None and subscription[1].lower() in subscriptions:
                env = subscriptions[subscription[1].lower()]
                old = reaches.get(env, Reach(env))
                level = "read" if role == READER_ROLE else "deploy"
                # Reader has no data actions and no listKeys (Microsoft Learn, "Azure built-in roles");
                # any other role on the subscription is counted as reading data (Contributor lists keys).
                data = "read" if old.data or level == "deploy" else ""
                reaches[env] = Reach(
                    env, _max(old.cloud, level, ("read", "deploy")), old.state, old.secrets, data
                )
            elif key is not None and role in CRYPTO_ROLES:
                env = next((e for e in key_envs if key["key"].endswith(f"-{e}")), None)
                if env is not None:
                    old = reaches.get(env, Reach(env))
                    reaches[env] = Reach(env, old.cloud, old.state, "encrypt+decrypt", old.data)
            elif role in BLOB_WRITER_ROLES | BLOB_READER_ROLES:
                level = "write" if role in BLOB_WRITER_ROLES else "read"
                container = scope.rsplit("/", 1)[-1]
                # A per-environment container ends in -<environment>; any other holds every stack.
                env = next((e for e in key_envs if container.endswith(f"-{e}")), None)
                if env is None:
                    shared_state.append(f"{level} {container}")
                else:
                    old = reaches.get(env, Reach(env))
                    reaches[env] = Reach(
                        env, old.cloud, _max(old.state, level, ("read", "write")), old.secrets, old.data
                    )
        accesses.append(
            Access(
                subject=str(inputs.get("subject")),
                issuer=str(inputs.get("issuer")),
                cloud="azure",
                identity=name,
                reaches=tuple(sorted(reaches.values(), key=lambda r: r.environment)),
                shared_state=tuple(sorted(shared_state)),
            )
        )
    return accesses


def render(accesses: Iterable[Access]) -> str:
    """The report as text: one block per subject."""
    lines: list[str] = []
    current = None
    for access in accesses:
        if access.subject != current:
            current = access.subject
            lines.append(f"{access.subject}  ({access.issuer})")
        via = f" -> {' -> '.join(access.chain)}" if access.chain else ""
        lines.append(f"  {access.cloud}: {access.identity}{via}")
        for reach in access.reaches:
            parts = [
                f"cloud={reach.cloud or '-'}",
                f"state={reach.state or '-'}",
                f"secrets={reach.secrets or '-'}",
                f"data={reach.data or '-'}",
            ]
            lines.append(f"    {reach.environment}: {' '.join(parts)}")
        for container in access.shared_state:
            lines.append(f"    state container (every stack): {container}")
    return "\n".join(lines)


def as_data(accesses: Iterable[Access]) -> list[dict[str, Any]]:
    """The report as JSON-ready data."""
    return [
        {
            "subject": a.subject,
            "issuer": a.issuer,
            "cloud": a.cloud,
            "identity": a.identity,
            "chain": list(a.chain),
            "reaches": [r.__dict__ for r in a.reaches],
            "sharedState": list(a.shared_state),
        }
        for a in accesses
    ]


def _access(args: argparse.Namespace) -> int:
    from platform_infra.cli.plan import run_stack, write_output

    _, run = run_stack(args.stack, args.root)
    accesses = analyse(run)
    text = json.dumps(as_data(accesses), indent=2) if args.json else render(accesses)
    if args.output:
        write_output(args.output, text + "\n")
    else:
        print(text)
    if not accesses:
        print(f"stack '{args.stack}' declares no federated identity", file=sys.stderr)
    return 0


def add_access_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``infra access``."""
    parser = subparsers.add_parser(
        "access",
        help="who can reach what: federated subjects, the roles they obtain and the environments reached",
        description="Compute, from a stack's offline plan, every OIDC subject's reachable identities.",
    )
    parser.add_argument("stack", help="stack name, usually shared (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")
    parser.add_argument("--root", type=Path, help="folder holding Pulumi.yaml (default: the nearest)")
    parser.set_defaults(handler=_access)
