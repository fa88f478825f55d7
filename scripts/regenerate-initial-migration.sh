#!/usr/bin/env bash
# Until the first release there is one migration, regenerated from the models. After a release,
# add new revisions with `alembic revision --autogenerate` instead (never rewrite a shipped one).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f /tmp/attendance-gen.db storage/migrations/versions/0001_initial_schema.py
.venv/bin/python - <<'PY'
from alembic import command
from storage.migrate import alembic_config
command.revision(alembic_config("sqlite:////tmp/attendance-gen.db"), message="initial schema",
                 autogenerate=True, rev_id="0001")
PY
rm -f /tmp/attendance-gen.db
