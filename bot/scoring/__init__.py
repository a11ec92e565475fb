"""Lead scoring: weights from a TOML file, a pure scorer that explains itself, and re-scoring."""
