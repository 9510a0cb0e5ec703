from phresh.errors import TooManyRequests, Unauthorized


class InvalidCredentials(Unauthorized):
    slug = "invalid-credentials"
    title = "Invalid credentials"


class InvalidToken(Unauthorized):
    slug = "invalid-token"
    title = "Invalid or expired token"


class LoginRateLimited(TooManyRequests):
    slug = "login-rate-limited"
    title = "Too many login attempts"
