"""Rules about users: registration, passwords, profiles."""

from phresh.db import Connection
from phresh.kit.repository import ConstraintViolation
from phresh.models import Profile, User
from phresh.users import repository
from phresh.users.exceptions import EmailTaken, UsernameTaken, UserNotFound, WrongPassword
from phresh.users.passwords import passwords
from phresh.users.schemas import ProfileUpdate, UserCreate


async def hash_password(password: str) -> str:
    return await passwords().hash(password)


async def check_password(connection: Connection, user: User, password: str) -> bool:
    """Whether ``password`` is ``user``'s. A hash made with other parameters than today's is
    renewed on the way (unless the password changed meanwhile)."""
    valid, renewed = await passwords().verify(password, user.password_hash)
    if valid and renewed is not None:
        await repository.renew_password_hash(connection, user.id, user.password_hash, renewed)
    return valid


async def burn_password_check(password: str) -> None:
    """Spend the time a real check would, so a missing user cannot be told apart by timing."""
    await passwords().burn(password)


async def register_user(connection: Connection, data: UserCreate) -> tuple[User, Profile]:
    try:
        return await repository.insert_user(
            connection,
            username=data.username,
            email=data.email,
            password_hash=await hash_password(data.password.get_secret_value()),
            full_name=data.full_name,
        )
    except ConstraintViolation as exc:
        # The unique constraints decide, so two racing registrations get one 201, one 409.
        if exc.constraint == "uq_user_email":
            raise EmailTaken("An account with this email already exists.") from exc
        if exc.constraint == "uq_user_username":
            raise UsernameTaken(f"The username {data.username!r} is taken.") from exc
        raise


async def get_active_user(connection: Connection, user_id: int) -> User | None:
    user = await repository.get_user_by_id(connection, user_id)
    return user if user is not None and user.is_active else None


def _could_exist(name: str) -> bool:
    # Neither a username nor an email can hold NUL; PostgreSQL could not even compare it.
    return "\x00" not in name and len(name) <= 254


async def get_user_by_login(connection: Connection, login: str) -> User | None:
    if not _could_exist(login):
        return None
    return await repository.get_user_by_login(connection, login)


async def get_own_profile(connection: Connection, user: User) -> Profile:
    profile = await repository.get_profile(connection, user.id)
    if profile is None:
        raise UserNotFound("Your account no longer exists.")
    return profile


async def get_public_profile(connection: Connection, username: str) -> Profile:
    profile = (
        await repository.get_active_profile(connection, username)
        if _could_exist(username)
        else None
    )
    if profile is None:
        raise UserNotFound(f"No user is called {username!r}.")
    return profile


async def get_user_id(connection: Connection, username: str) -> int:
    user_id = (
        await repository.get_user_id_by_username(connection, username)
        if _could_exist(username)
        else None
    )
    if user_id is None:
        raise UserNotFound(f"No user is called {username!r}.")
    return user_id


async def update_profile(connection: Connection, user: User, data: ProfileUpdate) -> Profile:
    changes = data.model_dump(exclude_unset=True, mode="json")
    if not changes:
        return await get_own_profile(connection, user)
    profile = await repository.update_profile(connection, user.id, changes)
    if profile is None:
        raise UserNotFound("Your account no longer exists.")
    return profile


async def mark_email_verified(connection: Connection, user_id: int, email: str) -> bool:
    return await repository.mark_email_verified(connection, user_id, email)


async def reset_password(
    connection: Connection, user_id: int, email: str, new_password: str
) -> bool:
    password_hash = await hash_password(new_password)
    return await repository.reset_password(connection, user_id, email, password_hash)


async def set_password(connection: Connection, user_id: int, new_password: str) -> None:
    await repository.set_password(connection, user_id, await hash_password(new_password))


async def change_email(
    connection: Connection, user: User, email: str, current_password: str
) -> User:
    """The user with ``email``, unverified until its link is followed; the current password
    is asked first, so a stolen access token cannot take the account over by mail."""
    if not await check_password(connection, user, current_password):
        raise WrongPassword("The current password is not right.")
    if email == user.email:
        return user
    try:
        changed = await repository.set_email(connection, user.id, email)
    except ConstraintViolation as exc:
        if exc.constraint == "uq_user_email":
            raise EmailTaken("An account with this email already exists.") from exc
        raise
    if changed is None:
        raise UserNotFound("Your account no longer exists.")
    return changed


async def make_superuser(connection: Connection, user: User) -> None:
    """A superuser, whose email counts as verified (they were created by an operator)."""
    await repository.make_superuser(connection, user.id)
