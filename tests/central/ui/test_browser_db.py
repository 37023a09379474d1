"""The console in a real browser (Debian's headless Chromium) against the real app under
uvicorn, on SQLite and PostgreSQL: log in with the keyboard, the map and the table of both
wells with their semáforo, a point's charts, acknowledging an alert, approving a held slot,
an operator kept to their own point, logging out. Every page is checked with axe-core;
screenshots go to tests/central/ui/artifacts/ at phone (390×844) and laptop (1366×768) sizes."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.central.ui import site
from tests.central.ui.browser import (
    gone,
    log_in,
    no_blocking_violations,
    screenshot,
    text,
    viewport,
    wait_for,
)
from tests.central.ui.console import Served

pytestmark = pytest.mark.slow


def test_the_login_page_passes_axe_and_reaches_the_button_by_keyboard(served: Served, browser: Any) -> None:
    browser.get(f"{served.url}/ui/login")
    wait_for(browser, "#username")
    no_blocking_violations(browser)
    log_in(browser, served.url, "jefa")
    assert browser.current_url == f"{served.url}/ui/"


def test_the_summary_shows_both_wells_on_the_map_and_in_the_table(
    served: Served, browser: Any, size: tuple[int, int]
) -> None:
    viewport(browser, size)
    log_in(browser, served.url, "jefa")
    wait_for(browser, "path.marker")
    markers = sorted(
        name
        for m in browser.find_elements(By.CSS_SELECTOR, "path.marker")
        for name in m.get_attribute("class").split()
        if name.startswith("marker-")
    )
    colours = {
        row.get_attribute("data-point"): row.find_element(By.CSS_SELECTOR, "[data-colour]").get_attribute("data-colour")
        for row in browser.find_elements(By.CSS_SELECTOR, "#puntos tbody tr")
    }
    assert (markers, colours) == (["marker-green", "marker-yellow"], {site.NORTE: "green", site.SUR: "yellow"})
    assert browser.execute_script("return document.documentElement.scrollWidth") <= size[0]  # no sideways scroll
    screenshot(browser, f"resumen-{served.kind}-{size[0]}x{size[1]}")
    no_blocking_violations(browser)


def test_a_point_shows_charts_drawn_from_its_aggregates(served: Served, browser: Any, size: tuple[int, int]) -> None:
    viewport(browser, size)
    log_in(browser, served.url, "jefa")
    browser.find_element(By.LINK_TEXT, site.NORTE).click()
    wait_for(browser, "#g-caudal canvas")
    browser.get(f"{served.url}/ui/puntos/{site.NORTE}?desde=2026-11-27&hasta=2026-11-28")
    canvas = wait_for(browser, "#g-caudal canvas")
    drawn = browser.execute_script(
        "const c = arguments[0], d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n;",
        canvas,
    )
    points = browser.execute_script(
        "return JSON.parse(document.getElementById('datos-grafico').textContent)"
        ".flow_avg.filter(v => v !== null).length"
    )
    assert (points, drawn > 1000) == (14, True)  # the hours 00:00 to 13:00 UTC have readings; lines drawn
    assert browser.execute_script("return document.documentElement.scrollWidth") <= size[0]
    screenshot(browser, f"punto-{served.kind}-{size[0]}x{size[1]}")
    no_blocking_violations(browser)


def test_acknowledging_an_alert_with_a_comment(served: Served, browser: Any) -> None:
    log_in(browser, served.url, "jefa")
    browser.find_element(By.LINK_TEXT, "Alertas").click()
    card = wait_for(browser, "#alertas li[data-status='open']")
    alert_id = card.get_attribute("data-alert")
    no_blocking_violations(browser)
    comment = card.find_element(By.NAME, "comentario")
    comment.send_keys("Voy en camino, reviso el medidor")
    comment.submit()
    gone(browser, card)
    acknowledged = wait_for(browser, f"#alertas li[data-alert='{alert_id}']")
    assert acknowledged.get_attribute("data-status") == "acknowledged"
    assert "Comentario: Voy en camino, reviso el medidor" in acknowledged.text
    assert "reconocida por jefa" in acknowledged.text
    stored = served.api.get(f"/api/v1/alerts/{alert_id}", headers=served.admin).json()
    assert (stored["status"], stored["acknowledged_by"], stored["ack_comment"]) == (
        "acknowledged",
        "jefa",
        "Voy en camino, reviso el medidor",
    )
    screenshot(browser, f"alertas-{served.kind}")


def test_approving_a_held_slot_in_the_review_queue(served: Served, browser: Any) -> None:
    log_in(browser, served.url, "jefa")
    browser.find_element(By.LINK_TEXT, "Cumplimiento").click()
    held = wait_for(browser, "#cola li[data-state='review']")
    submission = held.get_attribute("data-submission")
    assert "totalizador" in held.text and site.SUR in held.text
    no_blocking_violations(browser)
    held.find_element(By.XPATH, ".//button[text()='Aprobar envío']").click()
    assert wait_for(browser, "p.notice.ok").text == "Hora aprobada."
    assert browser.find_elements(By.CSS_SELECTOR, "#cola li[data-state]") == []
    stored = served.api.get(f"/api/v1/compliance/submissions/{submission}", headers=served.admin).json()
    assert (stored["state"], stored["reviewed_by"]) == ("pending", "jefa")
    screenshot(browser, f"cumplimiento-{served.kind}")


def test_the_admin_pages_pass_axe(served: Served, browser: Any) -> None:
    log_in(browser, served.url, "jefa")
    for path, marker in (("/ui/gateways", "#gateways"), ("/ui/admin", "#usuarios-tabla")):
        browser.get(f"{served.url}{path}")
        wait_for(browser, marker)
        no_blocking_violations(browser)
    browser.get(f"{served.url}/ui/gateways")
    assert site.GATEWAY in text(browser, "#gateways")


def test_an_operator_sees_only_their_point_and_no_admin_pages(served: Served, browser: Any) -> None:
    log_in(browser, served.url, "ana")
    rows = [row.get_attribute("data-point") for row in browser.find_elements(By.CSS_SELECTOR, "#puntos tbody tr")]
    nav = [link.text for link in browser.find_elements(By.CSS_SELECTOR, "header nav a")]
    assert (rows, nav) == ([site.NORTE], ["Resumen", "Alertas", "Cumplimiento"])
    for path, message in (
        (f"/ui/puntos/{site.SUR}", f"No hay un punto {site.SUR} que usted pueda ver."),
        ("/ui/admin", "Esta página es solo para administradores."),
        ("/ui/gateways", "La lista de gateways es solo para administradores."),
        ("/ui/admin/usuarios/jefa", "Esta página es solo para administradores."),
        (f"/ui/gateways/{site.GATEWAY}", "Esta página es solo para administradores."),
    ):
        browser.get(f"{served.url}{path}")
        assert text(browser, "p.notice.error") == message
    screenshot(browser, f"operador-{served.kind}")


def test_logging_out_ends_the_session(served: Served, browser: Any) -> None:
    log_in(browser, served.url, "ana")
    browser.find_element(By.XPATH, "//button[text()='Salir']").click()
    wait_for(browser, "#username")
    browser.get(f"{served.url}/ui/")
    assert browser.current_url == f"{served.url}/ui/login"
