import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { register } from "../auth/actions";
import { FormError, SubmitButton, TextField } from "../components/forms";
import { PageTitle } from "../components/status";
import { formErrors } from "./accountForms";
import "./account.css";

export function SignupPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const mutation = useMutation({
    // The password is sent exactly as typed: the API counts spaces as characters.
    mutationFn: () => register(username.trim(), email.trim(), password),
    onSuccess: async () => {
      queryClient.clear();
      // The layout's banner then asks to verify the address the link was mailed to.
      await navigate({ to: "/" });
    },
  });
  const errors = formErrors(mutation.error, {
    username: ["username-taken"],
    email: ["email-taken"],
    password: [],
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    mutation.mutate();
  }

  return (
    <section className="narrow">
      <PageTitle>Create your account</PageTitle>
      <form onSubmit={submit} noValidate>
        <TextField
          label="Username"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          hint="3-32 characters: letters a-z, digits 0-9, _ and -."
          error={errors.field("username")}
          value={username}
          onChange={(event) => setUsername(event.target.value)}
        />
        <TextField
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          error={errors.field("email")}
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          hint="10-128 characters; spaces count."
          error={errors.field("password")}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <FormError error={errors.rest} fields={errors.names} />
        <SubmitButton pending={mutation.isPending}>Create account</SubmitButton>
      </form>
      <p>
        Already have an account?{" "}
        <Link to="/login" search={{}}>
          Log in to your account
        </Link>
      </p>
    </section>
  );
}
