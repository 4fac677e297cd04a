"""``pinbase demo`` (``make run``) prints a console user that signs in (issue #9 item 2)."""

import re
from pathlib import Path

import httpx

from pinbase.testing import ServerProcess, run_cli


def test_demo_prints_console_credentials_that_sign_in(tmp_path: Path) -> None:
    """The demo prints the console URL, the Admin's e-mail and a password; the same on every
    run (kept in demo.json), and they sign in to a server on that data folder."""
    data = tmp_path / "data"
    first = run_cli("demo", "--data", str(data), "--http-port", "9080").stdout
    assert first == run_cli("demo", "--data", str(data), "--http-port", "9080").stdout
    assert "Web console:        http://127.0.0.1:9080/dashboard" in first
    email = re.search(r"Console e-mail: +(\S+)", first)
    password = re.search(r"Console password: +(\S+)", first)
    assert email is not None
    assert password is not None
    assert email.group(1) == "admin@pinbase.local"
    assert len(password.group(1)) >= 16
    with ServerProcess(data) as server, httpx.Client(base_url=server.base_url) as http:
        refused = http.post(
            "/dashboard/login", data={"email": email.group(1), "password": "not it"}
        )
        assert refused.status_code == 401
        answer = http.post(
            "/dashboard/login", data={"email": email.group(1), "password": password.group(1)}
        )
        assert answer.status_code == 303
        page = http.get("/dashboard")
        assert page.status_code == 200
        assert "Demo Device" in page.text
