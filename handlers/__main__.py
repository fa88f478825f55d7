"""``python -m handlers``: the HTTP app."""

from handlers.cli import serve

serve()
