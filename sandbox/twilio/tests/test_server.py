"""The sandbox as a server: CLI, keep-alive, concurrency, the client's URL rewriting, the control API."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from twilio.rest import Client

from sandbox.twilio import SandboxHttpClient, SandboxServer
from sandbox.twilio.tests.support import DEADLINE, Tenant

REPO = Path(__file__).resolve().parents[3]


def test_cli_runs_the_sandbox_with_env_credentials() -> None:
    sid, token = "AC" + "1" * 32, "env-token"
    env = {**os.environ, "SANDBOX_ACCOUNT_SID": sid, "SANDBOX_AUTH_TOKEN": token, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.twilio", "--host", "127.0.0.1", "--port", "0", "--step-ms", "0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first_line)
        assert match, first_line
        base_url = match.group(1)
        client = Client(sid, token, http_client=SandboxHttpClient(base_url))
        assert client.messages.create(to="+14155550100", from_="+14155550199", body="cli").status == "queued"
        info = requests.get(base_url + "/sandbox/", timeout=DEADLINE).json()
        assert (info["account_sid"], info["auth_token"], info["base_url"]) == (sid, token, base_url)
        assert info["timing"]["message_queue"] == 0 and info["counts"]["messages"] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(DEADLINE) == 0


def test_connections_are_kept_alive(sandbox: SandboxServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=DEADLINE)
    try:
        for _ in range(3):
            connection.request("GET", "/sandbox/faults")
            response = connection.getresponse()
            assert response.status == 200 and response.version == 11
            response.read()
            assert connection.sock is not None  # same socket, still open for the next request
        first_socket = connection.sock
        connection.request("GET", "/sandbox/timing")
        connection.getresponse().read()
        assert connection.sock is first_socket
    finally:
        connection.close()


def test_concurrent_clients(sandbox: SandboxServer, tenant: Tenant) -> None:
    errors: list[BaseException] = []
    sids: list[str] = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        client = Client(tenant.sid, tenant.auth_token, http_client=SandboxHttpClient(sandbox.base_url))
        try:
            for i in range(25):
                sid = client.messages.create(
                    to=f"+1415555{worker:02d}{i:02d}", from_="+14155550199", body=f"{worker}/{i}"
                ).sid
                assert sid is not None
                with lock:
                    sids.append(sid)
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE * 3)
    assert not errors
    assert len(sids) == len(set(sids)) == 150
    assert {m.sid for m in tenant.client.messages.list(page_size=200)} == set(sids)
    assert sandbox.wait_idle(DEADLINE)
    assert {m.status for m in tenant.client.messages.list(page_size=200)} == {"delivered"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.twilio.com/2010-04-01/Accounts.json", "http://127.0.0.1:9/2010-04-01/Accounts.json"),
        (
            "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Calls.json?PageSize=2",
            "http://127.0.0.1:9/2010-04-01/Accounts/AC1/Calls.json?PageSize=2",
        ),
        ("https://example.com/twiml", "https://example.com/twiml"),
        ("https://nottwilio.com/x", "https://nottwilio.com/x"),
    ],
)
def test_client_rewrites_only_twilio_hosts(url: str, expected: str) -> None:
    assert SandboxHttpClient("http://127.0.0.1:9/").rewrite(url) == expected


def test_regional_client_reaches_the_sandbox(sandbox: SandboxServer) -> None:
    client = Client(
        sandbox.account_sid,
        sandbox.auth_token,
        region="ie1",
        edge="dublin",
        http_client=SandboxHttpClient(sandbox.base_url),
    )
    assert client.api.accounts(sandbox.account_sid).fetch().sid == sandbox.account_sid


def test_control_api_unknowns(sandbox: SandboxServer) -> None:
    assert requests.get(sandbox.base_url + "/sandbox/nope", timeout=DEADLINE).status_code == 404
    assert requests.post(sandbox.base_url + "/sandbox/timing", data="{not json", timeout=DEADLINE).status_code == 400
    assert requests.get(sandbox.base_url + "/sandbox/messages?since=x", timeout=DEADLINE).status_code == 400


def test_unknown_paths_and_methods(master: Client, make_client: Callable[..., Client]) -> None:
    # Client.request is twilio-python's own raw-request entry point (auth, headers, URL rewriting).
    unknown = master.request("GET", f"https://api.twilio.com/2010-04-01/Accounts/{master.account_sid}/Nope.json")
    assert unknown.status_code == 404 and json.loads(unknown.text)["code"] == 20404
    anonymous = make_client(master.account_sid, "wrong").request("GET", "https://api.twilio.com/2010-04-01/Nope.json")
    assert anonymous.status_code == 401 and json.loads(anonymous.text)["code"] == 20003
    put = master.request("PUT", f"https://api.twilio.com/2010-04-01/Accounts/{master.account_sid}/Messages.json")
    assert put.status_code == 405 and json.loads(put.text)["code"] == 20004
