"""The marketplace's flows from many clients at once, for the scale-out tests: every answer
that is not the one expected, and every exception, is counted as an error.

A scenario is two users, an owner and a cleaner, going once through what the API offers:
register, log in, renew the session, read their account, post cleanings, page through
them with a cursor, search, make an offer, list it, accept it, evaluate the cleaning, read the
cleaner's evaluations and page, the feed, change and withdraw a cleaning. Its requests go
round-robin over the given clients (several apps or served processes), so a token, a
refresh token or a cursor one of them issued is used on the next.

Reads carry the newest commit position the scenario has been answered
(``X-Phresh-Read-After``, phresh.replica), as a client that must see its own writes sends it:
with a read replica, each read must then see the scenario's writes, which the checks of
contents below rely on.
"""

import asyncio
import secrets
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from phresh.replica import COMMIT_POSITION_HEADER, READ_AFTER_HEADER

PASSWORD = "correct horse battery staple"
CLEANINGS_PER_SCENARIO = 3
PAGE_SIZE = 2
# A problem document's title says enough; its detail could be long.
MAX_SHOWN_BODY = 200


class UnexpectedAnswer(Exception):
    """An answer other than the one the flow expects: the scenario stops there."""


@dataclass
class Tally:
    """What a load did: how many requests, the errors (one line each), who answered."""

    requests: int = 0
    errors: list[str] = field(default_factory=list)
    answered_by: Counter[str] = field(default_factory=Counter)
    scenarios_done: int = 0

    def report(self) -> str:
        shown = "\n".join(self.errors[:20])
        more = f"\n... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        return f"{len(self.errors)} errors in {self.requests} requests:\n{shown}{more}"


def word(length: int = 10) -> str:
    """A made-up word of letters only: one search term, unique to its scenario."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))


class Scenario:
    def __init__(self, clients: Sequence[httpx.AsyncClient], tally: Tally, number: int) -> None:
        self.clients = clients
        self.tally = tally
        # Each scenario starts on another client.
        self.turn = number
        self.position: str | None = None
        self.tag = word()

    async def call(
        self,
        step: str,
        method: str,
        path: str,
        expected: int,
        *,
        token: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        client = self.clients[self.turn % len(self.clients)]
        self.turn += 1
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if method == "GET" and self.position is not None:
            headers[READ_AFTER_HEADER] = self.position
        self.tally.requests += 1
        response = await client.request(method, path, headers=headers, **kwargs)
        self.tally.answered_by[str(client.base_url)] += 1
        if (position := response.headers.get(COMMIT_POSITION_HEADER)) is not None:
            # Answers come in order within a scenario: the last is the newest.
            self.position = position
        if response.status_code != expected:
            body = response.text[:MAX_SHOWN_BODY]
            msg = f"{step}: {method} {path} answered {response.status_code}, not {expected}: {body}"
            raise UnexpectedAnswer(msg)
        return response

    async def json(self, step: str, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        response = await self.call(step, method, path, expected, **kwargs)
        return response.json()

    def check(self, step: str, holds: bool, what: str) -> None:
        if not holds:
            msg = f"{step}: {what}"
            raise UnexpectedAnswer(msg)

    async def register(self, username: str) -> str:
        """A new account; its access token, renewed once through the refresh grant."""
        await self.call(
            "register",
            "POST",
            "/users",
            201,
            json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        )
        tokens = await self.json(
            "log in", "POST", "/auth/token", 200, data={"username": username, "password": PASSWORD}
        )
        renewed = await self.json(
            "refresh",
            "POST",
            "/auth/token",
            200,
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        token: str = renewed["access_token"]
        me = await self.json("read my account", "GET", "/users/me", 200, token=token)
        self.check("read my account", me["username"] == username, f"is {me['username']}")
        return token

    async def page_through(self, step: str, path: str, token: str, **query: str) -> list[int]:
        """Every id of a listing, page after page, each page from the next client."""
        ids: list[int] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": PAGE_SIZE, **query}
            if cursor is not None:
                params["cursor"] = cursor
            page = await self.json(step, "GET", path, 200, token=token, params=params)
            ids.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return ids

    async def run(self) -> None:
        owner, cleaner = f"o_{self.tag}", f"c_{self.tag}"
        owner_token = await self.register(owner)
        cleaner_token = await self.register(cleaner)

        posted = [
            await self.json(
                "post a cleaning",
                "POST",
                "/cleanings",
                201,
                token=owner_token,
                json={
                    "name": f"Spring clean {number} {self.tag}",
                    "description": f"Windows and floors, {self.tag}",
                    "price": f"{20 + number}.50",
                },
            )
            for number in range(CLEANINGS_PER_SCENARIO)
        ]
        ids = {cleaning["id"] for cleaning in posted}
        listed = await self.page_through("list by owner", "/cleanings", owner_token, owner=owner)
        self.check("list by owner", set(listed) == ids, f"listed {listed}, posted {sorted(ids)}")
        mine = await self.page_through("list my cleanings", "/users/me/cleanings", owner_token)
        self.check("list my cleanings", set(mine) == ids, f"listed {mine}")
        found = await self.json(
            "search", "GET", "/cleanings", 200, token=cleaner_token, params={"q": self.tag}
        )
        self.check(
            "search",
            {item["id"] for item in found["items"]} == ids,
            f"found {[item['id'] for item in found['items']]}",
        )

        first, second, third = (cleaning["id"] for cleaning in posted)
        await self.call(
            "make an offer", "POST", f"/cleanings/{first}/offers", 201, token=cleaner_token
        )
        my_offers = await self.json(
            "list my offers", "GET", "/users/me/offers", 200, token=cleaner_token
        )
        self.check(
            "list my offers",
            [offer["cleaning_id"] for offer in my_offers["items"]] == [first],
            f"listed {my_offers['items']}",
        )
        offers = await self.json(
            "list the offers", "GET", f"/cleanings/{first}/offers", 200, token=owner_token
        )
        self.check(
            "list the offers",
            [offer["cleaner"] for offer in offers["items"]] == [cleaner],
            f"listed {offers['items']}",
        )
        await self.call(
            "accept the offer",
            "POST",
            f"/cleanings/{first}/offers/{cleaner}/accept",
            200,
            token=owner_token,
        )
        await self.call(
            "evaluate",
            "POST",
            f"/cleanings/{first}/evaluation",
            201,
            token=owner_token,
            json={"overall_rating": 5, "headline": "Spotless", "professionalism": 4},
        )
        done = await self.json(
            "read the cleaning", "GET", f"/cleanings/{first}", 200, token=owner_token
        )
        self.check("read the cleaning", done["status"] == "completed", f"is {done['status']}")

        evaluations = await self.json(
            "read the evaluations", "GET", f"/users/{cleaner}/evaluations", 200, token=owner_token
        )
        self.check(
            "read the evaluations",
            [item["cleaning_id"] for item in evaluations["items"]] == [first],
            f"listed {evaluations['items']}",
        )
        stats = await self.json(
            "read the stats", "GET", f"/users/{cleaner}/evaluations/stats", 200, token=owner_token
        )
        self.check("read the stats", stats["total"] == 1, f"counted {stats['total']}")
        await self.call("read a profile", "GET", f"/profiles/{owner}", 200, token=cleaner_token)
        await self.page_through_feed(cleaner_token)

        await self.call(
            "change a cleaning",
            "PATCH",
            f"/cleanings/{second}",
            200,
            token=owner_token,
            json={"price": "99.00"},
        )
        await self.call(
            "withdraw a cleaning", "DELETE", f"/cleanings/{third}", 204, token=owner_token
        )
        await self.call("log out", "POST", "/auth/logout", 204, token=owner_token)

    async def page_through_feed(self, token: str) -> None:
        """Two pages of the feed (everyone's events: only the answers are checked)."""
        page = await self.json("read the feed", "GET", "/feed/cleanings", 200, token=token)
        if page["next_cursor"] is not None:
            await self.call(
                "read the feed",
                "GET",
                "/feed/cleanings",
                200,
                token=token,
                params={"cursor": page["next_cursor"]},
            )


async def run_scenario(clients: Sequence[httpx.AsyncClient], tally: Tally, number: int) -> None:
    try:
        await Scenario(clients, tally, number).run()
    except UnexpectedAnswer as exc:
        tally.errors.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - every failure is counted, whatever it is
        tally.errors.append(f"{type(exc).__name__}: {str(exc)[:MAX_SHOWN_BODY]}")
    else:
        tally.scenarios_done += 1


async def run_load(clients: Sequence[httpx.AsyncClient], *, concurrency: int, rounds: int) -> Tally:
    """``concurrency`` scenarios at once, ``rounds`` times over."""
    tally = Tally()
    for round_number in range(rounds):
        await asyncio.gather(
            *(
                run_scenario(clients, tally, round_number * concurrency + number)
                for number in range(concurrency)
            )
        )
    return tally
