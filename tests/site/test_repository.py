"""The built intro page's clone command comes from `repository.url` in _config.yml (book/repository.py)."""
import re
from html import unescape
from urllib.parse import urlsplit

import yaml

from site_paths import BOOK


def test_intro_shows_the_clone_command_of_the_configured_repository(site):
    url = yaml.safe_load((BOOK / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    text = unescape(re.sub(r"<[^>]+>", "", (site / "intro.html").read_text()))
    folder = urlsplit(url).path.rsplit("/", 1)[-1]
    assert f"git clone {url}\ncd {folder}\nmake lab" in text
