# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A moto server on 127.0.0.1, in this process, that counts the AWS requests it serves.

Running in-process matters: ages can only be set back through moto's backend objects,
and the request count is how benchmarks compare tools that run in other processes.
"""

from __future__ import annotations

import collections
import io
import logging
import os
import threading
from urllib.parse import parse_qs

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from tests.support.aws_like import ACCOUNT_ID, AwsLike

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class _Counting:
    """WSGI middleware: counts requests by AWS action (query protocol ``Action=``)."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.actions = collections.Counter()
        self.hooks = collections.defaultdict(list)
        self.after_hooks = collections.defaultdict(list)

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        fields = parse_qs(body.decode("utf-8", "replace")) if body else parse_qs(environ.get("QUERY_STRING", ""))
        action = (fields.get("Action") or [environ.get("HTTP_X_AMZ_TARGET") or environ.get("PATH_INFO", "?")])[0]
        with self.lock:
            self.actions[action] += 1
        params = {name: values[0] for name, values in fields.items()}
        for hook in list(self.hooks.get(action, ())):
            error = hook(params)
            if error:
                return _error_response(start_response, *error)
        after = list(self.after_hooks.get(action, ()))
        if not after:
            return self.app(environ, start_response)
        started = []
        answer = self.app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
        try:
            body = b"".join(answer)  # the action is carried out ...
        finally:
            getattr(answer, "close", lambda: None)()
        for hook in after:
            error = hook(params)
            if error:  # ... and its answer replaced, as when an answer is lost on its way back
                return _error_response(start_response, *error)
        start_response(*started[0])
        return [body]


def _error_response(start_response, status: int, code: str, message: str):
    body = (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>injected</RequestId></ErrorResponse>"
    ).encode()
    start_response(f"{status} Error", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


class MotoServer(ThreadedMotoServer):
    """``aws_like`` (tests/support/aws_like.py) sits between the counting and moto: its settings make moto behave like AWS."""

    def __init__(self):
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._counting = None
        self.aws_like = AwsLike()

    def _server_entry(self):
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.aws_like.app = DomainDispatcherApplication(create_backend_app)
        self._counting = _Counting(self.aws_like)
        self._server = make_server(self._ip_address, self._port, self._counting, True)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def requests(self) -> int:
        return sum(self._counting.actions.values())

    @property
    def actions(self) -> collections.Counter:
        return collections.Counter(self._counting.actions)

    def before(self, action: str, hook) -> None:
        """Call ``hook(params)`` before serving ``action``; a returned (status, code, message) is sent as an AWS error."""
        self._counting.hooks[action].append(hook)

    def after(self, action: str, hook) -> None:
        """Serve ``action``, then send the (status, code, message) that ``hook(params)`` returns instead of its answer."""
        self._counting.after_hooks[action].append(hook)

    def clear_hooks(self) -> None:
        self._counting.hooks.clear()
        self._counting.after_hooks.clear()

    def reset_counts(self) -> None:
        with self._counting.lock:
            self._counting.actions.clear()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def iam_backend(account_id: str = ACCOUNT_ID, partition: str = "aws"):
    """moto's in-process IAM backend, for what the API cannot do (setting dates back)."""
    from moto.iam.models import iam_backends

    return iam_backends[account_id][partition]


def reset_moto() -> None:
    """Forget every account's state, so that each test starts from an empty AWS."""
    from moto.backends import get_backend

    for service in ("iam", "sts", "organizations", "sns", "sqs", "securityhub"):
        get_backend(service).reset()


def aws_env(url: str, base=None) -> dict:
    """Environment for a child process (ansible, aws CLI) that talks to the server, never to AWS."""
    env = dict(os.environ if base is None else base)
    for name in list(env):
        if name.startswith("AWS_"):
            del env[name]
    env.update(CREDENTIALS)
    env["AWS_ENDPOINT_URL"] = url
    return env
