"""Sends :class:`~fpga_cloud.api.Call` requests over HTTP, retried as :mod:`fpga_cloud.retry`
says, turning error answers into exceptions: one class for the sync, one for the async client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from fpga_cloud.api import KEY_HEADER, Call, error_of
from fpga_cloud.config import Settings
from fpga_cloud.errors import ApiError, FpgaCloudError, Unreachable
from fpga_cloud.retry import RETRY_STATUSES, RetryPolicy

USER_AGENT = "fpga-cloud-sdk/0.1.0"


def retry_wait(
    policy: RetryPolicy, call: Call, retry: int, failure: ApiError | httpx.TransportError
) -> float | None:
    """Seconds to wait before sending ``call`` again after ``failure``, or None: raise it."""
    if isinstance(failure, ApiError):
        if failure.status not in RETRY_STATUSES:
            return None
        return policy.wait(retry, failure.retry_after)
    never_sent = isinstance(failure, httpx.ConnectError | httpx.ConnectTimeout)
    if not (never_sent or call.safe):
        return None
    return policy.wait(retry)


def unreachable(url: str, exc: httpx.TransportError) -> Unreachable:
    """The error for a connection that failed: what and where, never the request's headers."""
    reason = str(exc) or type(exc).__name__
    return Unreachable(f"cannot reach the service at {url}: {reason}")


def _options(call: Call) -> dict[str, Any]:
    return {
        "params": call.params or None,
        "json": call.json,
        "files": call.files,
        "data": call.data,
        "headers": call.headers or None,
    }


def _client_options(settings: Settings, timeout: float) -> dict[str, Any]:
    return {
        "base_url": settings.url,
        "headers": {KEY_HEADER: settings.api_key, "User-Agent": USER_AGENT},
        "timeout": timeout,
    }


class SyncTransport:
    """HTTP for :class:`~fpga_cloud.Client`."""

    def __init__(self, settings: Settings, timeout: float, retry: RetryPolicy) -> None:
        self.settings = settings
        self.retry = retry
        self.http = httpx.Client(**_client_options(settings, timeout))

    def send(self, call: Call) -> httpx.Response:
        """The answer to ``call`` (2xx), after any retries.

        Raises:
            ApiError: the service refused it (a subclass per error code).
            Unreachable: the service could not be reached.
        """
        retry = 0
        while True:
            retry += 1
            try:
                response = self.http.request(call.method, call.path, **_options(call))
            except httpx.TransportError as exc:
                self._pause(call, retry, exc)
                continue
            if response.is_success:
                return response
            self._pause(call, retry, error_of(response))

    @contextmanager
    def stream(self, call: Call, read_timeout: float | None) -> Iterator[httpx.Response]:
        """An open streaming answer (its head is 2xx); retried like :meth:`send` until then."""
        timeout = httpx.Timeout(self.http.timeout.connect, read=read_timeout)
        retry = 0
        while True:
            retry += 1
            request = self.http.build_request(
                call.method, call.path, timeout=timeout, **_options(call)
            )
            try:
                response = self.http.send(request, stream=True)
            except httpx.TransportError as exc:
                self._pause(call, retry, exc)
                continue
            if response.is_success:
                break
            try:
                response.read()
            except httpx.TransportError as exc:
                self._pause(call, retry, exc)
                continue
            finally:
                response.close()
            self._pause(call, retry, error_of(response))
        try:
            yield response
        finally:
            response.close()

    def _pause(self, call: Call, retry: int, failure: ApiError | httpx.TransportError) -> None:
        wait = retry_wait(self.retry, call, retry, failure)
        if wait is None:
            if isinstance(failure, FpgaCloudError):
                raise failure
            raise unreachable(self.settings.url, failure) from None
        time.sleep(wait)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


class AsyncTransport:
    """HTTP for :class:`~fpga_cloud.AsyncClient`."""

    def __init__(self, settings: Settings, timeout: float, retry: RetryPolicy) -> None:
        self.settings = settings
        self.retry = retry
        self.http = httpx.AsyncClient(**_client_options(settings, timeout))

    async def send(self, call: Call) -> httpx.Response:
        """The answer to ``call`` (2xx), after any retries; raises as SyncTransport.send."""
        retry = 0
        while True:
            retry += 1
            try:
                response = await self.http.request(call.method, call.path, **_options(call))
            except httpx.TransportError as exc:
                await self._pause(call, retry, exc)
                continue
            if response.is_success:
                return response
            await self._pause(call, retry, error_of(response))

    @asynccontextmanager
    async def stream(self, call: Call, read_timeout: float | None) -> AsyncIterator[httpx.Response]:
        """An open streaming answer (its head is 2xx); retried like :meth:`send` until then."""
        timeout = httpx.Timeout(self.http.timeout.connect, read=read_timeout)
        retry = 0
        while True:
            retry += 1
            request = self.http.build_request(
                call.method, call.path, timeout=timeout, **_options(call)
            )
            try:
                response = await self.http.send(request, stream=True)
            except httpx.TransportError as exc:
                await self._pause(call, retry, exc)
                continue
            if response.is_success:
                break
            try:
                await response.aread()
            except httpx.TransportError as exc:
                await self._pause(call, retry, exc)
                continue
            finally:
                await response.aclose()
            await self._pause(call, retry, error_of(response))
        try:
            yield response
        finally:
            await response.aclose()

    async def _pause(
        self, call: Call, retry: int, failure: ApiError | httpx.TransportError
    ) -> None:
        wait = retry_wait(self.retry, call, retry, failure)
        if wait is None:
            if isinstance(failure, FpgaCloudError):
                raise failure
            raise unreachable(self.settings.url, failure) from None
        await asyncio.sleep(wait)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()
