# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every command of the README, in order, as a newcomer runs them: ``make demo-server`` in the checkout, its exports
(in place of the README's PORT) in a shell with nothing else of this project's, ``make`` and ``python scripts/`` in the
checkout, the others from a folder of the user's, with a terminal for the prompts (each MFA code answered: moto takes
any). What the README tells the user to do by hand is done by hand here: the inventory file it shows, the keys it says
to store."""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path

import pexpect
import pytest

from tests.integration.conftest import ROOT
from tests.integration.test_quick_start import newcomer_env

README = (ROOT / "README.md").read_text(encoding="utf-8")
MFA_SERIAL = "arn:aws:iam::123456789012:mfa/moto"
# The commands not run here, and why: each must still be in the README (a command dropped from it must leave this list).
NOT_RUN = {
    "make test": "the suite this test is part of",
    "python scripts/aws_mfa_login.py -p prod": "the same code as aws-mfa-login -p demo, by a path in the checkout",
}
SYNOPSIS = re.compile(r"\[--|\[-\w|\| -\w|\w\|\w")  # usage lines: [--optional] parts, -a | -b and table|json alternatives


def readme_commands():
    """("bash", command) for each command of each bash block, continuation lines joined and comments dropped, and
    ("python", program) for each complete Python program, in the README's order; ("yaml", text) for the files it shows."""
    found = []
    for kind, body in re.findall(r"```(bash|python|yaml)\n(.*?)```", README, re.S):
        if kind != "bash":
            found.append((kind, body))
            continue
        for line in re.sub(r"\\\n\s*", "", body).splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                found.append(("bash", command))
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo_server(tmp_path):
    """``make demo-server PORT=N``, as the README runs it: its exports, then Ctrl-C. Its output goes to a file: a pipe
    nobody reads fills up with the server's request log, and the server then blocks on its next line."""
    log = tmp_path / "demo-server.log"
    with log.open("w") as out:
        server = subprocess.Popen(["make", "demo-server", f"PORT={free_port()}"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while "export AWS_ENDPOINT_URL=" not in log.read_text() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        exports = dict(re.findall(r"^export (AWS_\w+)=(\S+)$", log.read_text(), re.M))
        assert "AWS_ENDPOINT_URL" in exports, log.read_text()
        yield exports
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)


def run_in_terminal(command: str, env: dict, cwd: Path, transcript: list) -> int:
    """``bash -c command`` on a terminal; every MFA code it asks for is answered, every rotation offer declined."""
    child = pexpect.spawn("bash", ["-c", command], env=env, cwd=str(cwd), encoding="utf-8", timeout=600, dimensions=(50, 200))
    while True:
        answer = child.expect([r"Enter MFA token for \S+", r"rotate this key\? \(yes/no\)", pexpect.EOF])
        transcript.append(child.before + (child.after if isinstance(child.after, str) else ""))
        if answer == 2:
            break
        child.sendline("123456" if answer == 0 else "no")
    child.close()
    return child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)


def test_the_readme_commands_run_in_order_against_make_demo_server(demo_server, tmp_path):
    home = tmp_path / "newcomer"
    (home / ".aws").mkdir(parents=True)
    shell = newcomer_env(demo_server, home)  # the exports, pasted as the README says, before its first AWS command
    folder, ran, skipped, transcript = home, [], [], []
    commands = readme_commands()
    assert [c for kind, c in commands if kind == "bash"][:2] == ["make setup", ". .venv/bin/activate"]
    for kind, command in commands:
        if kind == "yaml":
            first = command.splitlines()[0]
            if re.match(r"# [\w.]+\.yml$", first):  # a file the README shows: the user writes it
                (folder / first[2:]).write_text(command)
            continue
        if kind == "python":
            if command.startswith("from awssec"):  # a whole program (the other is a line of one)
                ran.append(command)
                assert run_in_terminal(f"python -c {shlex.quote(command)}", shell, folder, transcript) == 0, "".join(transcript[-3:])
            continue
        if command in NOT_RUN or SYNOPSIS.search(command):
            skipped.append(command)
            continue
        if command == ". .venv/bin/activate":  # in the checkout; every later command runs in that shell
            shell.update(VIRTUAL_ENV=str(ROOT / ".venv"), PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{shell['PATH']}")
            ran.append(command)
            continue
        if command.startswith("export "):  # the demo server's lines, with its real port
            name, value = command[len("export "):].split("=", 1)
            assert shell[name] == (demo_server.get(name) or value.replace("PORT", demo_server["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])), command
            ran.append(command)
            continue
        cwd = ROOT if command.startswith(("make ", "python scripts/")) else folder  # the README runs those in the checkout
        transcript.append(f"\n$ {command}\n")
        script = f"set -e\n{command}\npwd > {tmp_path / 'pwd'}"  # the command's status, not pwd's
        assert run_in_terminal(script, shell, cwd, transcript) == 0, f"{command} failed:\n" + "".join(transcript[-6:])
        ran.append(command)
        if cwd == folder:
            folder = Path((tmp_path / "pwd").read_text().strip())  # cd ~/mfa-reports moves the user there
        if command == "aws iam create-access-key --user-name moto":  # "under [demo-long-term] ..., with mfa_serial = ..."
            key = json.loads(re.search(r"\{.*\}", transcript[-1], re.S)[0])["AccessKey"]
            # ... and, as "On a workstation" says, each long-term key under NAME-long-term: the one user's key as prod and dev too.
            (home / ".aws" / "credentials").write_text("".join(
                f"[{name}-long-term]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\n"
                f"mfa_serial = {MFA_SERIAL}\n\n" for name in ("demo", "prod", "dev")))
    assert set(NOT_RUN) <= set(skipped), "a command NOT_RUN names is no longer in the README"
    assert all(SYNOPSIS.search(c) for c in skipped if c not in NOT_RUN)
    assert len(ran) >= 30 and any("org_report" in c for c in ran) and any("rotate_keys" in c for c in ran)
