import { type QueryClient, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { getRouteApi, Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, type ReactNode, useState } from "react";
import { ApiError, api, type Schemas, unwrap } from "../api/client";
import { useMe } from "../auth/useSession";
import {
  FormError,
  fieldError,
  SelectField,
  SubmitButton,
  TextArea,
  TextField,
} from "../components/forms";
import { LoadError, PageTitle, Pending } from "../components/status";
import { CLEANING_TYPES, type CleaningType } from "../format";
import { queryKeys } from "../queryKeys";
import "./cleaning.css";

const editRoute = getRouteApi("/cleanings/$cleaningId/edit");

type Cleaning = Schemas["CleaningRead"];
type Values = { name: string; description: string; cleaning_type: CleaningType; price: string };

const FIELDS = ["name", "description", "cleaning_type", "price"];

const BLANK: Values = { name: "", description: "", cleaning_type: "spot_clean", price: "" };

/** A saved cleaning: its page shows it at once, and every list of cleanings refreshes. */
async function storeCleaning(queryClient: QueryClient, cleaning: Cleaning) {
  queryClient.setQueryData(queryKeys.cleaning(cleaning.id), cleaning);
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: queryKeys.cleaningsAll }),
    queryClient.invalidateQueries({ queryKey: queryKeys.myCleaningsAll }),
  ]);
}

export function NewCleaningPage() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: async (values: Values) =>
      unwrap(
        await api.POST("/api/v1/cleanings", {
          body: { ...values, name: values.name.trim(), price: values.price.trim() },
        }),
      ),
    onSuccess: async (cleaning) => {
      await storeCleaning(queryClient, cleaning);
      await navigate({ to: "/cleanings/$cleaningId", params: { cleaningId: cleaning.id } });
    },
  });
  return (
    <section className="narrow">
      <PageTitle>Post a cleaning</PageTitle>
      <CleaningForm
        initial={BLANK}
        submitLabel="Post cleaning"
        pending={create.isPending}
        error={create.error}
        onSubmit={(values) => create.mutate(values)}
      />
    </section>
  );
}

export function EditCleaningPage() {
  const { cleaningId } = editRoute.useParams();
  const me = useMe();
  const cleaning = useQuery({
    queryKey: queryKeys.cleaning(cleaningId),
    queryFn: async ({ signal }) =>
      unwrap(
        await api.GET("/api/v1/cleanings/{cleaning_id}", {
          params: { path: { cleaning_id: cleaningId } },
          signal,
        }),
      ),
    enabled: cleaningId > 0,
  });

  let body: ReactNode;
  if (cleaningId <= 0 || (cleaning.error instanceof ApiError && cleaning.error.status === 404)) {
    body = (
      <p>
        This cleaning does not exist or was removed. <Link to="/">Back to the marketplace</Link>
      </p>
    );
  } else if (cleaning.error || me.error) {
    const retry = () => {
      void cleaning.refetch();
      void me.refetch();
    };
    body = <LoadError error={cleaning.error ?? me.error} retry={retry} />;
  } else if (!cleaning.data || !me.data) {
    body = <Pending label="Loading the cleaning…" />;
  } else if (cleaning.data.owner !== me.data.username) {
    body = <p>Only the owner of a cleaning can edit it.</p>;
  } else if (cleaning.data.status === "completed" || cleaning.data.status === "cancelled") {
    body = <p>This cleaning is {cleaning.data.status} and can no longer be edited.</p>;
  } else {
    // Remounted per cleaning so the form starts from its saved values.
    body = <EditForm key={cleaning.data.id} cleaning={cleaning.data} />;
  }
  return (
    <section className="narrow">
      <PageTitle>Edit cleaning</PageTitle>
      {body}
      {cleaningId > 0 ? (
        <p>
          <Link to="/cleanings/$cleaningId" params={{ cleaningId }}>
            Back to the cleaning
          </Link>
        </p>
      ) : null}
    </section>
  );
}

function EditForm({ cleaning }: { cleaning: Cleaning }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const initial: Values = {
    name: cleaning.name,
    description: cleaning.description,
    cleaning_type: cleaning.cleaning_type,
    price: cleaning.price,
  };
  const save = useMutation({
    mutationFn: async (values: Values) => {
      // Only what changed: an untouched price is never a "frozen price" conflict.
      const changes: Schemas["CleaningUpdate"] = {};
      if (values.name.trim() !== initial.name) changes.name = values.name.trim();
      if (values.description !== initial.description) changes.description = values.description;
      if (values.cleaning_type !== initial.cleaning_type) {
        changes.cleaning_type = values.cleaning_type;
      }
      if (values.price.trim() !== initial.price) changes.price = values.price.trim();
      return unwrap(
        await api.PATCH("/api/v1/cleanings/{cleaning_id}", {
          params: { path: { cleaning_id: cleaning.id } },
          body: changes,
        }),
      );
    },
    onSuccess: async (saved) => {
      await storeCleaning(queryClient, saved);
      await navigate({ to: "/cleanings/$cleaningId", params: { cleaningId: saved.id } });
    },
  });
  return (
    <CleaningForm
      initial={initial}
      submitLabel="Save changes"
      pending={save.isPending}
      error={save.error}
      termsFrozen={cleaning.status === "assigned"}
      onSubmit={(values) => save.mutate(values)}
    />
  );
}

function toCleaningType(value: string): CleaningType {
  return CLEANING_TYPES.find((type) => type.value === value)?.value ?? "spot_clean";
}

function CleaningForm({
  initial,
  submitLabel,
  pending,
  error,
  termsFrozen = false,
  onSubmit,
}: {
  initial: Values;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  /** Price and type cannot change once an offer is accepted. */
  termsFrozen?: boolean;
  onSubmit: (values: Values) => void;
}) {
  const [values, setValues] = useState<Values>(initial);
  const frozenHint = termsFrozen ? "Fixed since you accepted an offer." : undefined;

  function submit(event: FormEvent) {
    event.preventDefault();
    onSubmit(values);
  }

  return (
    <form className="cleaning-form" onSubmit={submit} noValidate>
      <TextField
        label="Name"
        name="name"
        required
        maxLength={200}
        value={values.name}
        error={fieldError(error, "name")}
        onChange={(event) => setValues({ ...values, name: event.target.value })}
      />
      <TextArea
        label="Description"
        name="description"
        maxLength={5000}
        hint="Rooms, size, anything the cleaner should know."
        value={values.description}
        error={fieldError(error, "description")}
        onChange={(event) => setValues({ ...values, description: event.target.value })}
      />
      <SelectField
        label="Type"
        name="cleaning_type"
        value={values.cleaning_type}
        disabled={termsFrozen}
        hint={frozenHint}
        error={fieldError(error, "cleaning_type")}
        onChange={(event) =>
          setValues({ ...values, cleaning_type: toCleaningType(event.target.value) })
        }
      >
        {CLEANING_TYPES.map((type) => (
          <option key={type.value} value={type.value}>
            {type.label}
          </option>
        ))}
      </SelectField>
      <TextField
        label="Price per hour"
        name="price"
        inputMode="decimal"
        autoComplete="off"
        required
        disabled={termsFrozen}
        hint={frozenHint ?? "In dollars, for example 25.00."}
        value={values.price}
        error={fieldError(error, "price")}
        onChange={(event) => setValues({ ...values, price: event.target.value })}
      />
      <FormError error={error} fields={FIELDS} />
      <SubmitButton pending={pending}>{submitLabel}</SubmitButton>
    </form>
  );
}
