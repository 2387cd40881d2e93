# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark (not a test): editing one profile of a big shared credentials file.

Two shapes of file, each at 5 MB and 50 MB: long-term keys only (about 400,000 small sections at
50 MB, the shape that took 71 s and 2.5 GB before editing was made linear) and workstation
profiles with their sessions (long-term key, MFA serial, session with an 800-character token).
Each measurement runs in a fresh Python process, which reports its wall seconds and peak memory
(VmHWM):

  edit          awsfiles.update() setting two options of a profile in the middle of the file
  login         an MFA login of that profile (login.login: the files read, GetSessionToken, the session
                written, the user and key checked with it) against a moto server on 127.0.0.1
  configparser  botocore's parser (RawConfigParser) reading the same file once: the peer
  copy          reading the file and writing it back atomically (temporary file, fsync, rename): the floor

Targets: an edit at 50 MB takes at most half the time configparser takes to read the file,
at most 1.5 times the seconds per MB it takes at 5 MB (linear), and at most 300 MB of memory;
a login at 50 MB takes at most twice the time and memory of an edit (it took 52 s and 1.12 GB
when botocore parsed the whole credentials file for each of its two sessions).

    .venv/bin/python bench/awsfiles_scale.py
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]

TARGET_VS_CONFIGPARSER = 0.5  # an edit takes at most half of one configparser read
TARGET_LINEARITY = 1.5  # seconds per MB at 50 MB over seconds per MB at 5 MB
TARGET_MEMORY_MB = 300  # peak memory of an edit of a 50 MB file
TARGET_LOGIN_VS_EDIT = 2.0  # a login's time and peak memory over an edit's, at 50 MB

CHILD = {
    "edit": """
from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles
awsfiles.update(path, lambda ini: ini.set(target, {"aws_session_token": "t" * 800, "expiration": "2026-11-24 08:00:00"}))
""",
    "login": """
from ansible_collections.awssec.mfa.plugins.module_utils import clients, login as lg, workstation as ws
config = os.path.join(os.path.dirname(path), "config")
with open(config, "w") as f:
    f.write("[profile %s]\\nmfa_serial = arn:aws:iam::123456789012:mfa/moto\\n" % target)
profile = target[:-len("-long-term")]
result = lg.login(lg.read_files(path, config), ws.LoginOptions(profiles=[profile], token_codes={profile: "123456"}, force=True,
                                                                 region="us-east-1"),
                  clients.Sessions(os.environ["BENCH_ENDPOINT_URL"]), lg.utcnow)
assert result["profiles"][0]["status"] == "authenticated", result
""",
    "configparser": """
import configparser
configparser.RawConfigParser().read(path)
""",
    "copy": """
data = open(path, "rb").read()
with open(path + ".tmp", "wb") as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
os.replace(path + ".tmp", path)
""",
}
TIMED = """
import json, os, re, sys, time
path, target = sys.argv[1], sys.argv[2]
started = time.perf_counter()
{body}
seconds = time.perf_counter() - started
peak_kb = int(re.search(r"VmHWM:\\s*(\\d+) kB", open("/proc/self/status").read()).group(1))  # ru_maxrss would count the parent's
print(json.dumps({{"seconds": seconds, "mb": peak_kb / 1024}}))
"""


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits + "/+", k=length))


def keys_only(rng: random.Random, i: int) -> str:
    return (f"[user{i}-long-term]\naws_access_key_id = AKIA{_token(rng, 16).upper()}\n"
            f"aws_secret_access_key = {_token(rng, 40)}\n\n")


def with_sessions(rng: random.Random, i: int) -> str:
    key, secret, token = _token(rng, 16).upper(), _token(rng, 40), _token(rng, 800)
    return (f"[user{i}-long-term]\naws_access_key_id = AKIA{key}\naws_secret_access_key = {secret}\n"
            f"mfa_serial = arn:aws:iam::123456789012:mfa/user{i}\n\n"
            f"[user{i}]\naws_access_key_id = ASIA{key}\naws_secret_access_key = {secret}\naws_session_token = {token}\n"
            f"aws_security_token = {token}\nexpiration = 2026-11-23 20:00:00\nassumed_role = False\n\n")


SHAPES: Dict[str, Callable[[random.Random, int], str]] = {"keys only": keys_only, "with sessions": with_sessions}


def write_file(path: Path, shape: Callable[[random.Random, int], str], megabytes: int) -> int:
    """A file of about ``megabytes`` MB; returns its number of profiles (long-term sections)."""
    rng, size, count = random.Random(1), 0, 0
    with open(path, "w", encoding="utf-8") as f:
        while size < megabytes * 2 ** 20:
            block = shape(rng, count)
            f.write(block)
            size += len(block)
            count += 1
    return count


def measure(kind: str, path: Path, target: str, pristine: Path, endpoint_url: str) -> dict:
    """Run ``kind`` in a fresh process on a copy of ``pristine``."""
    path.write_bytes(pristine.read_bytes())
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / ".collections"), os.environ.get("PYTHONPATH", "")]),
               BENCH_ENDPOINT_URL=endpoint_url, AWS_SHARED_CREDENTIALS_FILE=str(path), AWS_CONFIG_FILE=str(path.with_name("config")))
    out = subprocess.run([sys.executable, "-c", TIMED.format(body=CHILD[kind]), str(path), target],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.splitlines()[-1])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[5, 50], metavar=("SMALL", "BIG"), help="file sizes in MB (default 5 50)")
    args = parser.parse_args(argv)
    if not (ROOT / ".collections" / "ansible_collections" / "awssec" / "mfa").exists():
        raise SystemExit("the collection link under .collections is missing: run `make setup` first")
    small, big = args.sizes
    rows = []
    sys.path.insert(0, str(ROOT))
    from tests.support.moto_server import MotoServer  # pylint: disable=import-outside-toplevel

    with tempfile.TemporaryDirectory(prefix="awssec-bench-") as tmp, MotoServer() as server:
        import boto3  # pylint: disable=import-outside-toplevel

        boto3.client("iam", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_user(UserName="moto")  # the user of every moto session
        for shape_name, shape in SHAPES.items():
            results = {}
            for megabytes in (small, big):
                pristine = Path(tmp) / f"pristine-{megabytes}"
                profiles = write_file(pristine, shape, megabytes)
                target = f"user{profiles // 2}-long-term"
                results[megabytes] = {kind: measure(kind, Path(tmp) / "credentials", target, pristine, server.url) for kind in CHILD}
                results[megabytes]["profiles"] = profiles
                pristine.unlink()
            edit_small, edit_big, login_big = results[small]["edit"], results[big]["edit"], results[big]["login"]
            reading = results[big]["configparser"]
            linearity = (edit_big["seconds"] / big) / (edit_small["seconds"] / small)
            rows.append((shape_name, results, [
                (f"edit at {big} MB vs one configparser read", f"{edit_big['seconds'] / reading['seconds']:.2f}x",
                 f"<= {TARGET_VS_CONFIGPARSER}x", edit_big["seconds"] <= TARGET_VS_CONFIGPARSER * reading["seconds"]),
                (f"seconds per MB at {big} MB vs at {small} MB", f"{linearity:.2f}x", f"<= {TARGET_LINEARITY}x",
                 linearity <= TARGET_LINEARITY),
                (f"peak memory of an edit at {big} MB", f"{edit_big['mb']:.0f} MB", f"<= {TARGET_MEMORY_MB} MB",
                 edit_big["mb"] <= TARGET_MEMORY_MB),
                (f"login at {big} MB vs an edit: time", f"{login_big['seconds'] / edit_big['seconds']:.2f}x", f"<= {TARGET_LOGIN_VS_EDIT}x",
                 login_big["seconds"] <= TARGET_LOGIN_VS_EDIT * edit_big["seconds"]),
                (f"login at {big} MB vs an edit: peak memory", f"{login_big['mb'] / edit_big['mb']:.2f}x", f"<= {TARGET_LOGIN_VS_EDIT}x",
                 login_big["mb"] <= TARGET_LOGIN_VS_EDIT * edit_big["mb"]),
            ]))
    for shape_name, results, targets in rows:
        print(f"\n{shape_name}")
        print(f"  {'MB':>4} {'profiles':>9} | {'edit s':>7} {'MB':>5} | {'login s':>7} {'MB':>5} | {'configparser s':>14} {'MB':>6} | "
              f"{'copy s':>6} {'MB':>5}")
        for megabytes, result in results.items():
            edit, login, reading, copy = result["edit"], result["login"], result["configparser"], result["copy"]
            print(f"  {megabytes:>4} {result['profiles']:>9,} | {edit['seconds']:>7.2f} {edit['mb']:>5.0f} | {login['seconds']:>7.2f} "
                  f"{login['mb']:>5.0f} | {reading['seconds']:>14.2f} {reading['mb']:>6.0f} | {copy['seconds']:>6.2f} {copy['mb']:>5.0f}")
        for label, value, target, ok in targets:
            print(f"  {verdict(ok)}  {label}: {value} (target {target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
