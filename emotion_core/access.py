"""Who may change shared state: starting, cancelling or resuming training and deploying a model.

Predicting is open to everyone who can reach the app. The actions that change what every other
user sees are open on an app that listens on localhost only (`.streamlit/config.toml` sets that);
an app that listens beyond it (`--server.address 0.0.0.0`) makes them read-only until an admin
password is configured, then they ask for it:

    # .streamlit/secrets.toml (git-ignored), read first
    admin_password = "a long passphrase"

    # or the environment, e.g. for a container
    EMOTION_ADMIN_PASSWORD="a long passphrase" streamlit run app.py

The command line never asks: whoever has a shell on the machine can edit the registry anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

SECRET_KEY = "admin_password"  # in Streamlit secrets
PASSWORD_ENV = "EMOTION_ADMIN_PASSWORD"


def admin_password(secrets: Mapping | None = None) -> str | None:
    """The configured admin password (the secret first, then the environment), None when unset.

    An empty value counts as unset, so `EMOTION_ADMIN_PASSWORD=` does not lock everyone out.
    """
    value = (secrets or {}).get(SECRET_KEY) or os.environ.get(PASSWORD_ENV)
    return str(value) if value else None


# What `server.address` holds when only this machine can connect; unset, Streamlit listens on every interface.
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


def listens_locally(address: str | None) -> bool:
    """Whether a server bound to `address` can be reached from this machine only."""
    return bool(address) and (address in LOCAL_ADDRESSES or address.startswith("127."))


def read_only(expected: str | None, address: str | None) -> bool:
    """Whether the shared-state actions are closed to everyone: no admin password is configured and
    the app listens beyond localhost, so any visitor could otherwise train or change the deployed model."""
    return expected is None and not listens_locally(address)


def password_required(secrets: Mapping | None = None) -> bool:
    return admin_password(secrets) is not None


def password_matches(given: str | None, expected: str | None) -> bool:
    """Whether `given` is the admin password; always True when no password is configured.

    hmac.compare_digest takes as long whatever the first wrong character, so response times do
    not reveal how much of a guess was right. Bytes, because it refuses non-ASCII str.
    """
    if expected is None:
        return True
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def unlock_token(expected: str) -> str:
    """What a session keeps once unlocked: a digest of the password, never the password itself.

    Comparing it with the current password's digest locks every session again when the password
    is changed.
    """
    return hashlib.sha256(b"emotion-admin:" + expected.encode("utf-8")).hexdigest()


def is_unlocked(token: str | None, expected: str | None) -> bool:
    """Whether a session holding `token` may act: yes when no password is set."""
    if expected is None:
        return True
    return token is not None and hmac.compare_digest(token, unlock_token(expected))
