"""The in-browser inference demo, deployed by `fldeploy up`, in headless Chromium with every request that
does not go to the container blocked: a digit drawn on the canvas is classified on the device, the page
says which execution provider ran, with no console error and no CSP violation."""
from __future__ import annotations

import pytest

from ..support.stack import make_stack, remove_stack


@pytest.fixture
def demo_url(tmp_path, stack_images):
    stack = make_stack(tmp_path, FLDEPLOY_SERVICES="webgpu-demo")
    run = stack.fl("up", "--json")
    assert run.code == 0, run.out + run.err
    assert run.json["data"]["urls"]["webgpu-demo"].endswith(str(stack.env["FLDEPLOY_WEBGPU_DEMO_PORT"]))
    yield run.json["data"]["urls"]["webgpu-demo"]
    remove_stack(stack)


def draw_digit(page, pixels: list[float]) -> None:
    """Paint an 8x8 sample of the data set onto the 280x280 pad, as white ink on black."""
    page.evaluate("""(pixels) => {
        const pad = document.getElementById('pad'), ctx = pad.getContext('2d'), cell = pad.width / 8;
        pixels.forEach((v, i) => { const g = Math.round(v / 16 * 255);
            ctx.fillStyle = `rgb(${g},${g},${g})`; ctx.fillRect((i % 8) * cell, Math.floor(i / 8) * cell, cell, cell); });
    }""", pixels)


def test_classifies_a_drawn_digit_offline(page, demo_url):
    # the page's CSP forbids eval: waits use locators, never wait_for_function
    from playwright.sync_api import expect
    from sklearn.datasets import load_digits

    blocked, errors, violations = [], [], []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(demo_url)
               else (blocked.append(route.request.url), route.abort()))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "(window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI))")
    page.goto(demo_url)
    page.wait_for_selector("body[data-ready]", timeout=60_000)
    assert page.evaluate("document.body.dataset.ready") == "true", page.inner_text("#status")

    digits = load_digits()
    for index in (3, 7, 10):  # a 3, a 7 and a 0 from the data set
        draw_digit(page, [float(v) for v in digits.data[index]])
        page.click("#classify")
        expect(page.locator("#prediction")).to_have_text(str(digits.target[index]))
        assert page.inner_text("#time").endswith("ms")
        page.click("#clear")

    provider = page.inner_text("#ep")
    assert provider in ("webgpu", "wasm")
    if provider == "wasm":
        assert "WebAssembly" in page.inner_text("#ep-note")
    draw_digit(page, [float(v) for v in digits.data[3]])
    page.click("#classify")
    expect(page.locator("#prediction")).to_have_text("3")
    violations = page.evaluate("window.__csp || []")
    assert not violations, f"CSP violations: {violations}"
    assert not errors, f"console errors: {errors}"
    assert not blocked, f"the page tried to leave the container: {blocked}"
