import { useMutation, useQueryClient } from "@tanstack/react-query";
import { getRouteApi, Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { logIn } from "../auth/actions";
import { FormError, SubmitButton, TextField } from "../components/forms";
import { PageTitle } from "../components/status";

const route = getRouteApi("/login");

export function LoginPage() {
  const { next } = route.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const mutation = useMutation({
    mutationFn: () => logIn(login.trim(), password),
    onSuccess: async () => {
      queryClient.clear();
      await navigate({ to: next ?? "/" });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    mutation.mutate();
  }

  return (
    <section className="narrow">
      <PageTitle>Log in</PageTitle>
      <p className="intro">
        Phresh is a marketplace for home cleanings: post a cleaning at the hourly rate you set, or
        offer to take someone else's.
      </p>
      <form onSubmit={submit} noValidate>
        <TextField
          label="Username or email"
          name="username"
          autoComplete="username"
          required
          value={login}
          onChange={(event) => setLogin(event.target.value)}
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <FormError error={mutation.error} />
        <SubmitButton pending={mutation.isPending}>Log in</SubmitButton>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New to Phresh? <Link to="/signup">Create an account</Link>
      </p>
    </section>
  );
}
