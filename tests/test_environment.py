"""environment.yml (for conda and Binder users) lists exactly the dependencies of pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement).lower().replace("_", "-")


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in ("book", "test", "dev"):
        wanted += [r for r in project["optional-dependencies"][extra] if not r.startswith("lineardistill")]
    return {_normalise(r) for r in wanted}


def _environment_requirements() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs exactly one pip: section"
    return {_normalise(r) for r in pip_lists[0] if not r.startswith("-e")}


def test_environment_lists_the_same_dependencies_as_pyproject():
    ours, theirs = _environment_requirements(), _pyproject_requirements()
    assert ours == theirs, f"only in environment.yml: {sorted(ours - theirs)}; only in pyproject: {sorted(theirs - ours)}"


def test_environment_installs_the_package_and_pins_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(d.startswith("python=3.11") for d in conda)
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_constraints_pin_torch_and_every_direct_dependency():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    assert pins.get("torch") == "2.13.0"
    for requirement in _pyproject_requirements():
        name = re.split(r"[<>=!~\[]", requirement)[0]
        assert name in pins, f"{name} is a dependency but has no pin in constraints.txt"
