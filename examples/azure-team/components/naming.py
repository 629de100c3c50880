"""The team's naming convention."""


def vault_name(team: str, environment: str) -> str:
    """A Key Vault name (3-24 characters): ``kv-<team>-<environment>``."""
    return f"kv-{team}-{environment}"[:24]
