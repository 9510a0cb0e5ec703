"""Account mails: written to the ``mail`` outbox in the request's transaction, delivered by
the worker (``phresh.mail.worker``) over SMTP, or as .eml files when no SMTP host is set.

Nothing is imported here: ``phresh.auth`` imports ``phresh.mail.service``, and the worker
imports ``phresh.auth``.
"""
