# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Stands in for the get-pip.py script that ``ansible-test --venv`` downloads from a host this
machine cannot reach. ansible-test runs it in an empty virtual environment with pip's arguments
(``pip==X.Y setuptools ... [--no-setuptools] [--no-wheel]``): install pip from the wheel that
CPython bundles (ensurepip), then let that pip install what was asked from the package index.
"""

import ensurepip
import os
import subprocess
import sys


def main():
    # ensurepip empties pip's configuration in os.environ (PIP_CONFIG_FILE=/dev/null); the pip
    # that installs what was asked needs the machine's configuration (index, certificates).
    environment = dict(os.environ)
    ensurepip.bootstrap()
    wanted = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + wanted, env=environment)


if __name__ == "__main__":
    main()
