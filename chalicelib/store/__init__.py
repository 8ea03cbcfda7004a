# Modules that register models of their own (the infra contract test sees every table).
from chalicelib.store import recipient_lines, templates  # noqa: F401
