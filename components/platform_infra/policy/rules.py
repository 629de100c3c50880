"""The platform's security rules as pulumi-policy resource validations.

The same :data:`POLICIES` run in two places: inside ``pulumi preview/up --policy-pack policy`` (the pack
built in ``policy/__main__.py``) and offline in ``infra check STACK`` (``infra/check.py``), which hands each
resource of the offline plan to every rule's ``validate``. Rules read the camelCase inputs the SDKs register
(``siteConfig.minTlsVersion``, ``properties.enablePurgeProtection``, ``retentionInDays`` ...).

Two rules need to know something about the stack, and read it from the policy config (``pulumi ...
--policy-pack-config FILE``; ``infra check STACK --policy-config-out FILE`` writes that file from the stack's
own config):

* ``keyvault-purge-protection-prod`` applies to stacks listed in ``prodStacks`` (default ``["prod"]``); the
  stack name is read from the resource URN (``urn:pulumi:<stack>::...``).
* ``iam-role-trust-named-principals`` requires an ``sts:ExternalId`` condition on every statement that
  admits an AWS principal when the role's account is listed in ``externalIdAccounts`` (``"*"``: every
  account). The role's account is the one its provider is pinned to (``allowedAccountIds``). ``infra check``
  lists the accounts for which the stack configures an external id (``platform:awsExternalId``, or the
  bootstrap stack's ``platform:externalId-<target>``).

Importing this module is cheap and side-effect free: constructing ``PolicyPack`` starts a gRPC server and
blocks, so only ``policy/__main__.py`` does that.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from platform_infra.iam_escalation import ACCESS_TAG, BOUNDARY_KEY, GITHUB_OIDC_HOST, escalation_findings
from platform_infra.purpose import PURPOSE_TAG, STATE_BUCKET
from platform_infra.validation.rules import purge_protection_problem

WEB_APP = "azure-native:web:WebApp"
WEB_APP_SLOT = "azure-native:web:WebAppSlot"
KEY_VAULT = "azure-native:keyvault:Vault"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SNS_TOPIC = "aws:sns/topic:Topic"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
AZURE_METRIC_ALERT = "azure-native:monitor:MetricAlert"
IAM_ROLE = "aws:iam/role:Role"
#: S3 buckets and their server access logging (pulumi-aws 7 names; the V2 names are its deprecated aliases).
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_BUCKET_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")

#: Resources that carry an IAM policy document in their ``policy`` input.
POLICY_DOCUMENT_TYPES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)

#: Resources that attach managed policies, and the input naming them.
POLICY_ATTACHMENT_INPUTS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
    IAM_ROLE: "managedPolicyArns",
}

#: The values CloudWatch Logs accepts for ``retentionInDays`` (0, "never expire", is not allowed here).
ALLOWED_LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

ALLOWED_TLS_VERSIONS = ("1.2", "1.3")
#: Packages whose resources are created through a provider (components and ``pulumi:`` types are not).
PROVIDER_PACKAGES = frozenset({"aws", "azure-native", "random", "azuread", "tls", "command"})
DEFAULT_PROD_STACKS = ("prod",)
ADMINISTRATOR_ACCESS = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$")
ACCOUNT_ROOT = re.compile(r"^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:root)$")

#: Joins a violation's finding and its fix in the reported message (``infra check`` splits on it).
FIX_SEPARATOR = " Fix: "

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY


# -- helpers -------------------------------------------------------------------------------------------------


def _get(props: Any, *path: str) -> Any:
    """``props[path[0]][path[1]]...``, or None where a level is missing or not a mapping."""
    value = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _as_list(value: Any) -> list[Any]:
    """A JSON-ish value as a list: None -> [], a scalar -> [scalar], a sequence -> its items."""
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    return [value]


def _policy_document(value: Any) -> Mapping[str, Any] | None:
    """An IAM policy document given as a JSON string or as a mapping (None when absent or unparsable)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if document is None:
        return []
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)]


def _allows(statement: Mapping[str, Any]) -> bool:
    return str(statement.get("Effect", "Allow")) == "Allow"


def stack_of(urn: str) -> str:
    """The stack name in a URN (``urn:pulumi:<stack>::<project>::<type>::<name>``)."""
    parts = urn.split(":", 2)
    return parts[2].split("::", 1)[0] if len(parts) == 3 and parts[0] == "urn" else ""


def _config(args: ResourceValidationArgs, key: str, default: Any) -> Any:
    """A policy config value, falling back to ``default`` when the pack config does not set it."""
    config = args.get_config() or {}
    value = config.get(key)
    return default if value is None else value


Check = Callable[[ResourceValidationArgs], Iterable[str]]


def _rule(
    name: str,
    description: str,
    fix: str,
    types: Sequence[str] | None,
    check: Check,
    enforcement: EnforcementLevel = MANDATORY,
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    """A resource validation applying ``check`` to resources of ``types`` (None: every custom resource).

    ``check`` yields one message per violation; ``fix`` becomes the policy's remediation steps, which
    ``infra check`` prints and the Pulumi CLI shows with the violation.
    """

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if types is not None and args.resource_type not in types:
            return
        for message in check(args):
            report_violation(f"{message}{FIX_SEPARATOR}{fix}", None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        config_schema=config_schema,
        remediation_steps=fix,
    )


# -- App Service ---------------------------------------------------------------------------------------------


def _app_https_only(args: ResourceValidationArgs) -> Iterator[str]:
    if args.props.get("httpsOnly") is not True:
        yield f"httpsOnly is {args.props.get('httpsOnly')!r}; plain HTTP requests must be redirected."


def _app_tls(args: ResourceValidationArgs) -> Iterator[str]:
    for key in ("minTlsVersion", "scmMinTlsVersion"):
        version = _get(args.props, "siteConfig", key)
        if key == "scmMinTlsVersion" and version is None:
            continue
        if str(version) not in ALLOWED_TLS_VERSIONS:
            yield f"siteConfig.{key} is {version!r}; TLS 1.2 or newer is required."


def _app_ftps(args: ResourceValidationArgs) -> Iterator[str]:
    state = _get(args.props, "siteConfig", "ftpsState")
    if state != "Disabled":
        yield f"siteConfig.ftpsState is {state!r}; FTP and FTPS deployment must be disabled."


def _app_health_check(args: ResourceValidationArgs) -> Iterator[str]:
    path = _get(args.props, "siteConfig", "healthCheckPath")
    if not (isinstance(path, str) and path.startswith("/")):
        yield f"siteConfig.healthCheckPath is {path!r}; a health check path like /healthz is required."


def _app_identity(args: ResourceValidationArgs) -> Iterator[str]:
    kind = str(_get(args.props, "identity", "type") or "None")
    if "Assigned" not in kind:
        yield f"identity.type is {kind!r}; an identity lets the app reach Key Vault without secrets."


# -- Key Vault -----------------------------------------------------------------------------------------------


def _vault_rbac(args: ResourceValidationArgs) -> Iterator[str]:
    if _get(args.props, "properties", "enableRbacAuthorization") is not True:
        yield "properties.enableRbacAuthorization is not true; access policies must not be used."
    if _as_list(_get(args.props, "properties", "accessPolicies")):
        yield "properties.accessPolicies is not empty; grant access with role assignments instead."


def _vault_soft_delete(args: ResourceValidationArgs) -> Iterator[str]:
    if _get(args.props, "properties", "enableSoftDelete") is False:
        yield "properties.enableSoftDelete is false; deleted secrets must stay recoverable."
    days = _get(args.props, "properties", "softDeleteRetentionInDays")
    if days is not None and not 7 <= float(days) <= 90:
        yield f"properties.softDeleteRetentionInDays is {days!r}; Azure allows 7 to 90 days."


def _vault_purge_protection(args: ResourceValidationArgs) -> Iterator[str]:
    prod_stacks = list(_config(args, "prodStacks", list(DEFAULT_PROD_STACKS)))
    stack = stack_of(args.urn)
    if stack not in prod_stacks:
        return
    enabled = _get(args.props, "properties", "enablePurgeProtection")
    if purge_protection_problem(is_prod=True, enabled=enabled):
        yield f"properties.enablePurgeProtection is not true in production stack '{stack}'."


def _vault_network(args: ResourceValidationArgs) -> Iterator[str]:
    if _get(args.props, "properties", "publicNetworkAccess") == "Disabled":
        return
    action = _get(args.props, "properties", "networkAcls", "defaultAction")
    if action != "Deny":
        yield f"properties.networkAcls.defaultAction is {action!r}; only listed networks may reach the vault."


# -- logs, topics, alarms ------------------------------------------------------------------------------------


def _log_retention(args: ResourceValidationArgs) -> Iterator[str]:
    days = args.props.get("retentionInDays")
    if days is None or float(days) not in ALLOWED_LOG_RETENTION_DAYS:
        yield f"retentionInDays is {days!r}; logs must expire after an allowed period."


def _topic_encrypted(args: ResourceValidationArgs) -> Iterator[str]:
    if not args.props.get("kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set; the topic's messages are stored unencrypted."


def _alarm_actions(args: ResourceValidationArgs) -> Iterator[str]:
    if args.resource_type == AZURE_METRIC_ALERT:
        if not _as_list(args.props.get("actions")):
            yield "actions is empty; the alert would fire without notifying anyone."
        if args.props.get("enabled") is False:
            yield "enabled is false; the alert never fires."
        return
    if not _as_list(args.props.get("alarmActions")):
        yield "alarmActions is empty; the alarm would fire without notifying anyone."
    if args.props.get("actionsEnabled") is False:
        yield "actionsEnabled is false; the alarm's actions never run."


# -- IAM -----------------------------------------------------------------------------------------------------


def _principals(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """A statement's principals by kind (``AWS``, ``Service``, ``Federated``; ``*`` for a bare star)."""
    principal = statement.get("Principal")
    if principal is None:
        return {}
    if isinstance(principal, str):
        return {"*": [principal]}
    if not isinstance(principal, Mapping):
        return {}
    return {str(kind): [str(p) for p in _as_list(value)] for kind, value in principal.items()}


def _condition_keys(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """Condition keys (lower-cased) with their values, across every operator."""
    found: dict[str, list[str]] = {}
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return found
    for block in condition.values():
        if isinstance(block, Mapping):
            for key, value in block.items():
                found.setdefault(str(key).lower(), []).extend(str(v) for v in _as_list(value))
    return found


def _role_trust(args: ResourceValidationArgs) -> Iterator[str]:
    raw = args.props.get("assumeRolePolicy")
    document = _policy_document(raw)
    if document is None:
        yield "assumeRolePolicy is missing or not a JSON policy document."
        return
    external_id_accounts = [str(a) for a in _as_list(_config(args, "externalIdAccounts", []))]
    account = _provider_account(args)
    external_id_required = "*" in external_id_accounts or (
        account is not None and account in external_id_accounts
    )
    for index, statement in enumerate(_statements(document)):
        if not _allows(statement):
            continue
        where = f"assumeRolePolicy.Statement[{index}]"
        principals = _principals(statement)
        conditions = _condition_keys(statement)
        if statement.get("NotPrincipal") is not None:
            yield f"{where} uses NotPrincipal; name the principals that may assume the role."
        for kind, values in principals.items():
            if "*" in values:
                yield f"{where} admits any principal ('*' in Principal.{kind})."
        aws_principals = [p for p in principals.get("AWS", []) if p != "*"]
        if aws_principals and external_id_required and "sts:externalid" not in conditions:
            yield (
                f"{where} admits {', '.join(aws_principals)} without an sts:ExternalId condition, "
                f"but an external id is configured for account {account or '*'}."
            )
        if principals.get("Federated"):
            subjects = [v for key, values in conditions.items() if key.endswith(":sub") for v in values]
            if not subjects:
                yield f"{where} admits a federated identity without a ':sub' condition (anyone)."
            elif any(s.strip() in {"*", "repo:*"} for s in subjects):
                yield f"{where} restricts the federated subject only to {subjects!r}."


def _provider_account(args: ResourceValidationArgs) -> str | None:
    """The AWS account the resource's provider is pinned to (its single ``allowedAccountIds`` entry)."""
    if args.provider is None:
        return None
    ids = args.provider.props.get("allowedAccountIds")
    if isinstance(ids, str):  # the engine hands a provider's list inputs over JSON-encoded
        try:
            ids = json.loads(ids)
        except ValueError:
            ids = [ids]
    accounts = [str(i) for i in _as_list(ids)]
    return accounts[0] if len(accounts) == 1 else None


def _role_account_root(args: ResourceValidationArgs) -> Iterator[str]:
    document = _policy_document(args.props.get("assumeRolePolicy"))
    for index, statement in enumerate(_statements(document)):
        if not _allows(statement):
            continue
        roots = [p for p in _principals(statement).get("AWS", []) if ACCOUNT_ROOT.match(p)]
        if roots:
            yield (
                f"assumeRolePolicy.Statement[{index}] trusts the whole account ({', '.join(roots)}); every "
                "principal there with sts:AssumeRole rights can assume this role."
            )


def _documents_of(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any] | None]]:
    """Every permission policy document a resource carries, with where it sits."""
    if args.resource_type in POLICY_DOCUMENT_TYPES:
        yield "policy", _policy_document(args.props.get("policy"))
    elif args.resource_type == IAM_ROLE:
        for index, inline in enumerate(_as_list(args.props.get("inlinePolicies"))):
            if isinstance(inline, Mapping) and inline.get("policy") is not None:
                yield f"inlinePolicies[{index}].policy", _policy_document(inline.get("policy"))


def _no_star_star(args: ResourceValidationArgs) -> Iterator[str]:
    for where, document in _documents_of(args):
        for index, statement in enumerate(_statements(document)):
            if not _allows(statement):
                continue
            actions = [str(a) for a in _as_list(statement.get("Action"))]
            resources = [str(r) for r in _as_list(statement.get("Resource"))]
            if any(a in {"*", "*:*"} for a in actions) and "*" in resources:
                yield f"{where} Statement[{index}] allows every action on every resource ('*:*')."
            elif statement.get("NotAction") is not None and "*" in resources:
                yield f"{where} Statement[{index}] allows everything except NotAction on every resource."


def _escalation(args: ResourceValidationArgs, *, boundary: bool) -> Iterator[str]:
    for where, document in _documents_of(args):
        for finding in escalation_findings(document):
            if (BOUNDARY_KEY in finding) == boundary:
                yield f"{where} {finding}."


def _no_escalation(args: ResourceValidationArgs) -> Iterator[str]:
    yield from _escalation(args, boundary=False)


def _role_changes_need_boundary(args: ResourceValidationArgs) -> Iterator[str]:
    yield from _escalation(args, boundary=True)


def _pull_request_trust(args: ResourceValidationArgs) -> Iterator[str]:
    """A role a pull request can assume must be tagged read-only (what the preview identities are)."""
    document = _policy_document(args.props.get("assumeRolePolicy"))
    tags = args.props.get("tags") or {}
    if isinstance(tags, Mapping) and tags.get(ACCESS_TAG) == "read-only":
        return
    for index, statement in enumerate(_statements(document)):
        if not _allows(statement):
            continue
        for subject in _condition_keys(statement).get(f"{GITHUB_OIDC_HOST}:sub", []):
            # A wildcard (repo:org/repo:*) admits the pull-request subject as well; with the customised
            # subject template [repo, context, ref] a pull request presents
            # repo:<org>/<repo>:pull_request:ref:refs/pull/<n>/merge (GitHub: "Customizing the subject
            # claims").
            pattern = re.sub(r"^repo:[^:]+", "repo:x/y", subject)
            if any(
                fnmatch.fnmatchcase(probe, pattern)
                for probe in ("repo:x/y:pull_request", "repo:x/y:pull_request:ref:refs/pull/1/merge")
            ):
                yield (
                    f"assumeRolePolicy.Statement[{index}] admits pull-request tokens ({subject}) on a role "
                    f"not tagged {ACCESS_TAG}=read-only: code of any pull request could use it."
                )


def _audit_log_group_cmk(args: ResourceValidationArgs) -> Iterator[str]:
    prod = _config(args, "prodStacks", list(DEFAULT_PROD_STACKS))
    if stack_of(args.urn) not in prod:
        return
    name = str(args.props.get("name", ""))
    if "audit" in name.lower() and not args.props.get("kmsKeyId"):
        yield f"the prod audit log group {name} is not encrypted with a customer-managed KMS key (kmsKeyId)."


def _administrator_access(args: ResourceValidationArgs) -> Iterator[str]:
    key = POLICY_ATTACHMENT_INPUTS[args.resource_type]
    for arn in _as_list(args.props.get(key)):
        if isinstance(arn, str) and ADMINISTRATOR_ACCESS.match(arn):
            yield f"{key} attaches {arn}; administrator rights should be an explicit, temporary exception."


# -- stack-level rules ---------------------------------------------------------------------------------------
#
# Some requirements are about how resources relate, not about one resource: S3 server access logging is a
# resource of its own (``aws.s3.BucketLogging``) pointing at the bucket. The engine hands a stack policy
# every resource of the stack with its outputs, its parent and, per property, the resources the value came
# from (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``, ``AnalyzeResources``: "AnalyzeStack is
# called on the final outputs of each resource"); ``infra check`` builds the same from the offline run.

StackCheck = Callable[[StackValidationArgs], Iterable[tuple[str, str]]]


def _stack_rule(
    name: str,
    description: str,
    fix: str,
    check: StackCheck,
    enforcement: EnforcementLevel = MANDATORY,
) -> StackValidationPolicy:
    """A stack validation: ``check`` yields (URN of the offending resource, message) per violation."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for urn, message in check(args):
            report_violation(f"{message}{FIX_SEPARATOR}{fix}", urn)

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        remediation_steps=fix,
    )


def _known(props: Any, key: str) -> Any:
    """``props[key]``, or None when absent or not known yet (a preview's computed value)."""
    try:
        return props.get(key) if isinstance(props, Mapping) else None
    except UnknownValueError:
        return None


def _purpose(resource: PolicyResource) -> str | None:
    for key in ("tags", "tagsAll"):
        tags = _known(resource.props, key)
        if isinstance(tags, Mapping) and _known(tags, PURPOSE_TAG) is not None:
            return str(_known(tags, PURPOSE_TAG))
    return None


def _refers_to(resource: PolicyResource, key: str, target: PolicyResource) -> bool:
    """Whether ``resource``'s ``key`` input came from ``target``: by dependency, else by equal name."""
    if any(d.urn == target.urn for d in resource.property_dependencies.get(key, [])):
        return True
    value, name = _known(resource.props, key), _known(target.props, "bucket")
    return isinstance(value, str) and bool(value) and value in {name, _known(target.props, "id")}


def _state_bucket_logging(args: StackValidationArgs) -> Iterator[tuple[str, str]]:
    buckets = [r for r in args.resources if r.resource_type in S3_BUCKETS]
    loggings = [r for r in args.resources if r.resource_type in S3_BUCKET_LOGGING]
    for bucket in buckets:
        if _purpose(bucket) != STATE_BUCKET:
            continue
        mine = [log for log in loggings if _refers_to(log, "bucket", bucket)]
        label = _known(bucket.props, "bucket") or bucket.name
        if not mine:
            yield (
                bucket.urn,
                f"the state bucket {label} has no server access logging (aws.s3.BucketLogging): nobody "
                "could tell who read or wrote the stacks' state.",
            )
        elif all(_refers_to(log, "targetBucket", bucket) for log in mine):
            yield bucket.urn, f"the state bucket {label} writes its access logs into itself."


STACK_POLICIES: list[StackValidationPolicy] = [
    _stack_rule(
        "s3-state-bucket-access-logging",
        f"S3 buckets holding Pulumi state (tagged {PURPOSE_TAG}={STATE_BUCKET}) have server access logging "
        "into another bucket.",
        "declare aws.s3.BucketLogging(bucket=<state bucket>, target_bucket=<a separate log bucket with "
        "expiring objects>), as AwsStateBackend does.",
        _state_bucket_logging,
    ),
]
"""Rules over the whole stack (the engine runs them after every resource is registered)."""


# -- providers -----------------------------------------------------------------------------------------------


def _explicit_provider(args: ResourceValidationArgs) -> Iterator[str]:
    # Component resources (platform:...) have no provider of their own; only provider packages' do.
    if args.resource_type.split(":", 1)[0] not in PROVIDER_PACKAGES:
        return
    provider = args.provider
    provider_name = provider.name if provider is not None else ""
    if provider is None or provider_name == "default" or provider_name.startswith("default_"):
        yield (
            "the resource uses a default provider, i.e. whatever credentials the deployer happens to have, "
            "not the environment's deploy role or subscription."
        )


_PURGE_CONFIG = PolicyConfigSchema(
    properties={
        "prodStacks": {
            "type": "array",
            "items": {"type": "string"},
            "default": list(DEFAULT_PROD_STACKS),
            "description": "stack names treated as production",
        }
    }
)
_TRUST_CONFIG = PolicyConfigSchema(
    properties={
        "externalIdAccounts": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "AWS accounts (or '*') whose roles require sts:ExternalId of AWS principals",
        }
    }
)
_APPS = (WEB_APP, WEB_APP_SLOT)

POLICIES: list[ResourceValidationPolicy] = [
    _rule(
        "appservice-https-only",
        "App Service web apps and slots accept HTTPS only.",
        "set https_only=True on the WebApp/WebAppSlot.",
        _APPS,
        _app_https_only,
    ),
    _rule(
        "appservice-min-tls-1-2",
        "App Service web apps and slots require TLS 1.2 or newer (site and SCM).",
        'set site_config.min_tls_version="1.2" (and scm_min_tls_version, if set) or newer.',
        _APPS,
        _app_tls,
    ),
    _rule(
        "appservice-ftps-disabled",
        "App Service web apps and slots have FTP/FTPS disabled.",
        'set site_config.ftps_state="Disabled"; deploy with zip deploy or containers instead.',
        _APPS,
        _app_ftps,
    ),
    _rule(
        "appservice-health-check",
        "App Service web apps and slots have a health check path.",
        'set site_config.health_check_path (e.g. "/healthz") to an endpoint the app serves.',
        _APPS,
        _app_health_check,
    ),
    _rule(
        "appservice-managed-identity",
        "App Service web apps and slots have a managed identity.",
        'set identity=ManagedServiceIdentityArgs(type="SystemAssigned") (or a user-assigned identity).',
        _APPS,
        _app_identity,
    ),
    _rule(
        "keyvault-rbac-authorization",
        "Key Vaults use RBAC authorization, not access policies.",
        "set properties.enable_rbac_authorization=True, remove access_policies, use role assignments.",
        (KEY_VAULT,),
        _vault_rbac,
    ),
    _rule(
        "keyvault-soft-delete",
        "Key Vaults keep soft delete on (7-90 days).",
        "leave properties.enable_soft_delete unset or True; soft_delete_retention_in_days between 7 and 90.",
        (KEY_VAULT,),
        _vault_soft_delete,
    ),
    _rule(
        "keyvault-purge-protection-prod",
        "Key Vaults in production stacks have purge protection.",
        "set properties.enable_purge_protection=True (config platform:vault.purgeProtection: true).",
        (KEY_VAULT,),
        _vault_purge_protection,
        config_schema=_PURGE_CONFIG,
    ),
    _rule(
        "keyvault-network-default-deny",
        "Key Vault network ACLs deny by default (or public network access is disabled).",
        'set properties.network_acls.default_action="Deny" and list allowed IP ranges/subnets.',
        (KEY_VAULT,),
        _vault_network,
    ),
    _rule(
        "cloudwatch-log-retention",
        "CloudWatch log groups expire logs after an allowed retention.",
        f"set retention_in_days to one of {', '.join(map(str, ALLOWED_LOG_RETENTION_DAYS))}.",
        (LOG_GROUP,),
        _log_retention,
    ),
    _rule(
        "sns-topic-encrypted",
        "SNS topics are encrypted with KMS.",
        'set kms_master_key_id (a customer key, or "alias/aws/sns").',
        (SNS_TOPIC,),
        _topic_encrypted,
    ),
    _rule(
        "alarm-has-actions",
        "Alarms and metric alerts notify someone when they fire.",
        "set alarm_actions (AWS: SNS topic ARNs) or actions (Azure: an action group); keep actions enabled.",
        (METRIC_ALARM, COMPOSITE_ALARM, AZURE_METRIC_ALERT),
        _alarm_actions,
    ),
    _rule(
        "iam-role-trust-named-principals",
        "IAM roles are assumable only by named principals (no '*', external id when configured, "
        "federated identities restricted by subject).",
        "name the principal ARNs in assume_role_policy; add a StringEquals sts:ExternalId condition when "
        "the stack configures an external id; restrict OIDC trust with a ':sub' condition.",
        (IAM_ROLE,),
        _role_trust,
        config_schema=_TRUST_CONFIG,
    ),
    _rule(
        "iam-trust-account-root",
        "IAM role trust policies name principals rather than a whole account (advisory).",
        "replace the account root (arn:aws:iam::<id>:root) with the specific role ARNs that need access.",
        (IAM_ROLE,),
        _role_account_root,
        enforcement=ADVISORY,
    ),
    _rule(
        "iam-no-star-star",
        "IAM policies never allow every action on every resource.",
        "list the actions and resources the principal needs instead of Action '*' with Resource '*'.",
        (*POLICY_DOCUMENT_TYPES, IAM_ROLE),
        _no_star_star,
    ),
    _rule(
        "iam-no-privilege-escalation",
        "IAM policies allow no known privilege-escalation path (roles, policy versions, trust policies, "
        "PassRole, users' credentials, other functions' code) on every resource.",
        "scope IAM actions to a role path with the iam:PermissionsBoundary condition, iam:PassRole to that "
        "path with iam:PassedToService, and Lambda to the stack's function names (deploy_role.py).",
        (*POLICY_DOCUMENT_TYPES, IAM_ROLE),
        _no_escalation,
    ),
    _rule(
        "iam-role-changes-need-boundary",
        "Creating or changing a role's permissions requires the iam:PermissionsBoundary condition.",
        'add "Condition": {"StringEquals": {"iam:PermissionsBoundary": "<boundary policy ARN>"}}.',
        (*POLICY_DOCUMENT_TYPES, IAM_ROLE),
        _role_changes_need_boundary,
    ),
    _rule(
        "iam-pull-request-trust-read-only",
        "Only read-only roles (tagged platform:access=read-only) trust GitHub pull-request subjects.",
        "trust the GitHub environment of the deploy job (repo:<org>/<repo>:environment:<name>) instead, and "
        "give pull requests the read-only preview identity.",
        (IAM_ROLE,),
        _pull_request_trust,
    ),
    _rule(
        "cloudwatch-audit-log-group-cmk-prod",
        "In prod, audit log groups (a name containing 'audit') are encrypted with a customer-managed key.",
        "set platform:logs.createKmsKey: true (or kmsKeyArn) for the stack.",
        (LOG_GROUP,),
        _audit_log_group_cmk,
        config_schema=_PURGE_CONFIG,
    ),
    _rule(
        "iam-administrator-access",
        "AdministratorAccess is attached only on purpose (advisory).",
        "attach a least-privilege policy; keep AdministratorAccess only where config asks for it explicitly.",
        tuple(POLICY_ATTACHMENT_INPUTS),
        _administrator_access,
        enforcement=ADVISORY,
    ),
    _rule(
        "explicit-provider",
        "No resource uses a default provider.",
        "pass opts=providers.resource_options() (EnvironmentProviders) to the component creating it.",
        None,
        _explicit_provider,
    ),
]
"""Every rule, mandatory ones blocking ``pulumi up`` and ``infra check``, advisory ones only warning."""


ALL_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [*POLICIES, *STACK_POLICIES]
"""What the pack serves: every resource rule and every stack rule."""


def policy_named(name: str) -> ResourceValidationPolicy:
    """The resource rule called ``name`` (KeyError when there is none)."""
    for policy in POLICIES:
        if policy.name == name:
            return policy
    raise KeyError(name)


def stack_policy_named(name: str) -> StackValidationPolicy:
    """The stack rule called ``name`` (KeyError when there is none)."""
    for policy in STACK_POLICIES:
        if policy.name == name:
            return policy
    raise KeyError(name)
