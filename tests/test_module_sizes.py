"""No product module over 500 lines and no function over 60 without a reason written at its top
("Long because:" in its docstring). The checker is ``scripts/long_code.py``; run it to see the list."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("long_code", ROOT / "scripts" / "long_code.py")
long_code = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(long_code)


def test_no_long_module_or_function_without_a_reason():
    offenders = [str(x) for x in long_code.long_code() if x.reason is None]
    assert offenders == [], "\n".join(offenders)


def test_the_checker_finds_a_long_function_and_accepts_a_reason(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    (tmp_path / "bot").mkdir()
    reason = '    """Long because: a table that reads best whole."""'
    source = f"def plain():\n{body}\n\n\ndef explained():\n{reason}\n{body}\n" + "\n" * 400
    (tmp_path / "bot" / "big.py").write_text(source, encoding="utf-8")
    found = {x.name: x for x in long_code.long_code(tmp_path)}
    assert set(found) == {"", "plain", "explained"}  # the module (over 500 lines) and both functions
    assert found["plain"].reason is None and found[""].reason is None
    assert found["explained"].reason == "a table that reads best whole."
    assert found["plain"].lines == 71
