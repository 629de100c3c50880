"""Declares the stack's Key Vault (``platform:vault``) and who may read it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pulumi

from platform_infra.config import StackConfig
from platform_infra.environment import EnvironmentProviders
from platform_infra.key_vault import SecretVault, SecretVaultArgs, VaultAccess, VaultAccessArgs

VAULT_RESOURCE_NAME = "vault"
"""Logical name of the vault component. Renaming it would replace the vault: prod's is protected."""


def declare_vault(
    config: StackConfig,
    providers: EnvironmentProviders,
    *,
    log_analytics_workspace_id: pulumi.Input[str] | None = None,
    now: datetime | None = None,
    deployment_id: str | None = None,
) -> SecretVault | None:
    """The environment's :class:`SecretVault`, or None when the stack has no ``platform:vault``.

    :param config: the validated stack config.
    :param providers: the environment's providers.
    :param log_analytics_workspace_id: where the vault's audit logs go (none when None).
    :param now: the deployment clock for rotation and expiry (the real clock when None).
    :param deployment_id: identifies this deployment for ``every_deploy`` secrets (defaults to ``now``).
    """
    vault = config.vault
    if vault is None:
        return None
    return SecretVault(
        VAULT_RESOURCE_NAME,
        SecretVaultArgs(
            environment=config.environment,
            vault_name=vault.name,
            secrets=vault.specs,
            resource_group_name=vault.resource_group_name,
            purge_protection=vault.purge_protection,
            public_network_access=vault.public_network_access,
            default_action=vault.default_action,
            allowed_ip_ranges=vault.allowed_ip_ranges,
            allowed_subnet_ids=vault.allowed_subnet_ids,
            log_analytics_workspace_id=log_analytics_workspace_id,
            sku=vault.sku,
            now=now,
            deployment_id=deployment_id,
            hold_rotation=config.drift_check,
        ),
        opts=providers.resource_options(),
    )


def declare_vault_access(
    config: StackConfig,
    providers: EnvironmentProviders,
    vault: SecretVault,
    app_principals: Mapping[str, pulumi.Input[str]],
) -> VaultAccess:
    """Role assignments on ``vault``: *Secrets User* per app identity, *Secrets Officer* for the deployer.

    :param config: the validated stack config (``platform:vault.deployerPrincipalId``).
    :param providers: the environment's providers.
    :param vault: the stack's vault.
    :param app_principals: label -> managed identity principal id, one per slot (``web-production``,
        ``web-staging``, ...). Labels name the assignments: keep them stable.
    """
    deployer = config.vault.deployer_principal_id if config.vault is not None else None
    return VaultAccess(
        f"{VAULT_RESOURCE_NAME}-access",
        VaultAccessArgs(vault=vault, app_principals=app_principals, deployer_principal_id=deployer),
        opts=providers.resource_options(),
    )


def vault_outputs(vault: SecretVault) -> dict[str, Any]:
    """The ``vault`` stack output: name, URI and versionless secret URIs, never a value."""
    return {
        "name": vault.vault_name,
        "uri": vault.vault_uri,
        "resourceGroupName": vault.resource_group_name,
        "secretUris": dict(vault.secret_uris),
    }
