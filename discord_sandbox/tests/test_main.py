"""`python -m discord_sandbox`: a development tool that refuses to run with DEBUG off."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def sandbox_process(*args: str, debug: str) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": debug}
    return subprocess.Popen(
        [sys.executable, "-m", "discord_sandbox", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_refuses_to_start_when_debug_is_off():
    process = sandbox_process("--port", str(free_port()), debug="false")

    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 2
    assert "refuses to start: DEBUG is off" in stderr


def test_it_refuses_a_bad_seed_file(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"users": [{"id": "x", "username": "alice"}]}))

    process = sandbox_process("--port", str(free_port()), "--seed", str(seed), debug="true")
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 2
    assert "users[0].id" in stderr


def test_with_debug_on_it_serves_the_seeded_guild_until_stopped(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {"guild": {"name": "Seeded"}, "users": [{"id": "1600000000000000001", "username": "alice"}]}
        )
    )
    port = free_port()
    process = sandbox_process("--port", str(port), "--seed", str(seed), debug="true")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status = requests.get(f"http://127.0.0.1:{port}/_sandbox/status", timeout=2).json()
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the sandbox did not answer within 60 s"
                time.sleep(0.2)
        gateway = requests.get(f"http://127.0.0.1:{port}/api/v10/gateway", timeout=2).json()
    finally:
        process.terminate()
        process.wait(timeout=30)

    assert status == {"guild": "Seeded", "bot_connected": False, "commands": [], "users": 1}
    assert gateway == {"url": f"ws://127.0.0.1:{port}/gateway-ws"}
