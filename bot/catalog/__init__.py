"""The product catalog: the effective list (genjin.toml under the database's), import and admin CLI."""
