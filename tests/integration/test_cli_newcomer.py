# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A newcomer's first runs of the command lines and of the demo server (issue 34, items 6 and 9), as the README shows them."""

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import boto3
import pytest

from tests.integration.conftest import BIN, ROOT
from tests.support.moto_server import CREDENTIALS


def command(args, env, cwd=None, umask=None):
    def preexec():
        if umask is not None:
            os.umask(umask)
    return subprocess.run(args, env=env, cwd=cwd or ROOT, capture_output=True, text=True, check=False, timeout=300,
                          stdin=subprocess.DEVNULL, preexec_fn=preexec)


def awssec(env, *args, **kwargs):
    return command([str(BIN / "awssec"), *args], env, **kwargs)


def script(name, env, *args, **kwargs):
    return command([sys.executable, str(ROOT / "scripts" / name), *args], env, **kwargs)


def login(env, *args, cwd):
    return command([str(BIN / "aws-mfa-login"), *args], env, cwd=cwd)


# --- 6a: the preview says how to apply it in the words of the command that made it -------------------------------------

def test_the_enforce_preview_says_how_to_apply_with_this_command_line(demo, env, tmp_path):
    saved = tmp_path / "plan.json"
    preview = awssec(env, "iam-mfa", "enforce", "--dry-run", "--max-affected", "20", "--output", "json", "--save-report", str(saved))
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.rstrip().splitlines()[-1] == "Run with --apply to make these changes."
    assert "--check" not in preview.stdout
    seed = script("iam_mfa_enforce.py", env, "--enforce", "--dry-run", "--max-affected", "20")
    assert seed.stdout.rstrip().splitlines()[-1] == "Run with --apply to make these changes.", seed.stdout + seed.stderr
    # The playbook renders the same result with the filter, in Ansible's words.
    from ansible_collections.awssec.mfa.plugins.filter.mfa_report import FilterModule
    playbook = FilterModule().filters()["mfa_enforcement_report"](json.loads(saved.read_text()), True)
    assert playbook.rstrip().splitlines()[-1] == "Run without --check to apply these actions."
    assert playbook.splitlines()[:-1] == preview.stdout.rstrip().splitlines()[:-1]  # one renderer: only the last line differs


# --- 6b: enforce refuses the report formats -----------------------------------------------------------------------------

@pytest.mark.parametrize("output", ["html", "csv", "markdown"])
def test_enforce_refuses_an_output_it_does_not_write(moto_server, iam, env, tmp_path, output):
    moto_server.reset_counts()
    saved = tmp_path / f"plan.{output}"
    refused = awssec(env, "iam-mfa", "enforce", "--dry-run", "--max-affected", "50", "--output", output, "--save-report", str(saved))
    assert refused.returncode == 2 and refused.stdout == "", refused.stdout + refused.stderr
    assert re.search(rf"awssec iam-mfa enforce: error: argument --output: invalid choice: '?{output}'? \(choose from '?table'?, '?json'?\)",
                     refused.stderr), refused.stderr
    seed = script("iam_mfa_enforce.py", env, "--enforce", "--dry-run", "--max-affected", "50", "--output", output, "--save-report", str(saved))
    assert seed.returncode == 2 and seed.stdout == "", seed.stdout + seed.stderr
    assert f"error: argument --output: --enforce takes table or json, not '{output}'" in seed.stderr
    assert not saved.exists() and moto_server.requests == 0  # refused before reaching AWS
    assert script("iam_mfa_enforce.py", env, "--report", "--output", output).returncode == 0  # the report still takes it


# --- 6c: one mode for saved reports ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o000, 0o077])
def test_the_command_lines_save_reports_mode_0640_as_the_playbook(demo, env, tmp_path, umask):
    role = [path.read_text(encoding="utf-8") for path in (ROOT / "roles" / "mfa_report" / "tasks").glob("*.yml")]
    assert any('mode: "0640"' in text for text in role)  # the mode the role saves with
    stale = tmp_path / "stale.txt"
    stale.write_text("an older report\n")
    stale.chmod(0o644)
    runs = {
        "report.csv": awssec(env, "iam-mfa", "report", "--output", "csv", "--save-report", "report.csv", cwd=tmp_path, umask=umask),
        "plan.txt": awssec(env, "iam-mfa", "enforce", "--dry-run", "--max-affected", "50", "--save-report", "plan.txt", cwd=tmp_path, umask=umask),
        "plan.json": awssec(env, "iam-mfa", "enforce", "--dry-run", "--max-affected", "50", "--output", "json", "--save-report", "plan.json",
                            cwd=tmp_path, umask=umask),
        "seed.md": script("iam_mfa_enforce.py", env, "--report", "--output", "markdown", "--save-report", "seed.md", cwd=tmp_path, umask=umask),
        "stale.txt": awssec(env, "iam-mfa", "report", "--save-report", "stale.txt", cwd=tmp_path, umask=umask),
    }
    for name, result in runs.items():
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640, f"{name}: {oct(stat.S_IMODE((tmp_path / name).stat().st_mode))}"
    assert "IAM MFA COMPLIANCE REPORT" in stale.read_text() and "an older report" not in stale.read_text()
    assert json.loads((tmp_path / "plan.json").read_text())["summary"]


def test_the_python_api_saves_mode_0640(demo, env, tmp_path, monkeypatch):
    for name, value in env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    from awssec.tools.iam_mfa import generate_mfa_report
    old = os.umask(0o022)
    try:
        generate_mfa_report(output_format="csv", save_report=str(tmp_path / "api.csv"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "api.csv").stat().st_mode) == 0o640


# --- 6d: the program names --------------------------------------------------------------------------------------------

def test_help_names_the_command_that_was_run(env, tmp_path):
    shown = {" ".join(c): command(c, env, cwd=tmp_path) for c in (
        [str(BIN / "aws-mfa-login"), "--help"], [sys.executable, str(ROOT / "scripts" / "aws_mfa_login.py"), "--help"],
        [str(BIN / "awssec"), "--help"], [str(BIN / "awssec"), "iam-mfa", "enforce", "--help"], [sys.executable, "-m", "awssec.cli", "--help"],
        [sys.executable, str(ROOT / "scripts" / "iam_mfa_enforce.py"), "--help"])}
    usage = {c: r.stdout.split(" [", 1)[0] for c, r in shown.items()}
    assert list(usage.values()) == ["usage: aws-mfa-login", "usage: aws_mfa_login.py", "usage: awssec", "usage: awssec iam-mfa enforce",
                                    "usage: awssec", "usage: iam_mfa_enforce.py"], usage
    console, seed = list(shown.values())[:2]
    assert "  aws-mfa-login --list " in console.stdout and "aws_mfa_login.py" not in console.stdout  # the examples too
    assert "  aws_mfa_login.py --list " in seed.stdout


# --- 6e and 6f: --list says where it looked, and writes nothing ----------------------------------------------------------

def hint_lines(text):
    return [line for line in text.splitlines() if line.strip()][2:]


def test_list_without_profiles_says_where_it_looked_and_how_to_add_one(env, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    listed = login(env, "--list", cwd=work)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[:2] == ["Available Profiles:", "-" * 50]
    text = listed.stdout
    assert env["AWS_SHARED_CREDENTIALS_FILE"] in text and env["AWS_CONFIG_FILE"] in text
    assert "AWS_SHARED_CREDENTIALS_FILE" in text and "AWS_CONFIG_FILE" in text
    for line in ("[NAME-long-term]", "aws_access_key_id = ", "aws_secret_access_key = ", "mfa_serial = ", "aws-mfa-login -p NAME"):
        assert line in text, line

    # Without the variables: ~/.aws; a credentials file with no NAME-long-term profile gets the hint too.
    home_env = {k: v for k, v in env.items() if k not in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")}
    aws = tmp_path / "home" / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text("[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n")
    listed = login(home_env, "--list", cwd=work)
    assert str(aws / "credentials") in listed.stdout and str(aws / "config") in listed.stdout and "[NAME-long-term]" in listed.stdout
    assert "[NAME-long-term]" in login(home_env, "--list", "-q", cwd=work).stdout  # quiet, the hint is still needed

    (aws / "credentials").write_text("[prod-long-term]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n"
                                     "mfa_serial = arn:aws:iam::123456789012:mfa/alice\n")
    listed = login(home_env, "--list", cwd=work)
    assert listed.stdout.splitlines()[2:] == ["  • prod [Never logged in]"]  # a profile: no hint
    assert sorted(os.listdir(work)) == []


def test_list_creates_no_log_folder_but_a_login_still_logs(env, tmp_path):
    for args in (["--list"], ["-l", "--debug"], ["--list", "-q"]):
        assert login(env, *args, cwd=tmp_path).returncode == 0
        assert not (tmp_path / "output").exists(), args
    assert sorted(os.listdir(tmp_path)) == ["home"]
    refused = login(env, "-p", "staging", cwd=tmp_path)  # a login (refused: no such profile) logs to output/, as the README says
    assert refused.returncode == 2 and "unknown profile 'staging'" in refused.stdout
    assert "unknown profile 'staging'" in "".join(p.read_text() for p in (tmp_path / "output").glob("aws_mfa_*.log"))


# --- 9: make demo-server PORT=N ----------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.ansible_independent
def test_make_demo_server_passes_port():
    planned = subprocess.run(["make", "-n", "-o", "setup", "demo-server", "PORT=8765"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert re.search(r"python -m tests\.support\.demo --serve --port 8765\s*$", planned, re.M), planned
    planned = subprocess.run(["make", "-n", "-o", "setup", "demo-server"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert re.search(r"python -m tests\.support\.demo --serve\s*$", planned, re.M), planned


@pytest.mark.ansible_independent
def test_the_demo_server_listens_on_the_port_it_is_given():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "tests.support.demo", "--serve", "--port", str(port)], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    lines, ready = [], threading.Event()

    def read():
        for line in server.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("export AWS_ENDPOINT_URL="):
                ready.set()
        ready.set()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(240) and server.poll() is None, "\n".join(lines)
        assert any(line.startswith(f"Demo account: 57 users on a moto server at {url}") for line in lines), lines
        exports = [line for line in lines if line.startswith("export ")]
        assert exports == [f"export {name}={value}" for name, value in CREDENTIALS.items()] + [f"export AWS_ENDPOINT_URL={url}"]
        sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        assert sts.get_caller_identity()["Arn"].endswith(":user/moto")  # moto's user, as the README says
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        assert sum(len(page["Users"]) for page in iam.get_paginator("list_users").paginate()) == 57
        # The port taken: an error, not a wait for ever.
        again = subprocess.run([sys.executable, "-m", "tests.support.demo", "--serve", "--port", str(port)], cwd=ROOT, capture_output=True,
                               text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
        assert again.returncode == 1 and f"error: the demo server could not listen on 127.0.0.1:{port}" in again.stderr
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        reader.join(10)
    assert server.returncode == 0 and lines[-1] == "Stopped.", "\n".join(lines)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # stopped: the port is free again
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                break
        time.sleep(0.2)
    else:
        raise AssertionError(f"still listening on {port}")
