from phresh.errors import Conflict, NotFound


class CleaningNotAssigned(Conflict):
    slug = "cleaning-not-assigned"
    title = "Cleaning is not assigned"


class AlreadyEvaluated(Conflict):
    slug = "already-evaluated"
    title = "Cleaning already evaluated"


class EvaluationNotFound(NotFound):
    slug = "evaluation-not-found"
    title = "Evaluation not found"
