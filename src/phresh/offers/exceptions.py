from phresh.errors import Conflict, Forbidden, NotFound


class OfferNotFound(NotFound):
    slug = "offer-not-found"
    title = "Offer not found"


class OwnCleaning(Forbidden):
    slug = "own-cleaning"
    title = "Cannot offer on your own cleaning"


class NotOfferParty(Forbidden):
    slug = "not-offer-party"
    title = "Only the cleaning's owner or the offer's author may see this offer"


class AlreadyOffered(Conflict):
    slug = "already-offered"
    title = "Already offered"


class CleaningNotOpen(Conflict):
    slug = "cleaning-not-open"
    title = "Cleaning is not open"


class OfferWrongStatus(Conflict):
    slug = "offer-wrong-status"
    title = "Offer is not in a status that allows this"


class OfferFinal(Conflict):
    slug = "offer-final"
    title = "A cancelled offer is final"
