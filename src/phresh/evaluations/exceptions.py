from phresh.errors import Conflict


class CleaningNotAssigned(Conflict):
    slug = "cleaning-not-assigned"
    title = "Cleaning is not assigned"


class AlreadyEvaluated(Conflict):
    slug = "already-evaluated"
    title = "Cleaning already evaluated"
