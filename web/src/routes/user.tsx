import { useQuery } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";
import { ApiError, api, type Schemas, unwrap } from "../api/client";
import { LoadMore } from "../components/LoadMore";
import { Empty, LoadError, PageTitle, Pending } from "../components/status";
import { useInfiniteList } from "../components/useInfiniteList";
import { StarRating, TimeAgo } from "./listParts";
import "./user.css";

const route = getRouteApi("/users/$username");

/** The queries of a user's page; `everyone` is the prefix of them all (for invalidation). */
export const userQueryKeys = {
  everyone: ["user"] as const,
  profile: (username: string) => ["user", username, "profile"] as const,
  stats: (username: string) => ["user", username, "evaluation-stats"] as const,
  evaluations: (username: string) => ["user", username, "evaluations"] as const,
};

export function UserPage() {
  const { username } = route.useParams();
  const profile = useQuery({
    queryKey: userQueryKeys.profile(username),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/profiles/{username}", { params: { path: { username } } })),
  });

  if (profile.isPending) return <Pending />;
  if (profile.error instanceof ApiError && profile.error.status === 404) {
    return (
      <>
        <PageTitle>No such user</PageTitle>
        <p>
          Nobody is called “{username}” on Phresh. <Link to="/">Back to the marketplace</Link>
        </p>
      </>
    );
  }
  if (profile.error) {
    return (
      <>
        <PageTitle>{username}</PageTitle>
        <LoadError error={profile.error} retry={() => void profile.refetch()} />
      </>
    );
  }
  return (
    <>
      <ProfileHeader profile={profile.data} />
      <RatingStats username={profile.data.username} />
      <Evaluations username={profile.data.username} />
    </>
  );
}

function ProfileHeader({ profile }: { profile: Schemas["PublicProfileRead"] }) {
  return (
    <header className="profile-header">
      <div>
        <PageTitle>{profile.username}</PageTitle>
        {profile.full_name ? <p className="profile-name">{profile.full_name}</p> : null}
        {profile.bio ? <p className="profile-bio">{profile.bio}</p> : null}
        {/* A link, not an <img>: the pages load nothing from other origins (CSP img-src). */}
        {profile.image_url ? (
          <p>
            <a href={profile.image_url} rel="noopener noreferrer" target="_blank">
              Photo of {profile.full_name || profile.username} (opens another site)
            </a>
          </p>
        ) : null}
      </div>
    </header>
  );
}

function average(value: number | null): string {
  return value === null ? "not rated yet" : `${value.toFixed(1)} of 5`;
}

const STARS = [5, 4, 3, 2, 1, 0] as const;

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function RatingStats({ username }: { username: string }) {
  const stats = useQuery({
    queryKey: userQueryKeys.stats(username),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/users/{username}/evaluations/stats", {
          params: { path: { username } },
        }),
      ),
  });
  return (
    <section aria-labelledby="ratings-heading" className="rating-stats">
      <h2 id="ratings-heading">Ratings</h2>
      {stats.isPending ? <Pending label="Loading ratings…" /> : null}
      {stats.error ? <LoadError error={stats.error} retry={() => void stats.refetch()} /> : null}
      {stats.data ? <StatsBody stats={stats.data} /> : null}
    </section>
  );
}

function StatsBody({ stats }: { stats: Schemas["EvaluationStats"] }) {
  return (
    <div className="stats-body">
      <ul className="histogram" aria-label="Ratings by stars">
        {STARS.map((star) => {
          const count = stats.stars[String(star)] ?? 0;
          const share = stats.total > 0 ? (count / stats.total) * 100 : 0;
          return (
            <li key={star}>
              <span className="histogram-label">{plural(star, "star", "stars")}</span>
              <span className="visually-hidden">: </span>
              <span className="histogram-bar" aria-hidden="true">
                <span style={{ width: `${share}%` }} />
              </span>
              <span className="histogram-count">
                {count}
                <span className="visually-hidden"> {count === 1 ? "rating" : "ratings"}</span>
              </span>
            </li>
          );
        })}
      </ul>
      <dl className="averages">
        <div>
          <dt>Overall</dt>
          <dd>{average(stats.avg_overall_rating)}</dd>
        </div>
        <div>
          <dt>Professionalism</dt>
          <dd>{average(stats.avg_professionalism)}</dd>
        </div>
        <div>
          <dt>Completeness</dt>
          <dd>{average(stats.avg_completeness)}</dd>
        </div>
        <div>
          <dt>Efficiency</dt>
          <dd>{average(stats.avg_efficiency)}</dd>
        </div>
        {stats.min_overall_rating !== null && stats.max_overall_rating !== null ? (
          <div>
            <dt>Lowest and highest</dt>
            <dd>
              {stats.min_overall_rating} to {stats.max_overall_rating} stars
            </dd>
          </div>
        ) : null}
        <div>
          <dt>Evaluations</dt>
          <dd>{stats.total}</dd>
        </div>
        <div>
          <dt>No-shows</dt>
          <dd>{stats.no_shows}</dd>
        </div>
      </dl>
    </div>
  );
}

function Evaluations({ username }: { username: string }) {
  const list = useInfiniteList({
    queryKey: userQueryKeys.evaluations(username),
    fetchPage: async (cursor, signal) =>
      unwrap(
        await api.GET("/api/v1/users/{username}/evaluations", {
          params: { path: { username }, query: { cursor } },
          signal,
        }),
      ),
  });
  return (
    <section aria-labelledby="evaluations-heading">
      <h2 id="evaluations-heading">Evaluations</h2>
      {list.isPending ? <Pending label="Loading evaluations…" /> : null}
      {list.error ? <LoadError error={list.error} retry={list.retry} /> : null}
      {!list.isPending && !list.error && list.items.length === 0 ? (
        <Empty>No evaluations yet.</Empty>
      ) : null}
      {list.items.length > 0 ? (
        <ul className="cards">
          {list.items.map((evaluation) => (
            <EvaluationItem key={evaluation.cleaning_id} evaluation={evaluation} />
          ))}
        </ul>
      ) : null}
      <LoadMore list={list} label="Load more evaluations" />
    </section>
  );
}

const DETAILS = [
  ["professionalism", "Professionalism"],
  ["completeness", "Completeness"],
  ["efficiency", "Efficiency"],
] as const;

function EvaluationItem({ evaluation }: { evaluation: Schemas["EvaluationRead"] }) {
  const details = DETAILS.flatMap(([field, label]) => {
    const value = evaluation[field];
    return value === null ? [] : [`${label} ${value} of 5`];
  });
  return (
    <li className="card evaluation">
      <h3>{evaluation.headline || `Evaluation of cleaning #${evaluation.cleaning_id}`}</h3>
      <p className="evaluation-rating">
        <StarRating rating={evaluation.overall_rating} />
        {evaluation.no_show ? <span className="badge no-show">No-show</span> : null}
      </p>
      {details.length > 0 ? <p className="meta">{details.join(" · ")}</p> : null}
      {evaluation.comment ? <p className="evaluation-comment">{evaluation.comment}</p> : null}
      <p className="meta">
        <Link to="/cleanings/$cleaningId" params={{ cleaningId: evaluation.cleaning_id }}>
          Cleaning #{evaluation.cleaning_id}
        </Link>{" "}
        · <TimeAgo iso={evaluation.created_at} />
      </p>
    </li>
  );
}
