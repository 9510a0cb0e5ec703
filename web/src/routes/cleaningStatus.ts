import type { Schemas } from "../api/client";

const LABELS: Record<Schemas["CleaningStatus"] | Schemas["OfferStatus"], string> = {
  open: "Open",
  assigned: "Assigned",
  completed: "Completed",
  cancelled: "Cancelled",
  pending: "Pending",
  accepted: "Accepted",
  rejected: "Rejected",
};

/** A cleaning's or an offer's status, as people read it. */
export function statusLabel(status: Schemas["CleaningStatus"] | Schemas["OfferStatus"]): string {
  return LABELS[status];
}
