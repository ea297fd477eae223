"""The repository's address is one setting, `repository.url` in _config.yml, read wherever it is needed.

The theme draws the repository and Binder buttons from it (tests/site checks the Binder links), and
book/repository.py writes intro.md's clone command from it (tests/site/test_repository.py checks the
built page). Here: no file of the repository holds the address, or a placeholder for it, but _config.yml.
"""
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = "<this " + "repository>"  # spelled in two parts, so that this file does not hold it


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    files = []
    for name in names.splitlines():
        path = ROOT / name
        if path.suffix in {".png", ".ipynb"} or not path.is_file():
            continue  # notebooks are checked below, as their cells' text
        try:
            files.append((path, path.read_text()))
        except UnicodeDecodeError:
            continue
    return files


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def test_the_url_is_a_real_address():
    url = repository_url()
    assert url.startswith("https://") and "<" not in url and " " not in url


def test_only_config_holds_the_url_and_nothing_holds_a_placeholder():
    url = repository_url().removeprefix("https://")
    holders = [path.relative_to(ROOT).as_posix() for path, text in tracked_text_files() if url in text]
    assert holders == ["_config.yml"], f"the repository URL is written in {holders}; read it from _config.yml"
    placeholders = [path.relative_to(ROOT).as_posix() for path, text in tracked_text_files()
                    if PLACEHOLDER in text]
    assert placeholders == []


def test_no_notebook_writes_the_url():
    url = repository_url().removeprefix("https://")
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")):
        assert url not in notebook.read_text() and PLACEHOLDER not in notebook.read_text(), notebook.name


def test_intro_clones_with_the_directive():
    intro = (ROOT / "intro.md").read_text()
    assert "```{clone-command}" in intro and "git clone" not in intro
