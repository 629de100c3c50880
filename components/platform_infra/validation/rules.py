"""Rules that config, components and the policy pack all apply, each stated once here.

This module imports nothing heavy (no cloud SDK), so the policy pack and ``infra check`` can use it as
cheaply as the config models and the components do. A rule is a function returning the problem (a short
sentence) or None; each caller words the key it reports (config key, component argument or resource
property) and nothing else.
"""

from __future__ import annotations

PURGE_PROTECTION_PROD_PROBLEM = (
    "cannot be turned off in prod: a deleted vault or secret could be purged for good"
)


def purge_protection_problem(is_prod: bool, enabled: object) -> str | None:
    """A production Key Vault must have purge protection on.

    With purge protection off, anyone who may delete the vault can also purge it (and its secrets) for good
    during the soft-delete retention ("only the Key Vault service may initiate a hard, irrecoverable
    deletion" once it is on; "Enabling this functionality is irreversible", Azure SDK reference of
    ``KeyVaultProperties.EnablePurgeProtection``, learn.microsoft.com).
    Used by ``platform:vault.purgeProtection``, ``SecretVaultArgs`` and the ``keyvault-purge-protection-prod``
    policy.
    """
    if is_prod and enabled is not True:
        return PURGE_PROTECTION_PROD_PROBLEM
    return None
