# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Paginated AWS reads, in pages as large as IAM serves, retried with jittered backoff on throttling.

A single call is retried by its client instead (``client.op(..., aws_retry=True)`` on a client that clients.retrying
wrapped); a paginator's pages are not calls of the client: the whole read is retried here.
"""

from __future__ import annotations

from typing import Optional

from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY

PAGE_SIZE = 1000  # the largest page IAM serves


@RETRY
def paginate(client, operation: str, result_key: Optional[str], **kwargs):
    """Every page of ``operation``, in pages as large as IAM serves: the list under ``result_key``, or (None) the whole result."""
    pages = client.get_paginator(operation).paginate(PaginationConfig={"PageSize": PAGE_SIZE}, **kwargs).build_full_result()
    return pages if result_key is None else pages.get(result_key, [])
