from phresh.errors import Conflict, Forbidden, NotFound


class EmailTaken(Conflict):
    slug = "email-taken"
    title = "Email already registered"


class UsernameTaken(Conflict):
    slug = "username-taken"
    title = "Username already taken"


class UserNotFound(NotFound):
    slug = "user-not-found"
    title = "User not found"


class WrongPassword(Forbidden):
    """The current password, asked for before a change to the account, does not match."""

    slug = "wrong-password"
    title = "Wrong current password"
