"""OpenTelemetry traces, when ``PHRESH_OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

A span per request (named ``METHOD /route/{template}`` once the route is known, with the
status) and a span per SQL statement under it (the statement's text, never its
parameters), exported in batches over OTLP/HTTP to ``<endpoint>/v1/traces``. Without the
setting nothing of OpenTelemetry is imported or run: no cost.

The provider is the app's own, not OpenTelemetry's global one: two apps in one process (the
tests) do not share it. asyncpg's instrumentation is process-wide (it wraps asyncpg's
connection methods); it is installed with the app's provider when the app starts and removed
when it stops.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phresh.config import Settings
from phresh.kit.routes import route_template

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

# OTLP/HTTP's path for traces, appended to the endpoint as OpenTelemetry's own
# OTEL_EXPORTER_OTLP_ENDPOINT is read.
TRACES_PATH = "/v1/traces"


def exporter_for(settings: Settings) -> "SpanExporter":
    """Where spans go: the OTLP/HTTP collector of the settings (tests put one in memory)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    assert settings.otel_exporter_otlp_endpoint is not None
    return OTLPSpanExporter(endpoint=settings.otel_exporter_otlp_endpoint + TRACES_PATH)


class NameSpanByRoute:
    """Renames the request's span after its route template once the answer starts (routing
    has happened by then), and records the status: span names stay few whatever paths
    clients send."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from opentelemetry import trace

        span = trace.get_current_span()

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                template = route_template(scope)
                if template is not None:
                    span.update_name(f"{scope['method']} {template}")
                    span.set_attribute("http.route", template)
            await send(message)

        await self.app(scope, receive, send_named)


def install_tracing(app: FastAPI, settings: Settings) -> Callable[[], Awaitable[None]] | None:
    """Trace ``app`` when the settings name a collector; what to call when the app stops
    (flush what is left, stop tracing asyncpg). None, and nothing done, without one."""
    if settings.otel_exporter_otlp_endpoint is None:
        return None
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.otel_service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter_for(settings)))
    # Innermost of the two: it runs inside the request's span.
    app.add_middleware(NameSpanByRoute)
    app.add_middleware(
        OpenTelemetryMiddleware,
        tracer_provider=provider,
        # The ASGI messages' own spans (one per body chunk) say nothing an operator needs.
        exclude_spans=["receive", "send"],
    )
    instrumentor = AsyncPGInstrumentor(capture_parameters=False)  # type: ignore[no-untyped-call]
    instrumentor.instrument(tracer_provider=provider)

    async def stop() -> None:
        instrumentor.uninstrument()
        # Exports what is left: network I/O, off the event loop.
        await asyncio.to_thread(provider.shutdown)

    return stop
