"""End to end in headless Chromium: load the page, play by clicking, see the engine answer,
finish a game. Needs Debian's chromium and chromium-driver (``.ci/run`` installs them) and
selenium (a dev dependency); skipped where the browser is missing."""

from __future__ import annotations

import shutil
import threading

import pytest
from test_play import tictactoe_session

from selfplay.web import WebGame, make_server

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium is not installed")


@pytest.fixture
def page(tmp_path):
    from selenium.webdriver.chrome.service import Service

    server = make_server(WebGame(tictactoe_session(tmp_path, simulations=8)), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
    yield driver
    driver.quit()
    server.shutdown()
    server.server_close()


def test_play_a_whole_game_by_clicking(page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(page, 30)
    wait.until(ready.text_to_be_present_in_element((By.ID, "status"), "Your move"))
    assert len(page.find_elements(By.CSS_SELECTOR, "button.move")) == 9
    clicks = 0
    while "Game over" not in page.find_element(By.ID, "status").text:
        board = page.find_element(By.ID, "board").text
        page.find_elements(By.CSS_SELECTOR, "button.move")[0].click()
        clicks += 1
        wait.until(lambda d, before=board: d.find_element(By.ID, "board").text != before)
        wait.until(lambda d: "Engine to move" not in d.find_element(By.ID, "status").text)
        status = page.find_element(By.ID, "status").text
        if "Game over" not in status:  # the engine answered and shows its thinking
            assert page.find_element(By.ID, "engine").text.startswith("played ")
            assert page.find_elements(By.CSS_SELECTOR, "#top tbody tr")
    assert 3 <= clicks <= 5
    assert any(r in page.find_element(By.ID, "status").text for r in ("won", "lost", "draw"))
    page.find_element(By.ID, "new-second").click()  # a new game where the engine opens
    wait.until(ready.text_to_be_present_in_element((By.ID, "status"), "Your move"))
    assert len(page.find_elements(By.CSS_SELECTOR, "button.move")) == 8
