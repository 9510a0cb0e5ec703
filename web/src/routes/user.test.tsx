import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ME, problem, renderApp, stubApi } from "../test/render";

const PROFILE = {
  username: "bob",
  full_name: "Bob Builder",
  bio: "Tidy since 1999.",
  image_url: "https://example.com/bob.png",
};

const STATS = {
  username: "bob",
  avg_overall_rating: 4.333333,
  avg_professionalism: 5,
  avg_completeness: null,
  avg_efficiency: 3.75,
  min_overall_rating: 3,
  max_overall_rating: 5,
  stars: { "0": 0, "1": 0, "2": 0, "3": 1, "4": 0, "5": 2 },
  total: 3,
  no_shows: 1,
};

const EVALUATION = {
  cleaner: "bob",
  cleaning_id: 5,
  headline: "Spotless",
  comment: "Even behind the fridge.",
  overall_rating: 4,
  professionalism: 5,
  completeness: null,
  efficiency: null,
  no_show: true,
  created_at: "2026-11-20T10:00:00Z",
};

describe("UserPage", () => {
  it("shows the profile, the star histogram of the stats and the evaluations", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/profiles/bob") return { body: PROFILE };
      if (url.pathname === "/api/v1/users/bob/evaluations/stats") return { body: STATS };
      if (url.pathname === "/api/v1/users/bob/evaluations") {
        return { body: { items: [EVALUATION], next_cursor: null } };
      }
      return undefined;
    });
    await renderApp("/users/bob");
    expect(await screen.findByRole("heading", { level: 1, name: "bob" })).toBeInTheDocument();
    expect(
      screen.getByRole("link", { name: "Photo of Bob Builder (opens another site)" }),
    ).toHaveAttribute("href", PROFILE.image_url);
    const histogram = await screen.findByRole("list", { name: "Ratings by stars" });
    const rows = within(histogram).getAllByRole("listitem");
    expect(rows.map((row) => row.textContent)).toEqual([
      "5 stars: 2 ratings",
      "4 stars: 0 ratings",
      "3 stars: 1 rating",
      "2 stars: 0 ratings",
      "1 star: 0 ratings",
      "0 stars: 0 ratings",
    ]);
    const bar = rows[0]?.querySelector(".histogram-bar");
    expect(bar).toHaveAttribute("aria-hidden", "true");
    expect(bar?.querySelector("span")).toHaveStyle({ width: `${(2 / 3) * 100}%` });
    expect(screen.getByText("4.3 of 5")).toBeInTheDocument();
    expect(screen.getByText("3.8 of 5")).toBeInTheDocument();

    const evaluation = (await screen.findByRole("heading", { name: "Spotless" })).closest("li");
    if (evaluation === null) throw new Error("no list item");
    expect(evaluation).toHaveTextContent("4 of 5");
    expect(evaluation).toHaveTextContent("No-show");
    expect(evaluation).toHaveTextContent("Even behind the fridge.");
    expect(within(evaluation).getByRole("link", { name: "Cleaning #5" })).toHaveAttribute(
      "href",
      "/cleanings/5",
    );
  });

  it("says when there is no such user", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      return problem(404, "No user called nobody.");
    });
    await renderApp("/users/nobody");
    expect(
      await screen.findByRole("heading", { level: 1, name: "No such user" }),
    ).toBeInTheDocument();
  });

  it("says when nobody has evaluated the user yet", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/profiles/bob") return { body: { ...PROFILE, image_url: null } };
      if (url.pathname === "/api/v1/users/bob/evaluations/stats") {
        return {
          body: {
            ...STATS,
            avg_overall_rating: null,
            stars: { "0": 0, "1": 0, "2": 0, "3": 0, "4": 0, "5": 0 },
            total: 0,
          },
        };
      }
      if (url.pathname === "/api/v1/users/bob/evaluations") {
        return { body: { items: [], next_cursor: null } };
      }
      return undefined;
    });
    await renderApp("/users/bob");
    expect(await screen.findByText("No evaluations yet.")).toBeInTheDocument();
    expect(screen.queryByRole("img")).toBeNull();
  });
});
