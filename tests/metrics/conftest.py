"""Reading GET /metrics as Prometheus does: the text parsed into samples.

The families live in the process's default registry, shared by every app a test starts, so
tests compare a scrape before with one after what they do.
"""

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

METRICS_URL = "http://test/metrics"


@dataclass(frozen=True)
class Samples:
    values: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sample ``name`` with exactly ``labels`` (0 when absent)."""
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def names(self) -> set[str]:
        return {name for name, _ in self.values}

    def label_values(self, name: str, label: str) -> set[str]:
        return {
            dict(labels)[label]
            for sample, labels in self.values
            if sample == name and label in dict(labels)
        }


def parse(text: str) -> Samples:
    return Samples(
        {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
    )


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get(METRICS_URL)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)
