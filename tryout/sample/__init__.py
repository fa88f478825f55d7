"""The sample trust shipped with the project (used by ``demo-data``, the sandbox and the tests)."""

from pathlib import Path

from bot.importing.formats import KINDS_IN_ORDER

SAMPLE_DIR = Path(__file__).resolve().parent / "data"


def sample_files(data_dir: Path = SAMPLE_DIR) -> list[tuple[str, Path, str | None]]:
    """The sample trust's files in load order: (kind, path, school URN)."""
    files: list[tuple[str, Path, str | None]] = [("schools", data_dir / "schools.csv", None)]
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        for kind in KINDS_IN_ORDER[1:]:
            path = folder / f"{kind}.csv"
            if path.exists():
                files.append((kind, path, folder.name))
    return files
