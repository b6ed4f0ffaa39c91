"""The browser front end's JSON API and page, served on a free loopback port."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from test_play import tictactoe_session

from selfplay.web import WebGame, make_server


@pytest.fixture
def url(tmp_path):
    web = WebGame(tictactoe_session(tmp_path, simulations=8))
    server = make_server(web, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def call(url: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path, data=data, method="GET" if data is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_page_and_a_whole_game_through_the_api(url):
    with urllib.request.urlopen(url + "/", timeout=30) as response:
        page = response.read().decode()
    assert '<pre id="board">' in page and "/api/move" in page
    code, state = call(url, "/api/state")
    assert code == 200 and state["your_turn"] and len(state["legal"]) == 9
    while not state["over"]:
        code, state = call(url, "/api/move", {"action": state["legal"][0]["action"]})
        assert code == 200
        if not state["over"]:
            assert state["your_turn"] and state["engine"]["top"]  # the engine answered
            assert -1 <= state["engine"]["value"] <= 1
    assert state["result"] in ("you won", "you lost", "a draw") and state["legal"] == []


def test_illegal_moves_undo_and_new_games(url):
    code, state = call(url, "/api/move", {"action": 4})
    engine_cell = state["engine"]["move"]
    code, error = call(url, "/api/move", {"action": 4})
    assert code == 400 and "not legal here" in error["error"]
    code, error = call(url, "/api/move", {})
    assert code == 400
    code, state = call(url, "/api/undo", {})
    assert code == 200 and len(state["legal"]) == 9 and state["engine"] is None
    code, state = call(url, "/api/new", {"human": 1})  # the engine opens
    assert code == 200 and state["your_turn"] and len(state["legal"]) == 8
    assert state["engine"]["move"] and engine_cell
