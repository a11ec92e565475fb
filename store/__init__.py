"""genjin's SQL store: sqlmodel models, repository functions, engine and Alembic migrations."""
