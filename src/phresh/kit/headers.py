"""Headers every response carries: browsers must not guess a content type, pages and API
answers send no Referer onward, and outside development HTTPS is remembered (HSTS).

Pure ASGI, on the response's start; a header the response already set (the web app's pages
set their own) is left as it is.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A year, as browsers' preload lists ask; subdomains too, since Phresh owns its host.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = (*ALWAYS, HSTS) if https else ALWAYS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in self.headers if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
