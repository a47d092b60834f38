"""The README's notebook route, run for real (``make browser-test``): after ``make install``,
``.venv/bin/jupyter lab book/`` starts JupyterLab; a chapter opened in it runs top to bottom in the
project's kernel, and its ipywidgets explorer renders and answers a slider change.

JupyterLab listens on loopback with a token; its user folders point into a temporary directory so
nothing of the tester's own Jupyter set-up is read or written. Debian's Chromium, driven by
Playwright, opens ``pooling.ipynb``, runs all cells, checks that no cell failed, then moves the
explorer's "window" slider one step and waits for the pooled picture and the slider's readout to
change.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_html import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
TOKEN = "mnist-cnn-browser-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port: int, path: str) -> dict:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}{path}?token={TOKEN}", timeout=10
    ) as r:
        return json.load(r)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    jupyter = VENV / "bin" / "jupyter"
    if not jupyter.is_file():
        pytest.fail(
            f"{jupyter} not found: run `make install` first (the README's first step)"
        )
    home = tmp_path_factory.mktemp("home")
    port = free_port()
    env = os.environ | {
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    env.pop("JUPYTER_PATH", None)
    # the chapter stays as committed: no autosave of the run (and the test checks the file's bytes)
    settings = home / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    env["JUPYTERLAB_SETTINGS_DIR"] = str(home / "settings")
    log = open(home / "lab.log", "w")
    # the README's command, plus what a test needs: a fixed port and token, no browser of its own
    server = subprocess.Popen(
        [
            str(jupyter),
            "lab",
            "book/",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={TOKEN}",
            "--LabApp.expose_app_in_browser=True",
        ]
        + (
            ["--allow-root"] if os.geteuid() == 0 else []
        ),  # CI containers run as root
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                api(port, "/api/status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "JupyterLab did not start:\n"
                        + (home / "lab.log").read_text()[-3000:]
                    )
                time.sleep(0.5)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_a_chapter_runs_in_jupyterlab_and_its_widget_responds(
    lab: int,
) -> None:
    from playwright.sync_api import sync_playwright

    port = lab
    chapter = ROOT / "book" / "pooling.ipynb"
    committed = chapter.read_bytes()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(
            f"http://127.0.0.1:{port}/lab/tree/pooling.ipynb?token={TOKEN}"
        )
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.context"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
            timeout=90_000,
        )
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
            timeout=90_000,
        )
        page.evaluate(
            "() => window.jupyterapp.commands.execute('notebook:run-all-cells')"
        )
        # every code cell has run: its prompt holds a number, none is still "[*]"
        page.wait_for_function(
            """() => {
            const cells = window.jupyterapp.shell.currentWidget.content.widgets.filter(c => c.model.type === 'code');
            return cells.length > 0 && cells.every(c => c.model.executionCount !== null)
                && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle';
        }""",
            timeout=300_000,
        )
        failed = page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets
            .filter(c => c.model.type === 'code')
            .flatMap(c => { const o = c.model.outputs; const r = [];
                            for (let i = 0; i < o.length; i++) if (o.get(i).type === 'error') r.push(o.get(i).toJSON().ename);
                            return r; })""")
        assert failed == [], f"cells raised {failed}"

        # the project's kernel: the notebook's python3 kernel runs this repository's .venv and package
        python = page.evaluate("""async () => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const f = k.requestExecute({code: 'import sys, mnist_cnn; print(sys.prefix, mnist_cnn.__file__)'});
            let text = '';
            f.onIOPub = m => { if (m.header.msg_type === 'stream') text += m.content.text; };
            await f.done;
            return text.trim();
        }""")
        prefix, package = python.split(" ")
        assert Path(prefix).resolve() == VENV.resolve(), python
        assert (
            Path(package).resolve()
            == (ROOT / "src" / "mnist_cnn" / "__init__.py").resolve()
        ), python

        # the explorer: a "window" slider and a picture; one step right redraws the picture
        slider = page.locator(".widget-slider", has_text="window").first
        slider.wait_for(timeout=60_000)
        picture = page.locator(".jp-OutputArea-output .widget-image").last
        picture.wait_for(timeout=60_000)
        before = picture.get_attribute("src")
        readout = slider.locator(".widget-readout")
        assert readout.inner_text().strip() == "2"
        slider.locator(".noUi-handle").focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "([el, old]) => el.getAttribute('src') !== old",
            arg=[picture.element_handle(), before],
            timeout=30_000,
        )
        assert readout.inner_text().strip() == "3"
        page.screenshot(
            path=str(
                ROOT / "_build" / "screenshots" / "jupyterlab-pooling.png"
            )
            if (ROOT / "_build" / "screenshots").is_dir()
            else str(
                Path(os.environ.get("TMPDIR", "/tmp"))
                / "jupyterlab-pooling.png"
            )
        )
        assert not errors, errors
        browser.close()
    assert chapter.read_bytes() == committed, (
        "JupyterLab wrote to the chapter's notebook"
    )
