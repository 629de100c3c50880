"""This team's own helpers. The folder is called `components` on purpose: the library's one top-level package
is `platform_infra`, so a consumer's own `components` package never shadows it (nor the other way round)."""
