"""Put MathJax, RequireJS and the ipywidgets HTML manager where the website serves them itself.

Out of the box a Jupyter Book page loads these three from CDNs: offline the math stays raw TeX and the
widgets stay blank, and every page view is reported to the CDNs. This script (``make vendor``, run
before every book build) installs the versions pinned in ``book/npm/package.json`` from the npm
registry into ``_vendor/npm`` and copies the files the pages load into ``_vendor/site/vendor/``.
``_config.yml`` points Sphinx there: ``html_extra_path: [_vendor/site]`` (Sphinx copies it to the
site's root, ``_build/html/vendor/``), ``mathjax_path`` and ``nb_ipywidgets_js``. Not a static path:
Jupyter Book 1 adds every ``.js`` under ``html_static_path`` to every page once a ``_static/`` folder
exists, which would load all of MathJax's extensions on every page.

If npm or the registry is unavailable, the same paths get small loader stubs that fetch the
files from CDNs: the book still builds (also with ``-W``) and works online, this script says so loudly,
and the browser test (tests/site) fails, because requests leave the site. A second run with the
vendored files already in place does nothing.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_JSON = ROOT / "book" / "npm" / "package.json"
NPM_PREFIX = ROOT / "_vendor" / "npm"
#: html_extra_path in _config.yml; Sphinx copies its contents into _build/html/.
SITE = ROOT / "_vendor" / "site"
VENDOR = SITE / "vendor"
MANIFEST = VENDOR / "manifest.json"

#: The files the pages name, relative to the site's root (_config.yml has them relative to _static/).
MATHJAX_ENTRY = "vendor/mathjax/tex-mml-chtml.js"
REQUIREJS_ENTRY = "vendor/requirejs/require.js"
EMBED_ENTRY = "vendor/html-manager/embed-amd.js"
#: Not from npm: loaded between require.js and embed-amd.js (see WIDGETS_SETUP below).
WIDGETS_SETUP_ENTRY = "vendor/widgets-setup.js"
ENTRIES = (MATHJAX_ENTRY, REQUIREJS_ENTRY, WIDGETS_SETUP_ENTRY, EMBED_ENTRY)

#: The parts of mathjax/es5 that tex-mml-chtml.js loads on demand (TeX extensions by autoload,
#: CHTML fonts, the menu and its accessibility tools); the other combined bundles are not needed.
MATHJAX_PARTS = ["tex-mml-chtml.js", "input", "output/chtml", "output/chtml.js", "ui", "a11y", "sre", "adaptors"]

WARNING = "WARNING: could not vendor MathJax/widgets: pages will load them from CDNs"

#: Two things the HTML manager needs on a Jupyter Book page (both found by the browser test).
WIDGETS_SETUP = """\
// Written by book/vendor.py. Pages with widgets load it after require.js and before embed-amd.js.
(function () {
  var here = document.currentScript.src.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
  // webpack inside embed-amd.js looks for its fonts (Font Awesome, for button icons) next to the
  // RequireJS URL of its own module; without this mapping that URL is relative to the page.
  require.config({paths: {"@jupyter-widgets/html-manager/dist": HTML_MANAGER_DIST}});
  // ipywidgets 8 typesets widget labels with MathJax 2's MathJax.Hub.Queue; the book loads MathJax 3.
  // Deferred MathJax has run by DOMContentLoaded; the widgets render later, on "load".
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (mathjax && !mathjax.Hub) {
      mathjax.Hub = {Queue: function (job) {
        if (mathjax.typesetPromise) {
          mathjax.startup.promise.then(function () { return mathjax.typesetPromise([job[2]]); });
        }
      }};
    }
  });
})();
"""


def write_widgets_setup(into: Path, html_manager_dist: str) -> None:
    """``html_manager_dist``: a JavaScript expression for the URL of the html-manager's files."""
    (into / "widgets-setup.js").write_text(WIDGETS_SETUP.replace("HTML_MANAGER_DIST", html_manager_dist))


def pinned_versions() -> dict[str, str]:
    return json.loads(PACKAGE_JSON.read_text())["dependencies"]


def stamp() -> str:
    """Changes when the pinned versions or this script change (then the files are vendored again)."""
    digest = hashlib.sha256(PACKAGE_JSON.read_bytes() + Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


def already_done() -> bool:
    if not MANIFEST.is_file():
        return False
    manifest = json.loads(MANIFEST.read_text())
    entries_present = all((SITE / entry).is_file() for entry in ENTRIES)
    return manifest.get("mode") == "local" and manifest.get("stamp") == stamp() and entries_present


def npm_install() -> Path:
    """Install the pinned packages into _vendor/npm; return its node_modules."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (Debian: apt-get install npm)")
    NPM_PREFIX.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PACKAGE_JSON, NPM_PREFIX / "package.json")
    command = [npm, "install", "--prefix", str(NPM_PREFIX), "--no-package-lock", "--ignore-scripts",
               "--no-audit", "--no-fund", "--loglevel=error"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        lines = [line.removeprefix("npm error").strip() for line in result.stderr.splitlines()]
        reason = next((line for line in lines if line and not line.startswith(("code ", "syscall ", "errno "))),
                      "no message")
        raise RuntimeError(f"npm install failed: {reason}")
    modules = NPM_PREFIX / "node_modules"
    for name, version in pinned_versions().items():
        installed = json.loads((modules / name / "package.json").read_text())["version"]
        if installed != version:
            raise RuntimeError(f"npm installed {name}@{installed}, book/npm/package.json pins {version}")
    return modules


def copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True)
    else:
        shutil.copyfile(source, destination)


def vendor_from(modules: Path, into: Path) -> None:
    """Copy what the pages load (and the licenses) from node_modules into ``into`` (= vendor/)."""
    mathjax = modules / "mathjax"
    for part in MATHJAX_PARTS:
        copy(mathjax / "es5" / part, into / "mathjax" / part)
    copy(mathjax / "LICENSE", into / "mathjax" / "LICENSE")

    copy(modules / "requirejs" / "require.js", into / "requirejs" / "require.js")

    # embed-amd.js bundles @jupyter-widgets/base, controls and output; webpack loads its fonts
    # (Font Awesome, for the icons of buttons) from the folder the script came from.
    dist = modules / "@jupyter-widgets" / "html-manager" / "dist"
    for path in dist.iterdir():
        if path.name == "embed-amd.js" or path.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}:
            copy(path, into / "html-manager" / path.name)
    copy(dist / "embed.js.LICENSE.txt", into / "html-manager" / "LICENSE.txt")
    write_widgets_setup(into, 'here + "html-manager"')


def write_cdn_stubs(into: Path) -> None:
    """Loader stubs at the entry paths that fetch the real files from CDNs (the fallback)."""
    versions = pinned_versions()
    jsdelivr = "https://cdn.jsdelivr.net/npm/"
    mathjax = f"{jsdelivr}mathjax@{versions['mathjax']}/es5/tex-mml-chtml.js"
    requirejs = f"{jsdelivr}requirejs@{versions['requirejs']}/require.js"
    html_manager_dist = f"{jsdelivr}@jupyter-widgets/html-manager@{versions['@jupyter-widgets/html-manager']}/dist"
    embed = f"{html_manager_dist}/embed-amd.js"
    header = f"// {WARNING}\n"
    # Sphinx loads MathJax with `defer` (document.write is not allowed there, and order does not matter).
    stubs = {
        MATHJAX_ENTRY: header + "(function () { var s = document.createElement('script');"
                                f" s.src = {json.dumps(mathjax)}; s.async = true; document.head.appendChild(s); }})();\n",
        # The widget scripts are plain (blocking) scripts whose order matters: write them in place.
        REQUIREJS_ENTRY: header + f"document.write('<script src=\"{requirejs}\"><\\/script>');\n",
        EMBED_ENTRY: header + f"document.write('<script src=\"{embed}\" data-jupyter-widgets-cdn=\"{jsdelivr}\"><\\/script>');\n",
    }
    for entry, text in stubs.items():
        path = into / Path(entry).relative_to("vendor")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    write_widgets_setup(into, json.dumps(html_manager_dist))


def write_manifest(into: Path, mode: str, reason: str = "") -> None:
    manifest = {"mode": mode, "stamp": stamp(), "versions": pinned_versions(),
                "entries": list(ENTRIES)}
    if reason:
        manifest["reason"] = reason
    (into / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def replace_vendor_dir(build) -> None:
    """Build the new vendor/ next to the old one, then swap, so a failure never leaves half a folder."""
    staging = SITE / "vendor.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    build(staging)
    shutil.rmtree(VENDOR, ignore_errors=True)
    staging.rename(VENDOR)


def main() -> int:
    if already_done():
        return 0
    try:
        modules = npm_install()

        def build(into: Path) -> None:
            vendor_from(modules, into)
            write_manifest(into, "local")

        replace_vendor_dir(build)
        print(f"vendored {', '.join(f'{n}@{v}' for n, v in pinned_versions().items())} into "
              f"{VENDOR.relative_to(ROOT)}/")
    except (OSError, RuntimeError, subprocess.SubprocessError, ValueError) as error:
        reason = str(error).strip()

        def build(into: Path) -> None:
            write_cdn_stubs(into)
            write_manifest(into, "cdn", reason)

        replace_vendor_dir(build)
        bar = "!" * len(WARNING)
        print(f"{bar}\n{WARNING}\n  ({reason.splitlines()[0] if reason else 'unknown error'})\n"
              f"  The browser test (make test-site) fails until `make vendor` succeeds.\n{bar}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
