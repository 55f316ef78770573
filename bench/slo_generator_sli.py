"""Run by the slo-generator virtualenv (not the project's): the SLIs slo-generator computes.

    $PEER_VENV/bin/python bench/slo_generator_sli.py '{"url": ..., "timestamps": [...], ...}'

Uses slo-generator's own Prometheus backend (``PrometheusBackend.good_bad_ratio``: its query
formatting, ``sum(increase(filter[<window>s]))``, and its counting) and its SLI formula
``good / (good + bad)``. One change: its backend asks the client for the instant "now" (it drops
the timestamp it is given), so the client here pins each query to the benchmark's timestamp —
the data set lies in the past. Prints one JSON object per SLO and timestamp.
"""

import json
import sys

from prometheus_http_client import Prometheus
from slo_generator.backends.prometheus import PrometheusBackend


class PinnedClient(Prometheus):  # type: ignore[misc]
    """The library's client, with every instant query made at ``at``."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.at = 0.0

    def query(self, **kwargs: object) -> str:
        kwargs.setdefault("time", self.at)
        return str(super().query(**kwargs))


def main() -> None:
    request = json.loads(sys.argv[1])
    client = PinnedClient(request["url"])
    backend = PrometheusBackend(client=client)
    for item in request["slos"]:
        config = {
            "spec": {
                "service_level_indicator": {
                    "filter_good": item["filter_good"],
                    "filter_valid": item["filter_valid"],
                }
            }
        }
        for timestamp in request["timestamps"]:
            client.at = timestamp
            good, bad = backend.good_bad_ratio(timestamp, request["window"], config)
            queries = [
                PrometheusBackend._fmt_query(item[key], request["window"], ["increase", "sum"])
                for key in ("filter_good", "filter_valid")
            ]
            sli = good / (good + bad) if good + bad > 0 else None
            print(
                json.dumps(
                    {
                        "name": item["name"],
                        "time": timestamp,
                        "good": good,
                        "queries": queries,
                        "bad": bad,
                        "sli": sli,
                    }
                )
            )


if __name__ == "__main__":
    main()
