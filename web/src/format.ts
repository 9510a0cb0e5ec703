import type { Schemas } from "./api/client";

export type CleaningType = Schemas["CleaningRead"]["cleaning_type"];

export const CLEANING_TYPES: { value: CleaningType; label: string }[] = [
  { value: "dust_up", label: "Dust up" },
  { value: "spot_clean", label: "Spot clean" },
  { value: "full_clean", label: "Full clean" },
];

export function cleaningTypeLabel(value: string): string {
  return CLEANING_TYPES.find((type) => type.value === value)?.label ?? value;
}

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

/** Prices arrive as decimal strings (no precision lost); shown as "$25.00 / hour". */
export function pricePerHour(price: string): string {
  const amount = Number(price);
  return `${Number.isFinite(amount) ? money.format(amount) : price} / hour`;
}

const dateTime = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short" });

export function when(iso: string): string {
  return dateTime.format(new Date(iso));
}
