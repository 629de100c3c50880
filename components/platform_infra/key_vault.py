"""An environment's Azure Key Vault with generated passwords, rotation policies and RBAC access.

:class:`SecretVault` declares one RBAC-authorised vault (no access policies) with soft delete, purge
protection (always on in prod), network ACLs and optional diagnostic logs, and one generated password per
:class:`GeneratedSecretSpec`: a ``pulumi_random.RandomPassword`` stored as a Key Vault secret with a content
type and an expiry date. The value only ever travels as a Pulumi secret; what the component exposes is the
vault and secret *URIs* and the ``@Microsoft.KeyVault(SecretUri=...)`` reference an app setting uses.

Rotation is explicit (:class:`RotationPolicy`): a password's ``keepers`` are derived from its policy and an
injected clock or deployment id, so an identical run never changes a value and a new value appears exactly
when the policy says. :class:`VaultAccess` grants app identities *Key Vault Secrets User* and the deploying
principal *Key Vault Secrets Officer* on the vault.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pulumi_random as random

from platform_infra.app_service import SlotRoleGrant
from platform_infra.environment import Environment
from platform_infra.rbac import BUILTIN_ROLE_GUIDS, role_assignment_name, role_definition_id
from platform_infra.validation import (
    AZURE_RESOURCE_GROUP_ALLOWED,
    AZURE_RESOURCE_GROUP_PATTERN,
    GUID_ALLOWED,
    GUID_PATTERN,
    ValidationError,
    require_int,
    validate_when_known,
)
from platform_infra.validation.limits import require_public_ipv4_range
from platform_infra.validation.rules import purge_protection_problem

VAULT_NAME_PATTERN = re.compile(r"^(?!.*--)[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
VAULT_NAME_ALLOWED = (
    "3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, "
    "no consecutive hyphens"
)
SECRET_NAME_PATTERN = re.compile(r"^[0-9A-Za-z-]{1,127}$")
SECRET_NAME_ALLOWED = "1-127 letters, digits and hyphens"
SUBNET_ID_PATTERN = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Network/"
    r"virtualNetworks/[^/]+/subnets/[^/]+$"
)
SUBNET_ID_ALLOWED = (
    "/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>"
    "/subnets/<subnet>"
)


def require_subnet_id(key: str, value: object) -> str:
    """An Azure subnet resource id (a plain string, or the known value of a subnet's ``id`` output)."""
    if not isinstance(value, str) or not SUBNET_ID_PATTERN.fullmatch(value):
        raise ValidationError(key, "is not a subnet id", value=value, allowed=SUBNET_ID_ALLOWED)
    return value


ACCESS_LABEL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PRINTABLE_SPECIALS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

MIN_PASSWORD_LENGTH = 24
DEFAULT_PASSWORD_LENGTH = 32
MAX_PASSWORD_LENGTH = 1024
SOFT_DELETE_RETENTION_DAYS = 90
MAX_CONTENT_TYPE_LENGTH = 255
MAX_ROTATION_DAYS = 3650
DEFAULT_EVERY_DEPLOY_EXPIRY_DAYS = 90

#: Built-in role: read secret contents (what an app identity needs for Key Vault references).
KEY_VAULT_SECRETS_USER = BUILTIN_ROLE_GUIDS["Key Vault Secrets User"]
#: Built-in role: manage secrets (what the deploying principal needs).
KEY_VAULT_SECRETS_OFFICER = BUILTIN_ROLE_GUIDS["Key Vault Secrets Officer"]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EVERY_N_DAYS = re.compile(r"^every_(\d+)_days?$")


class RotationKind(StrEnum):
    """When a generated password gets a new value."""

    NEVER = "never"
    EVERY_DEPLOY = "every_deploy"
    EVERY_N_DAYS = "every_n_days"


@dataclass(frozen=True)
class RotationPolicy:
    """A password's rotation policy.

    :param kind: ``never`` (the value is generated once), ``every_deploy`` (a new value on every
        ``pulumi up``) or ``every_n_days`` (a new value on the first deploy of each ``days``-long period;
        periods are counted in whole UTC days from 1970-01-01, so they roll over at the same instant for
        every stack and every run).
    :param days: the period length for ``every_n_days`` (1 to 3650); must be None otherwise.
    """

    kind: RotationKind
    days: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, RotationKind):
            raise ValidationError(
                "RotationPolicy.kind", "is not a rotation policy", value=self.kind, allowed=ROTATION_ALLOWED
            )
        if self.kind is RotationKind.EVERY_N_DAYS:
            require_int("RotationPolicy.days", self.days, minimum=1, maximum=MAX_ROTATION_DAYS)
        elif self.days is not None:
            raise ValidationError(
                "RotationPolicy.days", f"applies only to every_N_days, not {self.kind.value}", value=self.days
            )

    @classmethod
    def never(cls) -> RotationPolicy:
        """The value is generated once and kept until the secret's spec changes."""
        return cls(RotationKind.NEVER)

    @classmethod
    def every_deploy(cls) -> RotationPolicy:
        """A new value on every deployment."""
        return cls(RotationKind.EVERY_DEPLOY)

    @classmethod
    def every_n_days(cls, days: int) -> RotationPolicy:
        """A new value on the first deployment of each ``days``-long period."""
        return cls(RotationKind.EVERY_N_DAYS, days)

    @classmethod
    def parse(cls, value: object, key: str = "rotation") -> RotationPolicy:
        """The one grammar of rotation policies, as written in config; ``key`` names errors.

        ``never``, ``every_deploy``, ``every_<N>_days`` (``every_30_days``), or the mapping
        ``{policy: every_n_days, days: N}`` (``{policy: never}``...); errors about the mapping's keys are
        named ``<key>.policy`` and ``<key>.days``.
        """
        if isinstance(value, Mapping):
            for name in value:
                if name not in ("policy", "days"):
                    raise ValidationError(f"{key}.{name}", "is not a known key", allowed="days, policy")
            policy = value.get("policy")
            if policy is None:
                raise ValidationError(f"{key}.policy", "is required but not set", allowed=_POLICY_NAMES)
            if policy not in [kind.value for kind in RotationKind]:
                raise ValidationError(
                    f"{key}.policy", "is not one of the allowed values", value=policy, allowed=_POLICY_NAMES
                )
            days = value.get("days")
            if policy == RotationKind.EVERY_N_DAYS.value:
                if days is None:
                    raise ValidationError(f"{key}.days", "is required but not set", allowed=_DAYS_ALLOWED)
                return cls.every_n_days(
                    require_int(f"{key}.days", days, minimum=1, maximum=MAX_ROTATION_DAYS)
                )
            if days is not None:
                raise ValidationError(
                    f"{key}.days", f"applies only to every_n_days, not {policy}", value=days
                )
            return cls(RotationKind(policy))
        if value == RotationKind.NEVER.value:
            return cls.never()
        if value == RotationKind.EVERY_DEPLOY.value:
            return cls.every_deploy()
        match = _EVERY_N_DAYS.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ValidationError(key, "is not a rotation policy", value=value, allowed=ROTATION_ALLOWED)
        days = int(match.group(1))
        if not 1 <= days <= MAX_ROTATION_DAYS:
            raise ValidationError(key, "is out of range", value=value, allowed=ROTATION_ALLOWED)
        return cls.every_n_days(days)

    @property
    def label(self) -> str:
        """The policy as written in config: ``never``, ``every_deploy`` or ``every_30_days``."""
        if self.kind is RotationKind.EVERY_N_DAYS:
            return f"every_{self.days}_days"
        return self.kind.value

    def period_start(self, now: datetime) -> datetime:
        """Start (UTC midnight) of the ``every_n_days`` period that contains ``now``."""
        assert self.days is not None, "period_start applies to every_n_days only"
        elapsed_days = (now - _EPOCH).days
        return _EPOCH + timedelta(days=elapsed_days - elapsed_days % self.days)

    def keepers(self, now: datetime, deployment_id: str) -> dict[str, str]:
        """The RandomPassword keepers: they change (and so replace the value) exactly when the policy says."""
        keepers = {"rotation": self.label}
        if self.kind is RotationKind.EVERY_DEPLOY:
            keepers["deployment"] = deployment_id
        elif self.kind is RotationKind.EVERY_N_DAYS:
            keepers["period"] = self.period_start(now).date().isoformat()
        return keepers


ROTATION_ALLOWED = (
    "never, every_deploy, every_<N>_days (e.g. every_30_days, N from 1 to 3650), "
    "or {policy: every_n_days, days: N}"
)
"""What :meth:`RotationPolicy.parse` accepts (the one statement of the rotation grammar)."""
_POLICY_NAMES = ", ".join(kind.value for kind in RotationKind)
_DAYS_ALLOWED = f"1 to {MAX_ROTATION_DAYS}"
ROTATION_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "pattern": r"^(never|every_deploy|every_[0-9]+_days?)$"},
        {
            "type": "object",
            "properties": {
                "policy": {"enum": [kind.value for kind in RotationKind]},
                "days": {"type": "integer", "minimum": 1, "maximum": MAX_ROTATION_DAYS},
            },
            "required": ["policy"],
            "additionalProperties": False,
        },
    ]
}
"""The JSON Schema of the same grammar (for editors; :meth:`RotationPolicy.parse` has the last word)."""


@dataclass(frozen=True)
class GeneratedSecretSpec:
    """One generated password stored in the vault.

    :param name: Key Vault secret name (1-127 letters, digits and hyphens), unique in the vault.
    :param length: password length, 24 to 1024 (default 32).
    :param lower: use lower-case letters.
    :param upper: use upper-case letters.
    :param numeric: use digits.
    :param special: use special characters (from ``override_special``).
    :param min_lower: at least this many lower-case letters.
    :param min_upper: at least this many upper-case letters.
    :param min_numeric: at least this many digits.
    :param min_special: at least this many special characters.
    :param override_special: the special characters allowed (printable ASCII punctuation); pick a set the
        consumer accepts, e.g. no quotes for a connection string.
    :param content_type: the secret's content type, shown in the portal (e.g. ``text/plain``).
    :param rotation: when the value changes (see :class:`RotationPolicy`).
    :param expires_in_days: expiry relative to the start of the current value's validity: the period start
        for ``every_n_days`` (default twice the period, must exceed it) or the deployment time for
        ``every_deploy`` (default 90). Not allowed for ``never``: use ``expires_on``.
    :param expires_on: a fixed expiry date (UTC midnight) for a ``never`` secret; no expiry when None.
    """

    name: str
    length: int = DEFAULT_PASSWORD_LENGTH
    lower: bool = True
    upper: bool = True
    numeric: bool = True
    special: bool = True
    min_lower: int = 1
    min_upper: int = 1
    min_numeric: int = 1
    min_special: int = 1
    override_special: str = "!#%&*()-_=+[]{}<>:?"
    content_type: str = "text/plain"
    rotation: RotationPolicy = field(default_factory=RotationPolicy.never)
    expires_in_days: int | None = None
    expires_on: date | None = None

    def validate(
        self, key: str, field_names: Mapping[str, str] | None = None, stack: str | None = None
    ) -> None:
        """Raise a ValidationError naming ``key`` and the field if the spec is unusable.

        :param key: prefix of every error's key, e.g. ``SecretVault(vault).secrets[0]``.
        :param field_names: how to spell fields in errors (``{"min_lower": "minLower"}`` for config keys).
        :param stack: the stack, for error messages (defaults to the running stack).
        """
        names = dict(field_names or {})

        def at(field_name: str) -> str:
            return f"{key}.{names.get(field_name, field_name)}"

        def fail(field_name: str, problem: str, **kwargs: Any) -> ValidationError:
            return ValidationError(at(field_name), problem, stack=stack, **kwargs)

        if not isinstance(self.name, str) or not SECRET_NAME_PATTERN.fullmatch(self.name):
            raise fail(
                "name", "is not a valid Key Vault secret name", value=self.name, allowed=SECRET_NAME_ALLOWED
            )
        require_int(
            at("length"), self.length, minimum=MIN_PASSWORD_LENGTH, maximum=MAX_PASSWORD_LENGTH, stack=stack
        )
        classes = {
            "lower": (self.lower, self.min_lower),
            "upper": (self.upper, self.min_upper),
            "numeric": (self.numeric, self.min_numeric),
            "special": (self.special, self.min_special),
        }
        if not any(enabled for enabled, _ in classes.values()):
            raise ValidationError(
                key,
                "enables no character class",
                allowed="at least one of " + ", ".join(classes),
                stack=stack,
            )
        total = 0
        for class_name, (enabled, minimum) in classes.items():
            min_field = f"min_{class_name}"
            count = require_int(at(min_field), minimum, minimum=0, maximum=self.length, stack=stack)
            if not enabled and count:
                raise fail(min_field, f"must be 0 when {class_name} characters are off", value=count)
            total += count
        if total > self.length:
            raise fail(
                "length",
                f"is shorter than the sum of the minimum counts ({total})",
                value=self.length,
                allowed=f">= {total}",
            )
        if self.special and (
            not isinstance(self.override_special, str)
            or not self.override_special
            or any(c not in PRINTABLE_SPECIALS for c in self.override_special)
        ):
            raise fail(
                "override_special",
                "must be a non-empty set of printable ASCII punctuation",
                value=self.override_special,
                allowed=PRINTABLE_SPECIALS,
            )
        if (
            not isinstance(self.content_type, str)
            or not self.content_type.strip()
            or len(self.content_type) > MAX_CONTENT_TYPE_LENGTH
        ):
            raise fail(
                "content_type",
                "must be a non-empty string",
                value=self.content_type,
                allowed="1-255 characters",
            )
        if not isinstance(self.rotation, RotationPolicy):
            raise fail("rotation", "is not a RotationPolicy", value=self.rotation)
        kind = self.rotation.kind
        if self.expires_in_days is not None:
            if kind is RotationKind.NEVER:
                raise fail(
                    "expires_in_days",
                    "has no anchor for a secret that never rotates (it would move on every deploy)",
                    value=self.expires_in_days,
                    allowed="expires_on (a fixed date), or a rotating policy",
                )
            minimum = (self.rotation.days or 0) + 1
            require_int(
                at("expires_in_days"), self.expires_in_days, minimum=minimum, maximum=36500, stack=stack
            )
        if self.expires_on is not None:
            if kind is not RotationKind.NEVER:
                raise fail(
                    "expires_on",
                    f"applies to never-rotating secrets only, not {self.rotation.label}",
                    allowed="expires_in_days",
                )
            if not isinstance(self.expires_on, date):
                raise fail("expires_on", "must be a date", value=self.expires_on, allowed="YYYY-MM-DD")

    def expires(self, now: datetime) -> int | None:
        """Expiry in seconds since 1970-01-01 UTC; stable for identical config within one rotation period."""
        kind = self.rotation.kind
        if kind is RotationKind.NEVER:
            if self.expires_on is None:
                return None
            return int(
                datetime(
                    self.expires_on.year, self.expires_on.month, self.expires_on.day, tzinfo=UTC
                ).timestamp()
            )
        if kind is RotationKind.EVERY_N_DAYS:
            assert self.rotation.days is not None
            anchor = self.rotation.period_start(now)
            days = self.expires_in_days if self.expires_in_days is not None else 2 * self.rotation.days
        else:
            # The deployment's UTC day, not its second: a preview saved with --save-plan and the
            # `up --plan` that applies it later the same day must compute the same expiry.
            anchor = datetime(now.year, now.month, now.day, tzinfo=UTC)
            days = (
                self.expires_in_days if self.expires_in_days is not None else DEFAULT_EVERY_DEPLOY_EXPIRY_DAYS
            )
        return int((anchor + timedelta(days=days)).timestamp())


@dataclass(frozen=True)
class SecretVaultArgs:
    """Arguments of :class:`SecretVault`.

    :param environment: the environment (its tier, tags, subscription and tenant are used).
    :param vault_name: globally unique vault name (3-24 letters, digits and hyphens, see VAULT_NAME_ALLOWED).
    :param secrets: the generated passwords to store.
    :param resource_group_name: put the vault in this existing resource group; when None, a resource group
        ``rg-<environment>-vault`` is created for it.
    :param purge_protection: purge protection; always on in prod (False there is refused). Azure cannot turn
        it off again once on.
    :param public_network_access: ``Enabled`` (the firewall below applies) or ``Disabled`` (private
        endpoints and trusted services only).
    :param default_action: firewall default, ``Deny`` (default) or ``Allow`` (refused in prod).
    :param allowed_ip_ranges: IPv4 addresses or CIDR ranges allowed through the firewall.
    :param allowed_subnet_ids: subnet resource ids allowed through the firewall.
    :param log_analytics_workspace_id: when given, audit logs and metrics go to this workspace.
    :param sku: ``standard`` or ``premium``.
    :param now: the deployment's clock for rotation and expiry (timezone-aware; defaults to the real clock).
        Inject it in tests so runs are deterministic.
    :param deployment_id: identifies this deployment for ``every_deploy`` secrets (e.g. the CI run id);
        defaults to ``now`` to the second.
    :param hold_rotation: keep every existing secret's value and expiry as they are in the stack's state
        (``ignore_changes`` on the password's keepers and the secret's expiry), for a drift check: a
        ``preview --refresh --expect-no-changes`` must report changes made outside Pulumi, not a rotation
        the next deployment will do anyway (``every_deploy`` would otherwise be "drift" on every run).
        Never for a deployment, which would silently skip a due rotation.
    """

    environment: Environment
    vault_name: str
    secrets: Sequence[GeneratedSecretSpec] = ()
    resource_group_name: str | None = None
    purge_protection: bool = True
    public_network_access: str = "Enabled"
    default_action: str = "Deny"
    allowed_ip_ranges: Sequence[str] = ()
    allowed_subnet_ids: Sequence[pulumi.Input[str]] = ()
    log_analytics_workspace_id: pulumi.Input[str] | None = None
    sku: str = "standard"
    now: datetime | None = None
    deployment_id: str | None = None
    hold_rotation: bool = False


class SecretVault(pulumi.ComponentResource):
    """One environment's Key Vault and its generated secrets (type ``platform:security:SecretVault``).

    In prod the vault (and a resource group created for it) is ``protect``ed and retained on delete, so a
    mistaken ``pulumi destroy`` or a rename of the component cannot delete it.
    """

    vault: azure_native.keyvault.Vault
    """The Key Vault resource."""
    vault_id: pulumi.Output[str]
    """ARM id of the vault (the scope of role assignments)."""
    vault_name: str
    """The vault's name."""
    vault_uri: pulumi.Output[str]
    """``https://<name>.vault.azure.net/``."""
    resource_group_name: str
    """The resource group holding the vault."""
    scope: str
    """The vault's ARM id, computed from known names (stable input for deterministic names)."""
    environment: Environment
    """The environment the vault belongs to."""
    secrets: dict[str, azure_native.keyvault.Secret]
    """Secret name to Key Vault secret resource."""
    passwords: dict[str, random.RandomPassword]
    """Secret name to the password generator (its ``result`` is a Pulumi secret)."""
    secret_uris: dict[str, pulumi.Output[str]]
    """Secret name to versionless secret URI (apps always get the current version)."""
    keepers: dict[str, dict[str, str]]
    """Secret name to the keepers given to its RandomPassword (what decides when it rotates)."""

    def __init__(self, name: str, args: SecretVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        env = args.environment
        _validate_vault_args(name, args)
        now = _resolve_now(args.now, f"SecretVault({name}).now")
        deployment_id = args.deployment_id or now.replace(microsecond=0).isoformat()
        super().__init__("platform:security:SecretVault", name, None, opts)

        self.environment = env
        self.vault_name = args.vault_name
        protect = env.is_prod
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect)

        rg_dependency: list[pulumi.Resource] = []
        if args.resource_group_name is None:
            self.resource_group_name = f"rg-{env.name}-vault"
            resource_group = azure_native.resources.ResourceGroup(
                f"{name}-rg",
                resource_group_name=self.resource_group_name,
                location=env.azure.location,
                tags=dict(env.tags),
                opts=protected,
            )
            # The vault names its group as a plain string; depends_on keeps create/delete order right.
            rg_dependency.append(resource_group)
        else:
            self.resource_group_name = args.resource_group_name

        self.scope = (
            f"/subscriptions/{env.azure.subscription_id}/resourceGroups/{self.resource_group_name}"
            f"/providers/Microsoft.KeyVault/vaults/{args.vault_name}"
        )
        self.vault = azure_native.keyvault.Vault(
            name,
            vault_name=args.vault_name,
            resource_group_name=self.resource_group_name,
            location=env.azure.location,
            tags=dict(env.tags),
            properties=azure_native.keyvault.VaultPropertiesArgs(
                tenant_id=env.azure.tenant_id,
                sku=azure_native.keyvault.SkuArgs(
                    family=azure_native.keyvault.SkuFamily.A,
                    name=azure_native.keyvault.SkuName(args.sku),
                ),
                # Data access is authorised by role assignments (VaultAccess), never by access policies.
                enable_rbac_authorization=True,
                access_policies=[],
                enable_soft_delete=True,
                soft_delete_retention_in_days=SOFT_DELETE_RETENTION_DAYS,
                # Azure refuses `false` once purge protection is on; None leaves it off where allowed.
                enable_purge_protection=True if args.purge_protection else None,
                public_network_access=args.public_network_access,
                network_acls=azure_native.keyvault.NetworkRuleSetArgs(
                    bypass=azure_native.keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                    default_action=azure_native.keyvault.NetworkRuleAction(args.default_action),
                    ip_rules=[azure_native.keyvault.IPRuleArgs(value=ip) for ip in args.allowed_ip_ranges],
                    virtual_network_rules=[
                        azure_native.keyvault.VirtualNetworkRuleArgs(
                            id=validate_when_known(
                                subnet,
                                functools.partial(
                                    require_subnet_id, f"SecretVault({name}).allowed_subnet_ids[{i}]"
                                ),
                            )
                        )
                        for i, subnet in enumerate(args.allowed_subnet_ids)
                    ],
                ),
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
            ),
            opts=pulumi.ResourceOptions.merge(protected, pulumi.ResourceOptions(depends_on=rg_dependency)),
        )
        self.vault_id = self.vault.id
        self.vault_uri = self.vault.properties.apply(lambda p: p.vault_uri)

        if args.log_analytics_workspace_id is not None:
            azure_native.monitor.DiagnosticSetting(
                f"{name}-diagnostics",
                name=f"{args.vault_name}-to-log-analytics",
                resource_uri=self.vault.id,
                workspace_id=args.log_analytics_workspace_id,
                log_analytics_destination_type="Dedicated",
                logs=[
                    azure_native.monitor.DiagnosticsLogSettingsArgs(category_group="audit", enabled=True),
                    azure_native.monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True),
                ],
                metrics=[
                    azure_native.monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)
                ],
                opts=child,
            )

        self.secrets = {}
        self.passwords = {}
        self.secret_uris = {}
        self.keepers = {}
        for spec in args.secrets:
            self._declare_secret(name, spec, now, deployment_id, child, hold_rotation=args.hold_rotation)

        self.register_outputs(
            {
                "vaultId": self.vault_id,
                "vaultName": self.vault_name,
                "vaultUri": self.vault_uri,
                "secretUris": self.secret_uris,
            }
        )

    def _declare_secret(
        self,
        name: str,
        spec: GeneratedSecretSpec,
        now: datetime,
        deployment_id: str,
        child: pulumi.ResourceOptions,
        *,
        hold_rotation: bool,
    ) -> None:
        keepers = spec.rotation.keepers(now, deployment_id)
        # ignore_changes keeps the value recorded in the stack's state for every later preview or update
        # (and uses the program's value only on create): pulumi.com/docs/iac/concepts/options/ignorechanges.
        held_keepers = ["keepers"] if hold_rotation else []
        held_expiry = ["properties.attributes.expires"] if hold_rotation else []
        password = random.RandomPassword(
            f"{name}-{spec.name}-password",
            length=spec.length,
            lower=spec.lower,
            upper=spec.upper,
            numeric=spec.numeric,
            special=spec.special,
            min_lower=spec.min_lower,
            min_upper=spec.min_upper,
            min_numeric=spec.min_numeric,
            min_special=spec.min_special,
            override_special=spec.override_special if spec.special else None,
            keepers=keepers,
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    additional_secret_outputs=["result", "bcryptHash"], ignore_changes=held_keepers
                ),
            ),
        )
        expires = spec.expires(now)
        secret = azure_native.keyvault.Secret(
            f"{name}-{spec.name}",
            secret_name=spec.name,
            vault_name=self.vault_name,
            resource_group_name=self.resource_group_name,
            properties=azure_native.keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(password.result),
                content_type=spec.content_type,
                attributes=azure_native.keyvault.SecretAttributesArgs(enabled=True, expires=expires),
            ),
            tags={**self.environment.tags, "rotation": spec.rotation.label},
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.vault], ignore_changes=held_expiry)
            ),
        )
        self.passwords[spec.name] = password
        self.secrets[spec.name] = secret
        self.keepers[spec.name] = keepers
        # The URI reveals nothing; the engine may still mark it secret because `properties` held the value.
        self.secret_uris[spec.name] = pulumi.Output.unsecret(secret.properties.apply(lambda p: p.secret_uri))

    def _require_secret(self, secret_name: str) -> None:
        if secret_name not in self.secret_uris:
            raise ValidationError(
                f"SecretVault({self.vault_name}).secret_uri",
                "names no secret of this vault",
                value=secret_name,
                allowed=", ".join(sorted(self.secret_uris)) or "(the vault declares no secrets)",
            )

    def secret_uri(self, secret_name: str) -> pulumi.Output[str]:
        """The versionless URI of ``secret_name`` (ValidationError when the vault has no such secret)."""
        self._require_secret(secret_name)
        return self.secret_uris[secret_name]

    def reference(self, secret_name: str) -> pulumi.Output[str]:
        """The app-setting value ``@Microsoft.KeyVault(SecretUri=<versionless uri>)`` for ``secret_name``.

        Versionless, so App Service picks up a rotated value (it re-reads references within 24 hours, or at
        once on restart) without the app setting changing.

        The URI ends with ``/``, the form App Service documents for the latest version
        (``https://myvault.vault.azure.net/secrets/mysecret/``; MicrosoftDocs/azure-docs
        articles/app-service/app-service-key-vault-references.md, "Reference syntax"). ARM's ``secretUri``
        has no trailing slash, and a reference without it was reported to keep resolving an old version
        after a rotation (mdpellegrin.com/blog/2026-05-05-azure-key-vault-reference-trailing-slash).
        """
        return self.secret_uri(secret_name).apply(
            lambda uri: f"@Microsoft.KeyVault(SecretUri={uri.rstrip('/')}/)"
        )

    def secrets_user_grant(self) -> SlotRoleGrant:
        """Key Vault Secrets User on this vault for both slots of an app (``role_grants`` of the app's args).

        Each slot resolves its Key Vault references with its own identity, and App Service resolves them when
        the settings change (the update restarts the site) and then only every 24 hours
        (learn.microsoft.com/azure/app-service/app-service-key-vault-references, "Rotation"). Granting through
        the app makes its settings wait for the assignments, so the first resolution already succeeds.
        """
        return SlotRoleGrant(
            label="secrets-user",
            scope=self.vault_id,
            scope_key=self.scope,
            role_definition_guid=KEY_VAULT_SECRETS_USER,
            subscription_id=self.environment.azure.subscription_id,
        )

    def password(self, secret_name: str) -> pulumi.Output[str]:
        """The generated value of ``secret_name`` as a Pulumi secret (e.g. a database's admin password)."""
        self._require_secret(secret_name)
        return pulumi.Output.secret(self.passwords[secret_name].result)


def _resolve_now(now: datetime | None, key: str) -> datetime:
    """The deployment clock as an aware UTC datetime (the real clock when None)."""
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime):
        raise ValidationError(key, "must be a datetime", value=now)
    if now.tzinfo is None:
        raise ValidationError(key, "must be timezone-aware", value=now, allowed="e.g. datetime.now(UTC)")
    return now.astimezone(UTC)


def _validate_vault_args(name: str, args: SecretVaultArgs) -> None:
    """Refuse unusable arguments before anything is registered."""
    arg = f"SecretVault({name})"
    env = args.environment
    if not isinstance(args.vault_name, str) or not VAULT_NAME_PATTERN.fullmatch(args.vault_name):
        raise ValidationError(
            f"{arg}.vault_name",
            "is not a valid Key Vault name",
            value=args.vault_name,
            allowed=VAULT_NAME_ALLOWED,
        )
    if args.resource_group_name is not None and not AZURE_RESOURCE_GROUP_PATTERN.fullmatch(
        args.resource_group_name
    ):
        raise ValidationError(
            f"{arg}.resource_group_name",
            "is not a valid resource group name",
            value=args.resource_group_name,
            allowed=AZURE_RESOURCE_GROUP_ALLOWED,
        )
    purge_problem = purge_protection_problem(env.is_prod, args.purge_protection)
    if purge_problem:
        raise ValidationError(
            f"{arg}.purge_protection", purge_problem, value=args.purge_protection, allowed="true"
        )
    if args.public_network_access not in ("Enabled", "Disabled"):
        raise ValidationError(
            f"{arg}.public_network_access",
            "is not allowed",
            value=args.public_network_access,
            allowed="Enabled, Disabled",
        )
    if args.default_action not in ("Deny", "Allow"):
        raise ValidationError(
            f"{arg}.default_action", "is not allowed", value=args.default_action, allowed="Deny, Allow"
        )
    if env.is_prod and args.default_action == "Allow":
        raise ValidationError(
            f"{arg}.default_action",
            "cannot be Allow in prod: list the allowed IP ranges and subnets instead",
            value="Allow",
            allowed="Deny",
        )
    if args.sku not in ("standard", "premium"):
        raise ValidationError(f"{arg}.sku", "is not allowed", value=args.sku, allowed="standard, premium")
    for index, ip_range in enumerate(args.allowed_ip_ranges):
        validate_ip_range(f"{arg}.allowed_ip_ranges[{index}]", ip_range, allow_any=not env.is_prod)
    for index, subnet in enumerate(args.allowed_subnet_ids):
        # Subnet ids usually come from a subnet resource: those are checked when known (see the vault).
        if not isinstance(subnet, pulumi.Output):
            require_subnet_id(f"{arg}.allowed_subnet_ids[{index}]", subnet)
    seen: set[str] = set()
    for index, spec in enumerate(args.secrets):
        key = f"{arg}.secrets[{index}]"
        if not isinstance(spec, GeneratedSecretSpec):
            raise ValidationError(key, "is not a GeneratedSecretSpec", value=type(spec).__name__)
        spec.validate(key)
        # Key Vault secret names are case-insensitive.
        if spec.name.lower() in seen:
            raise ValidationError(f"{key}.name", "is declared twice", value=spec.name, allowed="unique names")
        seen.add(spec.name.lower())


def validate_ip_range(key: str, value: object, *, allow_any: bool = True, stack: str | None = None) -> str:
    """An IPv4 address or CIDR range Key Vault's firewall accepts: public IPv4 only (Key Vault "Configure
    network security": RFC 1918 ranges are not allowed, IPv6 is not supported); ``0.0.0.0/0`` only when
    ``allow_any`` (never in prod). The rule is ``validation.limits.require_public_ipv4_range``.
    """
    return require_public_ipv4_range(key, value, allow_any=allow_any, stack=stack)


@dataclass(frozen=True)
class VaultAccessArgs:
    """Arguments of :class:`VaultAccess`.

    :param vault: the vault to grant access to.
    :param app_principals: label (e.g. ``web-production``, ``web-staging``: one per slot) to the principal id
        of an app's managed identity; each gets *Key Vault Secrets User*.
    :param deployer_principal_id: object id of the deploying pipeline identity; gets *Key Vault Secrets
        Officer*. None grants nothing to the deployer.
    :param deployer_principal_type: ``ServicePrincipal`` (a pipeline identity), ``User`` or ``Group``.
    """

    vault: SecretVault
    app_principals: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    deployer_principal_id: str | None = None
    deployer_principal_type: str = "ServicePrincipal"


class VaultAccess(pulumi.ComponentResource):
    """Role assignments on one vault (type ``platform:security:VaultAccess``).

    Names are uuid5 GUIDs of the vault's id, the principal's label and the role, so a re-run never replaces
    an assignment; a changed principal id replaces it (delete first, since the name is reused).
    """

    assignments: dict[str, azure_native.authorization.RoleAssignment]
    """``<label>/<role>`` (role ``secrets-user`` or ``secrets-officer``) to the role assignment."""

    def __init__(self, name: str, args: VaultAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        arg = f"VaultAccess({name})"
        if not isinstance(args.vault, SecretVault):
            raise ValidationError(f"{arg}.vault", "is not a SecretVault", value=type(args.vault).__name__)
        for label in args.app_principals:
            if not isinstance(label, str) or not ACCESS_LABEL_PATTERN.fullmatch(label) or label == "deployer":
                raise ValidationError(
                    f"{arg}.app_principals",
                    "has an invalid label",
                    value=label,
                    allowed="1-63 lower-case letters, digits and '-', not 'deployer'",
                )
        if args.deployer_principal_id is not None and not GUID_PATTERN.fullmatch(
            str(args.deployer_principal_id)
        ):
            raise ValidationError(
                f"{arg}.deployer_principal_id",
                "is not a GUID",
                value=args.deployer_principal_id,
                allowed=GUID_ALLOWED,
            )
        if args.deployer_principal_type not in ("ServicePrincipal", "User", "Group"):
            raise ValidationError(
                f"{arg}.deployer_principal_type",
                "is not allowed",
                value=args.deployer_principal_type,
                allowed="ServicePrincipal, User, Group",
            )
        super().__init__("platform:security:VaultAccess", name, None, opts)

        vault = args.vault
        subscription = vault.environment.azure.subscription_id
        self.assignments = {}
        grants: list[tuple[str, pulumi.Input[str], str, str, str]] = [
            (label, principal, "ServicePrincipal", KEY_VAULT_SECRETS_USER, "secrets-user")
            for label, principal in args.app_principals.items()
        ]
        if args.deployer_principal_id is not None:
            grants.append(
                (
                    "deployer",
                    args.deployer_principal_id.lower(),
                    args.deployer_principal_type,
                    KEY_VAULT_SECRETS_OFFICER,
                    "secrets-officer",
                )
            )
        for label, principal, principal_type, role_guid, role_label in grants:
            self.assignments[f"{label}/{role_label}"] = azure_native.authorization.RoleAssignment(
                f"{name}-{label}-{role_label}",
                role_assignment_name=role_assignment_name(vault.scope, label, role_guid),
                scope=vault.vault_id,
                principal_id=principal,
                principal_type=principal_type,
                role_definition_id=role_definition_id(subscription, role_guid),
                description=f"{role_label} on {vault.vault_name} for {label}",
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
        self.register_outputs(
            {"assignments": {key: assignment.id for key, assignment in self.assignments.items()}}
        )
