"""``pinbase provision`` with users and device owners, as a subprocess the way tools call it."""

import base64
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from pinbase.testing import run_cli

SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [
        {"email": "Owner@Acme.example", "name": "Olga Owner", "roleId": 1, "password": "pä$$"},
        {"email": "staff@acme.example", "name": "Sam", "roleId": 2, "password": "s"},
    ],
    "templates": [{"name": "Weather"}],
    "devices": [
        {"name": "Owned", "template": "Weather", "owner": "OWNER@acme.example"},
        {"name": "Unowned", "template": "Weather"},
    ],
}


def provision(tmp_path: Path, spec: object, *, check: bool = True) -> tuple[Any, str, int]:
    """Run ``pinbase provision`` on ``spec`` into ``tmp_path/data``: (JSON out, stderr, code)."""
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    done = run_cli("provision", str(path), "--data", str(tmp_path / "data"), check=check)
    return (json.loads(done.stdout) if done.returncode == 0 else None), done.stderr, done.returncode


def rows(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the provisioned database."""
    with sqlite3.connect(tmp_path / "data" / "pinbase.db") as db:
        return db.execute(sql).fetchall()


def test_provision_creates_users_and_owned_devices(tmp_path: Path) -> None:
    """Users are printed with id, lower-cased e-mail and organization; a device's ``owner``
    sets its ``ownerUserId``; the first user of the organization is its developer.
    """
    created, _, _ = provision(tmp_path, SPEC)
    org_id = created["organization"]["id"]
    owner, staff = created["users"]
    assert owner == {"id": owner["id"], "email": "owner@acme.example", "orgId": org_id}
    assert staff == {"id": staff["id"], "email": "staff@acme.example", "orgId": org_id}
    owned, unowned = created["devices"]
    assert (owned["ownerUserId"], unowned["ownerUserId"]) == (owner["id"], None)
    stored = rows(tmp_path, "SELECT email, role_id, status, is_dev FROM users ORDER BY id")
    assert stored == [
        ("owner@acme.example", 1, "Active", 1),
        ("staff@acme.example", 2, "Active", 0),
    ]


def test_provisioned_password_is_stored_as_argon2id_of_the_platform_hash(tmp_path: Path) -> None:
    """argon2id of base64(sha256(password ‖ sha256(lower(email)))), checked against a known
    vector and an independent computation; neither the password nor that hash is stored.
    """
    spec = {
        "organization": {"name": "Vector"},
        "users": [
            {
                "email": "John@Example.COM",
                "name": "John",
                "roleId": 3,
                "password": "My$ecret pässword",
            }
        ],
    }
    provision(tmp_path, spec)
    ((stored,),) = rows(tmp_path, "SELECT password_hash FROM users")
    # (printf %s "$PASSWORD"; printf %s john@example.com | openssl dgst -sha256 -binary)
    #   | openssl dgst -sha256 -binary | openssl base64
    client_hash = "Yslw9uZWzgjYF/H5+bSkvnT1bvxcLG+zaSKeGY9f/2s="
    inner = hashlib.sha256(b"john@example.com").digest()
    password = "My$ecret pässword".encode()
    assert client_hash == base64.b64encode(hashlib.sha256(password + inner).digest()).decode()
    assert stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, client_hash)
    database = (tmp_path / "data" / "pinbase.db").read_bytes()
    assert client_hash.encode() not in database
    assert password not in database


def test_a_user_may_join_an_existing_organization(tmp_path: Path) -> None:
    """``org`` names an organization that already exists (here, one provisioned before)."""
    first, _, _ = provision(tmp_path, SPEC)
    existing = first["organization"]["id"]
    spec = {
        "organization": {"name": "Second"},
        "users": [{"email": "late@acme.example", "name": "Late", "roleId": 3, "password": "x",
                   "org": existing}],
    }  # fmt: skip
    created, _, _ = provision(tmp_path, spec)
    assert created["users"][0]["orgId"] == existing
    assert rows(tmp_path, "SELECT is_dev FROM users WHERE email = 'late@acme.example'") == [(0,)]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"users": [{**SPEC["users"][0], "org": 999}]}, "unknown org 999"),
        ({"users": [SPEC["users"][0], SPEC["users"][0]]}, "already in use"),
        ({"users": [{**SPEC["users"][0], "roleId": 4}]}, "roleId"),
        ({"users": [{**SPEC["users"][0], "name": "R2D2"}]}, "name"),
        ({"users": [{**SPEC["users"][0], "email": "nope"}]}, "email"),
        ({"users": [{**SPEC["users"][0], "password": ""}]}, "password"),
        ({"users": [{**SPEC["users"][0], "passwordHash": "x"}]}, "passwordHash"),
        ({"devices": [{"name": "D", "template": "Weather", "owner": "ghost@acme.example"}]},
         "unknown owner"),
    ],
)  # fmt: skip
def test_bad_users_create_nothing(tmp_path: Path, change: dict[str, Any], complaint: str) -> None:
    """An unknown org or owner, a duplicate e-mail or a malformed user: exit 2, nothing stored."""
    _, stderr, code = provision(tmp_path, {**SPEC, **change}, check=False)
    assert code == 2
    assert complaint in stderr
    if (tmp_path / "data" / "pinbase.db").exists():  # a malformed file is refused before
        assert rows(tmp_path, "SELECT count(*) FROM organizations") == [(0,)]
        assert rows(tmp_path, "SELECT count(*) FROM users") == [(0,)]
