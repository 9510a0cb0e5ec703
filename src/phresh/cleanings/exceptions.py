from phresh.errors import Conflict, Forbidden, NotFound


class CleaningNotFound(NotFound):
    slug = "cleaning-not-found"
    title = "Cleaning not found"


class NotCleaningOwner(Forbidden):
    slug = "not-cleaning-owner"
    title = "Not the owner of this cleaning"


class CleaningLocked(Conflict):
    slug = "cleaning-locked"
    title = "Cleaning cannot change in its current status"
