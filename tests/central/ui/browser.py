"""Debian's Chromium driven by Selenium through /usr/bin/chromedriver (nothing downloaded),
and axe-core (vendored under tests/central/ui/vendor) run inside the page."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.central.ui import site

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = Path(__file__).parent / "vendor" / "axe-core-4.11.0" / "axe.min.js"
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=es-CL",
)
PHONE, DESK = (390, 844), (1366, 768)
BLOCKING = ("serious", "critical")


def require_chromium() -> None:
    """Skip (fail in CI) when Debian's chromium and chromium-driver are not installed."""
    import os

    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if missing:
        message = f"not installed: {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium with a fresh profile, closed (and its profile removed) afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    require_chromium()
    profile = tempfile.mkdtemp(prefix="caudal-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def viewport(driver: Any, size: tuple[int, int]) -> None:
    """The page's inner size (what a phone or a laptop shows), whatever the window chrome takes."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size == PHONE},
    )


def screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def axe_violations(driver: Any) -> list[tuple[str, str, list[str]]]:
    """(rule, impact, offending elements) of every serious or critical axe-core violation on the page."""
    if not driver.execute_script("return typeof axe !== 'undefined'"):
        driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done(String(e)));"
    )
    assert isinstance(result, list), result
    return [(v["id"], v["impact"], [n["target"][0] for n in v["nodes"]][:5]) for v in result if v["impact"] in BLOCKING]


def no_blocking_violations(driver: Any) -> None:
    assert axe_violations(driver) == []


def wait_for(driver: Any, css: str) -> Any:
    return WebDriverWait(driver, 15).until(ready.presence_of_element_located((By.CSS_SELECTOR, css)))


def gone(driver: Any, element: Any) -> None:
    """Wait until ``element`` has left the page (a form's submit loads the next one): until
    then a wait for the next page's element can find its namesake on the old page."""
    WebDriverWait(driver, 15).until(lambda _: _has_left(element))


def _has_left(element: Any) -> bool:
    """Whether ``element`` is no longer in the page. Asked while the next page replaces the
    old one, Chromium may answer "Node with given id does not belong to the document"
    instead of a stale reference (CI saw it once): that, too, means the node has gone."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in (error.msg or ""):
            return True
        raise
    return False


def text(driver: Any, css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, css).text


def log_in(driver: Any, base_url: str, username: str, password: str = site.PASSWORD) -> None:
    """Type the username, Tab to the password, Tab to the button, press Enter (keyboard only)."""
    driver.get(f"{base_url}/ui/login")
    wait_for(driver, "#username")
    active = driver.switch_to.active_element
    assert active.get_attribute("id") == "username"
    active.send_keys(username, Keys.TAB)
    driver.switch_to.active_element.send_keys(password, Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "ingresar"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(driver, "#puntos")


def no_sideways_scroll(driver: Any, size: tuple[int, int]) -> bool:
    return bool(driver.execute_script("return document.documentElement.scrollWidth") <= size[0])
