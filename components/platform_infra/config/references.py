"""Checks across capabilities: what one ``platform:*`` key names must be declared by another.

They run in :func:`platform_infra.config.load_stack_config`, after every key has been read and before the
program registers anything, so a dangling reference never leaves half a stack created (under ``pulumi up``
the resources declared before the failing one would already exist). Each error names the referring key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from platform_infra.validation import ValidationError
from platform_infra.validation.limits import require_declared, require_unique

if TYPE_CHECKING:
    from platform_infra.config import StackConfig


def check_references(config: StackConfig, stack: str) -> None:
    """Refuse references to things the stack does not declare, and values that must be unique but are not.

    * ``platform:apps[i].keyVaultSettings`` needs ``platform:vault``, and each secret it names must be one
      of ``platform:vault.secrets`` (an unknown name would only fail once the vault exists);
    * ``platform:apps[i].applicationInsights`` needs ``platform:monitoring`` (its workspace);
    * ``platform:apps[i].siteName`` is globally unique in Azure, so at least unique in the stack;
    * alarm subscribers (``platform:alarms.emails``/``httpsEndpoints``) are listed once each: SNS keeps
      one subscription per endpoint, and a second one would be refused as a duplicate resource.
    """
    vault = config.vault
    declared = [spec.name for spec in vault.secrets] if vault is not None else []
    for app in config.apps:
        for setting, secret_name in app.key_vault_settings.items():
            key = f"{app.key}.keyVaultSettings.{setting}"
            if vault is None:
                raise ValidationError(
                    key,
                    "reads a Key Vault secret, but platform:vault is not set",
                    value=secret_name,
                    allowed="declare the vault and the secret in platform:vault, or use appSettings",
                    stack=stack,
                )
            require_declared(
                key, secret_name, declared, what="secret", where="platform:vault.secrets", stack=stack
            )
        if app.application_insights and config.observability.monitoring is None:
            raise ValidationError(
                f"{app.key}.applicationInsights",
                "needs the Log Analytics workspace of platform:monitoring, which is not set",
                value=True,
                allowed="set platform:monitoring, or turn applicationInsights off",
                stack=stack,
            )
    require_unique(
        "platform:apps",
        [(f"{app.key}.siteName", app.site_name) for app in config.apps if app.site_name],
        what="site name",
        casefold=True,
        stack=stack,
    )
    alarms = config.observability.alarms
    if alarms is not None:
        require_unique(
            "platform:alarms.emails",
            [(f"platform:alarms.emails[{i}]", email) for i, email in enumerate(alarms.emails)],
            what="subscriber",
            casefold=True,
            stack=stack,
        )
        require_unique(
            "platform:alarms.httpsEndpoints",
            [(f"platform:alarms.httpsEndpoints[{i}]", url) for i, url in enumerate(alarms.https_endpoints)],
            what="subscriber",
            stack=stack,
        )


__all__ = ["check_references"]
