"""Can POST /auth/forgot-password tell a known address from an unknown one by its time?

The request does the same work whatever the address (a rate-limit count, one mail row and
its job, no account lookup: the worker looks the account up when it delivers), so its time
should not depend on it. This measures it: Phresh in process (an ASGI client, no network,
which leaves any difference nothing to hide behind) on a throwaway embedded PostgreSQL, with
``--tries`` requests for a registered address and as many for an unknown one, interleaved in
a shuffled order, over ``--rounds`` rounds. It prints each kind's median and mean, the
difference of the medians, and the noise: how far the medians of the same kind move from one
round to the next.

    .venv/bin/python -m bench.enumeration [--tries 50] [--rounds 3]
"""

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from pathlib import Path
from statistics import mean, median

import httpx
from pydantic import SecretStr

from phresh import embedded, migrations
from phresh.config import Settings
from phresh.main import create_app

KNOWN = "known@example.com"
UNKNOWN = "nobody@example.com"
ROOMY = "1000000/minute"


async def measure(url: str, tries: int, rounds: int) -> list[dict[str, list[float]]]:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=SecretStr(url),
        jwt_secret=SecretStr("bench-enumeration-secret-0123456789-abcdef"),
        run_worker=False,
        rate_limit_forgot_password_per_address=ROOMY,
        rate_limit_forgot_password_per_account=ROOMY,
        rate_limit_register_per_address=ROOMY,
        rate_limit_register_per_account=ROOMY,
    )
    app = create_app(settings)
    results = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench/api/v1") as c:
            registered = await c.post(
                "/users",
                json={"username": "known", "email": KNOWN, "password": "long enough pw"},
            )
            registered.raise_for_status()
            for warm in range(20):
                await c.post("/auth/forgot-password", json={"email": (KNOWN, UNKNOWN)[warm % 2]})
            rng = random.Random(1)  # noqa: S311 - an order, not a secret
            for _ in range(rounds):
                order = [KNOWN] * tries + [UNKNOWN] * tries
                rng.shuffle(order)
                times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
                for email in order:
                    started = time.perf_counter()
                    response = await c.post("/auth/forgot-password", json={"email": email})
                    times[email].append(time.perf_counter() - started)
                    assert response.status_code == 202, response.text
                results.append(times)
    return results


def report(results: list[dict[str, list[float]]]) -> None:
    def ms(value: float) -> str:
        return f"{value * 1000:.3f}"

    print("round | known median / mean ms | unknown median / mean ms | median diff ms")
    for n, times in enumerate(results, 1):
        known, unknown = times[KNOWN], times[UNKNOWN]
        print(
            f"{n} | {ms(median(known))} / {ms(mean(known))} | "
            f"{ms(median(unknown))} / {ms(mean(unknown))} | "
            f"{ms(median(known) - median(unknown))}"
        )
    diffs = [abs(median(t[KNOWN]) - median(t[UNKNOWN])) for t in results]
    noise = [
        abs(median(a[kind]) - median(b[kind]))
        for a, b in itertools.pairwise(results)
        for kind in (KNOWN, UNKNOWN)
    ]
    print(f"known vs unknown, |median diff| per round, ms: {', '.join(ms(d) for d in diffs)}")
    if noise:
        print(
            "noise, |median change| of one kind between rounds, ms: "
            f"{', '.join(ms(d) for d in noise)} (max {ms(max(noise))})"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="phresh-enum-") as tmp:
        server = embedded.start_server(Path(tmp) / "pgdata", delete_on_exit=True)
        try:
            server_url = embedded.database_url(server, "postgres")
            await embedded.ensure_database(server_url, "phresh")
            url = embedded.with_database(server_url, "phresh")
            await migrations.upgrade_async(url)
            report(await measure(url, args.tries, args.rounds))
        finally:
            embedded.stop_server(server)


if __name__ == "__main__":
    asyncio.run(main())
