"""Play against a checkpoint in the browser: ``selfplay play CHECKPOINT --web``.

A small JSON API over one ``PlaySession`` and a single page that draws the position, a button
for every legal move, and the engine's evaluation with its visit counts and policy. Standard
library only; bound to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from selfplay.play import EngineMove, PlaySession


class WebGame:
    """The session behind the page; every request holds the lock, so one move at a time."""

    def __init__(self, session: PlaySession):
        self.session = session
        self.lock = threading.Lock()
        self.last: EngineMove | None = None

    def state(self) -> dict:
        s, game = self.session, self.session.game
        legal = np.flatnonzero(game.legal_actions_mask(s.states)[0]) if not s.over else []
        last = None
        if self.last is not None:
            last = {
                "move": game.action_to_string(self.last.action),
                "value": self.last.value,
                "top": [{"move": m, "visits": n, "prior": p} for m, n, p in self.last.top],
            }
        return {
            "game": game.spec.name,
            "board": s.board(),
            "legal": [{"action": int(a), "name": game.action_to_string(int(a))} for a in legal],
            "your_turn": not s.over and s.to_move == s.human,
            "human": s.human,
            "over": s.over,
            "result": s.result() if s.over else None,
            "engine": last,
        }

    def engine_replies(self) -> None:
        """Lets the engine move while it is its turn (it opens when the person plays second)."""
        s = self.session
        while not s.over and s.to_move != s.human:
            self.last = s.engine_move()

    def move(self, action: int) -> dict:
        s = self.session
        message = s.human_move(s.game.action_to_string(action))
        if message:
            raise ValueError(message)
        self.engine_replies()
        return self.state()

    def new(self, human: int) -> dict:
        self.session.new_game()
        self.session.human, self.last = human, None
        self.engine_replies()
        return self.state()

    def undo(self) -> dict:
        self.session.undo()
        self.last = None
        return self.state()


def make_server(web: WebGame, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """An HTTP server for ``web`` (port 0: any free port; see ``server.server_address``)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args) -> None:  # keep the terminal quiet
            pass

        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, payload: dict) -> None:
            self._send(code, json.dumps(payload).encode(), "application/json")

        def do_GET(self) -> None:
            if self.path == "/":
                self._send(200, PAGE.encode(), "text/html; charset=utf-8")
            elif self.path == "/api/state":
                with web.lock:
                    self._json(200, web.state())
            else:
                self._json(404, {"error": f"no such page {self.path}"})

        def do_POST(self) -> None:
            try:
                length = min(int(self.headers.get("Content-Length", 0)), 10_000)
                body = json.loads(self.rfile.read(length) or b"{}")
                with web.lock:
                    if self.path == "/api/move":
                        result = web.move(int(body["action"]))
                    elif self.path == "/api/new":
                        result = web.new(int(body.get("human", 0)) % 2)
                    elif self.path == "/api/undo":
                        result = web.undo()
                    else:
                        return self._json(404, {"error": f"no such action {self.path}"})
            except (ValueError, KeyError, TypeError) as e:
                return self._json(400, {"error": str(e)})
            self._json(200, result)

    return ThreadingHTTPServer((host, port), Handler)


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>selfplay</title>
<style>
 body { font-family: sans-serif; margin: 2em; }
 pre#board { font-size: 1.6em; line-height: 1.2; }
 #moves button { margin: 0.2em; min-width: 3em; font-size: 1.1em; }
 table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; text-align: right; }
 #error { color: #b00; }
</style></head>
<body>
<h1 id="title">selfplay</h1>
<pre id="board"></pre>
<p id="status"></p>
<div id="moves"></div>
<p id="error"></p>
<h3>Engine</h3>
<p id="engine">-</p>
<table id="top"><thead><tr><th>move</th><th>visits</th><th>policy</th></tr></thead>
<tbody></tbody></table>
<p>
 <button id="new-first">New game: I play first</button>
 <button id="new-second">New game: I play second</button>
 <button id="undo">Undo</button>
</p>
<script>
async function call(path, body) {
  const options = body === undefined ? {} :
    {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const response = await fetch(path, options);
  const data = await response.json();
  document.getElementById("error").textContent = response.ok ? "" : data.error;
  if (response.ok) show(data);
}
function show(s) {
  document.getElementById("title").textContent = "selfplay: " + s.game;
  document.getElementById("board").textContent = s.board;
  document.getElementById("status").textContent =
    s.over ? "Game over: " + s.result : (s.your_turn ? "Your move" : "Engine to move");
  const moves = document.getElementById("moves");
  moves.innerHTML = "";
  if (s.your_turn) for (const m of s.legal) {
    const b = document.createElement("button");
    b.textContent = m.name; b.dataset.action = m.action; b.className = "move";
    b.onclick = () => call("/api/move", {action: m.action});
    moves.appendChild(b);
  }
  const body = document.querySelector("#top tbody");
  body.innerHTML = "";
  if (s.engine) {
    document.getElementById("engine").textContent =
      "played " + s.engine.move + ", value " + s.engine.value.toFixed(2) + " (its view)";
    for (const t of s.engine.top) {
      const row = body.insertRow();
      row.insertCell().textContent = t.move;
      row.insertCell().textContent = t.visits;
      row.insertCell().textContent = t.prior.toFixed(2);
    }
  }
}
document.getElementById("new-first").onclick = () => call("/api/new", {human: 0});
document.getElementById("new-second").onclick = () => call("/api/new", {human: 1});
document.getElementById("undo").onclick = () => call("/api/undo", {});
call("/api/state");
</script>
</body></html>
"""
