"""Administración, Gateways, the failure report and the API reference in a real browser
(Debian's headless Chromium) against the real app under uvicorn, on SQLite and PostgreSQL:
ticking a user's points changes what that operator sees; a renewed gateway token is shown
once; a published configuration is listed as pending; an invalid one shows its errors; the
failure report link downloads the API's file; /docs and /redoc render without Internet.
Every page is checked with axe-core at phone (390×844) and laptop (1366×768) sizes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.central.ui import site
from tests.central.ui.browser import (
    log_in,
    no_blocking_violations,
    no_sideways_scroll,
    screenshot,
    text,
    viewport,
    wait_for,
)
from tests.central.ui.console import Served
from tests.sites import plc_meter

pytestmark = pytest.mark.slow
METER = plc_meter(site.NORTE)


def new_gateway(served: Served, name: str) -> str:
    answer = served.api.post("/api/v1/gateways", json={"name": name}, headers=served.admin)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def submit_version(browser: Any, document: str, reason: str, publish: bool) -> None:
    area = wait_for(browser, "#v-doc")
    browser.execute_script("arguments[0].value = arguments[1];", area, document)
    browser.find_element(By.ID, "v-reason").send_keys(reason)
    if publish:
        browser.find_element(By.CSS_SELECTOR, "label[for='v-publish']").click()
    browser.find_element(By.XPATH, "//button[text()='Guardar versión']").click()


def test_ticking_a_users_points_changes_what_the_operator_sees(served: Served, browser: Any) -> None:
    served.api.post(
        "/api/v1/users", json={"username": "beto", "password": site.PASSWORD}, headers=served.admin
    ).raise_for_status()
    log_in(browser, served.url, "jefa")
    browser.find_element(By.LINK_TEXT, "Administración").click()
    wait_for(browser, "#usuarios-tabla").find_element(By.LINK_TEXT, "beto").click()
    wait_for(browser, "#puntos-form")
    no_blocking_violations(browser)
    browser.find_element(By.XPATH, f"//label[starts-with(text(), '{site.SUR}')]").click()
    browser.find_element(By.XPATH, "//button[text()='Guardar puntos asignados']").click()
    assert wait_for(browser, "p.notice.ok").text == "Listo: puntos asignados guardados."
    browser.find_element(By.XPATH, "//button[text()='Salir']").click()
    wait_for(browser, "#username")
    log_in(browser, served.url, "beto")
    rows = [row.get_attribute("data-point") for row in browser.find_elements(By.CSS_SELECTOR, "#puntos tbody tr")]
    assert rows == [site.SUR]
    screenshot(browser, f"operador-puntos-{served.kind}")


def test_a_renewed_token_is_shown_once(served: Served, browser: Any) -> None:
    old = new_gateway(served, "gw-token")
    log_in(browser, served.url, "jefa")
    browser.find_element(By.LINK_TEXT, "Gateways").click()
    wait_for(browser, "#gateways").find_element(By.LINK_TEXT, "gw-token").click()
    wait_for(browser, "form[action$='/token'] button").click()
    token = wait_for(browser, "#token-nuevo code").text
    assert token.startswith("cau_g_") and token != old
    screenshot(browser, f"token-{served.kind}")
    no_blocking_violations(browser)
    browser.get(f"{served.url}/ui/gateways/gw-token")
    wait_for(browser, "#estado-gateway")
    assert (browser.find_elements(By.ID, "token-nuevo"), token in browser.page_source) == ([], False)
    statuses = [
        served.api.get("/api/v1/ingest/points", headers={"Authorization": f"Bearer {t}"}).status_code
        for t in (old, token)
    ]
    assert statuses == [401, 200]


def test_a_published_configuration_is_listed_as_pending(served: Served, browser: Any, size: tuple[int, int]) -> None:
    name = f"gw-config-{size[0]}"
    new_gateway(served, name)
    viewport(browser, size)
    log_in(browser, served.url, "jefa")
    browser.get(f"{served.url}/ui/gateways/{name}")
    submit_version(browser, METER, "alta del pozo norte", publish=True)
    assert wait_for(browser, "p.notice.ok").text.startswith("Listo: versión publicada")
    row = browser.find_element(By.CSS_SELECTOR, "#versiones-tabla tr[data-version='1']")
    assert (row.get_attribute("data-state"), row.find_element(By.CSS_SELECTOR, ".estado").text) == (
        "pending",
        "publicada, pendiente",
    )
    assert text(browser, "#publicada") == "v1 (pendiente: el gateway aún no la aplica)"
    assert no_sideways_scroll(browser, size)
    screenshot(browser, f"gateway-config-{served.kind}-{size[0]}x{size[1]}")
    no_blocking_violations(browser)
    published = served.api.get(f"/api/v1/gateways/{name}/config", headers=served.admin).json()
    assert (published["published_version"], published["pending_version"]) == (1, 1)


def test_an_invalid_configuration_shows_its_errors(served: Served, browser: Any) -> None:
    new_gateway(served, "gw-malo")
    log_in(browser, served.url, "jefa")
    browser.get(f"{served.url}/ui/gateways/gw-malo")
    wrong = METER.replace("bus: plc", "bus: rs485")
    submit_version(browser, wrong, "prueba", publish=True)
    errors = wait_for(browser, "#errores")
    assert [item.text for item in errors.find_elements(By.TAG_NAME, "li")] == [
        "gw-malo/v1.yaml:8: devices[0].bus: no hay un bus 'rs485'; los buses son: plc"
    ]
    assert browser.find_element(By.ID, "v-doc").get_attribute("value") == wrong
    no_blocking_violations(browser)
    screenshot(browser, f"gateway-errores-{served.kind}")
    assert served.api.get("/api/v1/gateways/gw-malo/config/versions", headers=served.admin).json()["total"] == 0


def _downloaded(folder: Path, name: str) -> bytes:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if (folder / name).exists():
            return (folder / name).read_bytes()
        time.sleep(0.1)
    raise AssertionError(f"{name} not downloaded; found {sorted(p.name for p in folder.iterdir())}")


def test_the_failure_report_link_downloads_the_apis_file(served: Served, browser: Any, tmp_path: Path) -> None:
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    log_in(browser, served.url, "ana")
    browser.find_element(By.LINK_TEXT, "Cumplimiento").click()
    row = wait_for(browser, f"#informes-lista tr[data-point='{site.NORTE}'][data-month='2026-11']")
    no_blocking_violations(browser)
    row.find_element(By.LINK_TEXT, "Fallas CSV").click()
    name = f"{site.NORTE}-2026-11-informe-de-fallas.csv"
    api = served.api.get(
        f"/api/v1/compliance/reports/{site.NORTE}/2026-11/informe-de-fallas?format=csv", headers=served.admin
    )
    assert _downloaded(tmp_path, name) == api.content


def test_the_administration_pages_pass_axe_and_fit_the_screen(
    served: Served, browser: Any, size: tuple[int, int]
) -> None:
    viewport(browser, size)
    log_in(browser, served.url, "jefa")
    for path, marker in (
        ("/ui/admin/usuarios/ana", "#cuenta-form"),
        (f"/ui/admin/puntos/{site.NORTE}", "#sma-form"),
        (f"/ui/gateways/{site.GATEWAY}", "#version-form"),
        ("/ui/gateways", "#gateways"),
    ):
        browser.get(f"{served.url}{path}")
        wait_for(browser, marker)
        assert no_sideways_scroll(browser, size), path
        no_blocking_violations(browser)
    browser.get(f"{served.url}/ui/admin/puntos/{site.NORTE}")
    assert site.INFORMANT_PASSWORD not in browser.page_source
    screenshot(browser, f"admin-punto-{served.kind}-{size[0]}x{size[1]}")


RECORD_BLOCKED = (
    "window.blocked = [];document.addEventListener('securitypolicyviolation', e => window.blocked.push(e.blockedURI));"
)


@pytest.mark.parametrize(
    ("path", "rendered"), [("/docs", ".swagger-ui .opblock"), ("/redoc", "[data-section-id^='tag/']")]
)
def test_the_api_reference_renders_with_nothing_from_elsewhere(
    served: Served, browser: Any, path: str, rendered: str
) -> None:
    """ReDoc's footer asks cdn.redoc.ly for its logo: the page's policy refuses it before it leaves."""
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_BLOCKED})
    browser.get(f"{served.url}{path}")
    wait_for(browser, rendered)
    assert "/api/v1/points" in browser.execute_script("return document.body.innerText")
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    elsewhere = [url for url in loaded if not url.startswith(served.url)]
    assert (len(loaded) > len(elsewhere), elsewhere) == (True, browser.execute_script("return window.blocked"))
    screenshot(browser, f"api{path.replace('/', '-')}-{served.kind}")
