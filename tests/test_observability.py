"""Structured logs: native libraries' stderr lines become JSON events, memory figures."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from pose_service.observability import memory_report, parse_native_line


@pytest.mark.parametrize(
    ("line", "level", "fields"),
    [
        (  # absl/glog, as MediaPipe 0.10.21 writes it
            "W0000 00:00:1795586363.561883   18477 inference_feedback_manager.cc:114] Feedback "
            "manager requires a model with a single signature inference.",
            "warning",
            {
                "source": "inference_feedback_manager.cc:114",
                "message": "Feedback manager requires a model with a single signature inference.",
            },
        ),
        ("E0000 00:00:1.5 7 gl_context.cc:9] no display", "error", {"source": "gl_context.cc:9"}),
        ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", "info", {}),
        ("WARNING: All log messages before absl::InitializeLog() is called", "warning", {}),
        ("Traceback (most recent call last):", "warning", {}),
    ],
)
def test_native_lines_get_their_level(line, level, fields):
    got_level, got_fields = parse_native_line(line)
    assert got_level == level
    assert fields.items() <= got_fields.items()
    assert got_fields["message"]


def test_everything_written_to_fd2_comes_out_as_json():
    """In a child process (fd 2 is process-wide): native writes, Python's stderr and a
    traceback all reach stdout as JSON lines, none as plain text."""
    child = textwrap.dedent(
        """
        import os, sys, time
        from pose_service.observability import capture_stderr_as_json, configure_logging
        configure_logging("info", "json")
        capture_stderr_as_json()
        os.write(2, b"W0000 00:00:1.0  42 native.cc:7] from C++\\n")
        print("from python stderr", file=sys.stderr, flush=True)
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n")
        time.sleep(0.5)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stderr == ""
    events = [json.loads(line) for line in done.stdout.splitlines()]
    native = [e for e in events if e["event"] == "native_log"]
    assert [(e["level"], e["message"]) for e in native] == [
        ("warning", "from C++"),
        ("warning", "from python stderr"),
        ("info", "Created TensorFlow Lite XNNPACK delegate for CPU."),
    ]
    assert native[0]["source"] == "native.cc:7"


def test_prints_come_out_as_json_and_our_logs_stay_as_they_are():
    """smplx prints a WARNING line on stdout at every SMPL build: it becomes an event."""
    child = textwrap.dedent(
        """
        import sys
        from pose_service.observability import capture_prints_as_json, configure_logging, get_logger
        configure_logging("info", "json")
        capture_prints_as_json()
        print("WARNING: You are using a SMPL model, with only 10 shape coefficients.")
        sys.stdout.write("half a ")
        sys.stdout.write("line\\n")
        get_logger("ours").info("model_loaded", model="hmr2")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=True
    )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(e["event"], e.get("message")) for e in events] == [
        ("library_output", "WARNING: You are using a SMPL model, with only 10 shape coefficients."),
        ("library_output", "half a line"),
        ("model_loaded", None),
    ]


def test_memory_report_has_the_process_rss():
    report = memory_report()
    assert report["rss_mib"] > 10
