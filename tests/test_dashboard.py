"""The dashboard: its model, its components (Solara render tests) and the page in a real
browser (Playwright driving Debian's Chromium; skipped where no Chromium is installed)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from marktsim.dashboard.model import DashboardModel, series_name
from marktsim.dashboard.texts import SCENARIOS, TEXTS, option

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_scenario_runs_in_both_languages(scenario, lang):
    model = DashboardModel(preset=SCENARIOS[scenario][lang][0], lang=lang, n_customers=300)
    for _ in range(3):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 4 and frame.notna().all().all()
    assert series_name(lang, "share", "focal") in frame.columns
    assert model.scenario_key == scenario


def test_translated_choices_map_back_to_config_options():
    for lang in TEXTS.values():
        for key, label in lang["choices"].items():
            assert option(label) == key
    model = DashboardModel(lang="de", market="wachsend", priority="Stammkunden zuerst", targeting="A/B/C-Kunden",
                           n_customers=200)
    assert model.cfg.market.saturated is False and model.cfg.firm.priority == "existing_first"
    assert model.cfg.firm.targeting == "abc"


def test_every_label_exists_in_both_languages():
    en, de = TEXTS["en"], TEXTS["de"]
    assert en.keys() == de.keys() and en["choices"].keys() == de["choices"].keys()
    for scenario in SCENARIOS.values():
        assert scenario["en"][0] != scenario["de"][0]
    assert {"Kampagne überlastet die Kapazität", "Gesättigter Markt", "Stammkunden zuerst bedienen",
            "A-Kunden gezielt binden"} <= {s["de"][0] for s in SCENARIOS.values()}


def test_a_scenario_sets_the_controls_it_names_and_the_user_can_change_them():
    """The controls start at the scenario's values (the page shows what is in force); a
    scenario's settings without a control (the campaign) apply too; a control changed by the
    user wins over the scenario's value."""
    from marktsim.dashboard import app

    params = app.model_params("en", "campaign_overload")
    assert params["capacity_factor"]["value"] == 1.5 and params["market"]["value"] == "growing"
    assert app.model_params("de", "regulars_first")["priority"]["value"] == "Stammkunden zuerst"
    assert app.model_params("en", "custom")["capacity_factor"]["value"] == 1.1
    model = app.model_class("en", "campaign_overload")(n_customers=300)
    cfg = model.cfg
    assert not cfg.market.saturated and cfg.firm.capacity_factor == 1.5 and cfg.strategy.campaign_start == 6
    assert model.scenario_key == "campaign_overload"
    assert app.model_class("en", "campaign_overload")(n_customers=300, capacity_factor=2.0).cfg.firm.capacity_factor == 2.0
    # every value in force is on the page: budget, word of mouth, customers and seed too
    line = app.settings_line(app.model_class("de", "custom")(n_customers=300, seed=7, budget_share=0.12))
    for fragment in ("Marketingbudget (Anteil am Umsatz): 0,12", "Stärke der Mundpropaganda: 0,043", "Kunden: 300",
                     "Zufallszahl (Seed): 7"):
        assert fragment in line, fragment


def test_a_language_switch_keeps_the_running_market():
    """Switching the language keeps the market (customers, month, history, values in force):
    its chart series and figures are renamed, not restarted, and Reset afterwards starts a
    market in the new language at the values that were in force."""
    import numpy as np

    from marktsim.dashboard import app
    from marktsim.dashboard.model import CHARTS, series_name

    model = app.model_class("en", "campaign_overload")(n_customers=300, capacity_factor=2.0)
    for _ in range(4):
        model.step()
    history = model.datacollector.get_model_vars_dataframe().to_numpy().copy()
    satisfaction = model.columns.satisfaction.copy()
    english_title = app.chart_figure(model, "share").axes[0].get_title()
    app.relabel(model, "de")
    assert model.lang == "de" and model.tick == 4
    assert np.array_equal(model.columns.satisfaction, satisfaction)
    assert list(model.datacollector.model_vars) == [series_name("de", m, f) for m in CHARTS for f in model.firm_names]
    assert np.array_equal(model.datacollector.get_model_vars_dataframe().to_numpy(), history)
    assert app.chart_figure(model, "share").axes[0].get_title() != english_title == TEXTS["en"]["share"]
    assert "Kapazität (× Anfangsnachfrage): 2,00" in app.settings_line(model)
    model.step()  # the collector goes on under the German names
    assert len(model.datacollector.get_model_vars_dataframe()) == len(history) + 1
    restarted = model.__class__()  # what Mesa's Reset does with no control changed
    assert restarted.lang == "de" and restarted.tick == 0 and restarted.cfg.firm.capacity_factor == 2.0
    assert restarted.cfg.strategy.campaign_start == 6  # the scenario's settings without a control stay
    assert app.model_params("de", "campaign_overload", model.controls)["capacity_factor"]["value"] == 2.0
    app.relabel(model, "en")
    assert model.lang == "en" and model.tick == 5 and model.__class__().lang == "en"
    with pytest.raises(ValueError, match="allowed"):
        app.relabel(model, "fr")
    assert model.lang == "en"


def test_charts_start_at_month_one_with_months_on_the_axis():
    """Month t is the tick that has just run: three steps draw months 1, 2, 3 (no point at 0,
    where every figure but the share was a placeholder 0); the axis says Month / Monat."""
    from marktsim.dashboard import app

    from marktsim.dashboard.model import CHARTS

    for lang, word in (("en", "Month"), ("de", "Monat")):
        model = app.model_class(lang)(n_customers=300)
        assert all(len(line.get_xdata()) == 0 for line in app.chart_figure(model, "share").axes[0].lines)
        for _ in range(3):
            model.step()
        for metric in CHARTS:
            (ax,) = app.chart_figure(model, metric).axes
            assert [list(line.get_xdata()) for line in ax.lines] == [[1, 2, 3]] * 4  # our firm and three rivals
            assert ax.get_xlabel() == word and ax.get_title() == TEXTS[lang][metric]
        satisfaction = app.chart_figure(model, "satisfaction_mean").axes[0].lines[0].get_ydata()
        assert 0 < min(satisfaction)  # no line falls from a placeholder 0


def _templates(rc) -> str:
    import ipyvuetify

    return " ".join(w.template for w in rc.find(ipyvuetify.VuetifyTemplate).widgets
                    if isinstance(getattr(w, "template", None), str))


def _images(rc) -> list[bytes]:
    import ipywidgets

    return [w.value for w in rc.find(ipywidgets.Image).widgets]


def test_components_render_and_follow_the_model():
    """Solara render tests of the dashboard's own components."""
    import solara
    from mesa.visualization.utils import force_update

    from marktsim.dashboard import app

    warnings.filterwarnings("ignore", category=UserWarning)
    model = app.model_class("de", "campaign_overload")(n_customers=400)
    _, explanation = solara.render(app.Explanation(model), handle_error=False)
    _, view = solara.render(app.CustomerView(model), handle_error=False)
    _, plot = solara.render(app.chart("backlog_units")(model), handle_error=False)
    assert "Monat: 0" in _templates(explanation) and "Worauf achten" in _templates(explanation)
    before_view, before_plot = _images(view), _images(plot)
    for _ in range(12):
        model.step()
    force_update()
    assert "Monat: 12" in _templates(explanation)
    assert _images(view) != before_view and _images(plot) != before_plot


@pytest.mark.parametrize("args, fragment", [(["--port", "70000"], "--port 70000"), (["--lang", "fr"], "fr")])
def test_dashboard_command_refuses_bad_options(args, fragment):
    proc = subprocess.run([str(Path(sys.executable).parent / "marktsim-dashboard"), *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and fragment in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_url():
    port = _free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "marktsim-dashboard"), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("marktsim-dashboard exited: " + proc.stdout.read())
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets listening on `port`, read from /proc/net/tcp{,6} (hex form)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
def test_dashboard_binds_to_localhost_only(dashboard_url):
    port = int(dashboard_url.rsplit(":", 1)[1].strip("/"))
    addresses = _listening_addresses(port)
    assert addresses, "nothing listens on the dashboard's port"
    assert addresses == {"0100007F"}  # 127.0.0.1 only, never 0.0.0.0 (00000000)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (Debian package chromium)")
def test_dashboard_in_a_real_browser(dashboard_url):
    """Load the page in headless Chromium, step, change a control, choose a scenario (its
    values appear in the controls), play and step in both orders, switch the language and
    press Reset in both: never a traceback."""
    playwright = pytest.importorskip("playwright.sync_api")
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(dashboard_url, timeout=90_000)
        page.get_by_text("What to watch for").first.wait_for(timeout=90_000)
        page.get_by_text("Month: 0").first.wait_for(timeout=30_000)
        assert page.get_by_role("tab", name="Market").count() == 1 and page.get_by_text("Page 0").count() == 0
        customers = page.locator("img").first
        before = customers.screenshot()
        for _ in range(3):
            page.get_by_role("button", name="Step").click()
        page.get_by_text("Month: 3").first.wait_for(timeout=30_000)
        time.sleep(1.0)
        assert customers.screenshot() != before  # the customer view changed
        # a control, then Reset: the market restarts at month 0 with delays announced
        assert page.get_by_text("Tell customers about delays: no").count() == 1
        page.get_by_text("Tell customers about delays").first.click()
        page.get_by_role("button", name="Reset").click()
        page.get_by_text("Month: 0").first.wait_for(timeout=30_000)
        page.get_by_text("Tell customers about delays: yes").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Step").click()
        page.get_by_text("Month: 1").first.wait_for(timeout=30_000)
        # a scenario: the controls show its values, the market starts anew with them
        page.locator(".v-select").filter(has_text="Scenario").first.click()
        page.get_by_role("option", name="A campaign overloads capacity").click()
        page.get_by_text("Month: 0").first.wait_for(timeout=30_000)
        page.get_by_text("Capacity (× initial demand): 1.50").first.wait_for(timeout=30_000)
        assert page.get_by_text("Market: growing").count() >= 1
        assert page.locator(".v-slider__thumb-label").filter(has_text="1.5").count() >= 1  # the slider shows it
        # the delays box, ticked by hand before, shows the scenario's value (not ticked), as in force
        assert page.get_by_text("Tell customers about delays: no").count() == 1
        assert page.locator("input[type=checkbox][aria-checked=true]").count() == 1  # CRM only
        # Play then Step, and Step then Play
        page.get_by_role("button", name="▶").click()
        page.get_by_text("Month: 2").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="❚❚").click()
        page.get_by_role("button", name="Step").click()
        page.get_by_role("button", name="▶").click()
        time.sleep(1.0)
        page.get_by_role("button", name="❚❚").click()
        time.sleep(0.5)
        assert page.get_by_text("Traceback").count() == 0
        page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"), full_page=True)
        month = int(re.search(r"Month: (\d+)", page.get_by_text(re.compile(r"Month: \d+")).first.inner_text()).group(1))
        assert month >= 3  # played and stepped
        # the language switch keeps the running market: the same month, the scenario's values in the controls
        page.get_by_role("button", name="de", exact=True).click()
        page.get_by_text("Worauf achten").first.wait_for(timeout=60_000)
        page.get_by_text(f"Monat: {month}", exact=True).first.wait_for(timeout=30_000)
        page.get_by_text("Kampagne überlastet die Kapazität").first.wait_for(timeout=30_000)  # the scenario stays
        page.get_by_text("Kapazität (× Anfangsnachfrage): 1,50").first.wait_for(timeout=30_000)
        assert page.get_by_role("tab", name="Markt").count() == 1
        assert page.get_by_text("Strategie unserer Firma").count() >= 1
        # Mesa's own controls follow the switch, and the market goes on
        page.get_by_role("button", name="Schritt", exact=True).click()
        page.get_by_text(f"Monat: {month + 1}", exact=True).first.wait_for(timeout=30_000)
        assert page.get_by_role("button", name="Zurücksetzen").count() == 1
        assert page.get_by_text("Modellparameter").count() >= 1 and page.get_by_text("Model Parameters").count() == 0
        # Reset in German (once a traceback: chart series keyed by translated labels), then step
        page.get_by_role("button", name="Zurücksetzen").click()
        page.get_by_text("Monat: 0").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Schritt", exact=True).click()
        page.get_by_text("Monat: 1").first.wait_for(timeout=30_000)
        time.sleep(1.0)
        assert page.get_by_text("Traceback").count() == 0 and page.get_by_text("KeyError").count() == 0
        page.screenshot(path=str(ARTIFACTS / "dashboard-de.png"), full_page=True)
        # and back to English (the market goes on at month 1), Reset and Step again, no traceback
        page.get_by_role("button", name="en", exact=True).click()
        page.get_by_text("What to watch for").first.wait_for(timeout=60_000)
        page.get_by_text("Month: 1", exact=True).first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Reset").click()
        page.get_by_text("Month: 0").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Step").click()
        page.get_by_text("Month: 1").first.wait_for(timeout=30_000)
        time.sleep(1.0)
        assert page.get_by_text("Traceback").count() == 0 and page.get_by_text("KeyError").count() == 0
        browser.close()
    assert (ARTIFACTS / "dashboard-de.png").stat().st_size > 10_000



def test_mesa_captions_follow_the_language_switch():
    """Mesa's own SolaraViz captions (Controls, Reset, Step, …) go through the dashboard's
    language: German in German mode, Mesa's English otherwise, other text untouched."""
    import ipyvuetify
    import mesa.visualization.solara_viz as viz
    import solara

    from marktsim.dashboard import app  # installs the captions
    from marktsim.dashboard.texts import MESA_CAPTIONS

    def rendered(element) -> set[str]:
        _, rc = solara.render(element, handle_error=False)
        out = set()
        for w in rc.find(ipyvuetify.VuetifyWidget).widgets:
            for value in (getattr(w, "children", None) or []):
                if isinstance(value, str):
                    out.add(value)
        return out

    try:
        app.language.set("de")
        assert rendered(viz.solara.Button(label="Reset")) == {"Zurücksetzen"}
        assert rendered(viz.solara.Button(label="Step")) == {"Schritt"}
        from marktsim.dashboard.mesa_captions import translate

        assert translate("Step: 12", "de") == "Schritt: 12" and translate("Step: 12", "en") == "Step: 12"
        assert rendered(viz.solara.Button(label="Unrelated")) == {"Unrelated"}
        assert rendered(viz.solara.v.Tab(children=["Page 0"])) == {"Markt"}  # Mesa's tab, named

        def thumb(element):
            _, rc = solara.render(element, handle_error=False)
            return {getattr(w, "thumb_label", None) for w in rc.find(ipyvuetify.VuetifyWidget).widgets} - {None}

        assert thumb(viz.solara.SliderFloat("ρ", value=0.5, min=0.0, max=1.0, step=0.05)) == {"always"}
        assert set(MESA_CAPTIONS["de"]) >= {"Controls", "Model Parameters", "Play Interval (ms)", "Reset", "Step"}
        app.language.set("en")
        assert rendered(viz.solara.Button(label="Reset")) == {"Reset"}
        assert rendered(viz.solara.v.Tab(children=["Page 0"])) == {"Market"}
    finally:
        app.language.set("en")


def test_dashboard_command_starts_solara_without_its_upgrade_advice(monkeypatch):
    """Solara's version check prints `pip install solara==…`, which would replace the pinned
    release whose front-end is served offline; the command turns it off."""
    from marktsim.dashboard import cli

    started = []
    monkeypatch.setenv("MARKTSIM_LANG", "en")  # restored after the test (the command sets it)
    monkeypatch.setattr(cli.os, "execv", lambda exe, command: started.append(command))
    cli.main(["--port", "8765", "--lang", "de"])
    assert started and "--no-check-version" in started[0] and "127.0.0.1" in started[0]
