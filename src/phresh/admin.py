"""Account administration run from the command line."""

from pydantic import ValidationError

from phresh.config import Settings
from phresh.db import Database, in_transaction
from phresh.errors import AppError
from phresh.users import service as user_service
from phresh.users.schemas import UserCreate


class AdminError(Exception):
    pass


async def create_superuser(settings: Settings, username: str, email: str, password: str) -> None:
    try:
        data = UserCreate.model_validate(
            {"username": username, "email": email, "password": password}
        )
    except ValidationError as exc:
        fields = ", ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise AdminError(fields) from exc
    database = await Database.open(settings)
    try:
        async with database.pool.acquire() as connection, in_transaction(connection):
            user, _ = await user_service.register_user(connection, data)
            await user_service.make_superuser(connection, user)
    except AppError as exc:
        raise AdminError(exc.detail) from exc
    finally:
        await database.close()
