"""Settings come from POSE_SERVICE_* and refuse values that cannot work."""

from __future__ import annotations

import pytest

from pose_service.config import Settings


def test_environment_is_read_and_overrides_win():
    env = {"POSE_SERVICE_PORT": "5055", "POSE_SERVICE_ESTIMATOR": "replay",
           "POSE_SERVICE_ALLOW_SIMULATED_MISSES": "true"}  # fmt: skip
    settings = Settings.from_env(env, port=6000)
    assert settings.port == 6000 and settings.estimator == "replay"
    assert settings.allow_simulated_misses is True
    assert Settings.from_env(settings.as_env()) == settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"POSE_SERVICE_PORT": "abc"}, "POSE_SERVICE_PORT"),
        ({"POSE_SERVICE_ESTIMATOR": "yolo"}, "POSE_SERVICE_ESTIMATOR"),
        ({"POSE_SERVICE_THREADS": "1"}, "POSE_SERVICE_THREADS"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize("token", [" ", "secret ", "two words", "\t"])
def test_a_token_with_whitespace_is_refused(token):
    """HTTP strips whitespace around a header's value: such a token can never be sent."""
    with pytest.raises(ValueError, match="AUTH_TOKEN must not contain whitespace"):
        Settings.from_env({"POSE_SERVICE_HOST": "0.0.0.0", "POSE_SERVICE_AUTH_TOKEN": token})


def test_a_misspelt_smoothing_mode_is_refused():
    """Before: any other word silently meant no smoothing."""
    with pytest.raises(ValueError, match="TRACK_SMOOTHING must be one of off, kalman, one_euro"):
        Settings.from_env({"POSE_SERVICE_TRACK_SMOOTHING": "oneeuro"})
    assert Settings.from_env({"POSE_SERVICE_TRACK_SMOOTHING": "one_euro"}).track_smoothing


def test_a_non_loopback_bind_requires_a_token_or_an_explicit_opt_out():
    with pytest.raises(ValueError, match="AUTH_TOKEN"):
        Settings.from_env({"POSE_SERVICE_HOST": "0.0.0.0"})
    assert Settings.from_env({"POSE_SERVICE_HOST": "0.0.0.0", "POSE_SERVICE_AUTH_TOKEN": "t"})
    assert Settings.from_env({"POSE_SERVICE_HOST": "0.0.0.0",
                              "POSE_SERVICE_ALLOW_UNAUTHENTICATED": "true"})  # fmt: skip
    assert Settings.from_env({"POSE_SERVICE_HOST": "::1"}).binds_loopback
