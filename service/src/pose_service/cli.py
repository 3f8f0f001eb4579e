"""The pose-service command: serve, check, verify-install, demo, eval, settings.

Every option of serve and verify-install can also come from the POSE_SERVICE_* environment; the
command line wins. Each flag's help names its variable and default.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

from . import __version__
from .config import ENV_PREFIX, Settings, described
from .config_spec import env_name

ESTIMATORS = Settings.choices("estimator")

REPO_DATA = Path(__file__).resolve().parents[3] / "data"  # the repository's data/ (dev checkout)
DEFAULT_VIDEO_CANDIDATES = (
    REPO_DATA / "runner-180f.mp4",
    Path(__file__).resolve().parents[4] / "shared" / "data" / "runner-180f.mp4",
)


def _default_url() -> str:
    settings = Settings.from_env()
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host
    return f"http://{host}:{settings.port}"


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the service in the foreground under gunicorn (exec: systemd sees gunicorn itself)."""
    overrides = {"estimator": args.estimator, "host": args.host, "port": args.port,
                 "threads": args.threads}  # fmt: skip
    settings = Settings.from_env(**overrides)  # validates before gunicorn starts
    os.environ.update(settings.as_env())
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:pose_service.server.gunicorn_conf"]
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover - exec does not return


def cmd_check(args: argparse.Namespace) -> int:
    """Probe /health (or /readyz): exit 0 when ready, 1 otherwise; one line of explanation."""
    from .health_client import PROBES

    ready, line = PROBES[args.probe](args.url or _default_url(), args.timeout)
    print(line)
    return 0 if ready else 1


def cmd_verify_install(args: argparse.Namespace) -> int:
    """Check the configured estimator's install without loading weights: one JSON line, exit 0
    when everything load() needs is there, 1 with the message naming the fix when not."""
    from .estimators import ModelUnavailable, create_estimator

    settings = Settings.from_env(**({"estimator": args.estimator} if args.estimator else {}))
    try:
        checked = create_estimator(settings).verify_install()
    except ModelUnavailable as exc:
        print(json.dumps({"ok": False, "estimator": settings.estimator, "error": str(exc)}))
        return 1
    print(json.dumps({"ok": True, "estimator": settings.estimator, "checked": checked}))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Stream a video like the backend; start a local lite service when none answers."""
    from .devtools import demo
    from .devtools.local_service import start_service, stop_service, wait_until_ready
    from .health_client import describe_health

    video = (
        Path(args.video)
        if args.video
        else next((p for p in DEFAULT_VIDEO_CANDIDATES if p.is_file()), None)
    )
    if video is None or not video.is_file():
        print(
            f"no video: pass --video PATH (looked in {[str(p) for p in DEFAULT_VIDEO_CANDIDATES]})",
            file=sys.stderr,
        )
        return 2
    url = args.url or _default_url()
    process = None
    if args.url is None and not describe_health(url, 2.0)[0]:
        settings = Settings.from_env()
        log_path = Path(tempfile.gettempdir()) / "pose-service-demo.log"
        print(
            f"starting a local service ({args.estimator}) on {url}; log: {log_path}",
            file=sys.stderr,
        )
        env = {ENV_PREFIX + "ESTIMATOR": args.estimator,
               ENV_PREFIX + "ALLOW_SIMULATED_MISSES": "true",
               ENV_PREFIX + "STATE_DIR": tempfile.mkdtemp(prefix="pose-service-demo-")}  # fmt: skip
        process = start_service(settings.host, settings.port, env, str(log_path))
        try:
            seconds = wait_until_ready(url, 300.0, process)
        except (TimeoutError, RuntimeError) as exc:
            stop_service(process)
            print(f"the service did not become ready: {exc} (see {log_path})", file=sys.stderr)
            return 1
        print(f"service ready in {seconds:.1f} s", file=sys.stderr)
    try:
        frames = list(demo.video_frames_png(video, args.width))
        if args.max_frames:
            frames = frames[: args.max_frames]
        dropped = None
        report: dict[str, object] = {"video": str(video), "url": url}
        if args.drop_share > 0:
            dropped = demo.burst_miss_mask(len(frames), args.drop_share, args.burst, args.seed)
            print("pass 1/2: every frame (the reference)", file=sys.stderr)
            reference = demo.stream_video(url, frames, None, args.spacing_ms, not args.quiet)
            print(
                f"pass 2/2: {int(dropped.sum())} of {len(frames)} frames hidden from the "
                f"estimator in bursts of {args.burst[0]}-{args.burst[1]}",
                file=sys.stderr,
            )
        result = demo.stream_video(url, frames, dropped, args.spacing_ms, not args.quiet)
        report["summary"] = result.summary(dropped)
        if dropped is not None:
            report["reference_summary"] = reference.summary()
            report["predicted_keypoint_error_px"] = demo.keypoint_pixel_error(
                result.answers, reference.answers, dropped
            )
        if args.report:
            from .devtools.demo_report import write_report
            from .video_frames import read_frames

            pictures = list(itertools.islice(read_frames(video, args.width), len(frames)))
            hidden = 0 if dropped is None else int(dropped.sum())
            report["report"] = write_report(
                Path(args.report), pictures, result.answers, dropped,
                reference.answers if dropped is not None else None,
                f"{video.name}: {args.estimator}, {hidden} of {len(frames)} frames hidden",
            )  # fmt: skip
    finally:
        if process is not None:
            stop_service(process)
    _print_report(report, args.json)
    return 0


def _print_report(report: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2))
        return
    summary = report["summary"]
    assert isinstance(summary, dict)
    print(f"video: {report['video']}")
    print(
        f"frames answered: {summary['answered_200']}/{summary['frames']}  "
        f"with a pose: {summary['with_pose']} (coverage {summary['coverage']:.1%}, "
        f"{summary['coverage_after_first_detection']:.1%} after the first detection)"
    )
    print(
        f"detected: {summary['detected']} (of which rescued: {summary['rescued']})  "
        f"predicted by the tracker: {summary['predicted']}  "
        f"hidden from the estimator: {summary['dropped']}"
    )
    print(
        f"per frame: service {summary['processing_ms_p50']} ms p50; round trip "
        f"{summary['round_trip_ms_p50']} ms p50, {summary['round_trip_ms_p95']} ms p95"
    )
    if "predicted_keypoint_error_px" in report:
        print(
            f"predicted keypoints vs the undropped run: "
            f"{report['predicted_keypoint_error_px']} px mean error"
        )
    if "report" in report:
        print(f"report: {', '.join(report['report'].values())}")  # type: ignore[union-attr]


def cmd_settings(args: argparse.Namespace) -> int:
    """Every setting with its default, what it accepts and why, read from the declarations."""
    from . import config_docs

    try:
        text = (
            config_docs.markdown(args.names or None) if args.markdown else config_docs.env_listing()
        )
    except KeyError as exc:
        print(f"pose-service: {exc.args[0]}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Measure gap filling on a motion sequence (or a real clip): the table of the issue."""
    from .devtools.evaluation.cli import run_eval

    return run_eval(args)


def setting_help(name: str) -> str:
    """A flag's help from its setting's declaration: what it does, its variable and default
    (one source, so the help cannot drift from the settings table)."""
    variable = env_name(name)
    for env, default, spec in described():
        if env == variable:
            return f"{spec.doc} (env {env}; default {default})"
    raise KeyError(name)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each flag's help (where it has one and does not name it already);
    descriptions printed as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return text
        return super()._get_help_string(action) or text


def _burst(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    return int(low), int(high or low)


def _noise_model(text: str) -> str:
    """``eval --noise-model``: one of the evaluation's noise models, imported only when ``eval``
    is parsed (the developer tools stay out of every other command)."""
    from .devtools.evaluation.noise import NOISE_MODELS

    if text not in NOISE_MODELS:
        raise argparse.ArgumentTypeError(f"one of {', '.join(NOISE_MODELS)}, not {text!r}")
    return text


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pose-service",
        description=__doc__,
        epilog="pose-service settings lists every POSE_SERVICE_* variable.",
        formatter_class=_Formatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}",
        help="print the installed version and exit",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=summary, formatter_class=_Formatter)

    serve = command("serve", "run the service under gunicorn (foreground)")
    serve.add_argument("--estimator", choices=ESTIMATORS, help=setting_help("estimator"))
    serve.add_argument("--host", help=setting_help("host"))
    serve.add_argument("--port", type=int, help=setting_help("port"))
    serve.add_argument("--threads", type=int, help=setting_help("threads"))
    serve.set_defaults(func=cmd_serve)

    check = command("check", "probe /health or /readyz; exit 0 when ready")
    check.add_argument("--url", help="default: http://POSE_SERVICE_HOST:POSE_SERVICE_PORT")
    check.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the answer")
    check.add_argument(
        "--probe",
        choices=("health", "readyz"),
        default="health",
        help="health: /health's status (the backend's view); readyz: /readyz, 503 until the"
        " model is loaded and warmed up and while draining (what the health timer asks)."
        " Default: health",
    )
    check.set_defaults(func=cmd_check)

    verify = command(
        "verify-install", "check the estimator's libraries and model files; no weights read"
    )
    verify.add_argument("--estimator", choices=ESTIMATORS, help=setting_help("estimator"))
    verify.set_defaults(func=cmd_verify_install)

    demo = command("demo", "stream a video the way the backend does")
    demo.add_argument("--video", help="default: the runner clip")
    demo.add_argument("--url", help="a running service; default: start a local one if none answers")
    demo.add_argument(
        "--estimator", default="lite", choices=ESTIMATORS, help="of the local service it starts"
    )
    demo.add_argument(
        "--drop-share",
        type=float,
        default=0.0,
        help="share of frames hidden from the estimator (HMR2 misses ~0.36)",
    )
    demo.add_argument(
        "--burst", type=_burst, default=(1, 8), help="miss burst lengths, low-high (default: 1-8)"
    )
    demo.add_argument("--seed", type=int, default=0, help="of the hidden frames' draw")
    demo.add_argument("--width", type=int, default=640, help="resize frames like the backend")
    demo.add_argument(
        "--spacing-ms", type=float, default=50.0, help="between requests, as the backend's pool"
    )
    demo.add_argument("--max-frames", type=int, default=0, help="only the first N frames (0: all)")
    demo.add_argument("--json", action="store_true", help="print the report as JSON")
    demo.add_argument(
        "--report", metavar="DIR", help="write annotated.mp4, timeline.png and frames.json there"
    )
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=cmd_demo)

    listing = command("settings", "every POSE_SERVICE_* setting, default and rule")
    listing.add_argument("--markdown", action="store_true", help="as the docs' table")
    listing.add_argument("names", nargs="*", help="with --markdown: only these variables")
    listing.set_defaults(func=cmd_settings)

    ev = command("eval", "measure gap filling: streaming, whole-video, baselines")
    ev.add_argument("sequence", help=".bvh or .npz motion with ground truth, or a video file")
    ev.add_argument(
        "--miss-share", type=float, default=0.36, help="share of frames the estimator misses"
    )
    ev.add_argument(
        "--burst", type=_burst, default=(1, 8), help="miss burst lengths, low-high (default: 1-8)"
    )
    ev.add_argument("--miss-first", type=int, default=5, help="frames missed at the start")
    ev.add_argument(
        "--noise-mm", type=float, default=20.0, help="simulated detection noise (iid model)"
    )
    ev.add_argument(
        "--noise-model",
        type=_noise_model,
        default="iid",
        help="iid: independent noise per coordinate and frame; correlated: bias + slow drift + "
        "jitter matched to SPIN on 3DPW (MPJPE 87.6 mm, acceleration error 30.8 mm/frame^2)",
    )
    ev.add_argument(
        "--in-flight",
        type=_at_least_one,
        default=1,
        help="requests the client keeps outstanding (the backend's pool: 4; 1 = one at a time): "
        "missed frames are filled from the later frames in hand",
    )
    ev.add_argument("--seed", type=int, default=0, help="of the missed frames' draw")
    ev.add_argument("--estimator", default="lite", help="for a video: the estimator to run")
    ev.add_argument("--max-frames", type=int, default=0, help="only the first N frames")
    ev.add_argument("--json", action="store_true", help="print the table as one JSON object")
    ev.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # bad settings: say which, no traceback
        print(f"pose-service: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
