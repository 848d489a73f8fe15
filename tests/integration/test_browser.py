"""The notebooks as a person meets them: `opentier-explore lab` opened in Debian's headless Chromium.

Each notebook must open with its stored outputs (a figure and a table on screen) and with no pop-up
(no dialog, no notification toast such as JupyterLab's "get notified about Jupyter news?").
Selenium drives /usr/bin/chromium through /usr/bin/chromedriver, given explicitly, so Selenium Manager
never looks for, let alone downloads, a driver or a browser.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from opentier_explore import config

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NOTEBOOKS = [
    "00_schema_tour",
    "01_branching_depth",
    "02_moderation_latency",
    "03_session_churn",
    "04_twin_fidelity",
]
#: The notebook whose screenshot is written to reports/ for a person to look at.
SCREENSHOT_OF = "02_moderation_latency"
#: Seconds the page is watched for a pop-up once the notebook is on screen (JupyterLab asks right after start).
POPUP_WATCH = 3
TIMEOUT = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_lab(proc: subprocess.Popen, base: str, token: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        assert proc.poll() is None, "opentier-explore lab exited before answering"
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as resp:
                json.loads(resp.read())
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            assert time.monotonic() < deadline, f"opentier-explore lab did not answer within {TIMEOUT} s"
            time.sleep(0.5)


@pytest.fixture(scope="module")
def lab(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`opentier-explore lab` on the session's demo database, with a Jupyter home of its own; (base URL, token)."""
    home = tmp_path_factory.mktemp("lab-home")
    port, token = _free_port(), secrets.token_hex(16)
    # A fresh Jupyter config/data dir: a first start, as a new analyst meets it, whatever this machine's home holds.
    env = dict(
        os.environ,
        DATABASE_URL=demo_url,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
    )
    cmd = [
        sys.executable,
        "-m",
        "opentier_explore",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    log = (home / "lab.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_lab(proc, base, token)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium driven through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.fail(
            "The browser test needs Debian's chromium and chromium-driver: "
            "run `apt-get install -y chromium chromium-driver` as root (.ci/run does).",
            pytrace=False,
        )

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1800",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


def _visible(driver, css: str):
    """The first element matching `css` in the open notebook, scrolled into view; fails unless it shows."""
    from selenium.webdriver.support.ui import WebDriverWait

    element = _present(driver, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    WebDriverWait(driver, 10).until(lambda d: element.is_displayed(), f"{css!r} is not displayed")
    assert element.size["width"] > 50 and element.size["height"] > 20, f"{css!r} is too small to see"
    return element


def _present(driver, css: str):
    """The first element matching `css`, once the page has rendered it."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, TIMEOUT).until(
        lambda d: next(iter(d.find_elements("css selector", css)), None), f"nothing matches {css!r}"
    )


def _popups(driver) -> list[str]:
    found = driver.find_elements("css selector", ".jp-Dialog, .Toastify__toast, .jp-toast-message")
    return [el.text.strip().replace("\n", " ")[:120] for el in found if el.is_displayed()]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_opens_with_its_outputs_and_no_popup(lab, browser, name: str) -> None:
    base, token = lab
    # ?reset: a clean workspace, so the page shows this notebook alone.
    browser.get(f"{base}/lab/tree/{config.notebooks_dir().name}/{name}.ipynb?reset&token={token}")
    panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
    figure = _visible(browser, f"{panel} .jp-OutputArea-output img")
    assert browser.execute_script("return arguments[0].naturalWidth", figure) > 100, "the figure did not load"
    _visible(browser, f"{panel} .jp-OutputArea-output table")
    # Markdown cells may render after the outputs on a busy machine: wait for the title as for the figure.
    title = _present(browser, f"{panel} .jp-MarkdownOutput h1").text
    assert title.startswith(name[:2]), f"{name} opened with the title {title!r}"
    browser.execute_script("document.querySelector(arguments[0]).scrollIntoView();", f"{panel} .jp-MarkdownOutput h1")
    time.sleep(POPUP_WATCH)
    assert _popups(browser) == [], f"{name}: a pop-up is shown"
    if name == SCREENSHOT_OF:
        out = config.reports_dir()
        out.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(out / f"{name}.png"))
        assert (out / f"{name}.png").stat().st_size > 10_000
