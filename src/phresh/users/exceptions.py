from phresh.errors import Conflict, NotFound


class EmailTaken(Conflict):
    slug = "email-taken"
    title = "Email already registered"


class UsernameTaken(Conflict):
    slug = "username-taken"
    title = "Username already taken"


class UserNotFound(NotFound):
    slug = "user-not-found"
    title = "User not found"
