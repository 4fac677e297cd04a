"""``pinbase oauth create-client`` and ``list-clients`` as subprocesses."""

import hashlib
import json
import re
import sqlite3
from pathlib import Path

from pinbase.testing import provision, run_cli

SPEC = {"organization": {"name": "Acme"}, "oauthClients": [{"name": "provisioned"}]}
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def test_create_client_prints_its_secret_once_and_stores_a_hash(tmp_path: Path) -> None:
    """The new client's id and secret are printed; the database keeps the secret's SHA-256."""
    org_id = provision(SPEC, data_dir=tmp_path)["organization"]["id"]
    done = run_cli(
        "oauth", "create-client", "--org", str(org_id), "--name", "ci", "--data", str(tmp_path)
    )
    created = json.loads(done.stdout)
    assert set(created) == {"clientId", "clientSecret", "name", "orgId"}
    assert (created["name"], created["orgId"]) == ("ci", org_id)
    assert SECRET_SHAPE.fullmatch(created["clientSecret"])
    with sqlite3.connect(tmp_path / "pinbase.db") as db:
        (stored,) = db.execute(
            "SELECT secret_hash FROM oauth_clients WHERE client_id = ?", (created["clientId"],)
        ).fetchone()
    assert stored == hashlib.sha256(created["clientSecret"].encode()).hexdigest()
    assert created["clientSecret"] not in (tmp_path / "pinbase.db").read_bytes().decode("latin-1")


def test_list_clients_shows_every_client_without_secrets(tmp_path: Path) -> None:
    """Provisioned and created clients are listed, oldest first, with no secret field."""
    org_id = provision(SPEC, data_dir=tmp_path)["organization"]["id"]
    run_cli("oauth", "create-client", "--org", str(org_id), "--name", "ci", "--data", str(tmp_path))
    listed = json.loads(run_cli("oauth", "list-clients", "--data", str(tmp_path)).stdout)
    assert [(c["name"], c["orgId"]) for c in listed] == [("provisioned", org_id), ("ci", org_id)]
    assert all(set(c) == {"clientId", "name", "orgId", "createdAt"} for c in listed)


def test_list_clients_of_an_empty_database(tmp_path: Path) -> None:
    """A fresh data folder lists no clients."""
    assert json.loads(run_cli("oauth", "list-clients", "--data", str(tmp_path)).stdout) == []


def test_create_client_in_an_unknown_organization_fails(tmp_path: Path) -> None:
    """An organization id nobody created exits with code 2 and creates nothing."""
    provision(SPEC, data_dir=tmp_path)
    done = run_cli(
        "oauth",
        "create-client",
        "--org",
        "999",
        "--name",
        "ci",
        "--data",
        str(tmp_path),
        check=False,
    )
    assert done.returncode == 2
    assert "organization 999 does not exist" in done.stderr
    assert done.stdout == ""
    listed = json.loads(run_cli("oauth", "list-clients", "--data", str(tmp_path)).stdout)
    assert [c["name"] for c in listed] == ["provisioned"]


def test_create_client_needs_a_name(tmp_path: Path) -> None:
    """An empty name is refused with code 2."""
    done = run_cli(
        "oauth", "create-client", "--org", "1", "--name", "", "--data", str(tmp_path), check=False
    )
    assert done.returncode == 2


def test_delete_client_removes_it(tmp_path: Path) -> None:
    """A deleted client is no longer listed; the other clients stay."""
    org_id = provision(SPEC, data_dir=tmp_path)["organization"]["id"]
    data = ("--data", str(tmp_path))
    made = run_cli("oauth", "create-client", "--org", str(org_id), "--name", "ci", *data)
    client_id = json.loads(made.stdout)["clientId"]
    done = run_cli("oauth", "delete-client", client_id, *data)
    assert json.loads(done.stdout) == {"deleted": client_id}
    listed = json.loads(run_cli("oauth", "list-clients", *data).stdout)
    assert [c["name"] for c in listed] == ["provisioned"]


def test_delete_unknown_client_fails(tmp_path: Path) -> None:
    """A client id nobody created exits with code 2."""
    provision(SPEC, data_dir=tmp_path)
    done = run_cli("oauth", "delete-client", "nobody", "--data", str(tmp_path), check=False)
    assert done.returncode == 2
    assert "no such client" in done.stderr
    assert done.stdout == ""
