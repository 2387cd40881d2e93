# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Raw AWS calls: retried with jittered backoff on throttling, and read in pages as large as IAM serves."""

from __future__ import annotations

from typing import Callable, Optional

from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY

PAGE_SIZE = 1000  # the largest page IAM serves


@RETRY
def retried(function: Callable, **kwargs):
    """``function(**kwargs)``, an AWS call, retried with jittered backoff."""
    return function(**kwargs)


@RETRY
def paginate(client, operation: str, result_key: Optional[str], **kwargs):
    """Every page of ``operation``, in pages as large as IAM serves: the list under ``result_key``, or (None) the whole result."""
    pages = client.get_paginator(operation).paginate(PaginationConfig={"PageSize": PAGE_SIZE}, **kwargs).build_full_result()
    return pages if result_key is None else pages.get(result_key, [])
