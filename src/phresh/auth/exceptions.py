from phresh.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized


class InvalidCredentials(Unauthorized):
    slug = "invalid-credentials"
    title = "Invalid credentials"


class InvalidToken(Unauthorized):
    slug = "invalid-token"
    title = "Invalid or expired token"


class LoginRateLimited(TooManyRequests):
    slug = "login-rate-limited"
    title = "Too many login attempts"


class RateLimited(TooManyRequests):
    """Registration, forgot-password and verify-resend over their limits (login has its own)."""

    slug = "rate-limited"
    title = "Too many requests"


class InvalidRefreshToken(Unauthorized):
    slug = "invalid-refresh-token"
    title = "Invalid, expired or reused refresh token"


class ReusedRefreshToken(InvalidRefreshToken):
    """A refresh token that was already rotated away: its session is ended, and that
    revocation stands although the request fails."""

    commits = True


class InvalidLinkToken(BadRequest):
    """The token of a verification or reset link: unknown, used already, or expired."""

    slug = "invalid-link-token"
    title = "Invalid or expired link"


class EmailNotVerified(Forbidden):
    slug = "email-not-verified"
    title = "Email not verified"


class SessionNotFound(NotFound):
    slug = "session-not-found"
    title = "Session not found"


class EmailAlreadyVerified(Conflict):
    slug = "email-already-verified"
    title = "Email already verified"
