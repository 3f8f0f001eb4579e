"""The Grafana dashboard's panels, fed by a real run: ``docs/images/dashboard.png``.

Grafana is not packaged for Debian and these machines reach no other download site, so this draws
each panel of ``docs/grafana-dashboard.json`` itself, from a real Prometheus' answers to that
panel's own queries (Debian's ``prometheus`` package, scraping ``/metrics`` every second) while the
lite service (real gunicorn, MediaPipe) takes a backend-like load: two videos of the runner clip
streamed at once with a share of the frames hidden from the estimator (so the track predicts and
fills), the clip as a whole-video job, and a bad request every few seconds. What the
picture shows is what Grafana would show for the same run; only the drawing differs.

    apt-get install prometheus   # the server only; it need not run as a service
    .venv/bin/python -m benchmarks.dashboard_snapshot [--frames 180] [--out PNG] [--json]
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import requests

from benchmarks.common import REPO, RUNNER_CLIP, emit, free_port, parser

DASHBOARD = REPO / "docs" / "grafana-dashboard.json"
DEFAULT_PROMETHEUS = "/usr/bin/prometheus"  # Debian's package
SCRAPE_INTERVAL_S = 1
RATE_WINDOW = "10s"  # what Grafana's $__rate_interval becomes at a 1 s scrape and this zoom
STEP_S = 2  # one point per this many seconds in the range queries
SETTLE_S = 6  # scrapes after the load ends, so the last rates are in the picture
VIDEOS = 2
HIDDEN_SHARE = 0.36
HIDDEN_BURSTS = (1, 8)  # frames in a row, as `pose-service demo` hides them
REFUSED_BODIES = ({"frame_number": 1}, {"image_base64": "bm90IGFuIGltYWdl", "frame_number": 1})
REFUSAL_EVERY_S = 3.0


def _instantiate(expr: str) -> str:
    """A panel's query with the dashboard's variables filled in (every instance)."""
    return expr.replace("$__rate_interval", RATE_WINDOW).replace('=~"$instance"', '=~".*"')


def _legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's ``{{label}}`` legend format, filled from a series' labels."""
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)
    return " ".join(text.split()) or ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


class Prometheus:
    """A throwaway Prometheus server scraping one target, with its HTTP API."""

    def __init__(self, binary: str, target: str, workdir: Path) -> None:
        config = workdir / "prometheus.yml"
        config.write_text(
            f"global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\nscrape_configs:\n"
            f"  - job_name: pose-service\n    static_configs:\n      - targets: ['{target}']\n"
        )
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address={self.url.removeprefix('http://')}"],
            stdout=subprocess.DEVNULL, stderr=open(workdir / "prometheus.log", "wb"),  # noqa: SIM115
        )  # fmt: skip

    def api(self, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as answer:
            return json.load(answer)["data"]

    def wait_until_scraping(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.api("query", query='up{job="pose-service"} == 1')["result"]:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError("Prometheus never scraped the service")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def _load(url: str, frames: list[bytes]) -> dict[str, Any]:
    """The run's traffic: the videos streamed at once (hidden frames marked), one whole-video
    job, and a few refused requests; returns what was sent."""
    from pose_service.devtools.demo import burst_miss_mask, stream_video

    results: list[Any] = [None] * VIDEOS

    def stream(index: int) -> None:
        hidden = burst_miss_mask(len(frames), HIDDEN_SHARE, HIDDEN_BURSTS, seed=index)
        session = requests.Session()
        results[index] = stream_video(url, frames, hidden, progress=False, session=session,
                                      first_frame_number=index * 100_000)  # fmt: skip

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(VIDEOS)]
    for thread in threads:
        thread.start()
    with RUNNER_CLIP.open("rb") as video:  # the whole clip, as a user uploads it
        job = requests.post(url + "/pose/video", files={"video": video}, timeout=60).json()
    refused = 0
    while True:  # bad requests of each kind now and then (400s), from the start
        for body in REFUSED_BODIES:
            answer = requests.post(url + "/pose/hybrid", json=body, timeout=10)
            refused += answer.status_code == 400
        if not any(thread.is_alive() for thread in threads):
            break
        time.sleep(REFUSAL_EVERY_S)
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + 300
    while requests.get(f"{url}/jobs/{job['job_id']}", timeout=10).json()["status"] not in {
        "done",
        "failed",
    }:
        if time.monotonic() > deadline:
            raise TimeoutError("the whole-video job did not finish")
        time.sleep(1)
    frames_sent = sum(len(r.statuses) for r in results)
    return {"streamed_frames": frames_sent, "refused": refused, "job": job["job_id"]}


def _panel_series(prom: Prometheus, panel: dict[str, Any], start: float, end: float) -> list:
    """Each of a panel's queries over the run: (legend, times, values) per series."""
    series = []
    for target in panel.get("targets", []):
        data = prom.api("query_range", query=_instantiate(target["expr"]),
                        start=start, end=end, step=STEP_S)  # fmt: skip
        for item in data["result"]:
            values = np.array([[float(t), float(v)] for t, v in item["values"]])
            label = _legend(target.get("legendFormat", ""), item["metric"])
            series.append((label, values[:, 0] - start, values[:, 1]))
    return series


def draw(dashboard: dict[str, Any], prom: Prometheus, start: float, end: float, out: Path) -> dict:
    """The panels at their dashboard positions (24 columns), one figure; returns the last
    value of each panel's series, for the JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = dashboard["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(figsize=(16, rows * 0.5))
    grid = fig.add_gridspec(rows, 24, hspace=4.0, wspace=2.0, top=0.95)
    last: dict[str, dict[str, float]] = {}
    for panel in panels:
        pos = panel["gridPos"]
        ax = fig.add_subplot(grid[pos["y"] : pos["y"] + pos["h"], pos["x"] : pos["x"] + pos["w"]])
        series = _panel_series(prom, panel, start, end)
        last[panel["title"]] = {
            label: None if math.isnan(v[-1]) else round(float(v[-1]), 6)
            for label, _, v in series
            if len(v)
        }
        ax.set_title(panel["title"], fontsize=9, loc="left")
        if panel["type"] == "stat":
            text = (
                "\n".join(
                    f"{label}: {v[-1]:g}" if panel["title"] != "Version" else label
                    for label, _, v in series
                )
                or "no data"
            )
            ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        for label, t, v in series:
            ax.plot(t, v, label=label, linewidth=1.2)
        if not series:
            ax.text(0.5, 0.5, "no data (no CUDA here)" if "GPU" in panel["title"] else "no data",
                    ha="center", va="center", transform=ax.transAxes, color="grey")  # fmt: skip
        ax.set_xlabel("seconds into the run", fontsize=7)
        ax.set_ylabel(panel.get("fieldConfig", {}).get("defaults", {}).get("unit", ""), fontsize=7)
        ax.tick_params(labelsize=7)
        if series:
            ax.legend(fontsize=6, loc="upper left", ncol=2)
    fig.suptitle("pose-service dashboard (docs/grafana-dashboard.json) over a real lite run, "
                 "drawn from Prometheus' answers to its queries", fontsize=11)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return last


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--prometheus", default=DEFAULT_PROMETHEUS, help="the server's binary")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "dashboard.png")
    p.add_argument("--frames", type=int, default=180, help="of the runner clip, per video")
    args = p.parse_args(argv)

    from pose_service.devtools.demo import video_frames_png
    from pose_service.devtools.local_service import start_service, stop_service, wait_until_ready

    frames = list(video_frames_png(RUNNER_CLIP))[: args.frames]
    dashboard = json.loads(DASHBOARD.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        env = {"POSE_SERVICE_ESTIMATOR": "lite", "POSE_SERVICE_ALLOW_SIMULATED_MISSES": "true",
               "POSE_SERVICE_STATE_DIR": str(work / "state")}  # fmt: skip
        service = start_service("127.0.0.1", port, env, str(work / "service.log"))
        prom = None
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_ready(url, 120, service)
            prom = Prometheus(args.prometheus, f"127.0.0.1:{port}", work)
            prom.wait_until_scraping()
            start = time.time()
            sent = _load(url, frames)
            time.sleep(SETTLE_S)
            end = time.time()
            last = draw(dashboard, prom, start - SETTLE_S, end, args.out)
        finally:
            if prom is not None:
                prom.stop()
            stop_service(service)
    result = {"seconds": round(end - start, 1), **sent, "image": str(args.out), "last": last}
    rows = [(title, ", ".join(f"{k} {v}" for k, v in values.items()) or "no data")
            for title, values in last.items()]  # fmt: skip
    emit(result, rows, ["panel", "last values"], args.json)
    return result


if __name__ == "__main__":
    main()
