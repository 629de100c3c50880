"""The named AWS profile a pipeline job writes for its stack's AWS provider (``platform:aws.profile``).

A stack with ``platform:aws.profile`` gives its AWS provider only that profile's name (plus region,
``allowed_account_ids`` and default tags), never a role: the job writes the profile with the role *it* may
use. The deploy job's profile names the deploy role, a preview or drift job's the read-only role. The
provider's inputs are then identical in every job, which `pulumi up --plan` needs: it refuses a provider
whose inputs differ from the saved plan (pulumi/pulumi ``pkg/resource/deploy/plan.go``, ``checkGoal`` ->
``checkDiff``: "resource ... violates plan: properties changed"; providers are planned and checked like any
custom resource in ``step_generator.go``), and so does every `preview --expect-no-changes` against state
written by the deploy job (the bridge's ``DiffConfig`` reports any changed provider input, and an explicit
provider's update counts as a change: ``engine.HasChanges``).

How the provider reads the profile (terraform-provider-aws through hashicorp/aws-sdk-go-base
``credentials.go``): a configured ``profile`` is loaded with ``config.WithSharedConfigProfile`` and *takes
precedence over* the ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` environment variables (it warns
"Configuration conflict detected" and uses the profile). aws-sdk-go-v2 ``config/resolve_credentials.go``:
with a profile set, ``resolveCredsFromProfile`` runs first; ``credential_source = Environment`` takes the
environment's static keys as source credentials and ``role_arn`` wraps them in an ``AssumeRoleProvider``
(``duration_seconds``, ``external_id`` and ``role_session_name`` honoured), and the whole chain sits in an
``aws.CredentialsCache``, which assumes the role again when the session expires. So the chained session
(one hour at most: AWS STS ``AssumeRole`` "DurationSeconds": role chaining limits a session to one hour)
is renewed from the job's own credentials for as long as those last (7200 s in the 90-minute deploy job).

Locally, the same profile name points at a person's own credentials (``source_profile``); see
docs/pipelines.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from platform_infra.environment import AWS_PROFILE_PATTERN, AwsTarget
from platform_infra.validation import ValidationError, require_pattern
from platform_infra.validation.limits import require_external_id

#: What the AWS SDK accepts as ``credential_source`` for the environment's keys (aws-sdk-go-v2
#: ``config/resolve_credentials.go``: ``credSourceEnvironment``).
CREDENTIAL_SOURCE_ENVIRONMENT = "Environment"
#: Longest session of a role assumed with another role's credentials (role chaining), in seconds.
CHAINED_SESSION_MAX_SECONDS = 3600
EXTERNAL_ID_VARIABLE = "PLATFORM_AWS_EXTERNAL_ID"
"""Environment variable a job puts the stack's external id in (``pulumi config get``), never a file."""
EXTERNAL_IDS_VARIABLE = "PLATFORM_AWS_EXTERNAL_IDS"
"""The shared stack's external ids per target (``platform:externalId-<target>``) as a JSON object."""


class Access(StrEnum):
    """Which of the target account's roles a job's profile names."""

    DEPLOY = "deploy"
    """The deploy role (``platform:aws.deployRoleName``): jobs in the environment's deploying identity."""
    PREVIEW = "preview"
    """The read-only role (``platform:aws.previewRoleName``): previews, the saved prod plan, drift checks."""


@dataclass(frozen=True)
class ProfileSection:
    """One ``[profile NAME]`` section of an AWS shared config file.

    :param name: the profile name (``platform:aws.profile``).
    :param role_arn: the role the provider assumes.
    :param session_name: the STS session name (shows in CloudTrail).
    :param duration_seconds: the assumed session's length (role chaining: at most 3600).
    :param external_id: the external id the role's trust policy requires, or None.
    :param source_profile: a profile holding the source credentials (local use); None takes them from
        the environment (``credential_source = Environment``, what the pipelines do).
    """

    name: str
    role_arn: str
    session_name: str
    duration_seconds: int
    external_id: str | None = None
    source_profile: str | None = None

    def render(self) -> str:
        """The section as INI text (no secrets beyond the external id, which STS does not treat as one)."""
        lines = [f"[profile {self.name}]", f"role_arn = {self.role_arn}"]
        if self.source_profile is not None:
            lines.append(f"source_profile = {self.source_profile}")
        else:
            lines.append(f"credential_source = {CREDENTIAL_SOURCE_ENVIRONMENT}")
        lines += [f"role_session_name = {self.session_name}", f"duration_seconds = {self.duration_seconds}"]
        if self.external_id:
            lines.append(f"external_id = {self.external_id}")
        return "\n".join(lines) + "\n"


def profile_for(
    target: AwsTarget,
    access: Access | str,
    *,
    session_name: str,
    external_id: str | None = None,
    source_profile: str | None = None,
    stack: str | None = None,
) -> ProfileSection:
    """The profile a job with ``access`` writes for ``target`` (which must name ``platform:aws.profile``).

    :raises ValidationError: the stack has no profile, or a bad external id or source profile.
    """
    if target.profile is None:
        raise ValidationError(
            "platform:aws.profile",
            "is not set: the stack's provider assumes its deploy role itself, no profile is read",
            allowed="a profile name, e.g. platform-dev",
            stack=stack,
        )
    if access not in {a.value for a in Access}:
        raise ValidationError("access", "is not deploy or preview", value=access, allowed="deploy, preview")
    if external_id:
        require_external_id(f"${EXTERNAL_ID_VARIABLE}", external_id, stack=stack)
    if source_profile is not None:
        require_pattern("source_profile", source_profile, AWS_PROFILE_PATTERN, "an AWS profile name")
        if source_profile == target.profile:
            raise ValidationError(
                "source_profile", "is the profile itself", value=source_profile, allowed="another profile"
            )
    role_arn = target.deploy_role_arn if Access(access) is Access.DEPLOY else target.preview_role_arn
    return ProfileSection(
        name=target.profile,
        role_arn=role_arn,
        session_name=session_name,
        duration_seconds=min(target.session_duration_seconds, CHAINED_SESSION_MAX_SECONDS),
        external_id=external_id or None,
        source_profile=source_profile,
    )


def external_id_from(environ: Mapping[str, str]) -> str | None:
    """The external id the job put in :data:`EXTERNAL_ID_VARIABLE`, or None when unset or empty."""
    return environ.get(EXTERNAL_ID_VARIABLE) or None


def external_ids_from(environ: Mapping[str, str], stack: str | None = None) -> dict[str, str]:
    """The per-target external ids the job put in :data:`EXTERNAL_IDS_VARIABLE` (a JSON object of target
    name to id; empty when unset), each checked against STS's limits.

    :raises ValidationError: not a JSON object of strings.
    """
    raw = environ.get(EXTERNAL_IDS_VARIABLE) or "{}"
    try:
        values = json.loads(raw)
    except ValueError:
        values = None
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise ValidationError(
            f"${EXTERNAL_IDS_VARIABLE}",
            "is not a JSON object of target names to external ids",
            allowed='e.g. {"prod": "..."}',
            stack=stack,
        )
    for target, value in values.items():
        if value:
            require_external_id(f"${EXTERNAL_IDS_VARIABLE}.{target}", value, stack=stack)
    return {k: v for k, v in values.items() if v}
